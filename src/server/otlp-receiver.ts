// The OTLP receiver's core (no HTTP here): spans of any process, received once they ended,
// in any order and over many requests, become the nodes of one livetrace trace per OTLP
// trace id, through the same span -> node mapping as LivetraceSpanProcessor
// (src/otel/span-mapping.ts).
//
// Rules (docs/ingest.md):
// - A span attaches when its parent's node exists (a root span at the top). Until then it
//   waits, bounded per trace and in total; when its parent arrives, the parent's node starts,
//   its waiting children attach under it (recursively), then the parent ends.
// - A trace completes once its root span has arrived and nothing arrived for `quietMs`; a
//   trace whose root never arrives completes `rootlessMs` after its last span. Spans still
//   waiting for a parent then attach under the root (or at the top), keeping their real
//   parent span id in metadata (otel.parent_span_id).
// - A span of a completed trace is refused (rejected_spans), as are spans over the bounds.
// - Nothing runs per trace: one sweep timer for the whole receiver, unref'd.
// - Several servers (a Cluster): spans of a trace another instance holds are forwarded to it;
//   spans waiting for their parent are also kept in Redis, so that the instance that takes
//   a trace over (its holder died) has them; orphaned traces are adopted and completed.
import { LivetraceError, errorMessage, TraceLockedError } from '../core/errors.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import { OTEL_PARENT_SPAN_ID_KEY, OTEL_SPAN_ID_KEY, OTEL_TRACE_ID_KEY } from '../otel/otlp.js';
import { applySpanEnd, endedSpanNode } from '../otel/span-mapping.js';
import { canSee, type Principal } from './auth.js';
import type { ReceivedSpan } from './otlp-decode.js';
import { intOption } from '../core/int-option.js';
import type { Cluster } from './cluster/cluster.js';
import type { HeavyWork } from './heavy-work.js';

/** Where an export request came from: what forwarding it to another instance needs. */
export interface ExportOrigin {
  /** The request's Authorization header (sent along when forwarding). */
  authorization?: string | undefined;
  /** Forwarded by another instance: never forwarded again. */
  forwarded: boolean;
}

export interface OtlpReceiverOptions {
  /** A trace completes this long after its last span once its root span arrived. Default 5000 ms (at most 10 s is advised). */
  quietMs?: number;
  /** A trace whose root span never arrives completes this long after its last span. Default 300000 ms. */
  rootlessMs?: number;
  /** Spans of one trace held waiting for their parent. Default 10000. */
  maxPendingPerTrace?: number;
  /** Spans held waiting for their parent over all traces. Default 100000. */
  maxPending?: number;
  /** Traces assembled at once; spans of further traces are refused. Default 10000. */
  maxTraces?: number;
  /** Map prompt/completion attributes to input/output (as the span processor does). Default true. */
  mapInputOutput?: boolean;
  /** Completed trace ids remembered to refuse late spans without a store read. Default 10000. */
  doneMemory?: number;
}

interface Resolved {
  quietMs: number;
  rootlessMs: number;
  maxPendingPerTrace: number;
  maxPending: number;
  maxTraces: number;
  mapInputOutput: boolean;
  doneMemory: number;
}

export interface ExportResult {
  /** Spans accepted (recorded now or held for their parent). */
  accepted: number;
  rejectedSpans: number;
  /** Why spans were refused ('' when none was). */
  errorMessage: string;
}

export interface OtlpReceiverStats {
  spans: number;
  rejectedSpans: number;
  pending: number;
  traces: number;
  completedTraces: number;
}

