// The selected node: status and timing, links to parents and children, error, output,
// input and metadata as searchable JSON, and the node's logs.
import { useState } from 'preact/hooks';
import type { LogEntry, NodeData } from '../../src/core/types.js';
import { STATUS_ICON, formatDuration, formatTime, nodeDuration } from './format.js';
import { JsonView, jsonContains } from './json-view.js';
import { LogsView } from './logs-view.js';
import { KIND_LABEL, KindIcon, formatCost, formatTokens, kindOf, usageOf } from './ai.js';
import { ConversationView } from './conversation-view.js';
import { hasConversation } from './conversation.js';

function Section({
  title,
  value,
  search,
  open: initial = true,
  tone,
}: {
  title: string;
  value: unknown;
  search: string;
  open?: boolean;
  tone?: string;
}) {
  const [open, setOpen] = useState(initial);
  const hit = jsonContains(value, search);
  if (search && !hit) return null;
  return (
    <section class={`section ${tone ?? ''}`} data-section={title.toLowerCase()}>
      <button class="section-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class="j-caret">{open ? '▾' : '▸'}</span> {title}
      </button>
      {open ? <JsonView value={value} search={search} /> : null}
    </section>
  );
}

function ConversationSection({
  node,
  nodes,
  logs,
  onSelect,
}: {
  node: NodeData;
  nodes: ReadonlyMap<string, NodeData>;
  logs: readonly LogEntry[];
  onSelect: (id: string) => void;
}) {
  const [open, setOpen] = useState(true);
  return (
    <section class="section" data-section="conversation">
      <button class="section-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class="j-caret">{open ? '▾' : '▸'}</span> Conversation
      </button>
      {open ? <ConversationView node={node} nodes={nodes} logs={logs} onSelect={onSelect} /> : null}
    </section>
  );
}

function NodeLink({ node, onSelect }: { node: NodeData | undefined; onSelect: (id: string) => void }) {
  if (!node) return null;
  return (
    <button class={`node-link st-${node.status}`} onClick={() => onSelect(node.id)} title={node.id}>
      <span class="st-icon">{STATUS_ICON[node.status]}</span> {node.label ?? node.id}
    </button>
  );
}

export interface NodeDetailsProps {
  node: NodeData;
  nodes: ReadonlyMap<string, NodeData>;
  logs: readonly LogEntry[];
  now: number;
  onSelect: (id: string) => void;
  onClose: () => void;
}

export function NodeDetails({ node, nodes, logs, now, onSelect, onClose }: NodeDetailsProps) {
  const [search, setSearch] = useState('');
  const dur = nodeDuration(node, now);
  const meta = node.metadata && Object.keys(node.metadata).length ? node.metadata : undefined;
  const kind = kindOf(node);
  const usage = usageOf(node);
  const conversation = hasConversation(node);
  return (
    <div class="details" data-node-id={node.id}>
      <header class="details-head">
        <div class="details-title">
          <span class={`badge st-${node.status}`}>
            <span class="st-icon">{STATUS_ICON[node.status]}</span> {node.status}
          </span>
          <h2 class="details-label">
            <KindIcon kind={kind} size={15} />
            {node.icon && node.icon !== kind ? <span class="node-icon">{node.icon}</span> : null}
            {node.label ?? node.id}
          </h2>
          <button class="icon-btn" onClick={onClose} title="Close (Esc)" aria-label="Close details">
            ✕
          </button>
        </div>
        {node.description ? <p class="muted small">{node.description}</p> : null}
        <dl class="facts">
          <dt>Id</dt>
          <dd class="mono">{node.id}</dd>
          <dt>Kind</dt>
          <dd data-testid="node-kind">{KIND_LABEL[kind] ?? kind}</dd>
          {usage ? (
            <>
              <dt>Model</dt>
              <dd data-testid="node-model">
                {usage.model}
                {usage.provider ? <span class="muted"> · {usage.provider}</span> : null}
              </dd>
              <dt>Tokens</dt>
              <dd data-testid="node-tokens" title={`${usage.total_tokens} tokens`}>
                {formatTokens(usage.input_tokens)} in · {formatTokens(usage.output_tokens)} out
                {usage.cached_tokens ? <span class="muted"> · {formatTokens(usage.cached_tokens)} cached</span> : null}
                {usage.reasoning_tokens ? (
                  <span class="muted"> · {formatTokens(usage.reasoning_tokens)} reasoning</span>
                ) : null}
              </dd>
              {usage.ttft_ms !== undefined ? (
                <>
                  <dt>First token</dt>
                  <dd>{formatDuration(usage.ttft_ms)}</dd>
                </>
              ) : null}
              {usage.cost ? (
                <>
                  <dt>Cost</dt>
                  <dd data-testid="node-cost">
                    {formatCost(usage.cost)}
                    {usage.cost.estimated ? <span class="muted"> (estimated)</span> : null}
                  </dd>
                </>
              ) : null}
            </>
          ) : null}
          <dt>Duration</dt>
          <dd>
            {formatDuration(dur)}
            {node.status === 'running' ? <span class="muted"> (running)</span> : null}
          </dd>
          <dt>Started</dt>
          <dd>{formatTime(node.start_time ?? node.created_at)}</dd>
          <dt>Ended</dt>
          <dd>{formatTime(node.end_time)}</dd>
          {node.parent_ids.length ? (
            <>
              <dt>{node.parent_ids.length > 1 ? `Joins ${node.parent_ids.length}` : 'Parent'}</dt>
              <dd class="links">
                {node.parent_ids.slice(0, 12).map((p) => (
                  <NodeLink key={p} node={nodes.get(p)} onSelect={onSelect} />
                ))}
                {node.parent_ids.length > 12 ? (
                  <span class="muted small">+{node.parent_ids.length - 12} more</span>
                ) : null}
              </dd>
            </>
          ) : null}
          {node.children.length ? (
            <>
              <dt>Children</dt>
              <dd class="links">
                {node.children.slice(0, 12).map((c) => (
                  <NodeLink key={c} node={nodes.get(c)} onSelect={onSelect} />
                ))}
                {node.children.length > 12 ? <span class="muted small">+{node.children.length - 12} more</span> : null}
              </dd>
            </>
          ) : null}
        </dl>
        <input
          class="input small"
          type="search"
          placeholder="Search input, output, error, metadata…"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
          aria-label="Search node data"
        />
      </header>
      <div class="details-body">
        {node.error !== undefined ? (
          <Section title="Error" value={node.error} search={search} tone="tone-error" />
        ) : null}
        {conversation && !search ? (
          <ConversationSection node={node} nodes={nodes} logs={logs} onSelect={onSelect} />
        ) : null}
        {'output' in node && node.output !== undefined ? (
          <Section key={`o${conversation}`} title="Output" value={node.output} search={search} open={!conversation} />
        ) : null}
        {'input' in node && node.input !== undefined ? (
          <Section key={`i${conversation}`} title="Input" value={node.input} search={search} open={!conversation} />
        ) : null}
        {meta ? (
          <Section
            title="Metadata"
            value={meta}
            search={search}
            open={!search ? Object.keys(meta).length <= 8 : true}
          />
        ) : null}
        {node.output === undefined && node.input === undefined && node.error === undefined && !meta ? (
          <div class="empty small">No input, output or metadata recorded.</div>
        ) : null}
        <section class="section section-logs" data-section="logs">
          <div class="section-head static">
            Logs <span class="count">{logs.length}</span>
          </div>
          <LogsView logs={logs} />
        </section>
      </div>
    </div>
  );
}
