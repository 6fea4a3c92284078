// One page of the trace list, kept live: the filters become a server query (text fields
// once typing pauses), the page is polled every 2 s, paged by cursor, and a server without
// text search or sorting gets the page filtered and sorted here instead.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { TraceInfo } from '../../src/core/types.js';
import { ApiError, listTraces, serverSearches, type ListParams } from './api.js';
import { useDebounced } from './hooks.js';
import type { ListFilters } from './trace-list-filters.js';
import { sortPage } from './trace-sort.js';

const POLL_MS = 2000;
const PAGE_SIZE = 50;

function toMs(local: string): number | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export interface TraceListing {
  /** The page as the server sent it; undefined until the first answer. */
  traces: TraceInfo[] | undefined;
  /** The page as shown (filtered and sorted here when the server cannot). */
  shown: TraceInfo[];
  error: string | undefined;
  /** The search text to highlight, lower-cased. */
  highlight: string;
  /** 1 for the newest page. */
  page: number;
  newer: (() => void) | undefined;
  older: (() => void) | undefined;
}

export function useTraceListing(filters: ListFilters, sort: string): TraceListing {
  const { status, kind, from, to } = filters;
  // Cursor of each page visited; the last one is the current page.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [traces, setTraces] = useState<TraceInfo[] | undefined>();
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [poll, setPoll] = useState(0);

  // Text fields are controlled by what is typed (onInput, so a re-render never resets a
  // field being typed into) and query the server once typing pauses.
  const q = useDebounced(filters.text.trim(), 250);
  const model = useDebounced(filters.modelText.trim(), 250);
  const createdBy = useDebounced(filters.createdByText.trim(), 250);

  const cursor = cursors[cursors.length - 1];
  const params = useMemo(
    (): ListParams => ({
      status,
      createdBy,
      from: toMs(from),
      to: toMs(to),
      limit: PAGE_SIZE,
      cursor,
      q: q || undefined,
      kind: kind || undefined,
      model: model || undefined,
      sort: sort === '-created_at' ? undefined : sort,
    }),
    [status, createdBy, from, to, cursor, q, kind, model, sort],
  );

  useEffect(() => setCursors([undefined]), [status, createdBy, from, to, q, kind, model, sort]);

  // A server without the text query: the search box filters the loaded page instead.
  const [localSearch, setLocalSearch] = useState(false);
  useEffect(() => {
    if (!q && sort === '-created_at') return;
    const abort = new AbortController();
    serverSearches(abort.signal).then(
      (yes) => setLocalSearch(!yes),
      () => undefined,
    );
    return () => abort.abort();
  }, [q, sort]);

  useEffect(() => {
    const abort = new AbortController();
    listTraces(params, abort.signal)
      .then((r) => {
        setTraces(r.traces);
        setNextCursor(r.nextCursor);
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        setError(
          err instanceof ApiError && err.status === 401
            ? 'This server needs an access token.'
            : `Cannot load traces: ${(err as Error).message}`,
        );
      });
    const t = setTimeout(() => setPoll((p) => p + 1), POLL_MS);
    return () => {
      abort.abort();
      clearTimeout(t);
    };
  }, [params, poll]);

  // The server searches and sorts (`q`, `sort`: missing values sort as -1, so last when
  // descending, first when ascending) and its order is kept; a server without search gets
  // the page filtered and sorted here instead (then within the page only).
  const hl = q.toLowerCase();
  const shown = useMemo(() => {
    const page =
      localSearch && hl
        ? (traces ?? []).filter((t) =>
            [t.id, t.label, t.agent_name, t.created_by, t.session_id].some((v) => v?.toLowerCase().includes(hl)),
          )
        : (traces ?? []);
    return localSearch ? sortPage(page, sort) : page;
  }, [traces, sort, localSearch, hl]);

  return {
    traces,
    shown,
    error,
    highlight: hl,
    page: cursors.length,
    newer: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
    older: nextCursor ? () => setCursors([...cursors, nextCursor]) : undefined,
  };
}
