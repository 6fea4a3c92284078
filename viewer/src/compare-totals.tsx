// The compare page's totals table: duration, tokens, cost, calls, failures and node count
// of both runs side by side, with B − A and the change in percent.
import type { NodeData, TraceInfo } from '../../src/core/types.js';
import { formatCost, formatTokens, traceUsage } from './ai.js';
import { Delta } from './delta.js';
import { formatDuration, isTerminal } from './format.js';

function pct(a: number, b: number): string {
  if (!a) return '';
  const p = ((b - a) / a) * 100;
  return ` (${p > 0 ? '+' : ''}${p.toFixed(Math.abs(p) < 10 ? 1 : 0)}%)`;
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

/** One side of the comparison: what the totals are computed from. */
export interface CompareSide {
  info: TraceInfo;
  nodes: ReadonlyMap<string, NodeData>;
}

export function CompareTotals({ A, B, now }: { A: CompareSide; B: CompareSide; now: number }) {
  const ua = traceUsage(A.info);
  const ub = traceUsage(B.info);
  const da = traceDuration(A.info, A.nodes, now);
  const db = traceDuration(B.info, B.nodes, now);
  const currency = ua.cost?.currency ?? ub.cost?.currency;
  const sameCurrency = !ua.cost || !ub.cost || ua.cost.currency === ub.cost.currency;
  const money = (v: number) => formatCost({ amount: v, currency: currency ?? 'USD' });
  return (
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
        <TotalsRow label="Nodes" a={A.nodes.size} b={B.nodes.size} format={String} testid="cmp-nodes" />
      </tbody>
    </table>
  );
}
