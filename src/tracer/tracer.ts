// Tracer: creates, loads and releases traces, and owns the process-level machinery they
// share: one store, one hub, one write-behind writer, one exit hook. Nothing is per trace.
import { hostname } from 'node:os';
import { capture, captureKey, captureText, type CaptureLimits } from '../core/capture.js';
import { guardRead, readOptions } from '../core/read-options.js';
import {
  FlushError,
  InvalidArgumentError,
  LivetraceError,
  StoreConflictError,
  StoreError,
  TraceClosedError,
  TraceExistsError,
  TraceLockedError,
  TraceNotFoundError,
  TraceRunningError,
  TracerClosedError,
  WARNING_CODES,
  errorMessage,
  type LivetraceWarning,
} from '../core/errors.js';
import { assertValidId, newId, newTraceId } from '../core/ids.js';
import { resolvePrices, type PriceTable } from '../core/prices.js';
import { initialState, reduceEvents, toSnapshot, type TraceState } from '../core/reducer.js';
import type { ListQuery, ListResult, NodeContext, TraceEvent, TraceInfo, TraceSnapshot } from '../core/types.js';
import type { EventHub } from '../hub/hub.js';
import { LocalHub } from '../hub/local-hub.js';
import { Subscription, type SubscribeOptions } from '../hub/subscription.js';
import { createDefaultStore } from '../store/default-store.js';
import type { TraceStore } from '../store/store.js';
import { contextStorage } from './context.js';
import { NodeHandle } from './node-handle.js';
import { resolveFlush, resolveLimits, resolveShared, type Limits, type TracerOptions } from './options.js';
import { kCreateFresh, kFeed, kForget, kInit, kLateCall, kLogOf, kSubscribe } from './symbols.js';
import { Trace, type TraceHost } from './trace.js';
import { WriteBehind, type TraceLog } from './write-behind.js';
import { isActive } from '../core/status.js';

export interface CreateOptions {
  id?: string;
  createdBy?: string;
  teamId?: string;
  tenantId?: string;
  metadata?: Record<string, unknown>;
  agentName?: string;
  /** The conversation or thread this run belongs to (`TraceInfo.session_id`). */
  sessionId?: string;
  /** The end user this run is for (`TraceInfo.user_id`). */
  userId?: string;
  /** Archive the trace once it completes (file store: gzip). */
  autoArchive?: boolean;
  /** Aborting marks the trace cancelled with the abort reason. */
  signal?: AbortSignal;
}

export interface TracerStats {
  /** Calls ignored because their trace was released, sealed or aborted. */
  lateCalls: number;
  /** Events dropped because the store failed and the pending bound was reached. */
  droppedEvents: number;
  /** Store failures seen (each failing streak counts once). */
  storeErrors: number;
}

/** Events per store read when a snapshot is rebuilt from a store (memory: one page). */
const READ_PAGE = 500;

type ErrorListener = (error: Error) => void;
type WarningListener = (warning: LivetraceWarning) => void;

/** Ids create() draws before giving up on finding a free one. */
const MAX_ID_DRAWS = 5;

/** A generated id is taken already (internal to create(): it draws another). */
class IdTaken extends Error {}

