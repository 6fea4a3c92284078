// The trace list's filter bar: text search, status, node kind, model, created by and a
// time range, with a button that clears them all.
import type { Ref } from 'preact';
import type { TraceStatus } from '../../src/core/types.js';
import { KINDS } from './ai.js';
import { TRACE_STATUSES } from './format.js';

/** What is typed or picked in the filter bar (an empty string means "any"). */
export interface ListFilters {
  text: string;
  status: TraceStatus | '';
  kind: string;
  modelText: string;
  createdByText: string;
  /** `datetime-local` values. */
  from: string;
  to: string;
}

export const NO_LIST_FILTERS: ListFilters = {
  text: '',
  status: '',
  kind: '',
  modelText: '',
  createdByText: '',
  from: '',
  to: '',
};

export function anyListFilter(f: ListFilters): boolean {
  return Object.values(f).some(Boolean);
}

export function TraceListFilters({
  filters,
  setFilters,
  searchRef,
}: {
  filters: ListFilters;
  setFilters: (patch: Partial<ListFilters>) => void;
  /** The search box, focused by the `/` shortcut. */
  searchRef: Ref<HTMLInputElement>;
}) {
  const { text, status, kind, modelText, createdByText, from, to } = filters;
  return (
    <div class="filters">
      <input
        ref={searchRef}
        class="input grow"
        type="search"
        placeholder="Search labels, inputs, outputs, logs, errors…  ( / )"
        value={text}
        onInput={(e) => setFilters({ text: e.currentTarget.value })}
        aria-label="Search traces"
      />
      <select
        class="input"
        value={status}
        onChange={(e) => setFilters({ status: e.currentTarget.value as TraceStatus | '' })}
        aria-label="Status"
      >
        <option value="">All statuses</option>
        {TRACE_STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <select
        class="input"
        value={kind}
        onChange={(e) => setFilters({ kind: e.currentTarget.value })}
        aria-label="Node kind"
      >
        <option value="">Any kind</option>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            has {k}
          </option>
        ))}
      </select>
      <input
        class="input narrow"
        placeholder="Model"
        value={modelText}
        onInput={(e) => setFilters({ modelText: e.currentTarget.value })}
        aria-label="Model"
      />
      <input
        class="input narrow"
        placeholder="Created by"
        value={createdByText}
        onInput={(e) => setFilters({ createdByText: e.currentTarget.value })}
        aria-label="Created by"
      />
      <label class="field">
        from
        <input
          class="input"
          type="datetime-local"
          value={from}
          onChange={(e) => setFilters({ from: e.currentTarget.value })}
          aria-label="Created from"
        />
      </label>
      <label class="field">
        to
        <input
          class="input"
          type="datetime-local"
          value={to}
          onChange={(e) => setFilters({ to: e.currentTarget.value })}
          aria-label="Created to"
        />
      </label>
      {anyListFilter(filters) ? (
        <button class="btn small" onClick={() => setFilters(NO_LIST_FILTERS)}>
          Clear
        </button>
      ) : null}
    </div>
  );
}
