// The trace list: newest first (or sorted by duration, tokens, cost), polled every 2 s so new
// traces and status changes appear without a reload; server-side text search (`q`) and
// filters (status, kind, model, created by, time range), cursor paging, token and cost
// totals per trace, and picking two traces to compare. This file composes the filter bar,
// the compare bar and the table, and owns the keyboard; the data comes from useTraceListing.
import { useRef, useState } from 'preact/hooks';
import { CompareBar } from './compare-bar.js';
import { traceHref, useNow, useShortcuts } from './hooks.js';
import { NO_LIST_FILTERS, TraceListFilters, anyListFilter, type ListFilters } from './trace-list-filters.js';
import { TraceTable } from './trace-table.js';
import { useTraceListing } from './use-trace-listing.js';

export function TraceList() {
  const [filters, setFilterValues] = useState<ListFilters>(NO_LIST_FILTERS);
  const [sort, setSort] = useState('-created_at');
  const [picked, setPicked] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const now = useNow(true, 1000);
  const search = useRef<HTMLInputElement | null>(null);
  const setFilters = (patch: Partial<ListFilters>) => setFilterValues((f) => ({ ...f, ...patch }));
  const { traces, shown, error, highlight, page, newer, older } = useTraceListing(filters, sort);

  const pick = (id: string, on: boolean) =>
    setPicked((p) => (on ? [...p.filter((x) => x !== id), id].slice(-2) : p.filter((x) => x !== id)));

  useShortcuts((e) => {
    if (e.key === '/') {
      e.preventDefault();
      search.current?.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'j') {
      e.preventDefault();
      setActive((a) => Math.min(shown.length - 1, a + 1));
    } else if (e.key === 'ArrowUp' || e.key === 'k') {
      e.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (e.key === 'Enter' && shown[active]) location.hash = traceHref(shown[active].id);
  });

  return (
    <main class="page list-page">
      <div class="list-head">
        <h1>Traces</h1>
        <span class="muted small live-hint">
          <span class="dot pulse" /> updating live
        </span>
      </div>
      <TraceListFilters filters={filters} setFilters={setFilters} searchRef={search} />
      {picked.length ? <CompareBar picked={picked} shown={shown} onClear={() => setPicked([])} /> : null}
      {error ? <div class="notice error">{error}</div> : null}
      {traces === undefined && !error ? <div class="empty">Loading…</div> : null}
      {traces && shown.length === 0 ? (
        <div class="empty">
          {traces.length === 0 && !anyListFilter(filters) ? (
            <>
              <p>No traces yet.</p>
              <p class="muted small">
                Run an agent with a livetrace Tracer pointed at this server's store, or start the demo with `npx
                livetrace demo`.
              </p>
            </>
          ) : (
            'No trace matches these filters.'
          )}
        </div>
      ) : null}
      {shown.length ? (
        <TraceTable
          traces={shown}
          sort={sort}
          setSort={setSort}
          active={active}
          picked={picked}
          onPick={pick}
          hl={highlight}
          now={now}
        />
      ) : null}
      <div class="pager">
        <button class="btn small" disabled={!newer} onClick={newer}>
          ← Newer
        </button>
        <span class="muted small">Page {page}</span>
        <button class="btn small" disabled={!older} onClick={older}>
          Older →
        </button>
      </div>
    </main>
  );
}
