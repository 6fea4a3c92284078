// The reducer: the one function that turns events into state. The live trace, loading from
// a store, the server and the viewer all use it, so they cannot disagree.
//
// `applyEvent` is deterministic and total (unknown types and dangling references are
// ignored) and touches nothing but the state it is given. It updates that state in place
// so that applying an event costs O(1), not a copy of the whole trace; it never aliases
// objects of the event into the state, so recorded events stay immutable.
import type { LogEntry, NodeData, SpaceData, SpaceItemInfo, TraceEvent, TraceInfo, TraceSnapshot } from './types.js';
import { setOwn } from './capture.js';
import { withData, type EventNode } from './events.js';
import { RollupAccumulator, toKind } from './rollup.js';

export interface TraceState {
  info: TraceInfo;
  /** Insertion-ordered: creation order of the nodes. */
  nodes: Map<string, NodeData>;
  logs: LogEntry[];
  spaces: Map<string, SpaceData>;
  /** The cursor: ids of the current nodes. */
  current: string[];
  root: string | undefined;
  last_seq: number;
  events_count: number;
  /** Running totals behind `info.usage`, `info.kinds` and `info.models`. */
  rollup: RollupAccumulator;
}

export function initialState(traceId: string, createdAt = 0): TraceState {
  return {
    info: {
      id: traceId,
      status: 'pending',
      created_at: createdAt,
      updated_at: createdAt,
      archived: false,
      node_count: 0,
      last_seq: 0,
      usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0, llm_calls: 0, tool_calls: 0, failed_nodes: 0 },
      kinds: [],
      models: [],
    },
    nodes: new Map(),
    logs: [],
    spaces: new Map(),
    current: [],
    root: undefined,
    last_seq: 0,
    events_count: 0,
    rollup: new RollupAccumulator(),
  };
}

/**
 * The children of a node without any: one frozen array shared by every such node (of the
 * state and of events). addNode gives a node its own array with its first child.
 */
export const NO_CHILDREN: readonly string[] = Object.freeze([]);

// Only `children` is ever changed in place (when a child starts), so only it is copied;
// parent_ids and metadata are replaced, never mutated, and may be shared with the event.
// Nodes of old writers have no kind: they are steps.
//
// Built field by field in one fixed order (not with a spread): every node of the state then
// shares one hidden class, and the in-place updates of the reducer (`end_time`, `status`...)
// stay monomorphic. A spread gave each copy a map V8 could not share, which made those
// stores the hottest lines of a trace (docs/performance.md). Fields beyond NodeData (events
// of other writers) are kept, after the known ones.
function copyNode(n: EventNode): NodeData {
  const c: NodeData = {
    id: n.id,
    parent_ids: n.parent_ids ?? [],
    children: n.children && n.children.length !== 0 ? n.children.slice() : NO_CHILDREN,
    kind: toKind(n.kind),
    metadata: n.metadata ?? {},
    status: n.status,
    created_at: n.created_at,
    updated_at: n.updated_at,
  };
  if ('start_time' in n) c.start_time = n.start_time;
  if ('usage' in n) c.usage = n.usage;
  if ('label' in n) c.label = n.label;
  if ('icon' in n) c.icon = n.icon;
  if ('description' in n) c.description = n.description;
  if ('input' in n) c.input = n.input;
  if ('output' in n) c.output = n.output;
  if ('end_time' in n) c.end_time = n.end_time;
  if ('error' in n) c.error = n.error;
  for (const k in n)
    if (!NODE_FIELDS.has(k))
      setOwn(c as unknown as Record<string, unknown>, k, (n as unknown as Record<string, unknown>)[k]);
  return c;
}

const NODE_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'parent_ids',
  'children',
  'kind',
  'metadata',
  'status',
  'created_at',
  'updated_at',
  'start_time',
  'usage',
  'label',
  'icon',
  'description',
  'input',
  'output',
  'end_time',
  'error',
]);

// The info's rollup fields are replaced, never mutated, so snapshots may share them.
function publishRollup(state: TraceState): void {
  const acc = state.rollup;
  state.info.usage = acc.toRollup();
  if (acc.membershipChanged) {
    acc.membershipChanged = false;
    state.info.kinds = acc.kindList();
    state.info.models = acc.modelList();
  }
}

/** A detached copy for readers outside the reducer (snapshots). */
function cloneNode(n: NodeData): NodeData {
  return { ...n, parent_ids: n.parent_ids.slice(), children: n.children.slice(), metadata: { ...n.metadata } };
}

function addNode(state: TraceState, src: EventNode | undefined): void {
  if (!src || typeof src.id !== 'string') return;
  // A node starts once; a repeated start (a replayed or forged event) changes nothing.
  // This also keeps the children lists duplicate-free without an O(n) search per child.
  if (state.nodes.has(src.id)) return;
  const node = copyNode(src);
  state.nodes.set(node.id, node);
  if (state.root === undefined) {
    state.root = node.id;
    if (node.label !== undefined) state.info.label = node.label;
  }
  for (const pid of node.parent_ids) {
    const parent = state.nodes.get(pid);
    if (!parent) continue;
    // A first child gets an array of its exact size: a push onto an empty array reserves
    // 16 slots, kept for the life of the trace (most nodes of a run have one child).
    // A non-empty children array of a state node is always the state's own (copyNode, or
    // the line above), never shared: appending to it in place is safe.
    if (parent.children.length === 0) parent.children = [node.id];
    else (parent.children as string[]).push(node.id);
  }
  state.info.node_count = state.nodes.size;
  const acc = state.rollup;
  acc.apply(node, 1);
  if (
    node.kind === 'llm' ||
    node.kind === 'tool' ||
    node.usage !== undefined ||
    node.status === 'failed' ||
    acc.membershipChanged
  )
    publishRollup(state);
}

