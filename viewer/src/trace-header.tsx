// The trace page's header: status, title and connection state, then the facts about the run
// (ids, who and when, duration, counts, session, token and cost totals, end reason).
import type { TraceInfo } from '../../src/core/types.js';
import { formatCost, formatTokens, traceUsage } from './ai.js';
import { STATUS_ICON, formatDateTime, formatDuration } from './format.js';
import { sessionHref } from './hooks.js';
import type { Connection } from './use-trace.js';

const CONNECTION_TEXT: Record<Connection, string> = {
  loading: 'loading…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
  error: 'error',
};

export function TraceHeader({
  id,
  info,
  connection,
  duration,
  nodeCount,
  logCount,
}: {
  id: string;
  info: TraceInfo;
  connection: Connection;
  duration: number | undefined;
  nodeCount: number;
  logCount: number;
}) {
  const title = info.label ?? info.agent_name ?? id;
  const totals = traceUsage(info);
  return (
    <header class="trace-head">
      <div class="trace-title-row">
        <a class="back" href="#/" title="All traces (Esc)">
          ←
        </a>
        <span class={`badge big st-${info.status}`} data-testid="trace-status">
          <span class="st-icon">{STATUS_ICON[info.status]}</span> {info.status}
        </span>
        <h1 class="trace-title">{title}</h1>
        <span class={`conn conn-${connection}`} data-testid="connection">
          <span class="dot" /> {CONNECTION_TEXT[connection]}
        </span>
      </div>
      <dl class="trace-facts">
        <div>
          <dt>Trace</dt>
          <dd class="mono">{id}</dd>
        </div>
        {info.agent_name ? (
          <div>
            <dt>Agent</dt>
            <dd>{info.agent_name}</dd>
          </div>
        ) : null}
        {info.created_by ? (
          <div>
            <dt>By</dt>
            <dd>{info.created_by}</dd>
          </div>
        ) : null}
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(info.created_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="trace-duration">{formatDuration(duration)}</dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd data-testid="node-count">{nodeCount.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Logs</dt>
          <dd>{logCount.toLocaleString()}</dd>
        </div>
        {info.session_id ? (
          <div>
            <dt>Session</dt>
            <dd>
              <a href={sessionHref(info.session_id)} data-testid="session-link">
                {info.session_id}
              </a>
            </dd>
          </div>
        ) : null}
        {info.user_id ? (
          <div>
            <dt>User</dt>
            <dd>{info.user_id}</dd>
          </div>
        ) : null}
        {totals.llm_calls || totals.total_tokens ? (
          <>
            <div>
              <dt>Tokens</dt>
              <dd
                data-testid="trace-tokens"
                title={`${totals.input_tokens.toLocaleString()} input + ${totals.output_tokens.toLocaleString()} output`}
              >
                {formatTokens(totals.total_tokens)}{' '}
                <span class="muted small">
                  ({formatTokens(totals.input_tokens)} in · {formatTokens(totals.output_tokens)} out)
                </span>
              </dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd data-testid="trace-cost" title="estimated from the price table">
                {formatCost(totals.cost)}
              </dd>
            </div>
            <div>
              <dt>LLM calls</dt>
              <dd data-testid="trace-llm-calls">{totals.llm_calls}</dd>
            </div>
          </>
        ) : null}
        {totals.tool_calls ? (
          <div>
            <dt>Tool calls</dt>
            <dd data-testid="trace-tool-calls">{totals.tool_calls}</dd>
          </div>
        ) : null}
        {totals.failed_nodes ? (
          <div>
            <dt>Failed</dt>
            <dd data-testid="trace-failed-nodes" class="err">
              {totals.failed_nodes}
            </dd>
          </div>
        ) : null}
        {info.reason ? (
          <div>
            <dt>Reason</dt>
            <dd>{info.reason}</dd>
          </div>
        ) : null}
      </dl>
    </header>
  );
}
