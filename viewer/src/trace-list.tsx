// The trace list: newest first, polled every 2 s so new traces and status changes appear
// without a reload; server-side filters (status, created by, time range) and cursor paging,
// plus a text filter over the loaded page (labels, ids, agents).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { TraceInfo, TraceStatus } from '../../src/core/types.js';
import { ApiError, listTraces, type ListParams } from './api.js';
import { STATUS_ICON, TRACE_STATUSES, formatAgo, formatDateTime, formatDuration, isTerminal } from './format.js';
import { Highlight } from './json-view.js';
import { traceHref, useNow, useShortcuts } from './hooks.js';

const POLL_MS = 2000;
const PAGE_SIZE = 50;

function toMs(local: string): number | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export function TraceList() {
  const [status, setStatus] = useState<TraceStatus | ''>('');
  const [createdBy, setCreatedBy] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  // Cursor of each page visited; the last one is the current page.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [traces, setTraces] = useState<TraceInfo[] | undefined>();
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [active, setActive] = useState(0);
  const [poll, setPoll] = useState(0);
  const now = useNow(true, 1000);
  const search = useRef<HTMLInputElement | null>(null);

  const params: ListParams = { status, createdBy: createdBy.trim(), from: toMs(from), to: toMs(to), limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] };
  const key = JSON.stringify(params);

  useEffect(() => setCursors([undefined]), [status, createdBy, from, to]);

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
        setError(err instanceof ApiError && err.status === 401 ? 'This server needs an access token.' : `Cannot load traces: ${(err as Error).message}`);
      });
    const t = setTimeout(() => setPoll((p) => p + 1), POLL_MS);
    return () => {
      abort.abort();
      clearTimeout(t);
    };
  }, [key, poll]);

  const q = text.trim().toLowerCase();
  const shown = useMemo(
    () =>
      (traces ?? []).filter(
        (t) => !q || t.id.toLowerCase().includes(q) || (t.label?.toLowerCase().includes(q) ?? false) || (t.agent_name?.toLowerCase().includes(q) ?? false) || (t.created_by?.toLowerCase().includes(q) ?? false),
      ),
    [traces, q],
  );

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
    } else if (e.key === 'Enter' && shown[active]) location.hash = traceHref(shown[active]!.id);
  });

  const filtersOn = status || createdBy || from || to || text;
  return (
    <main class="page list-page">
      <div class="list-head">
        <h1>Traces</h1>
        <span class="muted small live-hint">
          <span class="dot pulse" /> updating live
        </span>
      </div>
      <div class="filters">
        <input ref={search} class="input grow" type="search" placeholder="Search labels, ids, agents…  ( / )" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-label="Search traces" />
        <select class="input" value={status} onChange={(e) => setStatus(e.currentTarget.value as TraceStatus | '')} aria-label="Status">
          <option value="">All statuses</option>
          {TRACE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input class="input" placeholder="Created by" value={createdBy} onChange={(e) => setCreatedBy(e.currentTarget.value)} aria-label="Created by" />
        <label class="field">
          from
          <input class="input" type="datetime-local" value={from} onChange={(e) => setFrom(e.currentTarget.value)} aria-label="Created from" />
        </label>
        <label class="field">
          to
          <input class="input" type="datetime-local" value={to} onChange={(e) => setTo(e.currentTarget.value)} aria-label="Created to" />
        </label>
        {filtersOn ? (
          <button
            class="btn small"
            onClick={() => {
              setStatus('');
              setCreatedBy('');
              setFrom('');
              setTo('');
              setText('');
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      {traces === undefined && !error ? <div class="empty">Loading…</div> : null}
      {traces && shown.length === 0 ? (
        <div class="empty">
          {traces.length === 0 && !filtersOn ? (
            <>
              <p>No traces yet.</p>
              <p class="muted small">Run an agent with a livetrace Tracer pointed at this server's store, or start the demo with `npx livetrace demo`.</p>
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
              <th>Status</th>
              <th>Trace</th>
              <th>Created by</th>
              <th class="num">Nodes</th>
              <th class="num">Duration</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t, i) => {
              const running = !isTerminal(t.status);
              const duration = t.duration ?? (t.ended_at ? t.ended_at - t.created_at : running ? now - t.created_at : undefined);
              return (
                <tr key={t.id} class={`trace-row ${i === active ? 'active' : ''}`} data-trace-id={t.id} data-status={t.status} onClick={() => (location.hash = traceHref(t.id))}>
                  <td>
                    <span class={`badge st-${t.status}`}>
                      <span class="st-icon">{STATUS_ICON[t.status]}</span> {t.status}
                    </span>
                  </td>
                  <td class="trace-cell">
                    <a href={traceHref(t.id)} class="trace-label" onClick={(e) => e.stopPropagation()}>
                      <Highlight text={t.label ?? t.agent_name ?? '(unnamed)'} q={q} />
                    </a>
                    <div class="muted small mono">
                      <Highlight text={t.id} q={q} />
                      {t.agent_name && t.label ? (
                        <>
                          {' · '}
                          <Highlight text={t.agent_name} q={q} />
                        </>
                      ) : null}
                    </div>
                  </td>
                  <td>{t.created_by ? <Highlight text={t.created_by} q={q} /> : <span class="muted">–</span>}</td>
                  <td class="num">{t.node_count?.toLocaleString() ?? '–'}</td>
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
