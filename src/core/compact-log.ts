// The retained form of an event log (issue 16): an append-only list of one trace's events
// that keeps the common ones without an object graph. A traced step makes three events
// (node_start, log_added, node_complete); kept as objects they cost about 750 bytes and
// nine objects the garbage collector copies and marks again and again for as long as the
// log lives (docs/performance.md, section 8). Encoded, an event is 8 bytes of a typed
// column and the references it needs (ids, messages, labels; the input, output, metadata
// and log data the tracer captured): about 35 bytes for a plain step's event.
//
// Only events whose shape is known exactly are encoded: the fields, their order and the
// relations between them (the event's node_id is its data's, the timestamps agree...) are
// checked, so decoding gives back an event that equals the original and prints the same
// JSON. Anything else (updates, failures, fan-outs, spaces, another writer's events) is
// kept as the object it is. Decoding allocates: the log reads back copies, which share
// only the captured values (events are never mutated, as before); readers in place
// (`at()`, a trace's subscribers) share a recent decoded copy, as they share hot events.
//
// The newest events can stay objects (`compact(upTo)` encodes the older ones): a live
// trace's log is read in place by its local subscribers, who mostly want the last events.
import { NODE_KINDS, type LogLevel, type NodeKind } from './types.js';
import type { EventNode, LogAddedEventData, NodeCompleteEventData, TraceEvent } from './events.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

// Tags. SAME_NODE: the record's node id is the previous record's (not stored again).
const T_OBJECT = 0;
const T_COMPLETE = 1;
const T_LOG = 2; // + level index (4)
const T_START = 6; // + kind index * 2 + (has cursor ? 1 : 0)
const BASE = 0x1f;
/** START: non-empty metadata; LOG: data; COMPLETE: output (a reference each). */
const EXTRA_A = 0x20;
/** START: input (a reference). */
const EXTRA_B = 0x40;
const SAME_NODE = 0x80;

/** Records per chunk; a chunk's columns grow by doubling up to it (small traces stay small). */
const CHUNK = 2048;
const FIRST_CAPACITY = 64;
/** Decoded events at() keeps for the next readers of the same index (a power of two). */
const SHARED = 512;
/** Timestamps are kept as int32 offsets from the log's first one. */
const OFFSET_MAX = 2 ** 31 - 1;

/**
 * CHUNK records in one Int32Array, two slots each: the tag with where the record's
 * references start in `refs` (`off << 8 | tag`), and the timestamp offset; then the
 * references themselves, per tag: START [id, label, parents (the one parent id, or the
 * array), metadata if EXTRA_A, input if EXTRA_B], LOG [node id unless SAME_NODE, message,
 * data if EXTRA_A], COMPLETE [node id unless SAME_NODE, duration, output if EXTRA_A],
 * OBJECT [the event]. One typed array per chunk: an ArrayBuffer is costly to
 * allocate, and most traces are one chunk.
 */
class Chunk {
  cols: Int32Array;
  refs: unknown[] = [];
  n = 0;
  constructor(capacity: number) {
    this.cols = new Int32Array(capacity * 2);
  }
  get capacity(): number {
    return this.cols.length >> 1;
  }
  /** Room for at least `more` further records (up to CHUNK). */
  grow(more = 1): void {
    const cap = Math.min(CHUNK, Math.max(this.capacity * 2, this.n + more));
    if (cap <= this.capacity) return;
    const cols = new Int32Array(cap * 2);
    cols.set(this.cols);
    this.cols = cols;
  }
  set(i: number, tag: number, off: number, dt: number): void {
    this.cols[2 * i] = (off << 8) | tag;
    this.cols[2 * i + 1] = dt;
  }
  tag(i: number): number {
    return this.cols[2 * i]! & 0xff;
  }
  off(i: number): number {
    return this.cols[2 * i]! >>> 8;
  }
  dt(i: number): number {
    return this.cols[2 * i + 1]!;
  }
  /** The node id of record `i` (an encoded one). */
  nodeId(i: number): string {
    while ((this.tag(i) & SAME_NODE) !== 0) i--;
    return this.refs[this.off(i)] as string;
  }
}

const EVENT_KEYS = ['seq', 'type', 'trace_id', 'timestamp', 'data', 'node_id'] as const;
const LOG_KEYS = ['node_id', 'level', 'message', 'timestamp'] as const;
const COMPLETE_KEYS = ['node_id', 'status', 'end_time', 'duration'] as const;
const START_KEYS = ['node'] as const;
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

