// LivetraceSpanProcessor: an OpenTelemetry SpanProcessor that records OTel spans as
// livetrace nodes while they run. Each OTel trace becomes a livetrace trace (its id is the
// OTel trace id), each span a node created when the span starts, under its parent span's
// node. OTel calls onStart/onEnd synchronously and must never see an exception, so every
// entry point is wrapped, and the asynchronous tracer.create() is bridged by a bounded
// per-trace queue of operations that runs in order once the trace exists.
import type { Context } from '@opentelemetry/api';
import { errorMessage } from '../core/errors.js';
import type { NodeContext } from '../core/types.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { NodeOptions, Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import { splitAttributes, type AttributeValue, type Attributes } from './gen-ai-attributes.js';
import { OTEL_TRACE_ID_KEY } from './otlp.js';
import { applySpanEnd, spanNodeEnd, spanNodeStart, type SpanNodeEnd } from './span-mapping.js';
import { parseTracestate, TRACESTATE_KEY } from './traceparent.js';
import { intOption } from '../core/int-option.js';
import { kCreateFresh } from '../tracer/symbols.js';

/** The parts of an SDK span the processor reads (sdk-trace-base 1.x and 2.x). */
export interface ProcessorSpan {
  readonly name: string;
  readonly kind: number;
  spanContext(): {
    traceId: string;
    spanId: string;
    traceFlags: number;
    isRemote?: boolean;
    traceState?: { get(key: string): string | undefined; serialize(): string };
  };
  /** sdk-trace-base 2.x */
  readonly parentSpanContext?: { spanId: string; isRemote?: boolean } | undefined;
  /** sdk-trace-base 1.x */
  readonly parentSpanId?: string | undefined;
  readonly attributes: Attributes;
  readonly status: { code: number; message?: string | undefined };
  readonly events: readonly { name: string; attributes?: Attributes | undefined; time?: unknown }[];
  readonly instrumentationScope?: { name: string; version?: string | undefined } | undefined;
  readonly instrumentationLibrary?: { name: string; version?: string | undefined } | undefined;
}

export interface ProcessorWarning {
  code: 'LT_WARN_OTEL';
  message: string;
  traceId?: string;
  cause?: unknown;
}

export interface LivetraceSpanProcessorOptions {
  /** Where the traces are recorded. */
  tracer: Tracer;
  /**
   * Options of the livetrace traces the processor creates (not `id`: it is the OTel trace
   * id). A function receives the trace's first span. Default: `agentName` = that span's name.
   */
  traceOptions?: Omit<CreateOptions, 'id'> | ((firstSpan: ProcessorSpan) => Omit<CreateOptions, 'id'>);
  /** Map prompt/completion attributes (`ai.*`, `gen_ai.*`, `input.value`...) to input/output. Default true. */
  mapInputOutput?: boolean;
  /** Spans queued per trace while its livetrace trace is being created; past it spans are dropped and reported. Default 10000. */
  maxQueuedPerTrace?: number;
  /** OTel traces followed at once; spans of further traces are dropped and reported. Default 10000. */
  maxOpenTraces?: number;
  /** Where problems go (never thrown into OTel). Default: process.emitWarning with code LT_WARN_OTEL. */
  onWarning?: (warning: ProcessorWarning) => void;
}

export interface LivetraceSpanProcessorStats {
  /** Spans recorded as nodes. */
  spans: number;
  /** Spans dropped: queue or trace bound reached, trace creation failed, or trace already finished. */
  droppedSpans: number;
  /** Nodes closed as cancelled by shutdown() because their span never ended. */
  cancelledSpans: number;
}

type Op = (trace: Trace) => void;

