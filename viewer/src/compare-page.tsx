// Compare two runs (#/compare?a=<baseline>&b=<other>): pick two traces, see their totals
// side by side with deltas, and every node aligned by path and label (compare-model.ts):
// added, removed, changed status, changed output (a text diff by the `diff` library), and
// per-node duration, token and cost deltas. Both traces are live: a running one keeps
// updating.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ChangeObject } from 'diff';
import type { NodeData, TraceInfo, UsageRollup } from '../../src/core/types.js';
import { listTraces } from './api.js';
import { KindIcon, formatCost, formatTokens, kindOf, traceUsage, usageOf } from './ai.js';
import { asText, compareTraces, durationOf, usageDelta, type CompareRow } from './compare-model.js';
import { STATUS_ICON, formatDateTime, formatDuration, isTerminal } from './format.js';
import { compareHref, lazyChunk, traceHref, useLazyChunk, useNow } from './hooks.js';
import { useTrace } from './use-trace.js';

/** Rows drawn at first (a table, not virtualized); "show all" lifts it. */
const ROW_LIMIT = 1500;

/** Past this many characters a diff is shown line by line only (word diffs are quadratic). */
const WORD_DIFF_MAX = 4000;

function sign(n: number): string {
  return n > 0 ? '+' : n < 0 ? '−' : '±';
}

/** A delta: green when it went down (fewer tokens, cheaper, faster), red when it went up. */
function Delta({
  value,
  format,
  testid,
}: {
  value: number | undefined;
  format: (v: number) => string;
  testid?: string;
}) {
  if (value === undefined || !Number.isFinite(value)) return <span class="delta muted">–</span>;
  const cls = value > 0 ? 'up' : value < 0 ? 'down' : 'zero';
  return (
    <span class={`delta ${cls}`} data-testid={testid}>
      {sign(value)}
      {format(Math.abs(value))}
    </span>
  );
}

function pct(a: number, b: number): string {
  if (!a) return '';
  const p = ((b - a) / a) * 100;
  return ` (${p > 0 ? '+' : ''}${p.toFixed(Math.abs(p) < 10 ? 1 : 0)}%)`;
}

// The diff library is its own chunk, loaded with the first diff shown.
const diffChunk = lazyChunk(() => import('diff'));

export function TextDiff({ a, b }: { a: string; b: string }) {
  const diffLib = useLazyChunk(diffChunk);
  const parts = useMemo((): ChangeObject<string>[] => {
    if (!diffLib) return [];
    const long = a.length + b.length > WORD_DIFF_MAX || a.includes('\n') || b.includes('\n');
    return long ? diffLib.diffLines(a, b) : diffLib.diffWordsWithSpace(a, b);
  }, [a, b, diffLib]);
  if (!diffLib) return <pre class="text-diff muted">computing the diff…</pre>;
  return (
    <pre class="text-diff" data-testid="text-diff">
      {parts.map((p, i) =>
        p.added ? (
          <ins key={i}>{p.value}</ins>
        ) : p.removed ? (
          <del key={i}>{p.value}</del>
        ) : (
          <span key={i}>{p.value}</span>
        ),
      )}
    </pre>
  );
}

function Picker({ a, b }: { a?: string | undefined; b?: string | undefined }) {
  const [traces, setTraces] = useState<TraceInfo[]>([]);
  const [pa, setPa] = useState(a ?? '');
  const [pb, setPb] = useState(b ?? '');
  useEffect(() => {
    const abort = new AbortController();
    listTraces({ limit: 100 }, abort.signal)
      .then((r) => setTraces(r.traces))
      .catch(() => undefined);
    return () => abort.abort();
  }, []);
  const opt = (t: TraceInfo) => (
    <option key={t.id} value={t.id}>
      {t.label ?? t.agent_name ?? t.id} · {formatDateTime(t.created_at)} · {t.id}
    </option>
  );
  return (
    <form
      class="compare-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (pa && pb) location.hash = compareHref(pa, pb);
      }}
    >
      <label class="field">
        A (baseline)
        <select class="input" value={pa} onChange={(e) => setPa(e.currentTarget.value)} aria-label="Trace A">
          <option value="">choose a trace…</option>
          {a && !traces.some((t) => t.id === a) ? <option value={a}>{a}</option> : null}
          {traces.map(opt)}
        </select>
      </label>
      <label class="field">
        B
        <select class="input" value={pb} onChange={(e) => setPb(e.currentTarget.value)} aria-label="Trace B">
          <option value="">choose a trace…</option>
          {b && !traces.some((t) => t.id === b) ? <option value={b}>{b}</option> : null}
          {traces.map(opt)}
        </select>
      </label>
      <button class="btn small primary" type="submit" disabled={!pa || !pb}>
        Compare
      </button>
      {pa && pb ? (
        <button
          class="btn small"
          type="button"
          onClick={() => (location.hash = compareHref(pb, pa))}
          title="Swap A and B"
        >
          ⇄ swap
        </button>
      ) : null}
    </form>
  );
}

