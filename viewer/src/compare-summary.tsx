// The compare page's summary line: how many nodes were added, removed, changed status or
// output, and unchanged, with the "only changes" switch for the table below.
import type { CompareSummary as Summary } from './compare-model.js';

export function CompareSummary({
  summary: s,
  onlyChanges,
  setOnlyChanges,
}: {
  summary: Summary;
  onlyChanges: boolean;
  setOnlyChanges: (on: boolean) => void;
}) {
  return (
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
  );
}
