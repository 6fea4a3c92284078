// Trace: the manager of one run. Every mutating call builds one event, appends it to the
// trace's log, applies it to the state with the shared reducer and hands it to the hub
// and the write-behind writer. Nothing here starts a task, a timer or a listener of its
// own: release() therefore has only the log to store and the subscribers to end.
import { capture, captureError, captureKey, captureText, setOwn, type CaptureLimits } from '../core/capture.js';
import {
  InvalidArgumentError,
  InvalidKeyError,
  NoRootError,
  UnknownSpaceError,
  errorMessage,
  shownValue,
} from '../core/errors.js';
import { assertValidId, newId } from '../core/ids.js';
import { NO_CHILDREN, applyEvent, initialState, toSnapshot, type TraceState } from '../core/reducer.js';
import type { PriceTable } from '../core/prices.js';
import { NODE_KIND_SET } from '../core/rollup.js';
import { guardRead, readItems, readOptions } from '../core/read-options.js';
import { normalizeUsage, type UsageInput } from '../core/usage.js';
import type {
  CompleteEventData,
  EventData,
  InitEventData,
  LogAddedEventData,
  NodeCompleteEventData,
  NodeStartEventData,
} from '../core/events.js';
import type {
  ErrorData,
  EventType,
  LogEntry,
  LogLevel,
  NodeData,
  NodeKind,
  NodeStatus,
  SpaceData,
  SpaceItem,
  TraceEvent,
  TraceInfo,
  TraceSnapshot,
  TraceStatus,
} from '../core/types.js';
import type { EventHub } from '../hub/hub.js';
import type { LocalFeed, SubscribeOptions, Subscription } from '../hub/subscription.js';
import { NodeHandle } from './node-handle.js';
import type { Limits } from './options.js';
import { SpaceHandle } from './space-handle.js';
import {
  kAdd,
  kClose,
  kEnd,
  kFeed,
  kInit,
  kJoin,
  kLog,
  kLogOf,
  kPatch,
  kSetStatus,
  kSpawn,
  kForget,
  kLateCall,
  kSubscribe,
  kUpdate,
  kUsage,
} from './symbols.js';
import { TraceLog, type WriteBehind } from './write-behind.js';
import { isActive } from '../core/status.js';

export interface NodeOptions {
  label?: string | undefined;
  /** What the node stands for (`llm`, `tool`, `retriever`, ...). Default `step`, or `llm` when `usage` is given. */
  kind?: NodeKind | undefined;
  /** Usage of the model call this node records (same as `node.setUsage(usage)`). */
  usage?: UsageInput | undefined;
  icon?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Complete the parent node(s) that are still open. Trace-level calls: default true. */
  autoCompleteParent?: boolean | undefined;
}

export interface ParallelItem extends NodeOptions {
  input?: unknown;
}

export interface SpaceOptions {
  /** Optional explicit id ([A-Za-z0-9_-]{1,128}); default: 12 random characters. */
  id?: string;
  label?: string;
  icon?: string;
  description?: string;
  ttl?: number;
  metadata?: Record<string, unknown>;
}

export interface EventsOptions {
  since?: number;
  sinceTime?: number;
}

/** What a Trace needs from its Tracer. */
export interface TraceHost {
  readonly writer: WriteBehind;
  readonly hub: EventHub;
  readonly limits: Limits;
  readonly capture: CaptureLimits;
  /** Prices that turn usage into an estimated cost. */
  readonly prices: PriceTable;
  /** Reports (or, strict, throws) a call on a closed trace. */
  late(trace: Trace, call: string, state: string): void;
  dropped(trace: Trace): void;
  sealed(trace: Trace): void;
  released(trace: Trace): Promise<void>;
  subscribe(traceId: string, options: SubscribeOptions, trace: Trace | undefined): Subscription;
}

type Phase = 'open' | 'sealed' | 'released';

/**
 * The metadata of a node created without any: one frozen object shared by all of them (an
 * empty object per node was 56 bytes of heap for the life of the trace). Metadata is never
 * mutated in place: setMetadata() replaces it with a copy.
 */