/** One OTLP trace being assembled. */
interface Assembly {
  readonly id: string;
  trace: Trace;
  /** Tenant and team of the trace (who may write it). */
  readonly owner: { tenant_id?: string; team_id?: string };
  /** span id -> node */
  readonly nodes: Map<string, NodeHandle>;
  /** missing parent span id -> spans waiting for it */
  readonly waiting: Map<string, ReceivedSpan[]>;
  /** span ids waiting (duplicates are ignored) */
  readonly waitingIds: Set<string>;
  root: NodeHandle | undefined;
  lastArrival: number;
  /** Tail of this trace's work: exports and completion run one after another. */
  chain: Promise<unknown>;
  completing: boolean;
  /** Span ids that stopped waiting (attached) since the shared copy was last updated. */
  unwaited: string[];
}

function resolve(o: OtlpReceiverOptions): Resolved {
  const int = (name: string, v: unknown, d: number, min = 1): number => intOption(`option otlp.${name}`, v, d, { min });
  return {
    quietMs: int('quietMs', o.quietMs, 5000, 0),
    rootlessMs: int('rootlessMs', o.rootlessMs, 300_000, 0),
    maxPendingPerTrace: int('maxPendingPerTrace', o.maxPendingPerTrace, 10_000),
    maxPending: int('maxPending', o.maxPending, 100_000),
    maxTraces: int('maxTraces', o.maxTraces, 10_000),
    mapInputOutput: o.mapInputOutput ?? true,
    doneMemory: int('doneMemory', o.doneMemory, 10_000),
  };
}

export class OtlpReceiver {
  readonly tracer: Tracer;
  readonly options: Resolved;
  readonly stats: OtlpReceiverStats = { spans: 0, rejectedSpans: 0, pending: 0, traces: 0, completedTraces: 0 };
  readonly #traces = new Map<string, Assembly>();
  /** Traces being opened (load/create in flight), so concurrent exports share one. */
  readonly #opening = new Map<string, Promise<Assembly | string>>();
  readonly #done = new Set<string>();
  readonly #inflight = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Spans that waited in an assembly dropped under us (its trace released elsewhere), for the next open. */
  readonly #carried = new Map<string, ReceivedSpan[]>();
  /** Bounds loading stored traces (the read side's heavy work: beyond it, 503 LT_ERR_BUSY). Set by the server. */
  heavy: HeavyWork | undefined;
  /** Several servers: forwarding, shared waiting spans, adoption. Set by the server. */
  cluster: Cluster | undefined;

  constructor(tracer: Tracer, options: OtlpReceiverOptions = {}) {
    this.tracer = tracer;
    this.options = resolve(options);
  }

  /** Records the spans of one export request for `principal` (undefined: open API). */
  async export(
    spans: readonly ReceivedSpan[],
    principal: Principal | undefined,
    origin: ExportOrigin = { forwarded: false },
  ): Promise<ExportResult> {
    const result: ExportResult = { accepted: 0, rejectedSpans: 0, errorMessage: '' };
    const reject = (n: number, message: string): void => {
      if (n <= 0) return;
      result.rejectedSpans += n;
      this.stats.rejectedSpans += n;
      if (result.errorMessage === '') result.errorMessage = message;
    };
    const byTrace = new Map<string, ReceivedSpan[]>();
    for (const s of spans) {
      const list = byTrace.get(s.traceId);
      if (list) list.push(s);
      else byTrace.set(s.traceId, [s]);
    }
    await Promise.all(
      [...byTrace].map(async ([id, list]) => {
        try {
          const cluster = this.cluster;
          const r = cluster
            ? await cluster.route(
                id,
                () => this.#exportTrace(id, list, principal),
                origin.forwarded ? undefined : (url) => cluster.forwardSpans(url, origin.authorization, list),
              )
            : await this.#exportTrace(id, list, principal);
          result.accepted += r.accepted;
          reject(r.rejected, r.message);
        } catch (err) {
          if (err instanceof LivetraceError && err.status >= 400 && err.status < 500) {
            reject(list.length, `trace ${id}: ${err.message}`);
            return;
          }
          throw err;
        }
      }),
    );
    return result;
  }

