// One row of the trace list: a compare checkbox, status, label and ids (search matches
// highlighted), session link, creator, node count, tokens, cost, duration and age. A click
// opens the trace.
import type { TraceInfo } from '../../src/core/types.js';
import { formatCost, formatTokens } from './ai.js';
import { STATUS_ICON, formatAgo, formatDateTime, formatDuration, isTerminal } from './format.js';
import { sessionHref, traceHref } from './hooks.js';
import { Highlight } from './json-view.js';

export function TraceRow({
  t,
  active,
  picked,
  onPick,
  hl,
  now,
}: {
  t: TraceInfo;
  /** The row the keyboard is on. */
  active: boolean;
  picked: boolean;
  onPick: (id: string, on: boolean) => void;
  /** Search text to highlight, lower-cased. */
  hl: string;
  now: number;
}) {
  const running = !isTerminal(t.status);
  const duration = t.duration ?? (t.ended_at ? t.ended_at - t.created_at : running ? now - t.created_at : undefined);
  return (
    <tr
      class={`trace-row ${active ? 'active' : ''}`}
      data-trace-id={t.id}
      data-status={t.status}
      onClick={() => (location.hash = traceHref(t.id))}
    >
      <td class="pick" onClick={(e) => e.stopPropagation()}>
        <input
          type="checkbox"
          aria-label={`Pick ${t.id} to compare`}
          checked={picked}
          onChange={(e) => onPick(t.id, e.currentTarget.checked)}
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
      <UsageCells usage={t.usage} />
      <td class="num">{formatDuration(duration)}</td>
      <td title={formatDateTime(t.created_at)}>{formatAgo(t.created_at, now)}</td>
    </tr>
  );
}

/** The tokens and cost cells of a trace's row (the list and the session page). */
export function UsageCells({ usage }: { usage: TraceInfo['usage'] }) {
  return (
    <>
      <td
        class="num"
        data-col="tokens"
        title={
          usage
            ? `${usage.input_tokens.toLocaleString()} in · ${usage.output_tokens.toLocaleString()} out · ${usage.llm_calls} LLM calls`
            : undefined
        }
      >
        {usage?.total_tokens ? formatTokens(usage.total_tokens) : <span class="muted">–</span>}
      </td>
      <td class="num" data-col="cost">
        {usage?.cost ? formatCost(usage.cost) : <span class="muted">–</span>}
      </td>
    </>
  );
}