function traceDuration(info: TraceInfo, nodes: ReadonlyMap<string, NodeData>, now: number): number | undefined {
  if (info.duration !== undefined) return info.duration;
  if (info.ended_at) return info.ended_at - info.created_at;
  if (!isTerminal(info.status) && nodes.size) return now - info.created_at;
  return undefined;
}

function TotalsRow({
  label,
  a,
  b,
  format,
  testid,
}: {
  label: string;
  a: number | undefined;
  b: number | undefined;
  format: (v: number) => string;
  testid: string;
}) {
  return (
    <tr data-testid={testid}>
      <th>{label}</th>
      <td class="num">{a === undefined ? '–' : format(a)}</td>
      <td class="num">{b === undefined ? '–' : format(b)}</td>
      <td class="num">
        <Delta
          value={a !== undefined && b !== undefined ? b - a : undefined}
          format={format}
          testid={`${testid}-delta`}
        />
        <span class="muted small">{a !== undefined && b !== undefined ? pct(a, b) : ''}</span>
      </td>
    </tr>
  );
}

function StatusBadge({ n }: { n: NodeData | undefined }) {
  if (!n) return <span class="muted">–</span>;
  return (
    <span class={`badge st-${n.status}`}>
      <span class="st-icon">{STATUS_ICON[n.status]}</span> {n.status}
    </span>
  );
}

