// The trace toolbar's node filters: text, status chips, kind chips, model and a minimum
// duration. Chips show how many nodes have each value; kinds and models appear only when
// the trace has more than plain steps or any model usage.
import { KIND_LABEL, KINDS, KindIcon } from './ai.js';
import { NODE_STATUSES, STATUS_ICON, formatDuration } from './format.js';
import type { NodeCounts } from './node-counts.js';
import type { NodeFilterValues } from './use-visible-graph.js';

const THRESHOLDS = [0, 1, 10, 100, 1000, 10_000];

function toggled<T>(set: ReadonlySet<T>, value: T): Set<T> {
  const next = new Set(set);
  if (next.has(value)) next.delete(value);
  else next.add(value);
  return next;
}

export function NodeFilters({
  filters: { text, statuses, kinds, models, minDuration },
  setFilters,
  counts,
}: {
  filters: NodeFilterValues;
  setFilters: (patch: Partial<NodeFilterValues>) => void;
  counts: NodeCounts;
}) {
  return (
    <>
      <input
        id="node-search"
        class="input"
        type="search"
        placeholder="Filter nodes by label or id  ( / )"
        value={text}
        onInput={(e) => setFilters({ text: e.currentTarget.value })}
        aria-label="Filter nodes"
      />
      <div class="chips" aria-label="Filter by status">
        {NODE_STATUSES.filter((s) => counts.status.get(s)).map((s) => (
          <button
            key={s}
            class={`chip st-${s} ${statuses.has(s) ? 'on' : ''}`}
            aria-pressed={statuses.has(s)}
            onClick={() => setFilters({ statuses: toggled(statuses, s) })}
          >
            <span class="st-icon">{STATUS_ICON[s]}</span> {s} <span class="count">{counts.status.get(s)}</span>
          </button>
        ))}
      </div>
      {counts.kind.size > 1 || (counts.kind.size === 1 && !counts.kind.has('step')) ? (
        <div class="chips" aria-label="Filter by kind">
          {KINDS.filter((k) => counts.kind.get(k)).map((k) => (
            <button
              key={k}
              class={`chip kind-chip ${kinds.has(k) ? 'on' : ''}`}
              aria-pressed={kinds.has(k)}
              data-kind={k}
              title={KIND_LABEL[k]}
              onClick={() => setFilters({ kinds: toggled(kinds, k) })}
            >
              <KindIcon kind={k} /> {k} <span class="count">{counts.kind.get(k)}</span>
            </button>
          ))}
        </div>
      ) : null}
      {counts.model.size ? (
        <select
          class="input small"
          aria-label="Filter by model"
          value={models.size ? [...models][0] : ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setFilters({ models: v ? new Set([v]) : new Set() });
          }}
        >
          <option value="">All models</option>
          {[...counts.model.keys()].sort().map((m) => (
            <option key={m} value={m}>
              {m} ({counts.model.get(m)})
            </option>
          ))}
        </select>
      ) : null}
      <label class="field small" title="Hide finished nodes that took less than this">
        hide &lt;
        <select
          class="input small"
          value={String(minDuration)}
          onChange={(e) => setFilters({ minDuration: Number(e.currentTarget.value) })}
          aria-label="Hide nodes faster than"
        >
          {THRESHOLDS.map((t) => (
            <option key={t} value={String(t)}>
              {t === 0 ? 'off' : formatDuration(t)}
            </option>
          ))}
        </select>
      </label>
    </>
  );
}
