// An LLM node's conversation: one bubble per message (system, user, assistant, tool), text
// as safe markdown (markdown.tsx), tool calls with their arguments and results, and the
// streamed text growing live while the call runs.
import { useMemo } from 'preact/hooks';
import type { LogEntry, NodeData } from '../../src/core/types.js';
import { buildConversation, toolNodesByCallId, type Message, type Part, type ToolCall } from './conversation.js';
import { JsonView } from './json-view.js';
import { Markdown } from './markdown.js';

const ROLE_ICON: Record<string, string> = { system: 'S', user: 'U', assistant: 'A', tool: 'T' };

function PartView({ part }: { part: Part }) {
  if (part.type === 'text') return <Markdown text={part.text} />;
  if (part.type === 'media') return <span class="muted small">{part.label}</span>;
  return <JsonView value={part.value} search="" />;
}

function ToolCallView({ call, onSelect }: { call: ToolCall; onSelect: (id: string) => void }) {
  const r = call.result;
  return (
    <div class="tool-call" data-tool-call-id={call.id}>
      <div class="tool-call-head">
        <span class="tool-fn">ƒ</span> <span class="mono tool-name">{call.name}</span>
        {call.id ? <span class="muted small mono"> {call.id}</span> : null}
        {r?.nodeId ? (
          <button class="link-btn small" onClick={() => onSelect(r.nodeId!)}>
            open tool node →
          </button>
        ) : null}
      </div>
      <div class="tool-args">
        <div class="tool-sub">arguments</div>
        {typeof call.arguments === 'string' ? (
          <pre class="md-plain">{call.arguments}</pre>
        ) : (
          <JsonView value={call.arguments} search="" />
        )}
      </div>
      {r ? (
        <div class={`tool-result ${r.failed ? 'failed' : ''}`} data-testid="tool-result">
          <div class="tool-sub">{r.failed ? 'error' : 'result'}</div>
          {r.value === undefined ? (
            <span class="muted small">(no output yet)</span>
          ) : typeof r.value === 'string' ? (
            <pre class="md-plain">{r.value}</pre>
          ) : (
            <JsonView value={r.value} search="" />
          )}
        </div>
      ) : (
        <div class="tool-result pending muted small">no result recorded</div>
      )}
    </div>
  );
}

function MessageView({ m, onSelect }: { m: Message; onSelect: (id: string) => void }) {
  return (
    <div
      class={`msg role-${m.role.replace(/[^a-z]/gi, '')} from-${m.from} ${m.streaming ? 'streaming' : ''}`}
      data-role={m.role}
      data-from={m.from}
    >
      <div class="msg-head">
        <span class="msg-icon" aria-hidden="true">
          {ROLE_ICON[m.role] ?? '?'}
        </span>
        <span class="msg-role">{m.role}</span>
        {m.name ? <span class="muted small"> {m.name}</span> : null}
        {m.role === 'tool' && (m.toolName || m.toolCallId) ? (
          <span class="muted small mono">
            {' '}
            ← {m.toolName ?? ''} {m.toolCallId ?? ''}
          </span>
        ) : null}
        {m.from === 'output' ? <span class="msg-tag">output</span> : null}
        {m.streaming ? <span class="msg-tag live">streaming…</span> : null}
      </div>
      <div class="msg-body">
        {m.parts.map((p, i) => (
          <PartView key={i} part={p} />
        ))}
        {m.streaming ? <span class="caret" aria-hidden="true" /> : null}
        {m.toolCalls.map((c, i) => (
          <ToolCallView key={c.id ?? i} call={c} onSelect={onSelect} />
        ))}
        {!m.parts.length && !m.toolCalls.length && !m.streaming ? <span class="muted small">(empty)</span> : null}
      </div>
    </div>
  );
}

export function ConversationView({
  node,
  nodes,
  logs,
  onSelect,
}: {
  node: NodeData;
  nodes: ReadonlyMap<string, NodeData>;
  /** A new array each frame (LiveTrace.logsOf): the node and its tool nodes change in place. */
  logs: readonly LogEntry[];
  onSelect: (id: string) => void;
}) {
  const conv = useMemo(() => buildConversation(node, logs, toolNodesByCallId(nodes)), [node, logs, nodes]);
  if (!conv.messages.length) return <div class="empty small">No messages recorded.</div>;
  return (
    <div class="conversation" data-testid="conversation">
      {conv.messages.map((m, i) => (
        <MessageView key={i} m={m} onSelect={onSelect} />
      ))}
    </div>
  );
}