/** One OTel trace being followed. */
interface TraceState {
  readonly otelTraceId: string;
  trace: Trace | undefined;
  /** Set while tracer.create()/load() runs. */
  opening: Promise<void> | undefined;
  /** Operations waiting for the trace; bounded by maxQueuedPerTrace. */
  queue: Op[] | undefined;
  failed: boolean;
  /** True when this processor created the trace: it completes and releases it. */
  owned: boolean;
  /** Loaded by this processor (attached traces): released when the last local root ends. */
  loadedHere: boolean;
  /** Where local roots hang when the trace was joined through `tracestate`. */
  attachTo: NodeContext | undefined;
  /**
   * span id -> its record, for every span accepted at start (its node exists or is queued):
   * decides parents synchronously. One map entry per span (it was four collections).
   */
  readonly spans: Map<string, SpanRecord>;
  /** Local roots (spans whose parent is not followed here) that have not ended. */
  readonly roots: Set<string>;
  warnedQueue: boolean;
}

/** One span accepted at start. */
interface SpanRecord {
  /** Its node, set when the (possibly queued) start runs; undefined for a no-op node. */
  node: NodeHandle | undefined;
  /** The attributes seen at start while the span runs (to record only what changed at end); undefined once it ended. */
  startAttributes: Attributes | undefined;
}

const DONE_MEMORY = 1024;

export class LivetraceSpanProcessor {
  readonly tracer: Tracer;
  readonly stats: LivetraceSpanProcessorStats = { spans: 0, droppedSpans: 0, cancelledSpans: 0 };
  readonly #options: LivetraceSpanProcessorOptions;
  readonly #mapIO: boolean;
  readonly #maxQueued: number;
  readonly #maxTraces: number;
  /** OTel trace id -> state; an entry leaves when the trace's last local root ends. */
  readonly #traces = new Map<string, TraceState>();
  /** OTel trace ids finished recently (bounded), so late spans are dropped, not re-created. */
  readonly #done = new Set<string>();
  /** Flushes and releases in flight, awaited by forceFlush()/shutdown(). */
  readonly #inflight = new Set<Promise<unknown>>();
  #shutdown: Promise<void> | undefined;
  #warnedTraces = false;

  constructor(options: LivetraceSpanProcessorOptions) {
    if (!options || typeof options !== 'object' || !options.tracer || typeof options.tracer.create !== 'function') {
      throw new TypeError('new LivetraceSpanProcessor({ tracer }): option tracer must be a livetrace Tracer');
    }
    this.tracer = options.tracer;
    this.#options = options;
    this.#mapIO = options.mapInputOutput ?? true;
    this.#maxQueued = positive('maxQueuedPerTrace', options.maxQueuedPerTrace, 10_000);
    this.#maxTraces = positive('maxOpenTraces', options.maxOpenTraces, 10_000);
  }

  // ---- SpanProcessor ----------------------------------------------------------------

  onStart(span: ProcessorSpan, _parentContext?: Context): void {
    try {
      this.#onStart(span);
    } catch (err) {
      this.#warn(`onStart failed for span ${safeName(span)}: ${errorMessage(err)}`, err);
    }
  }

  onEnd(span: ProcessorSpan): void {
    try {
      this.#onEnd(span);
    } catch (err) {
      this.#warn(`onEnd failed for span ${safeName(span)}: ${errorMessage(err)}`, err);
    }
  }

