// The trace list's table: column headers (the numeric ones and "Started" sort on click) and
// one TraceRow per trace shown.
import type { TraceInfo } from '../../src/core/types.js';
import { TraceRow } from './trace-row.js';
import type { SortKey } from './trace-sort.js';

function SortHeader({
  k,
  label,
  sort,
  setSort,
  num,
}: {
  k: SortKey;
  label: string;
  sort: string;
  setSort: (s: string) => void;
  num?: boolean;
}) {
  const active = sort.replace(/^-/, '') === k;
  const desc = sort.startsWith('-');
  return (
    <th class={num ? 'num' : ''} aria-sort={active ? (desc ? 'descending' : 'ascending') : 'none'}>
      <button
        class={`sort-btn ${active ? 'on' : ''}`}
        data-sort={k}
        onClick={() => setSort(active && desc ? k : `-${k}`)}
        title={`Sort by ${label.toLowerCase()}`}
      >
        {label} <span class="sort-arrow">{active ? (desc ? '↓' : '↑') : '↕'}</span>
      </button>
    </th>
  );
}

export function TraceTable({
  traces,
  sort,
  setSort,
  active,
  picked,
  onPick,
  hl,
  now,
}: {
  traces: readonly TraceInfo[];
  sort: string;
  setSort: (s: string) => void;
  /** Index of the row the keyboard is on. */
  active: number;
  picked: readonly string[];
  onPick: (id: string, on: boolean) => void;
  hl: string;
  now: number;
}) {
  return (
    <table class="traces" aria-label="Traces">
      <thead>
        <tr>
          <th class="pick" title="Pick two traces to compare">
            ⇄
          </th>
          <th>Status</th>
          <th>Trace</th>
          <th>Created by</th>
          <th class="num">Nodes</th>
          <SortHeader k="tokens" label="Tokens" sort={sort} setSort={setSort} num />
          <SortHeader k="cost" label="Cost" sort={sort} setSort={setSort} num />
          <SortHeader k="duration" label="Duration" sort={sort} setSort={setSort} num />
          <SortHeader k="created_at" label="Started" sort={sort} setSort={setSort} />
        </tr>
      </thead>
      <tbody>
        {traces.map((t, i) => (
          <TraceRow
            key={t.id}
            t={t}
            active={i === active}
            picked={picked.includes(t.id)}
            onPick={onPick}
            hl={hl}
            now={now}
          />
        ))}
      </tbody>
    </table>
  );
}
