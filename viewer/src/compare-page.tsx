// Compare two runs (#/compare?a=<baseline>&b=<other>): pick two traces, see their totals
// side by side with deltas, and every node aligned by path and label (compare-model.ts):
// added, removed, changed status, changed output (a text diff by the `diff` library), and
// per-node duration, token and cost deltas. Both traces are live: a running one keeps
// updating. This file composes the picker, the totals, the summary and the node rows.
import { useMemo, useState } from 'preact/hooks';
import type { TraceInfo } from '../../src/core/types.js';
import { compareTraces } from './compare-model.js';
import { ComparePicker } from './compare-picker.js';
import { CompareSummary } from './compare-summary.js';
import { CompareTotals } from './compare-totals.js';
import { ComparedNodeRow } from './compared-node-row.js';
import { STATUS_ICON, formatDateTime, isTerminal } from './format.js';
import { traceHref, useNow } from './hooks.js';
import { useTrace } from './use-trace.js';

/** Rows drawn at first (a table, not virtualized); "show all" lifts it. */
const ROW_LIMIT = 1500;

function CompareTraceHead({ label, id, info }: { label: string; id: string; info: TraceInfo }) {
  return (
    <div class="cmp-trace">
      <span class="cmp-side">{label}</span>
      <span class={`badge st-${info.status}`}>
        <span class="st-icon">{STATUS_ICON[info.status]}</span> {info.status}
      </span>
      <a href={traceHref(id)} class="trace-label">
        {info.label ?? info.agent_name ?? id}
      </a>
      <span class="muted small mono">{id}</span>
      <span class="muted small">{formatDateTime(info.created_at)}</span>
    </div>
  );
}

function CompareView({ idA, idB }: { idA: string; idB: string }) {
  const A = useTrace(idA);
  const B = useTrace(idB);
  const running = !isTerminal(A.state.info.status) || !isTerminal(B.state.info.status);
  const now = useNow(running, 1000);
  const [onlyChanges, setOnlyChanges] = useState(false);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [limit, setLimit] = useState(ROW_LIMIT);
  const result = useMemo(() => compareTraces(A.state, B.state), [A, B]);
  const allRows = onlyChanges ? result.rows.filter((r) => r.change !== 'same') : result.rows;
  const rows = allRows.length > limit ? allRows.slice(0, limit) : allRows;
  const toggle = (key: string) => {
    const next = new Set(open);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setOpen(next);
  };

  if (A.connection === 'error' || B.connection === 'error') {
    return <div class="notice error">{A.error ?? B.error}</div>;
  }
  return (
    <div class="compare" data-testid="compare">
      <div class="cmp-heads">
        <CompareTraceHead label="A" id={idA} info={A.state.info} />
        <CompareTraceHead label="B" id={idB} info={B.state.info} />
      </div>
      <CompareTotals A={A.state} B={B.state} now={now} />
      <CompareSummary summary={result.summary} onlyChanges={onlyChanges} setOnlyChanges={setOnlyChanges} />
      <table class="cmp-rows" aria-label="Nodes compared">
        <thead>
          <tr>
            <th>Node (path)</th>
            <th>A</th>
            <th>B</th>
            <th class="num">Duration Δ</th>
            <th class="num">Tokens Δ</th>
            <th class="num">Cost Δ</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <ComparedNodeRow key={r.key} row={r} open={open.has(r.key)} onToggle={toggle} idA={idA} idB={idB} />
          ))}
        </tbody>
      </table>
      {allRows.length > rows.length ? (
        <div class="pager">
          <span class="muted small">
            Showing {rows.length.toLocaleString()} of {allRows.length.toLocaleString()} rows
          </span>
          <button class="btn small" onClick={() => setLimit(Infinity)}>
            Show all
          </button>
        </div>
      ) : null}
    </div>
  );
}

export function ComparePage({ a, b }: { a?: string | undefined; b?: string | undefined }) {
  return (
    <main class="page list-page compare-page">
      <div class="list-head">
        <h1>Compare two runs</h1>
      </div>
      <ComparePicker key={`${a}|${b}`} a={a} b={b} />
      {a && b ? (
        <CompareView key={`${a}|${b}`} idA={a} idB={b} />
      ) : (
        <div class="empty">
          Pick two traces (for example the same agent yesterday and today), or tick two rows in the trace list.
        </div>
      )}
    </main>
  );
}