  /** Resolves when every trace the processor writes has stored its events so far. */
  async forceFlush(): Promise<void> {
    try {
      await this.#settle();
      const flushes: Promise<unknown>[] = [];
      for (const s of this.#traces.values()) if (s.trace) flushes.push(s.trace.flush());
      await Promise.allSettled(flushes);
    } catch (err) {
      this.#warn(`forceFlush failed: ${errorMessage(err)}`, err);
    }
  }

  /**
   * Closes the nodes of spans that never ended as cancelled, completes (as cancelled) the
   * traces whose root never ended, and releases every trace it holds. Idempotent.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  // ---- internals --------------------------------------------------------------------

  #onStart(span: ProcessorSpan): void {
    if (this.#shutdown) return this.#drop();
    const sc = span.spanContext();
    const otelTraceId = sc.traceId;
    const spanId = sc.spanId;
    if (this.#done.has(otelTraceId)) return this.#drop();
    const parentSpanId = span.parentSpanContext?.spanId ?? span.parentSpanId;
    let state = this.#traces.get(otelTraceId);
    if (!state) {
      if (this.#traces.size >= this.#maxTraces) {
        if (!this.#warnedTraces) {
          this.#warnedTraces = true;
          this.#warn(
            `more than ${this.#maxTraces} OTel traces open at once (maxOpenTraces): spans of new traces are dropped`,
          );
        }
        return this.#drop();
      }
      state = this.#open(span, otelTraceId, parentSpanId === undefined);
    }
    const localParent = parentSpanId !== undefined ? state.spans.get(parentSpanId) : undefined;
    const isLocalRoot = localParent === undefined;
    const attrs = { ...span.attributes };
    const scope = span.instrumentationScope ?? span.instrumentationLibrary;
    const { input, options } = spanNodeStart(
      {
        name: span.name,
        kind: span.kind,
        spanId,
        attributes: attrs,
        scope: scope?.name,
        foreignParentSpanId: isLocalRoot ? parentSpanId : undefined,
      },
      splitAttributes(attrs, this.#mapIO),
    );

    const s = state;
    const record: SpanRecord = { node: undefined, startAttributes: attrs };
    if (s.trace !== undefined && !s.failed) {
      // The common case (the trace exists): no closure, no queue.
      this.#startNode(s, s.trace, record, localParent, input, options);
    } else if (!this.#enqueue(s, (trace) => this.#startNode(s, trace, record, localParent, input, options))) return;
    if (isLocalRoot) s.roots.add(spanId);
    s.spans.set(spanId, record);
    this.stats.spans++;
  }

  #startNode(
    s: TraceState,
    trace: Trace,
    record: SpanRecord,
    localParent: SpanRecord | undefined,
    input: unknown,
    options: NodeOptions,
  ): void {
    try {
      let node: NodeHandle;
      const parent = localParent?.node;
      if (parent) node = parent.add(input, options);
      else {
        let anchor = s.attachTo?.node_id !== undefined ? trace.node(s.attachTo.node_id) : undefined;
        // Someone else's trace: hang under its cursor without moving it.
        if (!anchor && !s.owned) anchor = trace.currentNodes[0];
        node = anchor ? anchor.add(input, options) : trace.add(input, options);
      }
      if (!node.isNoop) record.node = node;
    } catch (err) {
      this.#warn(`trace ${trace.id}: recording a span failed: ${errorMessage(err)}`, err, s.otelTraceId);
    }
  }

  #onEnd(span: ProcessorSpan): void {
    const sc = span.spanContext();
    const s = this.#traces.get(sc.traceId);
    const spanId = sc.spanId;
    const record = s?.spans.get(spanId);
    if (!s || !record?.startAttributes) return;
    const before = record.startAttributes;
    record.startAttributes = undefined;
    let changed: Attributes | undefined;
    const attributes = span.attributes;
    for (const k in attributes) {
      if (!Object.prototype.hasOwnProperty.call(attributes, k)) continue;
      const v = attributes[k];
      if (!sameValue(before[k], v)) (changed ??= {})[k] = v;
    }
    // An ended span does not change any more: its events are read as they are, when the
    // end is applied (no copy per span).
    const end = spanNodeEnd(splitAttributes(changed ?? {}, this.#mapIO), attributes, span.events, {
      code: span.status.code,
      message: span.status.message,
    });
    if (s.trace !== undefined && !s.failed) this.#endNode(s, s.trace, record, end);
    else this.#enqueue(s, (trace) => this.#endNode(s, trace, record, end), false);
    if (s.roots.delete(spanId) && s.roots.size === 0) {
      if (s.trace) this.#finish(s);
      else if (s.failed) this.#forget(s);
    }
    // (Before the trace exists, the creation callback finishes it after the queued operations.)
  }

  #endNode(s: TraceState, trace: Trace, record: SpanRecord, end: SpanNodeEnd): void {
    if (record.node === undefined) return;
    try {
      applySpanEnd(record.node, end);
    } catch (err) {
      this.#warn(`trace ${trace.id}: recording a span failed: ${errorMessage(err)}`, err, s.otelTraceId);
    }
  }

  /**
   * Starts following an OTel trace: creates (or, via tracestate, joins) its livetrace trace.
   * `fresh`: the span has no parent at all, so OpenTelemetry generated its trace id here
   * and now: no store can hold it, and the trace is created at once (no queue).
   */
  #open(span: ProcessorSpan, otelTraceId: string, fresh: boolean): TraceState {
    const entry = span.spanContext().traceState?.get(TRACESTATE_KEY);
    const attachTo = entry === undefined ? undefined : parseTracestate(`${TRACESTATE_KEY}=${entry}`);
    // Computed before the state is registered: a throwing traceOptions leaves nothing behind.
    const opt = this.#options.traceOptions;
    const extra: Omit<CreateOptions, 'id'> = attachTo ? {} : typeof opt === 'function' ? opt(span) : (opt ?? {});
    const state: TraceState = {
      otelTraceId,
      trace: undefined,
      opening: undefined,
      queue: [],
      failed: false,
      owned: attachTo === undefined,
      loadedHere: false,
      attachTo,
      spans: new Map(),
      roots: new Set(),
      warnedQueue: false,
    };
    this.#traces.set(otelTraceId, state);
    const existing = this.tracer.get(attachTo?.trace_id ?? otelTraceId);
    if (existing && (attachTo || !existing.isComplete)) {
      // Already live in this process (for example the user's own trace, joined through
      // tracestate): write into it, never complete or release it.
      state.owned = false;
      state.trace = existing;
      state.queue = undefined;
      return state;
    }
    const options: CreateOptions & { id: string } = {
      agentName: span.name,
      ...extra,
      id: otelTraceId,
      metadata: { ...(extra.metadata ?? {}), [OTEL_TRACE_ID_KEY]: otelTraceId },
    };
    if (fresh && !attachTo) {
      try {
        state.trace = this.tracer[kCreateFresh](options);
        state.queue = undefined;
      } catch (err) {
        state.failed = true;
        state.queue = undefined;
        this.#warn(
          `could not create livetrace trace ${otelTraceId}: ${errorMessage(err)}; its spans are dropped`,
          err,
          otelTraceId,
        );
      }
      return state;
    }
    let opening: Promise<Trace>;
    if (attachTo) {
      state.loadedHere = true;
      opening = this.tracer.load(attachTo.trace_id);
    } else {
      opening = this.tracer.create(options);
    }
    state.opening = opening.then(
      (trace) => {
        state.trace = trace;
        const queue = state.queue ?? [];
        state.queue = undefined;
        state.opening = undefined;
        for (const op of queue) this.#run(state, op, trace);
        // Every root may have ended while the trace was being created.
        if (state.roots.size === 0 && this.#traces.get(otelTraceId) === state) this.#finish(state);
      },
      (err: unknown) => {
        state.failed = true;
        state.opening = undefined;
        this.stats.droppedSpans += state.queue?.length ?? 0;
        state.queue = undefined;
        this.#warn(
          `could not ${attachTo ? 'load' : 'create'} livetrace trace ${attachTo?.trace_id ?? otelTraceId}: ${errorMessage(err)}; its spans are dropped`,
          err,
          otelTraceId,
        );
        if (state.roots.size === 0 && this.#traces.get(otelTraceId) === state) this.#forget(state);
      },
    );
    this.#track(state.opening);
    return state;
  }