/**
 * 1 when `o`'s enumerable keys are exactly `keys` in that order, 2 when `extra` follows
 * them (the optional field the tracer adds after the literal), else 0.
 */
function shapeOf(o: unknown, keys: readonly string[], extra: string): 0 | 1 | 2 {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 0;
  const n = keys.length;
  let i = 0;
  for (const k in o) {
    if (i < n ? k !== keys[i] : i > n || k !== extra) return 0;
    i++;
  }
  return i === n ? 1 : i === n + 1 ? 2 : 0;
}

/** True when `o`'s enumerable keys are exactly `keys`, in that order (nothing after them). */
function hasKeys(o: unknown, keys: readonly string[]): o is Record<string, unknown> {
  return shapeOf(o, keys, '') === 1;
}

/** The same number, as an int32 when it is one (stored as a Smi, not a heap number). */
function smallInt(n: number): number {
  return (n | 0) === n && !Object.is(n, -0) ? n | 0 : n;
}

/** The parent_ids of a START record: a fresh array (readers may change what they get). */
function parentsOf(ref: unknown): string[] {
  return typeof ref === 'string' ? [ref] : (ref as string[]).slice();
}

/** Same-node chains are cut at this length, so that finding a record's node id stays O(1). */
const MAX_CHAIN = 8;

function isEmptyObject(o: unknown): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.getPrototypeOf(o) !== Object.prototype)
    return false;
  for (const _ in o) return false;
  return true;
}

/** A read-only view of an event log: `at(i).seq === i + 1` for a whole trace's log. */
export interface EventList {
  readonly length: number;
  at(index: number): TraceEvent | undefined;
}

export class CompactLog implements EventList {
  readonly #traceId: string;
  /** Encoded records of events [0, #encoded), CHUNK per chunk. */
  readonly #chunks: Chunk[] = [];
  #encoded = 0;
  /** Node id of the last encoded record (undefined after an OBJECT record), and its chain length. */
  #lastNode: string | undefined;
  #chain = 0;
  /** Events [#encoded, length) as objects: #hot[#head...]; the slots before #head are cleared. */
  #hot: (TraceEvent | undefined)[] = [];
  #head = 0;
  /** Timestamp the offsets are relative to (the first encoded event's). */
  #base: number | undefined;
  /** The last events at() decoded, by index modulo SHARED, and their indexes (made on first use). */
  #shared: (TraceEvent | undefined)[] | undefined;
  #sharedAt: Int32Array | undefined;

  constructor(traceId: string) {
    this.#traceId = traceId;
  }

  get length(): number {
    return this.#encoded + this.#hot.length - this.#head;
  }

  /** Events kept as objects (not yet encoded). */
  get hotLength(): number {
    return this.#hot.length - this.#head;
  }

  push(ev: TraceEvent): void {
    this.#hot.push(ev);
  }