  /**
   * Records spans another instance forwarded (all of trace `traceId`). Throws
   * TraceLockedError if this instance does not hold the trace (the sender tries again).
   */
  async exportForwarded(
    traceId: string,
    spans: readonly ReceivedSpan[],
    principal: Principal | undefined,
  ): Promise<{ accepted: number; rejected: number; message: string }> {
    const list = spans.filter((s) => s.traceId === traceId);
    const r = await this.#exportTrace(traceId, list, principal);
    this.stats.rejectedSpans += r.rejected;
    return { ...r, rejected: r.rejected + spans.length - list.length };
  }

  /** True while this receiver assembles trace `id` (the write API then keeps it loaded). */
  isAssembling(id: string): boolean {
    return this.#traces.has(id) || this.#opening.has(id);
  }

  /**
   * Several servers: takes over OTLP traces whose holder died (running in the store, no
   * live lease, nothing written for a quiet period): loads them (with the spans that waited
   * for parents there) and lets the sweep complete them. A trace another live process holds
   * is skipped (its load is refused by the lease).
   */
  async adoptOrphans(now = Date.now()): Promise<void> {
    if (this.#closed) return;
    const quiet = Math.max(this.options.quietMs, 1000);
    const { traces } = await this.tracer.list({ status: 'running', limit: 200 });
    for (const info of traces) {
      if (this.#closed) return;
      if (typeof info.metadata?.[OTEL_TRACE_ID_KEY] !== 'string') continue;
      if (this.#traces.has(info.id) || this.#opening.has(info.id) || this.tracer.get(info.id)) continue;
      if (now - info.updated_at < quiet) continue;
      try {
        const a = await this.#assembly(info.id, [], undefined);
        // Quiet since its last write: completes at the next sweep (root arrived) or rootlessMs after it.
        if (typeof a !== 'string') a.lastArrival = Math.min(a.lastArrival, info.updated_at);
      } catch (err) {
        if (!(err instanceof TraceLockedError)) throw err;
      }
    }
  }

  /** Completes every trace whose quiet period is over (the sweep does this on its own). */
  async sweep(now = Date.now()): Promise<void> {
    const due: Assembly[] = [];
    for (const a of this.#traces.values()) {
      if (a.completing) continue;
      const quiet = a.root ? this.options.quietMs : this.options.rootlessMs;
      if (now - a.lastArrival >= quiet) due.push(a);
    }
    await Promise.all(due.map((a) => this.#complete(a)));
  }

  /** Completes (attaching what waits) every trace being assembled, then stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#opening.values()]);
    await Promise.allSettled([...this.#traces.values()].map((a) => this.#complete(a)));
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  // ---- internals ------------------------------------------------------------------

  async #exportTrace(
    id: string,
    spans: ReceivedSpan[],
    principal: Principal | undefined,
  ): Promise<{ accepted: number; rejected: number; message: string }> {
    if (this.#done.has(id)) return late(id, spans.length);
    const opened = await this.#assembly(id, spans, principal);
    if (typeof opened === 'string') return { accepted: 0, rejected: spans.length, message: opened };
    const a = opened;
    if (principal && !canSee(principal, a.owner)) {
      return { accepted: 0, rejected: spans.length, message: `trace ${id} cannot be written with this token` };
    }
    return this.#run(a, async () => {
      if (this.#traces.get(id) === a && a.trace.isReleased) {
        // Released by another user of the trace (the write API): sealed, or to be loaded again.
        this.#drop(a);
        if (a.trace.isComplete) this.#remember(id);
        else this.#carried.set(id, [...a.waiting.values()].flat());
      }
      if (this.#traces.get(id) !== a) {
        // Completed (or released) while this request waited: the spans are late here.
        return this.#done.has(id) ? late(id, spans.length) : this.#exportTrace(id, spans, principal);
      }
      if (a.trace.isComplete) return late(id, spans.length);
      const nowWaiting: ReceivedSpan[] = [];
      let accepted = 0;
      let rejected = 0;
      let message = '';
      for (const s of spans) {
        if (a.nodes.has(s.spanId) || a.waitingIds.has(s.spanId)) {
          accepted++; // a retried export: already recorded
          continue;
        }
        const parent = s.parentSpanId === undefined ? undefined : a.nodes.get(s.parentSpanId);
        if (s.parentSpanId === undefined || parent) {
          this.#attach(a, s, parent);
          accepted++;
          continue;
        }
        if (a.waitingIds.size >= this.options.maxPendingPerTrace || this.stats.pending >= this.options.maxPending) {
          rejected++;
          message ||= `trace ${id}: span ${s.spanId} refused: ${a.waitingIds.size >= this.options.maxPendingPerTrace ? `${this.options.maxPendingPerTrace} spans of this trace` : `${this.options.maxPending} spans in all`} already wait for their parent span`;
          continue;
        }
        const list = a.waiting.get(s.parentSpanId);
        if (list) list.push(s);
        else a.waiting.set(s.parentSpanId, [s]);
        a.waitingIds.add(s.spanId);
        nowWaiting.push(s);
        this.stats.pending++;
        accepted++;
      }
      a.lastArrival = Date.now();
      this.stats.spans += accepted;
      // Answered once stored: a 200 means the spans are in the store (or, waiting for
      // their parent, in the shared state when several servers run).
      await a.trace.flush();
      await this.#share(a, nowWaiting);
      return { accepted, rejected, message };
    });
  }

  /** The assembly of trace `id` (opened, loaded or created), or why its spans are refused. */
  async #assembly(id: string, spans: ReceivedSpan[], principal: Principal | undefined): Promise<Assembly | string> {
    const existing = this.#traces.get(id);
    if (existing) return existing;
    const opening = this.#opening.get(id);
    if (opening) return opening;
    if (this.#closed) throw new LivetraceError('LT_ERR_TRACER_CLOSED', 'the server is shutting down');
    if (this.#traces.size + this.#opening.size >= this.options.maxTraces)
      return `more than ${this.options.maxTraces} traces are being assembled at once (otlp maxTraces): spans of new traces are refused`;
    const p = this.#open(id, spans, principal).finally(() => this.#opening.delete(id));
    this.#opening.set(id, p);
    return p;
  }

  async #open(id: string, spans: ReceivedSpan[], principal: Principal | undefined): Promise<Assembly | string> {
    const info = await this.tracer.info(id);
    let trace: Trace;
    let carried = this.#carried.get(id) ?? [];
    this.#carried.delete(id);
    if (info) {
      if (principal && !canSee(principal, info)) return `trace ${id} cannot be written with this token`;
      if (info.status === 'completed' || info.status === 'failed' || info.status === 'cancelled') {
        this.#remember(id);
        return late(id, spans.length).message;
      }
      const live = this.tracer.get(id);
      // A lease held by another instance: TraceLockedError (the cluster forwards the spans there).
      const load = (): Promise<Trace> => this.tracer.load(id);
      trace = live && !live.isReleased ? live : await (this.heavy ? this.heavy.run('trace loads', load) : load());
      if (this.cluster && trace !== live) {
        // Taken over (its holder died, or released it): what waited for parents there waits here.
        try {
          carried = [...carried, ...(await this.cluster.state.waiting(id))];
        } catch (err) {
          this.cluster.onError?.(err);
        }
      }
    } else {
      const root = spans.find((s) => s.parentSpanId === undefined);
      const options: CreateOptions = {
        id,
        agentName: root?.name || spans[0]?.service || spans[0]?.name || 'otlp',
        metadata: {
          [OTEL_TRACE_ID_KEY]: id,
          ...(spans[0]?.service !== undefined ? { 'service.name': spans[0].service } : {}),
        },
      };
      if (principal) {
        options.tenantId = principal.tenantId;
        if (principal.teamId !== undefined) options.teamId = principal.teamId;
      }
      // Created a moment ago by another instance: TraceLockedError (forwarded there with a cluster).
      trace = await this.tracer.create(options);
    }
    const stored = trace.getInfo();
    const owner: Assembly['owner'] = {};
    if (stored.tenant_id !== undefined) owner.tenant_id = stored.tenant_id;
    if (stored.team_id !== undefined) owner.team_id = stored.team_id;
    const a: Assembly = {
      id,
      trace,
      owner,
      nodes: new Map(),
      waiting: new Map(),
      waitingIds: new Set(),
      root: undefined,
      lastArrival: Date.now(),
      chain: Promise.resolve(),
      completing: false,
      unwaited: [],
    };
    // A trace loaded from the store (another instance wrote it before): its span ids are in the nodes' metadata.
    for (const n of trace.nodes()) {
      const spanId = n.metadata?.[OTEL_SPAN_ID_KEY];
      if (typeof spanId !== 'string') continue;
      const h = trace.node(n.id);
      if (!h) continue;
      a.nodes.set(spanId, h);
      if (n.parent_ids.length === 0 && n.metadata?.[OTEL_PARENT_SPAN_ID_KEY] === undefined) a.root ??= h;
    }
    this.#traces.set(id, a);
    this.stats.traces = this.#traces.size;
    this.#arm();
    if (carried.length > 0) {
      // What waited for parents elsewhere waits here now (or attaches at once).
      await this.#run(a, async () => {
        for (const s of carried) {
          if (a.nodes.has(s.spanId) || a.waitingIds.has(s.spanId)) continue;
          const parent = s.parentSpanId === undefined ? undefined : a.nodes.get(s.parentSpanId);
          if (parent || s.parentSpanId === undefined) this.#attach(a, s, parent);
          else {
            const list = a.waiting.get(s.parentSpanId);
            if (list) list.push(s);
            else a.waiting.set(s.parentSpanId, [s]);
            a.waitingIds.add(s.spanId);
            this.stats.pending++;
          }
        }
        await a.trace.flush();
        await this.#share(a, []);
      });
    }
    return a;
  }

  /**
   * Creates the node of `span` under `parent` (the top when undefined), then the nodes of
   * the spans waiting for it, depth first, then ends it. An explicit stack: a long chain of
   * waiting spans cannot overflow the call stack.
   */
  #attach(a: Assembly, span: ReceivedSpan, parent: NodeHandle | undefined): void {
    type Frame = { span: ReceivedSpan; parent: NodeHandle | undefined; node?: NodeHandle; end?: () => void };
    const stack: Frame[] = [{ span, parent }];
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (f.node === undefined) {
        const s = f.span;
        const foreign =
          s.parentSpanId !== undefined && (f.parent === undefined || a.nodes.get(s.parentSpanId) !== f.parent);
        const mapped = endedSpanNode(
          {
            name: s.name,
            kind: s.kind,
            spanId: s.spanId,
            attributes: s.attributes,
            scope: s.scope,
            foreignParentSpanId: foreign ? s.parentSpanId : undefined,
          },
          s.events,
          s.status,
          this.options.mapInputOutput,
        );
        const { input, options } = mapped.start;
        const node = f.parent ? f.parent.add(input, options) : a.trace.add(input, options);
        f.node = node;
        f.end = () => applySpanEnd(node, mapped.end);
        if (node.isNoop) {
          stack.pop();
          continue;
        }
        a.nodes.set(s.spanId, node);
        if (s.parentSpanId === undefined && f.parent === undefined) a.root ??= node;
        const children = a.waiting.get(s.spanId);
        if (children) {
          a.waiting.delete(s.spanId);
          for (let i = children.length - 1; i >= 0; i--) {
            a.waitingIds.delete(children[i]!.spanId);
            a.unwaited.push(children[i]!.spanId);
            this.stats.pending--;
            stack.push({ span: children[i]!, parent: node });
          }
        }
      } else {
        stack.pop();
        f.end!();
      }
    }
  }

  /** Attaches what still waits (under the root, else at the top), completes, flushes and releases. */
  #complete(a: Assembly): Promise<void> {
    if (a.completing) return Promise.resolve();
    a.completing = true;
    const p = this.#run(a, async () => {
      if (this.#traces.get(a.id) !== a) return;
      try {
        while (a.waiting.size > 0) {
          // Orphans first: spans whose parent is not itself waiting (its subtree follows it).
          let next: ReceivedSpan | undefined;
          for (const list of a.waiting.values()) {
            for (const s of list) {
              if (s.parentSpanId === undefined || !a.waitingIds.has(s.parentSpanId)) {
                next = s;
                break;
              }
            }
            if (next) break;
          }
          // Only cycles left (a span whose parent chain loops): take any.
          next ??= a.waiting.values().next().value![0]!;
          const list = a.waiting.get(next.parentSpanId!)!;
          list.splice(list.indexOf(next), 1);
          if (list.length === 0) a.waiting.delete(next.parentSpanId!);
          a.waitingIds.delete(next.spanId);
          this.stats.pending--;
          this.#attach(a, next, a.root);
        }
        if (!a.trace.isComplete) a.trace.markComplete();
      } finally {
        this.#traces.delete(a.id);
        this.stats.traces = this.#traces.size;
        this.#remember(a.id);
        this.stats.completedTraces++;
        await a.trace.release();
        await this.cluster?.state.clearWaiting(a.id).catch((err: unknown) => this.cluster?.onError?.(err));
      }
    });
    this.#track(p);
    return p.catch((err: unknown) => {
      // The store failed: the trace stays resumable (its lease expires); nothing to report to a client here.
      process.emitWarning(`livetrace OTLP receiver: completing trace ${a.id} failed: ${errorMessage(err)}`, {
        code: 'LT_WARN_OTLP',
      });
    });
  }

  /** Drops an assembly whose trace was released under it (its waiting spans are the caller's). */
  #drop(a: Assembly): void {
    this.#traces.delete(a.id);
    this.stats.traces = this.#traces.size;
    this.stats.pending -= a.waitingIds.size;
  }

  /** Several servers: the shared copy of the spans waiting for a parent follows this assembly's. */
  async #share(a: Assembly, nowWaiting: ReceivedSpan[]): Promise<void> {
    const cluster = this.cluster;
    if (!cluster) {
      a.unwaited.length = 0;
      return;
    }
    const gone = a.unwaited.splice(0);
    try {
      // Long enough for the rootless completion of the trace, and then some.
      await cluster.state.addWaiting(a.id, nowWaiting, this.options.rootlessMs + 3_600_000);
      await cluster.state.removeWaiting(a.id, gone);
    } catch (err) {
      cluster.onError?.(err);
    }
  }

  /** Runs `fn` after the trace's earlier work (exports and completion never interleave). */
  #run<T>(a: Assembly, fn: () => Promise<T>): Promise<T> {
    const p = a.chain.then(fn, fn);
    a.chain = p.catch(() => undefined);
    return p;
  }

  #remember(id: string): void {
    this.#done.add(id);
    if (this.#done.size > this.options.doneMemory) this.#done.delete(this.#done.values().next().value!);
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.#inflight.delete(q));
    this.#inflight.add(q);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const every = Math.max(20, Math.min(1000, Math.floor(Math.min(this.options.quietMs, this.options.rootlessMs) / 4)));
    this.#timer = setInterval(() => {
      if (this.#traces.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      void this.sweep();
    }, every);
    this.#timer.unref?.();
  }
}

function late(id: string, n: number): { accepted: number; rejected: number; message: string } {
  return {
    accepted: 0,
    rejected: n,
    message: `trace ${id} already completed: ${n} late span${n === 1 ? '' : 's'} refused`,
  };
}
