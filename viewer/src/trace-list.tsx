// The trace list: newest first (or sorted by duration, tokens, cost), polled every 2 s so new
// traces and status changes appear without a reload; server-side text search (`q`) and
// filters (status, kind, model, created by, time range), cursor paging, token and cost
// totals per trace, and picking two traces to compare.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { TraceInfo, TraceStatus } from '../../src/core/types.js';
import { ApiError, listTraces, serverSearches, type ListParams } from './api.js';
import { STATUS_ICON, TRACE_STATUSES, formatAgo, formatDateTime, formatDuration, isTerminal } from './format.js';
import { Highlight } from './json-view.js';
import { compareHref, sessionHref, traceHref, useDebounced, useNow, useShortcuts } from './hooks.js';
import { KINDS, formatCost, formatTokens } from './ai.js';

type SortKey = 'created_at' | 'duration' | 'tokens' | 'cost';

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

/** Stable sort of one page; traces without the value go last either way. */
function sortPage(traces: readonly TraceInfo[], sort: string): TraceInfo[] {
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

const POLL_MS = 2000;
const PAGE_SIZE = 50;

function toMs(local: string): number | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export function TraceList() {
  const [status, setStatus] = useState<TraceStatus | ''>('');
  const [createdByText, setCreatedByText] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const [kind, setKind] = useState('');
  const [modelText, setModelText] = useState('');
  const [sort, setSort] = useState('-created_at');
  const [picked, setPicked] = useState<string[]>([]);
  // Cursor of each page visited; the last one is the current page.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [traces, setTraces] = useState<TraceInfo[] | undefined>();
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [active, setActive] = useState(0);
  const [poll, setPoll] = useState(0);
  const now = useNow(true, 1000);
  const search = useRef<HTMLInputElement | null>(null);

  // Text fields are controlled by what is typed (onInput, so a re-render never resets a
  // field being typed into) and query the server once typing pauses.
  const q = useDebounced(text.trim(), 250);
  const model = useDebounced(modelText.trim(), 250);
  const createdBy = useDebounced(createdByText.trim(), 250);

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
  const pick = (id: string, on: boolean) =>
    setPicked((p) => (on ? [...p.filter((x) => x !== id), id].slice(-2) : p.filter((x) => x !== id)));
  const compareLink = () => {
    // Older first: "a" is the baseline, "b" the run compared against it.
    const [x, y] = picked.map((id) => shown.find((t) => t.id === id));
    const a = x && y && x.created_at > y.created_at ? picked[1] : picked[0];
    const b = a === picked[0] ? picked[1] : picked[0];
    return compareHref(a, b);
  };

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

  const filtersOn = status || createdByText || from || to || text || kind || modelText;
  return (
    <main class="page list-page">
      <div class="list-head">
        <h1>Traces</h1>
        <span class="muted small live-hint">
          <span class="dot pulse" /> updating live
        </span>
      </div>
      <div class="filters">
        <input
          ref={search}
          class="input grow"
          type="search"
          placeholder="Search labels, inputs, outputs, logs, errors…  ( / )"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-label="Search traces"
        />
        <select
          class="input"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as TraceStatus | '')}
          aria-label="Status"
        >
          <option value="">All statuses</option>
          {TRACE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select class="input" value={kind} onChange={(e) => setKind(e.currentTarget.value)} aria-label="Node kind">
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
          onInput={(e) => setModelText(e.currentTarget.value)}
          aria-label="Model"
        />
        <input
          class="input narrow"
          placeholder="Created by"
          value={createdByText}
          onInput={(e) => setCreatedByText(e.currentTarget.value)}
          aria-label="Created by"
        />
        <label class="field">
          from
          <input
            class="input"
            type="datetime-local"
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value)}
            aria-label="Created from"
          />
        </label>
        <label class="field">
          to
          <input
            class="input"
            type="datetime-local"
            value={to}
            onChange={(e) => setTo(e.currentTarget.value)}
            aria-label="Created to"
          />
        </label>
        {filtersOn ? (
          <button
            class="btn small"
            onClick={() => {
              setStatus('');
              setCreatedByText('');
              setFrom('');
              setTo('');
              setText('');
              setKind('');
              setModelText('');
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {picked.length ? (
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
          <button class="btn small" onClick={() => setPicked([])}>
            Clear
          </button>
        </div>
      ) : null}
      {error ? <div class="notice error">{error}</div> : null}
      {traces === undefined && !error ? <div class="empty">Loading…</div> : null}
      {traces && shown.length === 0 ? (
        <div class="empty">
          {traces.length === 0 && !filtersOn ? (
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
            {shown.map((t, i) => {
              const running = !isTerminal(t.status);
              const duration =
                t.duration ?? (t.ended_at ? t.ended_at - t.created_at : running ? now - t.created_at : undefined);
              return (
                <tr
                  key={t.id}
                  class={`trace-row ${i === active ? 'active' : ''}`}
                  data-trace-id={t.id}
                  data-status={t.status}
                  onClick={() => (location.hash = traceHref(t.id))}
                >
                  <td class="pick" onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      aria-label={`Pick ${t.id} to compare`}
                      checked={picked.includes(t.id)}
                      onChange={(e) => pick(t.id, e.currentTarget.checked)}
                    />
                  </td>
                  <td>
                    <span class={`badge st-${t.status}`}>
                      <span class="st-icon">{STATUS_ICON[t.status]}</span> {t.status}
                    </span>
                  </td>
                  <td class="trace-cell">
                    <a href={traceHref(t.id)} class="trace-label" onClick={(e) => e.stopPropagation()}>
                      <Highlight text={t.label ?? t.agent_name ?? '(unnamed)'} q={hl} />
                    </a>
                    <div class="muted small mono">
                      <Highlight text={t.id} q={hl} />
                      {t.agent_name && t.label ? (
                        <>
                          {' · '}
                          <Highlight text={t.agent_name} q={hl} />
                        </>
                      ) : null}
                      {t.session_id ? (
                        <>
                          {' · '}
                          <a
                            href={sessionHref(t.session_id)}
                            class="session-link"
                            onClick={(e) => e.stopPropagation()}
                            title="All traces of this session"
                          >
                            session {t.session_id}
                          </a>
                        </>
                      ) : null}
                    </div>
                  </td>
                  <td>{t.created_by ? <Highlight text={t.created_by} q={hl} /> : <span class="muted">–</span>}</td>
                  <td class="num">{t.node_count?.toLocaleString() ?? '–'}</td>
                  <td
                    class="num"
                    data-col="tokens"
                    title={
                      t.usage
                        ? `${t.usage.input_tokens.toLocaleString()} in · ${t.usage.output_tokens.toLocaleString()} out · ${t.usage.llm_calls} LLM calls`
                        : undefined
                    }
                  >
                    {t.usage?.total_tokens ? formatTokens(t.usage.total_tokens) : <span class="muted">–</span>}
                  </td>
                  <td class="num" data-col="cost">
                    {t.usage?.cost ? formatCost(t.usage.cost) : <span class="muted">–</span>}
                  </td>
                  <td class="num">{formatDuration(duration)}</td>
                  <td title={formatDateTime(t.created_at)}>{formatAgo(t.created_at, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <div class="pager">
        <button class="btn small" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span class="muted small">Page {cursors.length}</span>
        <button class="btn small" disabled={!nextCursor} onClick={() => setCursors([...cursors, nextCursor])}>
          Older →
        </button>
      </div>
    </main>
  );
}