export function applyEvent(state: TraceState, ev: TraceEvent): TraceState {
  // Destructured together so that `d` narrows with `type`. An event without data (a
  // hand-edited log) reads as one whose fields are all absent: the reducer stays total.
  const { type, data: d } = withData(ev);
  const info = state.info;
  switch (type) {
    case 'init':
      info.created_at = ev.timestamp;
      if (d.agent_name !== undefined) info.agent_name = d.agent_name;
      if (d.created_by !== undefined) info.created_by = d.created_by;
      if (d.team_id !== undefined) info.team_id = d.team_id;
      if (d.tenant_id !== undefined) info.tenant_id = d.tenant_id;
      if (d.session_id !== undefined) info.session_id = d.session_id;
      if (d.user_id !== undefined) info.user_id = d.user_id;
      if (d.metadata !== undefined) info.metadata = { ...d.metadata };
      break;
    case 'node_start': {
      if (Array.isArray(d.nodes)) for (const n of d.nodes) addNode(state, n);
      else addNode(state, d.node);
      if (info.status === 'pending') info.status = 'running';
      // The cursor array is replaced, never mutated: sharing it with the event is safe.
      if (d.cursor !== undefined) state.current = d.cursor;
      break;
    }
    case 'node_updated': {
      const n = d.node;
      const old = n ? state.nodes.get(n.id) : undefined;
      if (n && old) {
        const next = copyNode(n);
        state.nodes.set(n.id, next);
        state.rollup.apply(old, -1);
        state.rollup.apply(next, 1);
        publishRollup(state);
      }
      if (n && n.id === state.root && n.label !== undefined) info.label = n.label;
      if (d.cursor !== undefined) state.current = d.cursor;
      break;
    }
    case 'node_complete': {
      const n = state.nodes.get(d.node_id);
      if (n) {
        const wasFailed = n.status === 'failed';
        n.status = 'completed';
        n.end_time = d.end_time;
        n.updated_at = ev.timestamp;
        if ('output' in d) n.output = d.output;
        if (wasFailed) {
          state.rollup.failed--;
          publishRollup(state);
        }
      }
      break;
    }
    case 'node_failed': {
      const n = state.nodes.get(d.node_id);
      if (n) {
        const wasFailed = n.status === 'failed';
        n.status = d.status === 'cancelled' ? 'cancelled' : 'failed';
        const isFailed = n.status === 'failed';
        if (wasFailed !== isFailed) {
          state.rollup.failed += isFailed ? 1 : -1;
          publishRollup(state);
        }
        n.end_time = d.end_time;
        n.updated_at = ev.timestamp;
        if (d.error !== undefined) n.error = d.error;
      }
      break;
    }
    case 'log_added': {
      // A node's log (the common one) in one literal: node_id added afterwards cost an
      // out-of-object property array (40 bytes) per entry. Key order as before.
      const timestamp = d.timestamp ?? ev.timestamp;
      const entry: LogEntry =
        d.node_id === undefined
          ? { seq: ev.seq, level: d.level, message: d.message, timestamp }
          : { seq: ev.seq, level: d.level, message: d.message, timestamp, node_id: d.node_id };
      if (d.data !== undefined) entry.data = d.data;
      state.logs.push(entry);
      break;
    }
    case 'space_created': {
      const space: SpaceData = {
        ...d,
        data: Object.create(null) as Record<string, unknown>,
        items: Object.create(null) as Record<string, SpaceItemInfo>,
      };
      state.spaces.set(space.id, space);
      break;
    }
    case 'space_deleted':
      state.spaces.delete(d.space_id);
      break;
    case 'memory_add':
    case 'memory_update': {
      const space = state.spaces.get(d.type);
      if (space && d.item) {
        const item = d.item;
        setOwn(space.data, item.id, item.content);
        const info: SpaceItemInfo = { timestamp: item.timestamp ?? ev.timestamp };
        if (item.title !== undefined) info.title = item.title;
        setOwn(space.items, item.id, info);
      }
      break;
    }
    case 'memory_delete': {
      const space = state.spaces.get(d.space_id);
      if (!space) break;
      if (d.cleared) {
        space.data = Object.create(null) as Record<string, unknown>;
        space.items = Object.create(null) as Record<string, SpaceItemInfo>;
      } else if (typeof d.key === 'string') {
        delete space.data[d.key];
        delete space.items[d.key];
      }
      break;
    }
    case 'complete':
      info.status = d.status === 'failed' || d.status === 'cancelled' ? d.status : 'completed';
      info.ended_at = ev.timestamp;
      if (typeof d.total_duration === 'number') info.duration = d.total_duration;
      if (d.reason !== undefined) info.reason = d.reason;
      break;
  }
  state.last_seq = ev.seq;
  state.events_count++;
  info.last_seq = ev.seq;
  if (ev.timestamp > info.updated_at) info.updated_at = ev.timestamp;
  return state;
}

export function reduceEvents(traceId: string, events: Iterable<TraceEvent>, state = initialState(traceId)): TraceState {
  for (const ev of events) applyEvent(state, ev);
  return state;
}

/** A detached, JSON-ready copy of the state. */
export function toSnapshot(state: TraceState): TraceSnapshot {
  return {
    info: { ...state.info },
    nodes: [...state.nodes.values()].map(cloneNode),
    logs: state.logs.slice(),
    spaces: [...state.spaces.values()].map((s) => ({ ...s, data: { ...s.data }, items: { ...s.items } })),
    current: state.current.slice(),
    events_count: state.events_count,
    last_seq: state.last_seq,
  };
}