export class Tracer {
  readonly store: TraceStore;
  readonly hub: EventHub;
  readonly strict: boolean;
  readonly limits: Limits;
  /** Writer identity for the store's single-writer lease. */
  readonly owner: string;
  /** The price table in use: the defaults with `options.prices` over them. */
  readonly prices: PriceTable;
  readonly stats: TracerStats = { lateCalls: 0, droppedEvents: 0, storeErrors: 0 };
  /** What close() closes: the store and the hub unless the caller marked them shared. */
  readonly #closesStore: boolean;
  readonly #closesHub: boolean;
  readonly #onClose: 'cancel' | 'keep';
  readonly #writer: WriteBehind;
  readonly #traces = new Map<string, Trace>();
  readonly #loading = new Map<string, Promise<Trace>>();
  /** Drawn ids whose init create() is storing: a seq conflict there means "taken", not a failure to report. */
  readonly #drawing = new Set<string>();
  readonly #warnedTraces = new WeakSet<Trace>();
  readonly #errorListeners = new Set<ErrorListener>();
  readonly #warningListeners = new Set<WarningListener>();
  readonly #host: TraceHost;
  readonly #exitHook: boolean;
  #exitHookInstalled = false;
  #closing: Promise<void> | undefined;
  readonly #onBeforeExit = (): void => {
    void this.#flushAll();
  };

  constructor(tracerOptions: TracerOptions = {}) {
    // A copy, read once: hostile option objects give our usage error, never a raw TypeError.
    const options = readOptions('new Tracer()', tracerOptions);
    this.limits = guardRead('new Tracer(): option limits', () => resolveLimits(options.limits));
    const flush = guardRead('new Tracer(): option flush', () => resolveFlush(options.flush));
    this.strict = options.strict === true;
    if (options.onClose !== undefined && options.onClose !== 'cancel' && options.onClose !== 'keep') {
      throw new InvalidArgumentError(
        `option onClose must be "cancel" or "keep", got ${typeof options.onClose === 'string' ? options.onClose : typeof options.onClose}`,
      );
    }
    this.#onClose = options.onClose ?? 'cancel';
    this.#exitHook = options.exitHook ?? true;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${newId()}`;
    this.prices = guardRead('new Tracer(): option prices', () => resolvePrices(options.prices));
    const shared = guardRead('new Tracer(): option shared', () => resolveShared(options.shared));
    this.store = options.store ?? createDefaultStore();
    this.#closesStore = options.store === undefined || !shared.store;
    this.#closesHub = options.hub === undefined || !shared.hub;
    const hub = options.hub ?? new LocalHub();
    if (hub instanceof LocalHub && hub.onListenerError === undefined) {
      hub.onListenerError = (err) =>
        this.#warn({ code: 'LT_WARN_SUBSCRIBER', message: `a subscriber threw: ${errorMessage(err)}` });
    }
    this.hub = hub;
    this.#writer = new WriteBehind(this.store, flush, (err, log) => this.#storeFailed(err, log));
    const { maxValueSize, maxDepth, maxLabelLength, maxMessageLength, maxKeyLength } = this.limits;
    const capture: CaptureLimits = { maxValueSize, maxDepth, maxLabelLength, maxMessageLength, maxKeyLength };
    this.#host = {
      writer: this.#writer,
      hub: this.hub,
      limits: this.limits,
      capture,
      prices: this.prices,
      late: (trace, call, state) => this.#late(trace, call, state),
      dropped: (trace) => this.#dropped(trace),
      sealed: (trace) => this.#sealed(trace),
      released: (trace) => this.#released(trace),
      subscribe: (id, opts, trace) => this.#subscribe(id, opts, trace),
    };
  }

  // ---- events: error / warning --------------------------------------------------------

  on(event: 'error', listener: ErrorListener): this;
  on(event: 'warning', listener: WarningListener): this;
  on(event: 'error' | 'warning', listener: ErrorListener | WarningListener): this {
    if (event === 'error') this.#errorListeners.add(listener as ErrorListener);
    else if (event === 'warning') this.#warningListeners.add(listener as WarningListener);
    else throw new InvalidArgumentError(`tracer.on(): unknown event ${String(event)}; use "error" or "warning"`);
    return this;
  }

  off(event: 'error' | 'warning', listener: ErrorListener | WarningListener): this {
    if (event === 'error') this.#errorListeners.delete(listener as ErrorListener);
    else this.#warningListeners.delete(listener as WarningListener);
    return this;
  }

  // ---- traces -----------------------------------------------------------------------

  /**
   * Starts a new trace. An id given that is loaded in this process is a TraceExistsError;
   * one that exists only in the store is resumed (as load() does). A generated id that is
   * taken is drawn again.
   */
  async create(options: CreateOptions = {}): Promise<Trace> {
    this.#assertOpen();
    const { o, init } = this.#createOptions(options);
    // A generated id names a new trace. One that is taken (loaded here, stored, or leased
    // by another writer) is another run's id drawn twice, which 12 random digits a day make
    // likely on a busy day (a million runs: about 40%): draw again, never resume it. An id
    // the caller gives is resumed, as documented.
    const generated = o.id === undefined;
    for (let draw = 1; ; draw++) {
      const id = o.id ?? newTraceId();
      if (this.#traces.has(id) || this.#loading.has(id)) {
        if (generated && draw < MAX_ID_DRAWS) continue;
        throw new TraceExistsError(id);
      }
      const pending = this.#open(id, o, init, generated);
      this.#loading.set(id, pending);
      try {
        return await pending;
      } catch (err) {
        if (!(err instanceof IdTaken)) throw err;
        if (draw >= MAX_ID_DRAWS) throw new TraceExistsError(id);
      } finally {
        this.#loading.delete(id);
      }
    }
  }

  /**
   * @internal create() for an id that is new by construction (the trace id OpenTelemetry
   * just generated for a root span), without waiting: the trace records at once, and its
   * writes wait for the store's lease (WriteBehind.gate). create() must first ask the store
   * whether the id exists (to resume it) and store the `init`; a processor that awaited
   * that queued every span of the new trace meanwhile, and those queues were a quarter of
   * its time in the garbage collector (docs/performance.md, section 9). Should the id exist
   * after all (an id generator that repeats), the store refuses the first batch (a seq
   * conflict, reported through 'error'): the stored trace is never written over.
   */
  [kCreateFresh](options: CreateOptions & { id: string }): Trace {
    this.#assertOpen();
    const { o, init } = this.#createOptions(options);
    const id = o.id;
    assertValidId(id); // required here (the copy read, not the caller's object again)
    if (this.#traces.has(id) || this.#loading.has(id)) throw new TraceExistsError(id);
    const trace = new Trace(this.#host, id, { autoArchive: o.autoArchive === true, signal: o.signal });
    this.#traces.set(id, trace);
    this.#installExitHook();
    let lease: Promise<void> | undefined;
    try {
      lease = this.store.acquire?.(id, this.owner);
    } catch (err) {
      lease = Promise.reject(err);
    }
    if (lease) this.#writer.gate(trace[kLogOf], lease);
    trace[kInit]({ trace_id: id, ...init });
    return trace;
  }

  /** Activates a stored trace; its seq continues where it stopped. */
  async load(id: string): Promise<Trace> {
    this.#assertOpen();
    assertValidId(id);
    const loaded = this.#traces.get(id);
    if (loaded) return loaded;
    const inflight = this.#loading.get(id);
    if (inflight) return inflight;
    const pending = this.#open(id, {}, undefined);
    this.#loading.set(id, pending);
    try {
      return await pending;
    } finally {
      this.#loading.delete(id);
    }
  }

  get(id: string): Trace | undefined {
    return this.#traces.get(id);
  }
  isLoaded(id: string): boolean {
    return this.#traces.has(id);
  }
  loaded(): string[] {
    return [...this.#traces.keys()];
  }

  async exists(id: string): Promise<boolean> {
    assertValidId(id);
    return this.#traces.has(id) || (await this.store.info(id)) !== undefined;
  }

  async info(id: string): Promise<TraceInfo | undefined> {
    assertValidId(id);
    const t = this.#traces.get(id);
    if (t) {
      const stored = await this.store.info(id);
      return {
        ...t.getInfo(),
        archived: stored?.archived ?? false,
        ...(stored?.archived_at !== undefined ? { archived_at: stored.archived_at } : {}),
      };
    }
    return this.store.info(id);
  }

  /** The trace's materialized state: live if loaded here, else rebuilt from the store. */
  async read(id: string): Promise<TraceSnapshot | undefined> {
    assertValidId(id);
    const t = this.#traces.get(id);
    if (t) return t.snapshot();
    const info = await this.store.info(id);
    // Reduced a page at a time: memory holds the state and one page, never the whole log.
    let state: TraceState | undefined;
    for (let since = 0; ;) {
      const page = await this.store.read(id, { since, limit: READ_PAGE });
      if (page.length === 0) break;
      state = reduceEvents(id, page, state);
      since = page[page.length - 1]!.seq;
      if (page.length < READ_PAGE) break;
    }
    if (!info && !state) return undefined;
    const snap = toSnapshot(state ?? initialState(id));
    if (info) {
      snap.info.archived = info.archived;
      if (info.archived_at !== undefined) snap.info.archived_at = info.archived_at;
    }
    return snap;
  }

  /** Stored events after `since` (loaded traces: including those not yet stored). */
  async events(id: string, eventsOptions?: { since?: number; limit?: number }): Promise<TraceEvent[]> {
    assertValidId(id);
    const options = readOptions('tracer.events()', eventsOptions);
    const since = Math.max(0, options.since ?? 0);
    const t = this.#traces.get(id);
    if (t) {
      const all = t[kLogOf].events;
      return all.slice(since, options.limit === undefined ? undefined : since + options.limit);
    }
    return this.store.read(id, options);
  }

  list(query?: ListQuery): Promise<ListResult> {
    try {
      return this.store.list(readOptions('tracer.list()', query));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Replays the trace's history after `since`/`sinceTime`, then follows it live until
   * `complete`, release, abort or break. Works for traces loaded here or elsewhere.
   */
  subscribe(id: string, options?: SubscribeOptions): Subscription {
    assertValidId(id);
    return this.#subscribe(id, readOptions('tracer.subscribe()', options), this.#traces.get(id));
  }

  async markCancelled(id: string, reason?: string): Promise<void> {
    const loaded = this.#traces.get(id);
    const t = loaded ?? (await this.load(id));
    t.markCancelled(reason);
    if (!loaded) await t.release();
    else await t.flush();
  }

  async release(id: string): Promise<void> {
    assertValidId(id);
    await this.#traces.get(id)?.release();
  }

  /** Deletes a trace everywhere: released here first, then removed from the store. */
  async remove(id: string): Promise<boolean> {
    assertValidId(id);
    const t = this.#traces.get(id);
    if (t) {
      try {
        await t.release();
      } catch {
        /* its events are being deleted anyway */
      }
    }
    return this.store.remove(id);
  }

  /** Archives a finished trace (gzip on the file store); reading it keeps working. */
  async archive(id: string): Promise<void> {
    assertValidId(id);
    const t = this.#traces.get(id);
    if (t) {
      if (!t.isComplete) throw new TraceRunningError(id, 'archive');
      await t.release();
    }
    const info = await this.store.info(id);
    if (!info) throw new TraceNotFoundError(id);
    if (isActive(info.status)) throw new TraceRunningError(id, 'archive');
    await this.store.archive(id);
  }

  /**
   * Runs `fn` with `target` as the current node/trace (AsyncLocalStorage) and returns what
   * it returns.
   */
  run<T>(target: Trace | NodeHandle, fn: () => T): T;
  /**
   * Runs `fn` in the node a NodeContext (from `node.context()`, maybe in another process)
   * names. If its trace is loaded here, `fn` runs at once and its result is returned;
   * otherwise the trace is loaded from the shared store first and the result is a Promise.
   */
  run<T>(target: NodeContext, fn: () => T): T | Promise<Awaited<T>>;
  run<T>(target: Trace | NodeHandle | NodeContext, fn: () => T): T | Promise<Awaited<T>> {
    // instanceof runs a Proxy's getPrototypeOf trap: guarded like any read of caller objects.
    const what = guardRead('tracer.run()', () =>
      target instanceof Trace ? 'trace' : target instanceof NodeHandle ? 'node' : 'context',
    );
    if (what === 'trace' && target instanceof Trace) return contextStorage.run({ trace: target, node: undefined }, fn);
    if (what === 'node' && target instanceof NodeHandle) {
      const trace = target.trace;
      if (!trace) return fn();
      return contextStorage.run({ trace, node: target.id === '' ? undefined : target }, fn);
    }
    if (!target || typeof target !== 'object') {
      throw new InvalidArgumentError('tracer.run(target, fn): target must be a Trace, a NodeHandle or a node context');
    }
    const ctx = readOptions('tracer.run()', target as NodeContext);
    if (typeof ctx.trace_id !== 'string')
      throw new InvalidArgumentError('tracer.run(target, fn): target must be a Trace, a NodeHandle or a node context');
    const runIn = (trace: Trace): T => {
      const node =
        ctx.node_id !== undefined && trace.getNode(ctx.node_id) ? new NodeHandle(trace, ctx.node_id) : undefined;
      return contextStorage.run({ trace, node }, fn);
    };
    const loaded = this.#traces.get(ctx.trace_id);
    if (loaded) return runIn(loaded);
    return this.load(ctx.trace_id).then((trace) => runIn(trace) as Awaited<T>);
  }

  /**
   * Flushes and releases every trace, then closes the store and the hub (those given in
   * options too, unless marked in `shared`), so that the process can exit on its own.
   * Traces still running are marked cancelled ("shutdown") unless onClose is "keep".
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  // ---- internals --------------------------------------------------------------------

  async #close(): Promise<void> {
    const traces = [...this.#traces.values()];
    if (this.#onClose === 'cancel') for (const t of traces) if (!t.isComplete) t.markCancelled('shutdown');
    const results = await Promise.allSettled(traces.map((t) => t.release()));
    await Promise.allSettled([...this.#loading.values()]);
    this.#writer.close();
    this.#removeExitHook();
    const closing: Promise<unknown>[] = [];
    if (this.#closesStore) closing.push(this.store.close());
    if (this.#closesHub) closing.push(this.hub.close());
    const closed = await Promise.allSettled(closing);
    const failure = [...results, ...closed].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * create()'s options, read once, validated and captured before any I/O and before the
   * trace is registered: a create() that fails leaves nothing behind (no registration, no
   * event). Returns the copy read and the `init` event's data.
   */
  #createOptions(options: CreateOptions): { o: CreateOptions; init: Record<string, unknown> } {
    const o = readOptions('tracer.create()', options);
    if (o.id !== undefined) assertValidId(o.id);
    const init = this.#initData(o);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
      throw new InvalidArgumentError('tracer.create(): option signal must be an AbortSignal');
    return { o, init };
  }

  /** The `init` event's data of a new trace (without trace_id): every string bounded, metadata captured. */
  #initData(o: CreateOptions): Record<string, unknown> {
    const { maxLabelLength, maxKeyLength } = this.limits;
    return guardRead('tracer.create()', () => {
      const data: Record<string, unknown> = {};
      if (o.agentName !== undefined) data['agent_name'] = captureText(o.agentName, maxLabelLength);
      if (o.createdBy !== undefined) data['created_by'] = captureKey(captureText(o.createdBy, Infinity), maxKeyLength);
      if (o.teamId !== undefined) data['team_id'] = captureKey(captureText(o.teamId, Infinity), maxKeyLength);
      if (o.tenantId !== undefined) data['tenant_id'] = captureKey(captureText(o.tenantId, Infinity), maxKeyLength);
      if (o.sessionId !== undefined) data['session_id'] = captureKey(captureText(o.sessionId, Infinity), maxKeyLength);
      if (o.userId !== undefined) data['user_id'] = captureKey(captureText(o.userId, Infinity), maxKeyLength);
      if (o.metadata !== undefined) {
        // The one capture path: BigInt, cycles, Maps... become tagged JSON; keys and size bounded.
        const m = capture(o.metadata, this.#host.capture);
        data['metadata'] = m !== null && typeof m === 'object' && !Array.isArray(m) ? m : { value: m ?? null };
      }
      return data;
    });
  }

  /**
   * Opens a trace: `init` given = create (a new trace gets that init event), else load.
   * `generated`: the id was drawn by create(); taken already, it is an IdTaken.
   */
  async #open(
    id: string,
    options: CreateOptions,
    init: Record<string, unknown> | undefined,
    generated = false,
  ): Promise<Trace> {
    // The lease first, the log after: once we hold the lease no other writer can append, so
    // what we read is the whole log (a writer that released just before left it complete).
    try {
      await this.store.acquire?.(id, this.owner);
    } catch (err) {
      throw generated && err instanceof TraceLockedError ? new IdTaken() : err;
    }
    let trace: Trace;
    try {
      // A drawn id is new unless another run drew it too, and then the store refuses its
      // init (a seq conflict, below): no read first, one store round trip fewer per trace.
      const events = generated ? [] : await this.store.read(id);
      if (events.length === 0 && init === undefined) {
        if (!(await this.store.info(id))) throw new TraceNotFoundError(id);
      }
      this.#assertOpen();
      trace = new Trace(this.#host, id, {
        events: events.length > 0 ? events : undefined,
        autoArchive: options.autoArchive === true,
        signal: options.signal,
      });
    } catch (err) {
      // Not registered: give the lease back so that nothing of the trace remains.
      await this.#giveBackLease(id);
      throw err;
    }
    this.#traces.set(id, trace);
    this.#installExitHook();
    if (trace.lastSeq === 0) {
      trace[kInit]({ trace_id: id, ...(init ?? {}) });
      // Visible everywhere once create() resolves: the `init` is stored before we return,
      // so another process sharing the store can info()/read()/subscribe at once.
      if (generated) this.#drawing.add(id);
      try {
        await trace.flush();
      } catch (err) {
        // Not stored, so it does not exist: drop it here too (release gives the lease back).
        await trace.release().catch(() => undefined);
        this.#writer.forget(trace[kLogOf]);
        const cause = err instanceof FlushError && err.cause !== undefined ? err.cause : err;
        throw generated && cause instanceof StoreConflictError ? new IdTaken() : cause;
      } finally {
        this.#drawing.delete(id);
      }
    }
    return trace;
  }

  async #giveBackLease(id: string): Promise<void> {
    try {
      await this.store.releaseLease?.(id, this.owner);
    } catch {
      /* the lease expires by itself; the caller gets the original error */
    }
  }

  #subscribe(id: string, options: SubscribeOptions, trace: Trace | undefined): Subscription {
    const local = trace && !trace.isReleased ? trace[kFeed] : undefined;
    const sub = new Subscription(
      id,
      local ? undefined : this.hub,
      (tid, since, limit) => this.#source(tid, since, limit),
      options,
      {
        bufferSize: this.limits.subscriberBuffer,
        local,
        retryMs: trace ? undefined : 100,
        // No live feed reaches us for a trace written elsewhere unless the hub is remote; a
        // remote hub can still lose a trace's last messages (Redis restarted after the writer
        // finished), so a slow poll of the store is the safety net.
        pollMs: trace ? undefined : (options.pollMs ?? (this.hub.remote ? 5000 : 250)),
        prepare: trace
          ? undefined
          : async () => {
              if (this.#traces.has(id)) return;
              if ((await this.store.info(id)) === undefined && (await this.store.read(id, { limit: 1 })).length === 0)
                throw new TraceNotFoundError(id);
            },
        onClose: (s) => this.#traces.get(id)?.[kForget](s),
        endSeq: async () => {
          const loaded = this.#traces.get(id);
          if (loaded) return loaded.isComplete ? loaded.lastSeq : undefined;
          const info = await this.store.info(id);
          return info && !isActive(info.status) ? info.last_seq : undefined;
        },
      },
    );
    if (trace && !trace.isReleased) trace[kSubscribe](sub);
    return sub;
  }

  #source(id: string, since: number, limit: number): readonly TraceEvent[] | Promise<readonly TraceEvent[]> {
    const t = this.#traces.get(id);
    if (t) return t[kLogOf].events.slice(since, since + limit);
    return this.store.read(id, { since, limit });
  }

  #late(trace: Trace, call: string, state: string): void {
    this.stats.lateCalls++;
    trace[kLateCall]();
    if (this.strict) throw new TraceClosedError(trace.id, state, call);
    if (this.#warnedTraces.has(trace)) return;
    this.#warnedTraces.add(trace);
    this.#warn({
      code: 'LT_WARN_LATE_CALL',
      message: `${call}() on trace ${trace.id}, which is ${state}: ignored (later calls are counted in tracer.stats.lateCalls)`,
      traceId: trace.id,
    });
  }

  #dropped(trace: Trace): void {
    this.stats.droppedEvents++;
    if (this.#warnedTraces.has(trace)) return;
    this.#warnedTraces.add(trace);
    this.#warn({
      code: 'LT_WARN_PENDING_OVERFLOW',
      message: `trace ${trace.id}: ${WARNING_CODES.LT_WARN_PENDING_OVERFLOW} (bound ${this.limits.maxPendingEvents})`,
      traceId: trace.id,
    });
  }

  #sealed(trace: Trace): void {
    if (!trace.autoArchive) return;
    trace
      .flush()
      .then(() => this.store.archive(trace.id))
      .catch((err: unknown) => this.#error(err));
  }

  async #released(trace: Trace): Promise<void> {
    const log = trace[kLogOf];
    if (log.pending === 0) this.#writer.forget(log);
    if (this.#traces.get(trace.id) === trace) this.#traces.delete(trace.id);
    try {
      await this.store.releaseLease?.(trace.id, this.owner);
    } catch (err) {
      this.#error(err);
    }
  }

  #storeFailed(err: unknown, log: TraceLog): void {
    if (err instanceof StoreConflictError && this.#drawing.has(log.id)) return; // create() draws again
    this.stats.storeErrors++;
    const e =
      err instanceof LivetraceError
        ? err
        : new StoreError(`store ${this.store.name} failed for trace ${log.id}: ${errorMessage(err)}; retrying`, {
            cause: err,
          });
    this.#error(e);
  }

  #error(err: unknown): void {
    const e = err instanceof Error ? err : new StoreError(String(err));
    if (this.#errorListeners.size === 0) {
      process.emitWarning(e.message, { code: (e as { code?: string }).code ?? 'LT_ERR_STORE' });
      return;
    }
    for (const l of this.#errorListeners) {
      try {
        l(e);
      } catch {
        /* a listener's failure must not reach the writer */
      }
    }
  }

  #warn(w: LivetraceWarning): void {
    if (this.#warningListeners.size === 0) {
      process.emitWarning(w.message, { code: w.code });
      return;
    }
    for (const l of this.#warningListeners) {
      try {
        l(w);
      } catch {
        /* ignore */
      }
    }
  }

  async #flushAll(): Promise<void> {
    const traces = [...this.#traces.values()];
    await Promise.allSettled(traces.map((t) => t.flush()));
  }

  #installExitHook(): void {
    if (!this.#exitHook || this.#exitHookInstalled) return;
    this.#exitHookInstalled = true;
    process.on('beforeExit', this.#onBeforeExit);
  }

  #removeExitHook(): void {
    if (!this.#exitHookInstalled) return;
    this.#exitHookInstalled = false;
    process.off('beforeExit', this.#onBeforeExit);
  }

  #assertOpen(): void {
    if (this.#closing) throw new TracerClosedError();
  }
}