/** @internal How the add/spawn paths attach new nodes (options, not positional booleans). */
export interface AttachOptions {
  /** The new node(s) become the trace's current nodes. */
  readonly moveCursor: boolean;
  /** Parents still running are completed first. */
  readonly completeParents: boolean;
  /** parallel(): a non-empty list of branches, started by one node_start event. */
  readonly fanOut?: boolean;
}

const NO_METADATA: Record<string, unknown> = Object.freeze<Record<string, unknown>>({});

const NODE_STATUSES: ReadonlySet<string> = new Set([
  'pending',
  'running',
  'completed',
  'failed',
  'skipped',
  'cancelled',
]);

export class Trace {
  readonly id: string;
  readonly #host: TraceHost;
  readonly #log: TraceLog;
  #state: TraceState;
  #phase: Phase;
  #releasing: Promise<void> | undefined;
  readonly #subs = new Set<Subscription>();
  /** Wake-ups of local subscribers waiting for the next event (one-shot). */
  #parked: (() => void)[] = [];
  #feed: LocalFeed | undefined;
  /** Seq of the trace's `complete` event (0 while it runs): where its local subscribers end. */
  #endSeq = 0;
  readonly #autoArchive: boolean;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.markCancelled(abortReason(this.#signal));
  };
  #lateCalls = 0;

  /** @internal use tracer.create()/tracer.load() */
  constructor(
    host: TraceHost,
    id: string,
    init: { events?: TraceEvent[] | undefined; autoArchive?: boolean; signal?: AbortSignal | undefined },
  ) {
    this.id = id;
    this.#host = host;
    this.#log = new TraceLog(
      id,
      () => this.#info(),
      () => {
        let floor = Infinity;
        for (const sub of this.#subs) floor = Math.min(floor, sub.position);
        return floor;
      },
    );
    this.#autoArchive = init.autoArchive ?? false;
    this.#state = initialState(id);
    if (init.events) {
      for (const ev of init.events) {
        this.#log.events.push(ev);
        applyEvent(this.#state, ev);
        if (ev.type === 'complete' && this.#endSeq === 0) this.#endSeq = ev.seq;
      }
      this.#log.markStored(init.events.length);
    }
    this.#phase = isTerminal(this.#state.info.status) ? 'sealed' : 'open';
    if (init.signal && this.#phase === 'open') {
      this.#signal = init.signal;
      if (init.signal.aborted) queueMicrotask(this.#onAbort);
      else init.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  // ---- state ----------------------------------------------------------------------

  get status(): TraceStatus {
    return this.#state.info.status;
  }
  /** True once the trace has emitted `complete` (it is sealed). */
  get isComplete(): boolean {
    return isTerminal(this.#state.info.status);
  }
  /** True after release(): the trace records nothing more. */
  get isReleased(): boolean {
    return this.#phase === 'released';
  }
  get lastSeq(): number {
    return this.#state.last_seq;
  }
  get root(): NodeHandle | undefined {
    return this.#state.root === undefined ? undefined : new NodeHandle(this, this.#state.root);
  }
  get currentNodes(): NodeHandle[] {
    return this.#state.current.map((id) => new NodeHandle(this, id));
  }
  getNode(id: string): Readonly<NodeData> | undefined {
    return this.#state.nodes.get(id);
  }
  /** A handle on an existing node, to act on it by id. */
  node(id: string): NodeHandle | undefined {
    return this.#state.nodes.has(id) ? new NodeHandle(this, id) : undefined;
  }
  nodes(): NodeData[] {
    return [...this.#state.nodes.values()];
  }
  logs(nodeId?: string): LogEntry[] {
    return nodeId === undefined ? this.#state.logs.slice() : this.#state.logs.filter((l) => l.node_id === nodeId);
  }
  info(message: unknown, ...args: unknown[]): this {
    this[kLog](this.#state.current, 'info', message, args);
    return this;
  }
  debug(message: unknown, ...args: unknown[]): this {
    this[kLog](this.#state.current, 'debug', message, args);
    return this;
  }
  warn(message: unknown, ...args: unknown[]): this {
    this[kLog](this.#state.current, 'warn', message, args);
    return this;
  }
  error(message: unknown, ...args: unknown[]): this {
    this[kLog](this.#state.current, 'error', message, args);
    return this;
  }
  /** The trace's info (derived from its events). */
  getInfo(): TraceInfo {
    return this.#info();
  }
  events(options: EventsOptions = {}): TraceEvent[] {
    const all = this.#log.events;
    let start = Math.max(0, Math.floor(options.since ?? 0));
    if (options.sinceTime !== undefined) {
      const t = options.sinceTime;
      while (start < all.length && all.timestampAt(start) < t) start++;
    }
    return all.slice(start);
  }
  snapshot(): TraceSnapshot {
    const snap = toSnapshot(this.#state);
    snap.info.archived = false;
    return snap;
  }

  // ---- nodes ----------------------------------------------------------------------

  /**
   * Continues the run: completes the current nodes that are still open (unless
   * `autoCompleteParent: false`), creates one node whose parents are all current nodes
   * (an implicit join after parallel()), and makes it the only current node.
   */
  add(input?: unknown, options?: NodeOptions): NodeHandle {
    const o = readOptions('add()', options);
    return this[kAdd]('add', this.#state.current, input, o, {
      moveCursor: true,
      completeParents: o.autoCompleteParent ?? true,
    });
  }

  /** Fans out: one node per item under the current node(s); they become the current nodes. */
  parallel(items: readonly ParallelItem[]): NodeHandle[] {
    const list = readItems('parallel()', items);
    return this[kSpawn]('parallel', this.#state.current, list, {
      moveCursor: true,
      completeParents: !list?.some?.((i) => i?.autoCompleteParent === false),
      fanOut: true,
    });
  }

  setOutput(output: unknown): this {
    for (const id of this.#state.current) this[kUpdate](id, 'output', output);
    return this;
  }
  setMetadata(key: string, value: unknown): this {
    for (const id of this.#state.current) this[kUpdate](id, 'metadata', value, key);
    return this;
  }
  /** Completes the current nodes that are still open. */
  complete(output?: unknown): this {
    const has = arguments.length > 0;
    for (const id of this.#state.current) this[kEnd](id, 'completed', output, has);
    return this;
  }
  /** Fails the current nodes that are still open. */
  fail(error: unknown): this {
    for (const id of this.#state.current) this[kEnd](id, 'failed', error, true);
    return this;
  }

  // ---- spaces ---------------------------------------------------------------------

  createSpace(spaceOptions?: SpaceOptions): SpaceHandle {
    const options = readOptions('createSpace()', spaceOptions);
    if (!this.#writable('createSpace')) return new SpaceHandle(this, options.id ?? '');
    let id: string;
    if (options.id !== undefined) {
      assertValidId(options.id, 'space');
      if (this.#state.spaces.has(options.id))
        throw new InvalidArgumentError(`trace ${this.id} already has a space ${options.id}`);
      id = options.id;
    } else {
      id = newId();
    }
    const space: Omit<SpaceData, 'data' | 'items'> = { id, created_at: Date.now() };
    const limits = this.#host.limits;
    if (options.label !== undefined) space.label = captureText(options.label, limits.maxLabelLength);
    if (options.icon !== undefined) space.icon = captureText(options.icon, limits.maxLabelLength);
    if (options.description !== undefined)
      space.description = captureText(options.description, limits.maxMessageLength);
    if (options.ttl !== undefined) space.ttl = Number(options.ttl);
    if (options.metadata !== undefined)
      space.metadata = capture(options.metadata, this.#host.capture) as Record<string, unknown>;
    this.#emit('space_created', space, undefined, id);
    return new SpaceHandle(this, id);
  }
  getSpace(id: string): SpaceHandle | undefined {
    return this.#state.spaces.has(id) ? new SpaceHandle(this, id) : undefined;
  }
  hasSpace(id: string): boolean {
    return this.#state.spaces.has(id);
  }
  deleteSpace(id: string): boolean {
    if (!this.#writable('deleteSpace')) return false;
    this.#space(id);
    this.#emit('space_deleted', { space_id: id }, undefined, id);
    return true;
  }
  listSpaces(): SpaceData[] {
    return [...this.#state.spaces.values()];
  }
  setSpaceValue(spaceId: string, key: string, value: unknown, itemOptions?: { title?: string }): this {
    if (!this.#writable('setSpaceValue')) return this;
    const options = readOptions('setSpaceValue()', itemOptions);
    const space = this.#space(spaceId);
    key = this.#key(key);
    const item: SpaceItem = {
      id: key,
      type: spaceId,
      ...(options.title !== undefined && { title: captureText(options.title, this.#host.limits.maxLabelLength) }),
      content: capture(value, this.#host.capture) ?? null,
      timestamp: Date.now(),
    };
    const type: 'memory_add' | 'memory_update' = Object.prototype.hasOwnProperty.call(space.data, key)
      ? 'memory_update'
      : 'memory_add';
    this.#emit(type, { type: spaceId, item }, undefined, spaceId);
    return this;
  }
  getSpaceValue(spaceId: string, key: string): unknown {
    const space = this.#space(spaceId);
    key = this.#key(key);
    return Object.prototype.hasOwnProperty.call(space.data, key) ? space.data[key] : undefined;
  }
  hasSpaceValue(spaceId: string, key: string): boolean {
    const space = this.#space(spaceId);
    key = this.#key(key);
    return Object.prototype.hasOwnProperty.call(space.data, key);
  }
  deleteSpaceValue(spaceId: string, key: string): boolean {
    if (!this.#writable('deleteSpaceValue')) return false;
    const space = this.#space(spaceId);
    key = this.#key(key);
    if (!Object.prototype.hasOwnProperty.call(space.data, key)) return false;
    this.#emit('memory_delete', { space_id: spaceId, key }, undefined, spaceId);
    return true;
  }
  clearSpaceValues(spaceId: string): this {
    if (!this.#writable('clearSpaceValues')) return this;
    this.#space(spaceId);
    this.#emit('memory_delete', { space_id: spaceId, cleared: true }, undefined, spaceId);
    return this;
  }
  listSpaceKeys(spaceId: string): string[] {
    return Object.keys(this.#space(spaceId).data);
  }

  // ---- trace lifecycle --------------------------------------------------------------

  /** Completes open nodes, then emits `complete`. Idempotent. */
  markComplete(): this {
    return this.#finish('completed');
  }
  /** Fails open nodes with `error`, then emits `complete` with status failed. */
  markFailed(error: unknown): this {
    return this.#finish('failed', captureError(error, this.#host.capture));
  }
  /** Marks open nodes cancelled, then emits `complete` with status cancelled. */
  markCancelled(reason?: string): this {
    const r = reason === undefined ? 'cancelled' : captureText(reason, this.#host.limits.maxMessageLength);
    return this.#finish('cancelled', { name: 'Cancelled', message: r }, r);
  }

  subscribe(options?: SubscribeOptions): Subscription {
    return this.#host.subscribe(
      this.id,
      readOptions('subscribe()', options),
      this.#phase === 'released' ? undefined : this,
    );
  }

  /** Durability barrier: resolves when every event recorded so far is stored. */
  flush(): Promise<void> {
    return this.#host.writer.flush(this.#log);
  }

  /**
   * Stores every event, ends every subscriber, and removes every trace of this trace from
   * the process. Idempotent: a second call returns the same promise.
   */
  release(): Promise<void> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  async #release(): Promise<void> {
    this.#phase = 'released';
    this.#detachSignal();
    try {
      await this.#host.writer.flush(this.#log);
    } finally {
      // Closed and released even when the flush failed; the flush error is what the caller gets.
      this[kClose]();
      await this.#host.released(this);
    }
  }

  /** @internal ends subscribers (release, remove). */
  [kClose](): void {
    const last = this.#state.last_seq;
    for (const sub of this.#subs) sub.close(last);
    this.#subs.clear();
    this.#parked = [];
  }

  /** @internal the log read in place by local subscribers (see LocalFeed). */
  get [kFeed](): LocalFeed {
    this.#feed ??= {
      events: this.#log.events,
      park: (wake) => void this.#parked.push(wake),
      endSeq: this.#endSeq,
    };
    return this.#feed;
  }

  /** @internal the tracer emits `init` once, right after creating a new trace. */
  [kInit](data: InitEventData): void {
    this.#emit('init', data);
  }

  /** True if the trace archives itself once it completes. */
  get autoArchive(): boolean {
    return this.#autoArchive;
  }

  /** @internal */
  get [kLogOf](): TraceLog {
    return this.#log;
  }

  /** @internal registers a subscription to end on release. */
  [kSubscribe](sub: Subscription): void {
    if (!sub.done) this.#subs.add(sub);
  }

  /** @internal a subscription ended: nothing to end on release. */
  [kForget](sub: Subscription): void {
    this.#subs.delete(sub);
  }

  /** Calls ignored because the trace was closed (read-only; counted by the tracer). */
  get lateCalls(): number {
    return this.#lateCalls;
  }

  /** @internal counts one ignored call. */
  [kLateCall](): void {
    this.#lateCalls++;
  }

  // ---- internals used by NodeHandle ---------------------------------------------------

  /** @internal */
  [kLog](nodeIds: string | readonly string[], level: LogLevel, message: unknown, args: unknown[]): void {
    if (!this.#writable(level)) return;
    const msg = captureText(
      typeof message === 'string' ? message : formatMessage(message),
      this.#host.limits.maxMessageLength,
    );
    const data = args.length === 0 ? undefined : capture(args.length === 1 ? args[0] : args, this.#host.capture);
    if (typeof nodeIds === 'string') {
      const now = Date.now();
      const d: LogAddedEventData = { node_id: nodeIds, level, message: msg, timestamp: now };
      if (data !== undefined) d['data'] = data;
      this.#emit('log_added', d, nodeIds, undefined, now);
      return;
    }
    if (nodeIds.length === 0) {
      const d: LogAddedEventData = { level, message: msg, timestamp: Date.now() };
      if (data !== undefined) d['data'] = data;
      this.#emit('log_added', d);
      return;
    }
    for (const nodeId of nodeIds) {
      const d: LogAddedEventData = { node_id: nodeId, level, message: msg, timestamp: Date.now() };
      if (data !== undefined) d['data'] = data;
      this.#emit('log_added', d, nodeId);
    }
  }

  /**
   * @internal creates one node under `parents` (the hot path of add/traced);
   * `moveCursor` makes it the only current node. `parents` is never mutated, so it may be shared.
   */
  [kAdd](
    call: string,
    parents: readonly string[],
    input: unknown,
    options: NodeOptions,
    attach: AttachOptions,
  ): NodeHandle {
    if (!this.#writable(call)) return new NodeHandle(this, '');
    const cursor = attach.moveCursor;
    if (attach.completeParents)
      for (let i = 0; i < parents.length; i++) this[kEnd](parents[i]!, 'completed', undefined, false);
    const now = Date.now();
    const node = this.#newNode(parents, input, options, now);
    this.#emit('node_start', cursor ? { node, cursor: [node.id] } : { node }, node.id, undefined, now);
    return new NodeHandle(this, node.id);
  }

  /** @internal creates a fan-out under `parents`; `cursor` moves the trace cursor to them. */
  [kSpawn](
    call: string,
    parents: readonly string[],
    items: readonly ParallelItem[],
    attach: AttachOptions,
  ): NodeHandle[] {
    const { moveCursor: cursor, completeParents: autoComplete, fanOut = false } = attach;
    if (!this.#writable(call)) return fanOut ? [] : [new NodeHandle(this, '')];
    if (fanOut) {
      if (!Array.isArray(items) || items.length === 0)
        throw new InvalidArgumentError(`${call}() needs a non-empty array of branches`);
      if (this.#state.root === undefined) throw new NoRootError(this.id, `${call}()`);
    }
    if (autoComplete) for (const pid of parents) this[kEnd](pid, 'completed', undefined, false);
    const now = Date.now();
    const nodes: NodeData[] = [];
    for (const item of items) nodes.push(this.#newNode(parents, item?.input, item ?? {}, now));
    const data: NodeStartEventData = fanOut ? { nodes } : { node: nodes[0]! };
    if (cursor) data['cursor'] = nodes.map((n) => n.id);
    this.#emit('node_start', data, fanOut ? undefined : nodes[0]!.id);
    return nodes.map((n) => new NodeHandle(this, n.id));
  }

  /** @internal */
  [kJoin](others: readonly (NodeHandle | NodeData | string)[], input: unknown, options: NodeOptions): NodeHandle {
    if (!this.#writable('join')) return new NodeHandle(this, '');
    const list: unknown = others; // Array.isArray would narrow the typed array to any[]
    if (!Array.isArray(list) || others.length === 0)
      throw new InvalidArgumentError('join() needs a non-empty array of nodes (its parents)');
    // The parents are exactly `others` (as in the reference module): the node join() is
    // called on is a parent only if it is listed.
    const parents: string[] = [];
    for (const n of others) {
      const id = typeof n === 'string' ? n : n?.id;
      if (typeof id !== 'string' || !this.#state.nodes.has(id))
        throw new InvalidArgumentError(`join(): trace ${this.id} has no node ${String(id)}`);
      if (!parents.includes(id)) parents.push(id);
    }
    if (options.autoCompleteParent ?? true) for (const pid of parents) this[kEnd](pid, 'completed', undefined, false);
    const node = this.#newNode(parents, input, options, Date.now());
    const data: NodeStartEventData = { node };
    const current = this.#state.current;
    if (current.some((id) => parents.includes(id))) {
      const next: string[] = [];
      for (const id of current) {
        if (!parents.includes(id)) next.push(id);
        else if (!next.includes(node.id)) next.push(node.id);
      }
      data['cursor'] = next;
    }
    this.#emit('node_start', data, node.id);
    return new NodeHandle(this, node.id);
  }

  /** @internal */
  [kUpdate](nodeId: string, field: 'output' | 'metadata' | 'metadataEntries', value: unknown, key?: string): void {
    if (!this.#writable(field === 'output' ? 'setOutput' : 'setMetadata')) return;
    const node = this.#state.nodes.get(nodeId);
    if (!node) return;
    const next: NodeData = { ...node, updated_at: Date.now() };
    if (field === 'output') {
      next.output = capture(value, this.#host.capture);
    } else if (field === 'metadataEntries') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new InvalidArgumentError(
          `setMetadata(entries) needs a plain object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
        );
      const entries = guardRead('setMetadata()', () => Object.entries(value));
      if (entries.length === 0) return;
      next.metadata = { ...node.metadata };
      for (const [k, raw] of entries)
        setOwn(next.metadata, captureKey(k, this.#host.limits.maxKeyLength), capture(raw, this.#host.capture));
    } else {
      if (typeof key !== 'string' || key.length === 0)
        throw new InvalidArgumentError(`setMetadata() key must be a non-empty string, got ${typeof key}`);
      next.metadata = { ...node.metadata };
      setOwn(next.metadata, captureKey(key, this.#host.limits.maxKeyLength), capture(value, this.#host.capture));
    }
    this.#emit('node_updated', { node: next }, nodeId);
  }

  /**
   * @internal input and/or label of a node learnt after it started (integrations whose
   * frameworks fill a span's data after its start); one `node_updated` event.
   */
  [kPatch](nodeId: string, patch: { input?: unknown; label?: string }): void {
    if (!this.#writable('setMetadata')) return;
    const node = this.#state.nodes.get(nodeId);
    if (!node) return;
    const next: NodeData = { ...node, updated_at: Date.now() };
    if ('input' in patch) next.input = capture(patch.input, this.#host.capture);
    if (typeof patch.label === 'string' && patch.label !== '') next.label = patch.label;
    this.#emit('node_updated', { node: next }, nodeId);
  }

  /**
   * @internal records the usage of a model call on a node (replacing any earlier usage);
   * a node of kind `step` becomes an `llm` node.
   */
  [kUsage](nodeId: string, input: UsageInput, metadata?: Record<string, unknown>): void {
    if (!this.#writable('setUsage')) return;
    const node = this.#state.nodes.get(nodeId);
    if (!node) return;
    const usage = guardRead('setUsage()', () => normalizeUsage(input, this.#host.prices));
    const next: NodeData = { ...node, usage, updated_at: Date.now() };
    if (node.kind === 'step') next.kind = 'llm';
    if (metadata !== undefined) {
      if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
        throw new InvalidArgumentError(
          `setUsage(usage, metadata): metadata must be a plain object, got ${Array.isArray(metadata) ? 'an array' : typeof metadata}`,
        );
      next.metadata = { ...node.metadata };
      for (const [k, raw] of Object.entries(metadata)) setOwn(next.metadata, k, capture(raw, this.#host.capture));
    }
    this.#emit('node_updated', { node: next }, nodeId);
  }

  /** @internal */
  [kSetStatus](nodeId: string, status: NodeStatus): void {
    if (!NODE_STATUSES.has(status))
      throw new InvalidArgumentError(
        `setStatus(): status must be one of ${[...NODE_STATUSES].join(', ')}, got ${String(status)}`,
      );
    if (status === 'completed') return this[kEnd](nodeId, 'completed', undefined, false);
    if (status === 'failed') return this[kEnd](nodeId, 'failed', new Error('failed'), true);
    if (status === 'cancelled')
      return this[kEnd](nodeId, 'cancelled', { name: 'Cancelled', message: 'cancelled' }, true);
    if (!this.#writable('setStatus')) return;
    const node = this.#state.nodes.get(nodeId);
    if (!node || node.status === status) return;
    const now = Date.now();
    const next: NodeData = { ...node, status, updated_at: now };
    if (status === 'skipped') next.end_time = now;
    this.#emit('node_updated', { node: next }, nodeId);
  }

  /** @internal ends a node; a node that already ended is left alone (no event). */
  [kEnd](nodeId: string, status: 'completed' | 'failed' | 'cancelled', value: unknown, hasValue: boolean): void {
    if (!this.#writable(status === 'completed' ? 'complete' : 'fail')) return;
    const node = this.#state.nodes.get(nodeId);
    if (!node || !isActive(node.status)) return;
    const end = Date.now();
    const duration = end - (node.start_time ?? node.created_at);
    if (status === 'completed') {
      const d: NodeCompleteEventData = { node_id: nodeId, status: 'success', end_time: end, duration };
      if (hasValue) d['output'] = capture(value, this.#host.capture);
      this.#emit('node_complete', d, nodeId, undefined, end);
    } else {
      // Through the one capture path: copied (the caller's object is never kept) and bounded.
      const error = captureError(value, this.#host.capture);
      this.#emit('node_failed', { node_id: nodeId, status, end_time: end, duration, error }, nodeId);
    }
  }

  // ---- private --------------------------------------------------------------------

  #info(): TraceInfo {
    return { ...this.#state.info, archived: false };
  }

  #finish(status: 'completed' | 'failed' | 'cancelled', error?: ErrorData, reason?: string): this {
    if (this.#phase === 'sealed') return this;
    if (!this.#writable(status === 'completed' ? 'markComplete' : status === 'failed' ? 'markFailed' : 'markCancelled'))
      return this;
    for (const node of this.#state.nodes.values()) {
      if (isActive(node.status)) this[kEnd](node.id, status, error, status !== 'completed');
    }
    const data: CompleteEventData = {
      trace_id: this.id,
      status,
      total_duration: Date.now() - this.#state.info.created_at,
    };
    if (reason !== undefined) data['reason'] = reason;
    else if (status === 'failed' && error !== undefined) data['error'] = error;
    // Known before the event is appended, so that no reader can see it without knowing it
    // ends the trace. A data field of the feed, not a getter: read once per event per reader.
    this.#endSeq = this.#state.last_seq + 1;
    if (this.#feed) this.#feed.endSeq = this.#endSeq;
    this.#emit('complete', data);
    this.#phase = 'sealed';
    this.#detachSignal();
    this.#host.sealed(this);
    return this;
  }

  #newNode(parentIds: readonly string[], input: unknown, item: NodeOptions, now: number): NodeData {
    const kind = item.kind === undefined ? (item.usage === undefined ? 'step' : 'llm') : checkKind(item.kind);
    const limits = this.#host.limits;
    // The common node (a label, no usage) in one literal: a label added afterwards cost an
    // out-of-object property array per node (see #emit). Key order as before.
    const labelled = item.label !== undefined && item.usage === undefined;
    const node: NodeData = labelled
      ? {
          id: newId(),
          parent_ids: parentIds,
          children: NO_CHILDREN,
          kind,
          metadata: NO_METADATA,
          status: 'running',
          created_at: now,
          start_time: now,
          updated_at: now,
          label: captureText(item.label, limits.maxLabelLength),
        }
      : {
          id: newId(),
          parent_ids: parentIds,
          children: NO_CHILDREN,
          kind,
          metadata: NO_METADATA,
          status: 'running',
          created_at: now,
          start_time: now,
          updated_at: now,
        };
    if (item.usage !== undefined) node.usage = guardRead('usage', () => normalizeUsage(item.usage!, this.#host.prices));
    if (!labelled && item.label !== undefined) node.label = captureText(item.label, limits.maxLabelLength);
    if (item.icon !== undefined) node.icon = captureText(item.icon, limits.maxLabelLength);
    if (item.description !== undefined) node.description = captureText(item.description, limits.maxMessageLength);
    if (item.metadata !== undefined)
      node.metadata = (capture(item.metadata, this.#host.capture) ?? {}) as Record<string, unknown>;
    if (input !== undefined) node.input = capture(input, this.#host.capture);
    return node;
  }

  /** The one place events are made. Hot path. */
  #emit<T extends EventType>(
    type: T,
    data: EventData<T>,
    nodeId?: string,
    spaceId?: string,
    timestamp = Date.now(),
  ): void {
    const log = this.#log;
    if (log.failure !== undefined && log.pending >= this.#host.limits.maxPendingEvents) {
      this.#host.dropped(this);
      return;
    }
    // The signature ties `data` to `type`; TypeScript cannot see that through the generic.
    // One literal per shape, with every field in it: adding `node_id` after the literal gave
    // each event an out-of-object property array (40 bytes and one more object to copy for
    // every event kept: docs/performance.md, section 4). The key order is the same as before.
    const seq = this.#state.last_seq + 1;
    let ev: TraceEvent;
    if (spaceId === undefined)
      ev = (
        nodeId === undefined
          ? { seq, type, trace_id: this.id, timestamp, data }
          : { seq, type, trace_id: this.id, timestamp, data, node_id: nodeId }
      ) as TraceEvent;
    else
      ev = (
        nodeId === undefined
          ? { seq, type, trace_id: this.id, timestamp, data, space_id: spaceId }
          : { seq, type, trace_id: this.id, timestamp, data, node_id: nodeId, space_id: spaceId }
      ) as TraceEvent;
    log.append(ev);
    applyEvent(this.#state, ev);
    if (this.#parked.length !== 0) {
      const parked = this.#parked;
      this.#parked = [];
      for (let i = 0; i < parked.length; i++) parked[i]!();
    }
    const hub = this.#host.hub;
    if (hub.remote || hub.hasSubscribers(this.id)) hub.publish(this.id, [ev]);
    this.#host.writer.touch(log);
  }

  #writable(call: string): boolean {
    if (this.#phase === 'open') return true;
    this.#host.late(this, call, this.#phase === 'released' ? 'released' : this.#signal?.aborted ? 'aborted' : 'sealed');
    return false;
  }

  /** A space key as stored: validated, bounded (a long key keeps a hash of the whole key). */
  #key(key: unknown): string {
    checkKey(key);
    return captureKey(key, this.#host.limits.maxKeyLength);
  }

  #space(id: string): SpaceData {
    const space = this.#state.spaces.get(id);
    if (!space) throw new UnknownSpaceError(this.id, id);
    return space;
  }

  #detachSignal(): void {
    if (this.#signal) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#signal = undefined;
    }
  }
}

function isTerminal(status: TraceStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

function checkKind(kind: unknown): NodeKind {
  if (typeof kind !== 'string' || !NODE_KIND_SET.has(kind))
    throw new InvalidArgumentError(
      `option kind must be one of ${[...NODE_KIND_SET].join(', ')}, got ${shownValue(kind)}`,
    );
  return kind as NodeKind;
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(key);
}

function formatMessage(message: unknown): string {
  if (message instanceof Error) return message.message;
  try {
    return typeof message === 'object' && message !== null ? JSON.stringify(capture(message)) : String(message);
  } catch {
    return '[unprintable]';
  }
}

function abortReason(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  return r === undefined ? 'aborted' : errorMessage(r) || 'aborted';
}
