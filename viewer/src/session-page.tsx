// A session (a conversation or thread): its traces in time order, each with status,
// duration, tokens and cost, and the session's totals. Polled like the list, so a new turn
// appears while it runs.
import { useEffect, useState } from 'preact/hooks';
import type { TraceInfo } from '../../src/core/types.js';
import { ApiError, listTraces } from './api.js';
import { formatCost, formatTokens } from './ai.js';
import { UsageCells } from './trace-row.js';
import { STATUS_ICON, formatDateTime, formatDuration, isTerminal } from './format.js';
import { compareHref, traceHref, useNow } from './hooks.js';

const POLL_MS = 2000;
const MAX_PAGES = 20;

function durationOf(t: TraceInfo, now: number): number | undefined {
  return (
    t.duration ?? (t.ended_at ? t.ended_at - t.created_at : !isTerminal(t.status) ? now - t.created_at : undefined)
  );
}

export function SessionPage({ id }: { id: string }) {
  const [traces, setTraces] = useState<TraceInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [poll, setPoll] = useState(0);
  const now = useNow(true, 1000);

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      // Oldest first; follow the cursor so a long session is complete.
      const all: TraceInfo[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < MAX_PAGES; i++) {
        const r = await listTraces({ sessionId: id, sort: 'created_at', limit: 200, cursor }, abort.signal);
        // Kept only if it is in the session (a server without the filter answers everything).
        all.push(...r.traces.filter((t) => t.session_id === id));
        cursor = r.nextCursor;
        if (!cursor) break;
      }
      // Time order whatever the server did.
      all.sort((a, b) => a.created_at - b.created_at);
      setTraces(all);
      setError(undefined);
    })().catch((err: unknown) => {
      if (abort.signal.aborted) return;
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This server needs an access token.'
          : `Cannot load the session: ${(err as Error).message}`,
      );
    });
    const t = setTimeout(() => setPoll((p) => p + 1), POLL_MS);
    return () => {
      abort.abort();
      clearTimeout(t);
    };
  }, [id, poll]);

  let tokens = 0;
  let input = 0;
  let output = 0;
  let llm = 0;
  let cost: { amount: number; currency: string } | undefined;
  let mixed = false;
  let duration = 0;
  for (const t of traces ?? []) {
    const u = t.usage;
    duration += durationOf(t, now) ?? 0;
    if (!u) continue;
    tokens += u.total_tokens;
    input += u.input_tokens;
    output += u.output_tokens;
    llm += u.llm_calls;
    if (u.cost && !mixed) {
      if (!cost) cost = { ...u.cost };
      else if (cost.currency === u.cost.currency) cost.amount += u.cost.amount;
      else {
        mixed = true;
        cost = undefined;
      }
    }
  }
  const first = traces?.[0];
  const users = [...new Set((traces ?? []).map((t) => t.user_id).filter((u): u is string => !!u))];

  return (
    <main class="page list-page session-page">
      <div class="list-head">
        <h1>
          Session <span class="mono">{id}</span>
        </h1>
        <span class="muted small live-hint">
          <span class="dot pulse" /> updating live
        </span>
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      {traces === undefined && !error ? <div class="empty">Loading…</div> : null}
      {traces && traces.length === 0 ? <div class="empty">No trace in this session.</div> : null}
      {traces && traces.length ? (
        <>
          <dl class="trace-facts session-totals" data-testid="session-totals">
            <div>
              <dt>Turns</dt>
              <dd data-testid="session-turns">{traces.length}</dd>
            </div>
            {users.length ? (
              <div>
                <dt>User</dt>
                <dd>{users.join(', ')}</dd>
              </div>
            ) : null}
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(first?.created_at)}</dd>
            </div>
            <div>
              <dt>Time in runs</dt>
              <dd>{formatDuration(duration)}</dd>
            </div>
            <div>
              <dt>Tokens</dt>
              <dd
                data-testid="session-tokens"
                title={`${input.toLocaleString()} input + ${output.toLocaleString()} output`}
              >
                {formatTokens(tokens)}
              </dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd data-testid="session-cost">{mixed ? 'mixed currencies' : formatCost(cost)}</dd>
            </div>
            <div>
              <dt>LLM calls</dt>
              <dd>{llm}</dd>
            </div>
          </dl>
          <table class="traces" aria-label="Session traces">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Status</th>
                <th>Trace</th>
                <th>Started</th>
                <th class="num">Duration</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {traces.map((t, i) => (
                <tr
                  key={t.id}
                  class="trace-row"
                  data-trace-id={t.id}
                  data-status={t.status}
                  onClick={() => (location.hash = traceHref(t.id))}
                >
                  <td class="num muted">{i + 1}</td>
                  <td>
                    <span class={`badge st-${t.status}`}>
                      <span class="st-icon">{STATUS_ICON[t.status]}</span> {t.status}
                    </span>
                  </td>
                  <td class="trace-cell">
                    <a href={traceHref(t.id)} class="trace-label" onClick={(e) => e.stopPropagation()}>
                      {t.label ?? t.agent_name ?? '(unnamed)'}
                    </a>
                    <div class="muted small mono">{t.id}</div>
                  </td>
                  <td>{formatDateTime(t.created_at)}</td>
                  <td class="num" data-col="duration">
                    {formatDuration(durationOf(t, now))}
                  </td>
                  <UsageCells usage={t.usage} />
                  <td onClick={(e) => e.stopPropagation()}>
                    {i > 0 ? (
                      <a
                        class="small"
                        href={compareHref(traces[i - 1]!.id, t.id)}
                        title="Compare with the previous turn"
                      >
                        ⇄ prev
                      </a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </main>
  );
}
