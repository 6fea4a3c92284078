// The bar above the trace list while traces are picked to compare: which ones, and a link
// to the comparison once there are two (the older one is the baseline).
import type { TraceInfo } from '../../src/core/types.js';
import { compareHref } from './hooks.js';

export function CompareBar({
  picked,
  shown,
  onClear,
}: {
  picked: readonly string[];
  shown: readonly TraceInfo[];
  onClear: () => void;
}) {
  const compareLink = () => {
    // Older first: "a" is the baseline, "b" the run compared against it.
    const [x, y] = picked.map((id) => shown.find((t) => t.id === id));
    const a = x && y && x.created_at > y.created_at ? picked[1] : picked[0];
    const b = a === picked[0] ? picked[1] : picked[0];
    return compareHref(a, b);
  };
  return (
    <div class="compare-bar" data-testid="compare-bar">
      <span class="small">
        {picked.length === 1 ? 'Pick one more trace to compare with ' : 'Compare '}
        <span class="mono">{picked.join(' and ')}</span>
      </span>
      {picked.length === 2 ? (
        <a class="btn small primary" href={compareLink()} data-testid="compare-go">
          Compare
        </a>
      ) : null}
      <button class="btn small" onClick={onClear}>
        Clear
      </button>
    </div>
  );
}
