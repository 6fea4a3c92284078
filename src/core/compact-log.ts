// The retained form of an event log (issue 16): an append-only list of one trace's events
// that keeps the common ones without an object graph. A traced step makes three events
// (node_start, log_added, node_complete); kept as objects they cost about 750 bytes and
// nine objects the garbage collector copies and marks again and again for as long as the
// log lives (docs/performance.md, section 8). Encoded, one event is five slots of one
// array (about 20 bytes) that point at strings the log needs anyway (ids, messages, labels).
//
// Only events whose shape is known exactly are encoded: the fields, their order and the
// relations between them (the event's node_id is its data's, the timestamps agree...) are
// checked, so decoding gives back an event that equals the original and prints the same
// JSON. Anything else (input, output, metadata, errors, spaces, another writer's events)
// is kept as the object it is. Decoding allocates: the log reads back copies.
//
// The newest events can stay objects (`compact(upTo)` encodes the older ones): a live
// trace's log is read in place by its local subscribers, who mostly want the last events.
import { NODE_KINDS, type LogLevel, type NodeKind } from './types.js';
import type { TraceEvent } from './events.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

// Tags (first slot of a record).
const T_OBJECT = 0;
const T_COMPLETE = 1;
const T_LOG = 2; // + level index (4)
const T_START = 6; // + kind index * 2 + (has cursor ? 1 : 0)

/** Slots per record: tag, timestamp - base, and three references (meaning depends on the tag). */
const STRIDE = 5;
/** Timestamps are kept as small-integer offsets from the log's first one (V8 Smis: no heap number each). */
const SMI_MAX = 2 ** 30 - 1;

const EVENT_KEYS = ['seq', 'type', 'trace_id', 'timestamp', 'data', 'node_id'] as const;
const LOG_KEYS = ['node_id', 'level', 'message', 'timestamp'] as const;
const COMPLETE_KEYS = ['node_id', 'status', 'end_time', 'duration'] as const;
const START_KEYS = ['node'] as const;
const START_CURSOR_KEYS = ['node', 'cursor'] as const;
const NODE_KEYS = [
  'id',
  'parent_ids',
  'children',
  'kind',
  'metadata',
  'status',
  'created_at',
  'start_time',
  'updated_at',
  'label',
] as const;

/** True when `o` is a plain object whose enumerable keys are exactly `keys`, in that order. */
function hasKeys(o: unknown, keys: readonly string[]): o is Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  let i = 0;
  for (const k in o) if (k !== keys[i++]) return false;
  return i === keys.length;
}

/** The same number, as an int32 when it is one (stored as a Smi, not a heap number). */
function smallInt(n: number): number {
  return (n | 0) === n && !Object.is(n, -0) ? n | 0 : n;
}

function isEmptyObject(o: unknown): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.getPrototypeOf(o) !== Object.prototype)
    return false;
  for (const _ in o) return false;
  return true;
}

export class CompactLog {
  readonly #traceId: string;
  /** Encoded records of events [0, #encoded), STRIDE slots each. */
  readonly #rec: unknown[] = [];
  #encoded = 0;
  /** Events [#encoded, length) as objects. */
  #hot: TraceEvent[] = [];
  /** Timestamp the offsets are relative to (the first encoded event's). */
  #base: number | undefined;

  constructor(traceId: string) {
    this.#traceId = traceId;
  }

  get length(): number {
    return this.#encoded + this.#hot.length;
  }

  /** Events kept as objects (not yet encoded). */
  get hotLength(): number {
    return this.#hot.length;
  }

  push(ev: TraceEvent): void {
    this.#hot.push(ev);
  }

