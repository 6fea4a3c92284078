// Data objects of the wire format (snake_case), shared by every layer: tracer, stores,
// server and viewer. This file depends on nothing so that the browser can import it.

export type TraceStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type NodeStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a node stands for: the viewer's icon and the rollups' counting rule. Default `step`. */
export type NodeKind = 'llm' | 'tool' | 'retriever' | 'embedding' | 'agent' | 'chain' | 'guardrail' | 'step';

export const NODE_KINDS: readonly NodeKind[] = [
  'llm',
  'tool',
  'retriever',
  'embedding',
  'agent',
  'chain',
  'guardrail',
  'step',
];

/** A cost: `estimated` when computed from a price table (always, for now). */
export interface Cost {
  amount: number;
  currency: string;
  estimated?: boolean;
}

/** Usage of one model call, stored on its node (kind `llm`). Tokens are counts of that call only. */
export interface NodeUsage {
  model: string;
  provider?: string;
  /** Prompt tokens, cached ones included. */
  input_tokens: number;
  /** Completion tokens, reasoning ones included. */
  output_tokens: number;
  total_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
  /** Time to first token, ms. */
  ttft_ms?: number;
  cost?: Cost;
}

/**
 * Per-trace (or per-subtree) rollup, derived by the reducer: sums over the usage of the
 * nodes that carry one, counts of `llm`, `tool` and failed nodes. `cost` is absent when no
 * node has a cost, or when costs are in different currencies (they cannot be added).
 */
export interface UsageRollup {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost?: { amount: number; currency: string };
  llm_calls: number;
  tool_calls: number;
  failed_nodes: number;
}

export type EventType =
  | 'init'
  | 'node_start'
  | 'node_updated'
  | 'node_complete'
  | 'node_failed'
  | 'log_added'
  | 'space_created'
  | 'space_deleted'
  | 'memory_add'
  | 'memory_update'
  | 'memory_delete'
  | 'complete';

export const EVENT_TYPES: readonly EventType[] = [
  'init',
  'node_start',
  'node_updated',
  'node_complete',
  'node_failed',
  'log_added',
  'space_created',
  'space_deleted',
  'memory_add',
  'memory_update',
  'memory_delete',
  'complete',
];

/** A captured error: what `fail()` records. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
  cause?: unknown;
  [extra: string]: unknown;
}

export interface NodeData {
  id: string;
  parent_ids: readonly string[];
  children: readonly string[];
  label?: string;
  /** Always present in reducer state (default `step`); may be absent on events of old writers. */
  kind: NodeKind;
  icon?: string;
  description?: string;
  metadata: Record<string, unknown>;
  usage?: NodeUsage;
  input?: unknown;
  output?: unknown;
  error?: ErrorData;
  status: NodeStatus;
  created_at: number;
  start_time?: number;
  end_time?: number;
  updated_at: number;
}

export interface LogEntry {
  seq: number;
  node_id?: string;
  level: LogLevel;
  message: string;
  data?: unknown;
  timestamp: number;
}

export interface SpaceItem {
  id: string;
  type: string;
  title?: string;
  content: unknown;
  timestamp: number;
}

/** Details of one key of a space, beside its value. */
export interface SpaceItemInfo {
  title?: string;
  /** When the value was last written (epoch ms). */
  timestamp: number;
}

export interface SpaceData {
  id: string;
  label?: string;
  icon?: string;
  description?: string;
  ttl?: number;
  metadata?: Record<string, unknown>;
  created_at: number;
  /** key -> value (as the reference's API); present in snapshots and the `/spaces/:id` route. */
  data: Record<string, unknown>;
  /** key -> when and under which title the value was last written (same keys as `data`). */
  items: Record<string, SpaceItemInfo>;
}

export interface TraceInfo {
  id: string;
  status: TraceStatus;
  created_at: number;
  updated_at: number;
  created_by?: string;
  team_id?: string;
  tenant_id?: string;
  agent_name?: string;
  /** The conversation or thread the trace belongs to (`create({ sessionId })`). */
  session_id?: string;
  /** The end user the trace ran for (`create({ userId })`). */
  user_id?: string;
  metadata?: Record<string, unknown>;
  archived: boolean;
  archived_at?: number;
  // Derived summary fields (livetrace additions, used by listings and the viewer).
  /** Label of the root node, when there is one. */
  label?: string;
  ended_at?: number;
  duration?: number;
  node_count?: number;
  last_seq?: number;
  reason?: string;
  /** Token, cost and call totals over the trace's nodes (reducer state: always present). */
  usage?: UsageRollup;
  /** Distinct kinds of the trace's nodes, sorted (for the `kind` list filter). */
  kinds?: NodeKind[];
  /** Distinct models of the trace's usage-bearing nodes, sorted (for the `model` list filter). */
  models?: string[];
}

// The event union (`type` -> type of `data`) lives in events.ts.
export type { EventData, EventDataMap, TraceEvent } from './events.js';

export interface TraceSnapshot {
  info: TraceInfo;
  nodes: NodeData[];
  logs: LogEntry[];
  spaces: SpaceData[];
  /** Ids of the trace's current nodes (its cursor). */
  current: string[];
  events_count: number;
  last_seq: number;
}

/** Listing order: a field, `-` for descending. Default `-created_at` (newest first). */
export type ListSort =
  'created_at' | '-created_at' | 'duration' | '-duration' | 'tokens' | '-tokens' | 'cost' | '-cost';

/**
 * A listing: filters (all must hold), an order and a page. The search fields (`q` to
 * `sort`) are answered from each store's indexes; docs/api.md describes their semantics.
 */
export interface ListQuery {
  status?: TraceStatus | TraceStatus[] | undefined;
  createdBy?: string | undefined;
  teamId?: string | undefined;
  tenantId?: string | undefined;
  /** created_at >= from (epoch ms) */
  from?: number | undefined;
  /** created_at <= to (epoch ms) */
  to?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /**
   * Full text: every word must occur (case-insensitive whole words, no stemming) in the
   * trace's node labels, inputs, outputs, log messages or errors. Words as `tokenize()`.
   */
  q?: string | undefined;
  /** `info.session_id` equals. */
  sessionId?: string | undefined;
  /** `info.user_id` equals. */
  userId?: string | undefined;
  /** The trace has a node of this kind. */
  kind?: NodeKind | undefined;
  /** The trace has a node whose usage names this model. */
  model?: string | undefined;
  /** `info.metadata[key]` equals the value (strings; numbers and booleans by their string form). */
  meta?: Record<string, string> | undefined;
  /** Ranges (inclusive). A trace without the value (running: no duration; no cost) never matches one. */
  minDurationMs?: number | undefined;
  maxDurationMs?: number | undefined;
  minTokens?: number | undefined;
  maxTokens?: number | undefined;
  minCost?: number | undefined;
  maxCost?: number | undefined;
  /** Order; a cursor belongs to the order it was made with. */
  sort?: ListSort | undefined;
}

export interface ListResult {
  traces: TraceInfo[];
  nextCursor?: string;
}

/** Small serializable reference to a node, for another process (`node.context()`). */
export interface NodeContext {
  trace_id: string;
  node_id?: string;
}
