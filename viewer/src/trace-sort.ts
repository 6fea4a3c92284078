// Sorting one page of the trace list by start, duration, tokens or cost, for a server that
// cannot sort (the server's own order is kept otherwise).
import type { TraceInfo } from '../../src/core/types.js';

export type SortKey = 'created_at' | 'duration' | 'tokens' | 'cost';

function sortValue(t: TraceInfo, key: SortKey): number | undefined {
  switch (key) {
    case 'created_at':
      return t.created_at;
    case 'duration':
      return t.duration ?? (t.ended_at ? t.ended_at - t.created_at : undefined);
    case 'tokens':
      return t.usage?.total_tokens;
    case 'cost':
      return t.usage?.cost?.amount;
  }
}

/** Stable sort of one page (`sort` is a key, `-` first for descending); traces without the value go last either way. */
export function sortPage(traces: readonly TraceInfo[], sort: string): TraceInfo[] {
  const desc = sort.startsWith('-');
  const key = sort.replace(/^-/, '') as SortKey;
  return traces
    .map((t, i) => ({ t, i, v: sortValue(t, key) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) return a.v === b.v ? a.i - b.i : a.v === undefined ? 1 : -1;
      return (desc ? b.v - a.v : a.v - b.v) || a.i - b.i;
    })
    .map((x) => x.t);
}
