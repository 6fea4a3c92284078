// One node of the comparison as a table row: its path and kind, what changed, its status in
// A and B, and the duration, token and cost deltas; a click opens its details below it.
import type { NodeData } from '../../src/core/types.js';
import { KindIcon, formatCost, formatTokens, kindOf, usageOf } from './ai.js';
import { durationOf, usageDelta, type CompareRow } from './compare-model.js';
import { CompareRowDetails } from './compare-row-details.js';
import { Delta } from './delta.js';
import { STATUS_ICON, formatDuration } from './format.js';

function StatusBadge({ n }: { n: NodeData | undefined }) {
  if (!n) return <span class="muted">–</span>;
  return (
    <span class={`badge st-${n.status}`}>
      <span class="st-icon">{STATUS_ICON[n.status]}</span> {n.status}
    </span>
  );
}

/** The row, and its details row while open (a fragment of two <tr>s). */
export function ComparedNodeRow({
  row: r,
  open,
  onToggle,
  idA,
  idB,
}: {
  row: CompareRow;
  open: boolean;
  onToggle: (key: string) => void;
  idA: string;
  idB: string;
}) {
  const n = (r.b ?? r.a)!;
  const u = usageDelta(r.a ? usageOf(r.a) : undefined, r.b ? usageOf(r.b) : undefined);
  const dA = durationOf(r.a);
  const dB = durationOf(r.b);
  const flags = [
    r.statusChanged ? 'status' : '',
    r.outputChanged ? 'output' : '',
    r.errorChanged ? 'error' : '',
    r.inputChanged ? 'input' : '',
  ].filter(Boolean);
  return (
    <>
      <tr
        class={`cmp-row ch-${r.change} ${open ? 'open' : ''}`}
        data-path={r.key}
        data-change={r.change}
        data-flags={flags.join(' ')}
        onClick={() => onToggle(r.key)}
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
      </tr>
      {open ? (
        <tr class="cmp-details-row">
          <td colSpan={6}>
            <CompareRowDetails row={r} idA={idA} idB={idB} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
