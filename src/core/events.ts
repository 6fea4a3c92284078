// The event table as types: each event `type` with the shape of its `data`. This is the
// central contract of livetrace (the tracer writes it, the reducer reads it, stores keep
// it, the server streams it, the CLI and the viewer render it), so a misspelled field
// fails to compile on both sides. docs/events.md documents the same table; a test
// (test/events-docs.test.ts) keeps the two in sync.
//
// Events read back from a store or the network are trusted to have these shapes only as
// far as the reducer goes: it is total and ignores what it cannot use.
import type { ErrorData, EventType, LogLevel, NodeData, SpaceData, SpaceItem } from './types.js';

/** `init`: always seq 1. The creator fields make the info derivable from the log alone. */
export interface InitEventData {
  trace_id: string;
  agent_name?: string;
  created_by?: string;
  team_id?: string;
  tenant_id?: string;
  session_id?: string;
  user_id?: string;
  metadata?: Record<string, unknown>;
}

/** A node as events carry it: events of older writers have no `kind` (the reducer reads `step`). */
export type EventNode = Omit<NodeData, 'kind'> & { kind?: NodeData['kind'] };

/** `node_start`: one node, or `nodes` for a parallel fan-out; `cursor` when the call moves it. */
export type NodeStartEventData =
  { node: EventNode; nodes?: never; cursor?: string[] } | { nodes: EventNode[]; node?: never; cursor?: string[] };

/** `node_updated`: the whole node after a change. */
export interface NodeUpdatedEventData {
  node: EventNode;
  cursor?: string[];
}

export interface NodeCompleteEventData {
  node_id: string;
  status: 'success';
  end_time: number;
  duration: number;
  output?: unknown;
}

export interface NodeFailedEventData {
  node_id: string;
  status: 'failed' | 'cancelled';
  end_time: number;
  duration: number;
  error: ErrorData;
}

export interface LogAddedEventData {
  /** Absent for a trace-level log written before the first node. */
  node_id?: string;
  level: LogLevel;
  message: string;
  data?: unknown;
  timestamp: number;
}

export type SpaceCreatedEventData = Omit<SpaceData, 'data' | 'items'>;

export interface SpaceDeletedEventData {
  space_id: string;
}

/** `memory_add` (key set for the first time) and `memory_update` (key overwritten). */
export interface MemoryItemEventData {
  /** The space id. */
  type: string;
  item: SpaceItem;
}

export type MemoryDeleteEventData =
  { space_id: string; key: string; cleared?: never } | { space_id: string; cleared: true; key?: never };

export interface CompleteEventData {
  trace_id: string;
  status: 'completed' | 'failed' | 'cancelled';
  total_duration: number;
  /** For cancellations (`"shutdown"` when `tracer.close()` cancelled the trace). */
  reason?: string;
  /** For `markFailed`. */
  error?: ErrorData;
}

/** Each event type and the type of its `data`. */
export interface EventDataMap {
  init: InitEventData;
  node_start: NodeStartEventData;
  node_updated: NodeUpdatedEventData;
  node_complete: NodeCompleteEventData;
  node_failed: NodeFailedEventData;
  log_added: LogAddedEventData;
  space_created: SpaceCreatedEventData;
  space_deleted: SpaceDeletedEventData;
  memory_add: MemoryItemEventData;
  memory_update: MemoryItemEventData;
  memory_delete: MemoryDeleteEventData;
  complete: CompleteEventData;
}

// The table and the EventType union of types.ts name the same types (compile-time check).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tableMatchesEventType: Same<keyof EventDataMap, EventType> = true;
void tableMatchesEventType;

/** The data of one event type. */
export type EventData<T extends EventType = EventType> = EventDataMap[T];

/**
 * One event of a trace's log. `TraceEvent` alone is the union of every type (narrow it on
 * `type`); `TraceEvent<'node_start'>` is one of them.
 */
export type TraceEvent<T extends EventType = EventType> = {
  [K in T]: {
    seq: number;
    type: K;
    trace_id: string;
    node_id?: string;
    space_id?: string;
    timestamp: number;
    data: EventDataMap[K];
  };
}[T];

/**
 * The event itself, or, when its `data` is missing (a hand-edited log), a copy whose data
 * is `{}`: every field absent. Readers of events from outside (the reducer, the CLI) use it
 * to stay total. Destructure `type` and `data` together from the result so that `data`
 * narrows with `type`.
 */
export function withData(ev: TraceEvent): TraceEvent {
  // `{}` stands for data whose every field is missing: the one cast of the event readers.
  return ev.data == null ? ({ ...ev, data: {} } as TraceEvent) : ev;
}