  /** Appends and encodes at once (a store's log: nobody reads it in place). */
  pushCompact(ev: TraceEvent): void {
    if (this.#hot.length === this.#head) this.#encode(ev);
    else this.#hot.push(ev);
  }

  /** pushCompact for a batch: the columns are sized for it once (a trace stored in one batch never grows them). */
  pushAllCompact(events: readonly TraceEvent[]): void {
    if (this.#hot.length !== this.#head) {
      for (const ev of events) this.#hot.push(ev);
      return;
    }
    let c = this.#chunks[this.#chunks.length - 1];
    if (c === undefined) {
      c = new Chunk(Math.min(CHUNK, Math.max(events.length, 1)));
      this.#chunks.push(c);
    } else if (c.n < CHUNK) c.grow(events.length);
    for (const ev of events) this.#encode(ev);
  }

  /** Encodes the events before index `upTo` (those already encoded stay so). */
  compact(upTo: number): void {
    const n = Math.min(upTo, this.length) - this.#encoded;
    if (n <= 0) return;
    const hot = this.#hot;
    let head = this.#head;
    for (const end = head + n; head < end; head++) {
      this.#encode(hot[head]!);
      hot[head] = undefined;
    }
    // The cleared prefix is dropped once it is half the array (amortized O(1) per event).
    if (head >= hot.length / 2) {
      this.#hot = hot.slice(head);
      head = 0;
    }
    this.#head = head;
  }

  /**
   * The event at `index` (0-based: seq - 1 for a whole log), for readers in place (a
   * trace's local subscribers): the object itself if hot, else a decoded copy that the
   * next readers of the same index share, as they share hot objects (never mutate it).
   * Subscribers that read in step (`for await`) decode each event once, not once each.
   */
  at(index: number): TraceEvent | undefined {
    if (index < 0 || index >= this.length) return undefined;
    if (index >= this.#encoded) return this.#hot[index - this.#encoded + this.#head];
    const slot = index & (SHARED - 1);
    const at = (this.#sharedAt ??= new Int32Array(SHARED).fill(-1));
    const shared = (this.#shared ??= new Array<TraceEvent | undefined>(SHARED));
    if (at[slot] === index) return shared[slot];
    const ev = this.#decode(index);
    shared[slot] = ev;
    at[slot] = index;
    return ev;
  }

  /** The timestamp of the event at `index`, without decoding it. */
  timestampAt(index: number): number {
    if (index >= this.#encoded) return this.#hot[index - this.#encoded + this.#head]!.timestamp;
    const c = this.#chunks[(index / CHUNK) | 0]!;
    const i = index % CHUNK;
    return c.tag(i) === T_OBJECT ? (c.refs[c.off(i)] as TraceEvent).timestamp : this.#base! + c.dt(i);
  }

  /** Events [start, end) as an array (like Array.prototype.slice with non-negative bounds). */
  slice(start = 0, end = this.length): TraceEvent[] {
    const to = Math.min(end, this.length);
    const from = Math.max(0, start);
    // Only hot events (the writer's batches, a recent page): a copy of that part of the array.
    if (from >= this.#encoded)
      return this.#hot.slice(from - this.#encoded + this.#head, to - this.#encoded + this.#head) as TraceEvent[];
    // Copies of their own (a caller may change what it gets), not the readers' shared ones.
    const out: TraceEvent[] = [];
    const cold = Math.min(to, this.#encoded);
    for (let i = from; i < cold; i++) out.push(this.#decode(i));
    for (let i = cold; i < to; i++) out.push(this.#hot[i - this.#encoded + this.#head]!);
    return out;
  }

  #encode(ev: TraceEvent): void {
    let c = this.#chunks[this.#chunks.length - 1];
    if (c === undefined || c.n === CHUNK) {
      // A full chunk's references become an exact-size copy (a grown array keeps spare room).
      if (c !== undefined) c.refs = c.refs.slice();
      // A log that filled a chunk is a long one: its next chunks start at full size.
      c = new Chunk(c === undefined ? FIRST_CAPACITY : CHUNK);
      this.#chunks.push(c);
      this.#lastNode = undefined;
    } else if (c.n === c.capacity) c.grow();
    const i = c.n++;
    const seq = ++this.#encoded;
    const refs = c.refs;
    const off = refs.length;
    const t = ev.timestamp;
    const base = (this.#base ??= t);
    const dt = (t - base) | 0;
    if (
      ev.seq === seq &&
      ev.trace_id === this.#traceId &&
      typeof ev.node_id === 'string' &&
      Object.is(base + dt, t) &&
      dt >= -OFFSET_MAX &&
      hasKeys(ev, EVENT_KEYS)
    ) {
      const id = ev.node_id;
      const d: unknown = ev.data;
      let tag = -1;
      let extra: unknown;
      if (ev.type === 'log_added') {
        const shape = shapeOf(d, LOG_KEYS, 'data');
        const data = d as Record<string, unknown>;
        if (shape !== 0 && data['node_id'] === id && data['timestamp'] === t && typeof data['message'] === 'string') {
          const level = LEVELS.indexOf(data['level'] as LogLevel);
          if (level >= 0) {
            tag = shape === 2 ? (T_LOG + level) | EXTRA_A : T_LOG + level;
            extra = data['data'];
          }
        }
      } else if (ev.type === 'node_complete') {
        const shape = shapeOf(d, COMPLETE_KEYS, 'output');
        const data = d as Record<string, unknown>;
        if (
          shape !== 0 &&
          data['node_id'] === id &&
          data['status'] === 'success' &&
          data['end_time'] === t &&
          typeof data['duration'] === 'number'
        ) {
          tag = T_COMPLETE;
          if (shape === 2) {
            tag |= EXTRA_A;
            extra = data['output'];
          }
        }
      } else if (ev.type === 'node_start') {
        const dataShape = shapeOf(d, START_KEYS, 'cursor');
        const withCursor = dataShape === 2;
        if (dataShape !== 0) {
          const data = d as Record<string, unknown>;
          const node: unknown = data['node'];
          const cursor: unknown = data['cursor'];
          const shape = shapeOf(node, NODE_KEYS, 'input');
          const n = node as Record<string, unknown>;
          const metadata = n['metadata'];
          if (
            shape !== 0 &&
            n['id'] === id &&
            Array.isArray(n['parent_ids']) &&
            Array.isArray(n['children']) &&
            n['children'].length === 0 &&
            typeof metadata === 'object' &&
            metadata !== null &&
            !Array.isArray(metadata) &&
            n['status'] === 'running' &&
            n['created_at'] === t &&
            n['start_time'] === t &&
            n['updated_at'] === t &&
            typeof n['label'] === 'string' &&
            (!withCursor || (Array.isArray(cursor) && cursor.length === 1 && cursor[0] === id))
          ) {
            const kind = NODE_KINDS.indexOf(n['kind'] as NodeKind);
            if (kind >= 0) {
              // Metadata and input are kept by reference, like everything an event holds:
              // recorded events are never mutated (their values are the tracer's own copies).
              const withMetadata = !isEmptyObject(metadata);
              const withInput = shape === 2;
              let start = T_START + kind * 2 + (withCursor ? 1 : 0);
              if (withMetadata) start |= EXTRA_A;
              if (withInput) start |= EXTRA_B;
              c.set(i, start, off, dt);
              // One parent (a step after a step) as its id: the array would cost 56 bytes.
              // Several are kept by reference: event arrays are never mutated.
              const parents = n['parent_ids'] as unknown[];
              refs.push(id, n['label'], parents.length === 1 && typeof parents[0] === 'string' ? parents[0] : parents);
              if (withMetadata) refs.push(metadata);
              if (withInput) refs.push(n['input']);
              this.#lastNode = id;
              this.#chain = 0;
              return;
            }
          }
        }
      }
      if (tag >= 0) {
        const same = id === this.#lastNode && this.#chain < MAX_CHAIN;
        c.set(i, same ? tag | SAME_NODE : tag, off, dt);
        if (same) this.#chain++;
        else {
          refs.push(id);
          this.#lastNode = id;
          this.#chain = 0;
        }
        refs.push(
          (tag & BASE) === T_COMPLETE
            ? smallInt((d as { duration: number }).duration)
            : (d as { message: string }).message,
        );
        if ((tag & EXTRA_A) !== 0) refs.push(extra);
        return;
      }
    }
    c.set(i, T_OBJECT, off, 0);
    refs.push(ev);
    this.#lastNode = undefined;
  }

  #decode(index: number): TraceEvent {
    const c = this.#chunks[(index / CHUNK) | 0]!;
    const i = index % CHUNK;
    const full = c.tag(i);
    const refs = c.refs;
    let r = c.off(i);
    if (full === T_OBJECT) return refs[r] as TraceEvent;
    const tag = full & BASE;
    const seq = index + 1;
    const trace_id = this.#traceId;
    const timestamp = this.#base! + c.dt(i);
    let node_id: string;
    if ((full & SAME_NODE) !== 0) node_id = c.nodeId(i);
    else node_id = refs[r++] as string;
    const withA = (full & EXTRA_A) !== 0;
    if (tag === T_COMPLETE) {
      const duration = refs[r] as number;
      const data: NodeCompleteEventData = { node_id, status: 'success', end_time: timestamp, duration };
      if (withA) data.output = refs[r + 1];
      return { seq, type: 'node_complete', trace_id, timestamp, data, node_id };
    }
    if (tag < T_START) {
      const level = LEVELS[tag - T_LOG]!;
      const message = refs[r] as string;
      const data: LogAddedEventData = { node_id, level, message, timestamp };
      if (withA) data.data = refs[r + 1];
      return { seq, type: 'log_added', trace_id, timestamp, data, node_id };
    }
    const k = tag - T_START;
    const node: EventNode = {
      id: node_id,
      parent_ids: parentsOf(refs[r + 1]),
      children: [],
      kind: NODE_KINDS[k >> 1]!,
      metadata: withA ? (refs[r + 2] as Record<string, unknown>) : {},
      status: 'running',
      created_at: timestamp,
      start_time: timestamp,
      updated_at: timestamp,
      label: refs[r] as string,
    };
    if ((full & EXTRA_B) !== 0) node.input = refs[withA ? r + 3 : r + 2];
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