  /** Appends and encodes at once (a store's log: nobody reads it in place). */
  pushCompact(ev: TraceEvent): void {
    if (this.#hot.length === 0) this.#encode(ev);
    else this.#hot.push(ev);
  }

  /** Encodes the events before index `upTo` (those already encoded stay so). */
  compact(upTo: number): void {
    const n = Math.min(upTo, this.length) - this.#encoded;
    if (n <= 0) return;
    const hot = this.#hot;
    for (let i = 0; i < n; i++) this.#encode(hot[i]!);
    this.#hot = hot.slice(n);
  }

  /** The event at `index` (0-based: seq - 1 for a whole log): the object itself if hot, else a decoded copy. */
  at(index: number): TraceEvent | undefined {
    if (index < 0 || index >= this.length) return undefined;
    if (index >= this.#encoded) return this.#hot[index - this.#encoded];
    return this.#decode(index);
  }

  /** The timestamp of the event at `index`, without decoding it. */
  timestampAt(index: number): number {
    if (index >= this.#encoded) return this.#hot[index - this.#encoded]!.timestamp;
    const r = index * STRIDE;
    const tag = this.#rec[r] as number;
    return tag === T_OBJECT ? (this.#rec[r + 2] as TraceEvent).timestamp : this.#base! + (this.#rec[r + 1] as number);
  }

  /** Events [start, end) as an array (like Array.prototype.slice with non-negative bounds). */
  slice(start = 0, end = this.length): TraceEvent[] {
    const to = Math.min(end, this.length);
    const from = Math.max(0, start);
    const out: TraceEvent[] = [];
    for (let i = from; i < to; i++) out.push(this.at(i)!);
    return out;
  }

  #encode(ev: TraceEvent): void {
    const rec = this.#rec;
    const seq = this.#encoded + 1;
    this.#encoded++;
    const t = ev.timestamp;
    this.#base ??= t;
    // `| 0` makes the offset a Smi in the record (the subtraction's result would be boxed).
    const base = this.#base;
    const dt = (t - base) | 0;
    if (
      ev.seq === seq &&
      ev.trace_id === this.#traceId &&
      Object.is(base + dt, t) &&
      dt >= -SMI_MAX &&
      dt <= SMI_MAX &&
      hasKeys(ev, EVENT_KEYS)
    ) {
      const id = ev.node_id;
      const d: unknown = ev.data;
      if (ev.type === 'log_added') {
        if (hasKeys(d, LOG_KEYS) && d['node_id'] === id && d['timestamp'] === t && typeof d['message'] === 'string') {
          const level = LEVELS.indexOf(d['level'] as LogLevel);
          if (level >= 0) {
            rec.push(T_LOG + level, dt, id, d['message'], undefined);
            return;
          }
        }
      } else if (ev.type === 'node_complete') {
        if (
          hasKeys(d, COMPLETE_KEYS) &&
          d['node_id'] === id &&
          d['status'] === 'success' &&
          d['end_time'] === t &&
          typeof d['duration'] === 'number'
        ) {
          const duration = d['duration'];
          rec.push(T_COMPLETE, dt, id, smallInt(duration), undefined);
          return;
        }
      } else if (ev.type === 'node_start') {
        const withCursor = hasKeys(d, START_CURSOR_KEYS);
        if (withCursor || hasKeys(d, START_KEYS)) {
          const node: unknown = d['node'];
          const cursor: unknown = d['cursor'];
          if (
            hasKeys(node, NODE_KEYS) &&
            node['id'] === id &&
            Array.isArray(node['parent_ids']) &&
            Array.isArray(node['children']) &&
            node['children'].length === 0 &&
            isEmptyObject(node['metadata']) &&
            node['status'] === 'running' &&
            node['created_at'] === t &&
            node['start_time'] === t &&
            node['updated_at'] === t &&
            typeof node['label'] === 'string' &&
            (!withCursor || (Array.isArray(cursor) && cursor.length === 1 && cursor[0] === id))
          ) {
            const kind = NODE_KINDS.indexOf(node['kind'] as NodeKind);
            if (kind >= 0) {
              // parent_ids is kept by reference: event arrays are never mutated.
              rec.push(T_START + kind * 2 + (withCursor ? 1 : 0), dt, id, node['label'], node['parent_ids']);
              return;
            }
          }
        }
      }
    }
    rec.push(T_OBJECT, 0, ev, undefined, undefined);
  }

  #decode(index: number): TraceEvent {
    const rec = this.#rec;
    const r = index * STRIDE;
    const tag = rec[r] as number;
    if (tag === T_OBJECT) return rec[r + 2] as TraceEvent;
    const seq = index + 1;
    const trace_id = this.#traceId;
    const timestamp = this.#base! + (rec[r + 1] as number);
    const node_id = rec[r + 2] as string;
    if (tag === T_COMPLETE) {
      const duration = rec[r + 3] as number;
      return {
        seq,
        type: 'node_complete',
        trace_id,
        timestamp,
        data: { node_id, status: 'success', end_time: timestamp, duration },
        node_id,
      };
    }
    if (tag < T_START) {
      const level = LEVELS[tag - T_LOG]!;
      const message = rec[r + 3] as string;
      return {
        seq,
        type: 'log_added',
        trace_id,
        timestamp,
        data: { node_id, level, message, timestamp },
        node_id,
      };
    }
    const k = tag - T_START;
    const node = {
      id: node_id,
      parent_ids: (rec[r + 4] as string[]).slice(),
      children: [],
      kind: NODE_KINDS[k >> 1]!,
      metadata: {},
      status: 'running' as const,
      created_at: timestamp,
      start_time: timestamp,
      updated_at: timestamp,
      label: rec[r + 3] as string,
    };
    return {
      seq,
      type: 'node_start',
      trace_id,
      timestamp,
      data: (k & 1) === 1 ? { node, cursor: [node_id] } : { node },
      node_id,
    };
  }
}