function RowDetails({ row, idA, idB }: { row: CompareRow; idA: string; idB: string }) {
  const { a, b } = row;
  return (
    <div class="cmp-details" data-testid="compare-details">
      <div class="cmp-links small">
        {a ? <a href={traceHref(idA, { node: a.id })}>open in A</a> : null}{' '}
        {b ? <a href={traceHref(idB, { node: b.id })}>open in B</a> : null}
      </div>
      {row.change === 'added' || row.change === 'removed' ? (
        <div class="muted small">{row.change === 'added' ? 'Only in B.' : 'Only in A.'}</div>
      ) : null}
      {a && b && row.outputChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">output (A → B)</div>
          <TextDiff a={asText(a.output)} b={asText(b.output)} />
        </div>
      ) : null}
      {a && b && row.errorChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">error (A → B)</div>
          <TextDiff
            a={asText(a.error ? `${a.error.name}: ${a.error.message}` : '')}
            b={asText(b.error ? `${b.error.name}: ${b.error.message}` : '')}
          />
        </div>
      ) : null}
      {a && b && row.inputChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">input (A → B)</div>
          <TextDiff a={asText(a.input)} b={asText(b.input)} />
        </div>
      ) : null}
      {a && b && !row.outputChanged && !row.errorChanged && !row.inputChanged ? (
        <div class="muted small">Same input and output.</div>
      ) : null}
      {(row.change === 'added' || row.change === 'removed') && (a ?? b)!.output !== undefined ? (
        <div class="cmp-block">
          <div class="tool-sub">output</div>
          <pre class="md-plain">{asText((a ?? b)!.output)}</pre>
        </div>
      ) : null}
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
  const ua: UsageRollup = traceUsage(A.state.info);
  const ub: UsageRollup = traceUsage(B.state.info);
  const da = traceDuration(A.state.info, A.state.nodes, now);
  const db = traceDuration(B.state.info, B.state.nodes, now);
  const currency = ua.cost?.currency ?? ub.cost?.currency;
  const sameCurrency = !ua.cost || !ub.cost || ua.cost.currency === ub.cost.currency;
  const money = (v: number) => formatCost({ amount: v, currency: currency ?? 'USD' });
  const allRows = onlyChanges ? result.rows.filter((r) => r.change !== 'same') : result.rows;
  const rows = allRows.length > limit ? allRows.slice(0, limit) : allRows;
  const s = result.summary;

  if (A.connection === 'error' || B.connection === 'error') {
    return <div class="notice error">{A.error ?? B.error}</div>;
  }
  const head = (label: string, id: string, info: TraceInfo) => (
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
  return (
    <div class="compare" data-testid="compare">
      <div class="cmp-heads">
        {head('A', idA, A.state.info)}
        {head('B', idB, B.state.info)}
      </div>
      <table class="cmp-totals" data-testid="compare-totals">
        <thead>
          <tr>
            <th />
            <th class="num">A</th>
            <th class="num">B</th>
            <th class="num">B − A</th>
          </tr>
        </thead>
        <tbody>
          <TotalsRow label="Duration" a={da} b={db} format={formatDuration} testid="cmp-duration" />
          <TotalsRow
            label="Tokens"
            a={ua.total_tokens}
            b={ub.total_tokens}
            format={(v) => formatTokens(v)}
            testid="cmp-tokens"
          />
          <TotalsRow
            label="Input tokens"
            a={ua.input_tokens}
            b={ub.input_tokens}
            format={(v) => formatTokens(v)}
            testid="cmp-input-tokens"
          />
          <TotalsRow
            label="Output tokens"
            a={ua.output_tokens}
            b={ub.output_tokens}
            format={(v) => formatTokens(v)}
            testid="cmp-output-tokens"
          />
          {sameCurrency ? (
            <TotalsRow
              label="Cost"
              a={ua.cost ? ua.cost.amount : currency ? 0 : undefined}
              b={ub.cost ? ub.cost.amount : currency ? 0 : undefined}
              format={money}
              testid="cmp-cost"
            />
          ) : (
            <tr>
              <th>Cost</th>
              <td class="num">{formatCost(ua.cost)}</td>
              <td class="num">{formatCost(ub.cost)}</td>
              <td class="num muted">currencies differ</td>
            </tr>
          )}
          <TotalsRow label="LLM calls" a={ua.llm_calls} b={ub.llm_calls} format={String} testid="cmp-llm-calls" />
          <TotalsRow label="Tool calls" a={ua.tool_calls} b={ub.tool_calls} format={String} testid="cmp-tool-calls" />
          <TotalsRow label="Failed nodes" a={ua.failed_nodes} b={ub.failed_nodes} format={String} testid="cmp-failed" />
          <TotalsRow label="Nodes" a={A.state.nodes.size} b={B.state.nodes.size} format={String} testid="cmp-nodes" />
        </tbody>
      </table>
      <div class="cmp-summary" data-testid="compare-summary">
        <span class="cmp-pill added" data-testid="cmp-added">
          + {s.added} added
        </span>
        <span class="cmp-pill removed" data-testid="cmp-removed">
          − {s.removed} removed
        </span>
        <span class="cmp-pill changed" data-testid="cmp-status-changed">
          {s.statusChanged} changed status
        </span>
        <span class="cmp-pill changed" data-testid="cmp-output-changed">
          {s.outputChanged} changed output
        </span>
        <span class="muted small">{s.same} unchanged</span>
        <span class="spacer" />
        <label class="field small">
          <input type="checkbox" checked={onlyChanges} onChange={(e) => setOnlyChanges(e.currentTarget.checked)} /> only
          changes
        </label>
      </div>
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
          {rows.map((r) => {
            const n = (r.b ?? r.a)!;
            const u = usageDelta(r.a ? usageOf(r.a) : undefined, r.b ? usageOf(r.b) : undefined);
            const dA = durationOf(r.a);
            const dB = durationOf(r.b);
            const isOpen = open.has(r.key);
            const flags = [
              r.statusChanged ? 'status' : '',
              r.outputChanged ? 'output' : '',
              r.errorChanged ? 'error' : '',
              r.inputChanged ? 'input' : '',
            ].filter(Boolean);
            return [
              <tr
                key={r.key}
                class={`cmp-row ch-${r.change} ${isOpen ? 'open' : ''}`}
                data-path={r.key}
                data-change={r.change}
                data-flags={flags.join(' ')}
                onClick={() => {
                  const next = new Set(open);
                  if (next.has(r.key)) next.delete(r.key);
                  else next.add(r.key);
                  setOpen(next);
                }}
              >
                <td class="cmp-name" style={{ paddingLeft: `${8 + Math.min(r.depth, 16) * 14}px` }} title={r.key}>
                  <span class="cmp-mark">
                    {r.change === 'added' ? '+' : r.change === 'removed' ? '−' : r.change === 'changed' ? '~' : ' '}
                  </span>
                  <KindIcon kind={kindOf(n)} /> {r.name}
                  {flags.length ? <span class="muted small"> · {flags.join(', ')} changed</span> : null}
                </td>
                <td>
                  <StatusBadge n={r.a} />
                </td>
                <td>
                  <StatusBadge n={r.b} />
                </td>
                <td class="num">
                  {dA !== undefined && dB !== undefined ? (
                    <Delta value={dB - dA} format={formatDuration} />
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
                <td class="num">
                  {u.tokens !== undefined && r.a && r.b ? (
                    <Delta value={u.tokens} format={(v) => formatTokens(v)} />
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
                <td class="num">
                  {u.cost !== undefined && r.a && r.b ? (
                    <Delta value={u.cost} format={(v) => formatCost({ amount: v, currency: u.currency! })} />
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
              </tr>,
              isOpen ? (
                <tr key={`${r.key}/details`} class="cmp-details-row">
                  <td colSpan={6}>
                    <RowDetails row={r} idA={idA} idB={idB} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
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
      <Picker key={`${a}|${b}`} a={a} b={b} />
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