  /**
   * Runs `op` now or after the trace exists; false when it was dropped. Only starts are
   * bounded: an end belongs to an accepted start, so ends are at most as many.
   */
  #enqueue(s: TraceState, op: Op, bounded = true): boolean {
    if (s.failed) {
      this.#drop();
      return false;
    }
    if (s.trace) {
      this.#run(s, op, s.trace);
      return true;
    }
    const queue = (s.queue ??= []);
    if (bounded && s.spans.size >= this.#maxQueued) {
      this.#drop();
      if (!s.warnedQueue) {
        s.warnedQueue = true;
        this.#warn(
          `trace ${s.otelTraceId}: more than ${this.#maxQueued} spans queued while its livetrace trace was being created (maxQueuedPerTrace): later spans dropped`,
          undefined,
          s.otelTraceId,
        );
      }
      return false;
    }
    queue.push(op);
    return true;
  }

  #run(s: TraceState, op: Op, trace: Trace): void {
    try {
      op(trace);
    } catch (err) {
      this.#warn(`trace ${trace.id}: recording a span failed: ${errorMessage(err)}`, err, s.otelTraceId);
    }
  }

  /** The last local root ended: complete (if ours) and release (if held by us). */
  #finish(s: TraceState): void {
    this.#forget(s);
    const trace = s.trace;
    if (!trace) return;
    if (s.owned) {
      trace.markComplete();
      this.#track(
        trace
          .release()
          .catch((err: unknown) =>
            this.#warn(`trace ${trace.id}: release failed: ${errorMessage(err)}`, err, s.otelTraceId),
          ),
      );
    } else if (s.loadedHere) {
      this.#track(
        trace
          .release()
          .catch((err: unknown) =>
            this.#warn(`trace ${trace.id}: release failed: ${errorMessage(err)}`, err, s.otelTraceId),
          ),
      );
    } else {
      this.#track(
        trace
          .flush()
          .catch((err: unknown) =>
            this.#warn(`trace ${trace.id}: flush failed: ${errorMessage(err)}`, err, s.otelTraceId),
          ),
      );
    }
  }

  #forget(s: TraceState): void {
    this.#traces.delete(s.otelTraceId);
    // Late spans of a trace we completed are dropped. A trace we only joined stays open to
    // new spans: contextFor(node) gives every OTel call under it the same OTel trace id.
    if (!s.owned) return;
    this.#done.add(s.otelTraceId);
    if (this.#done.size > DONE_MEMORY) this.#done.delete(this.#done.values().next().value!);
  }

  async #doShutdown(): Promise<void> {
    try {
      await this.#settle();
      for (const s of [...this.#traces.values()]) {
        const trace = s.trace;
        this.#forget(s);
        if (!trace) continue;
        const open: NodeHandle[] = [];
        for (const r of s.spans.values()) {
          if (r.startAttributes === undefined) continue;
          r.startAttributes = undefined;
          if (r.node) open.push(r.node);
        }
        this.stats.cancelledSpans += open.length;
        if (s.owned) {
          // The root never ended: the run did not finish.
          trace.markCancelled('span processor shut down before the span ended');
          this.#track(trace.release());
        } else {
          for (const node of open) node.setStatus('cancelled');
          this.#track(s.loadedHere ? trace.release() : trace.flush());
        }
      }
      await this.#settle();
    } catch (err) {
      this.#warn(`shutdown failed: ${errorMessage(err)}`, err);
    }
  }

  /** Waits for every creation, flush and release in flight (including ones they start). */
  async #settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.then(
      () => undefined,
      (err: unknown) => this.#warn(errorMessage(err), err),
    );
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
  }

  #drop(): void {
    this.stats.droppedSpans++;
  }

  #warn(message: string, cause?: unknown, traceId?: string): void {
    const w: ProcessorWarning = { code: 'LT_WARN_OTEL', message: `livetrace OTel processor: ${message}` };
    if (traceId !== undefined) w.traceId = traceId;
    if (cause !== undefined) w.cause = cause;
    try {
      if (this.#options.onWarning) this.#options.onWarning(w);
      else process.emitWarning(w.message, { code: w.code });
    } catch {
      /* a warning listener must not reach OTel */
    }
  }
}

function positive(name: string, value: number | undefined, def: number): number {
  return intOption(`LivetraceSpanProcessor option ${name}`, value, def, { error: TypeError });
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return false;
}

function safeName(span: ProcessorSpan): string {
  try {
    return JSON.stringify(span.name);
  } catch {
    return '?';
  }
}
