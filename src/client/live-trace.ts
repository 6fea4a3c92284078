// openTrace: one trace, live. History over JSON from the last applied seq, then the SSE
// stream from there, folded with the shared reducer. Every drop, gap or server restart
// takes the same path again from `state.last_seq`, so events are applied exactly once and
// in order whatever the transport did.
import { applyEvent, initialState, type TraceState } from '../core/reducer.js';
import type { TraceEvent } from '../core/types.js';
import { apiUrl, ClientError, getJson, type Endpoint, type EventsPage } from './http.js';
import { openEventSource, openFetchStream, type EventSourceCtor, type StreamCloser } from './sse.js';
import { backoffDelay } from '../core/backoff.js';
import { SSE_DONE } from '../core/sse.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

/** Called after each applied event, and with `event` undefined when only `status` changed. */
export type LiveListener = (state: TraceState, event: TraceEvent | undefined) => void;

export interface OpenTraceOptions extends Endpoint {
  traceId: string;
  /**
   * The EventSource to stream with. Default: the global one when present (browsers), else the
   * stream is read over fetch (Node 20). `false` forces fetch, which sends the token as a header
   * instead of a query parameter.
   */
  EventSource?: EventSourceCtor | false | undefined;
  /** First reconnect delay in ms, doubled per failed attempt. Default 500. */
  retryMs?: number | undefined;
  /** Longest reconnect delay in ms. Default 10000. */
  maxRetryMs?: number | undefined;
  /** Events per history request. Default 10000. */
  pageSize?: number | undefined;
}

export interface LiveStats {
  /** Times the client resumed after a drop. */
  reconnects: number;
  /** Events received again after a resume, skipped. */
  duplicates: number;
  /** Times an event arrived after a missing seq (the client then resumed from history). */
  gaps: number;
}

export interface LiveTrace {
  readonly traceId: string;
  /** The shared reducer's state (info, nodes, logs, spaces), updated in place. */
  readonly state: TraceState;
  readonly status: LiveStatus;
  /** Why `status` is `error`. */
  readonly error: ClientError | undefined;
  readonly stats: Readonly<LiveStats>;
  /** Settles when the trace ended (resolves), failed for good (rejects) or was closed (resolves). */
  readonly done: Promise<TraceState>;
  subscribe(listener: LiveListener): () => void;
  /** Stops following; idempotent. */
  close(): void;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Starts following a trace and returns at once; watch `status` or `subscribe`. */
export function openTrace(options: OpenTraceOptions): LiveTrace {
  return new LiveTraceImpl(options);
}

class LiveTraceImpl implements LiveTrace {
  readonly traceId: string;
  readonly state: TraceState;
  status: LiveStatus = 'connecting';
  error: ClientError | undefined;
  readonly stats: LiveStats = { reconnects: 0, duplicates: 0, gaps: 0 };
  readonly done: Promise<TraceState>;

  readonly #opts: OpenTraceOptions;
  readonly #listeners = new Set<LiveListener>();
  readonly #abort = new AbortController();
  #settle!: (err?: ClientError) => void;
  #stream: StreamCloser | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Dropped connections in a row since the last event (the backoff's exponent). */
  #drops = 0;
  #closed = false;
  /** Bumped per attempt so that late callbacks of an abandoned attempt do nothing. */
  #attempt = 0;

  constructor(opts: OpenTraceOptions) {
    if (!opts || typeof opts.server !== 'string' || typeof opts.traceId !== 'string' || opts.traceId === '') {
      throw new TypeError('openTrace: `server` and `traceId` are required strings');
    }
    this.#opts = opts;
    this.traceId = opts.traceId;
    this.state = initialState(opts.traceId);
    this.done = new Promise<TraceState>((resolve, reject) => {
      this.#settle = (err) => (err ? reject(err) : resolve(this.state));
    });
    // Nobody has to await `done`: an unobserved failure must not become an unhandled rejection.
    this.done.catch(() => {});
    this.#connect();
  }

  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#finish();
    this.#settle();
  }

  #finish(): void {
    this.#closed = true;
    this.#attempt++;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#stream?.();
    this.#stream = undefined;
  }

  #setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.#emit(undefined);
  }

  #emit(event: TraceEvent | undefined): void {
    for (const l of [...this.#listeners]) {
      try {
        l(this.state, event);
      } catch (err) {
        // A listener's bug must not stop the stream or reach the page as an unhandled error.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Applies one event in order. `false`: a seq is missing, so resume from history. */
  #apply(ev: TraceEvent): boolean {
    if (typeof ev?.seq !== 'number') return true;
    if (ev.seq <= this.state.last_seq) {
      this.stats.duplicates++;
      return true;
    }
    if (ev.seq !== this.state.last_seq + 1) {
      this.stats.gaps++;
      return false;
    }
    applyEvent(this.state, ev);
    this.#emit(ev);
    return true;
  }

  #ended(): boolean {
    return TERMINAL.has(this.state.info.status);
  }

  #end(): void {
    if (this.#closed) return;
    this.#finish();
    this.#setStatus('ended');
    this.#settle();
  }

  #fail(err: ClientError): void {
    if (this.#closed) return;
    this.#finish();
    this.error = err;
    this.#setStatus('error');
    this.#settle(err);
  }

  #connect(): void {
    const attempt = ++this.#attempt;
    this.#history(attempt).then(
      () => {
        if (attempt !== this.#attempt) return;
        if (this.#ended()) return this.#end();
        this.#follow(attempt);
      },
      (err: unknown) => this.#dropped(attempt, err),
    );
  }

  async #history(attempt: number): Promise<void> {
    const limit = this.#opts.pageSize ?? 10_000;
    for (;;) {
      const since = this.state.last_seq;
      const url = apiUrl(this.#opts, `/traces/${encodeURIComponent(this.traceId)}/events`, { since, limit });
      const page = await getJson<EventsPage>(this.#opts, url, this.#abort.signal);
      if (attempt !== this.#attempt) return;
      for (const ev of page.events) if (!this.#apply(ev)) break;
      const next = page.next_since;
      if (typeof next !== 'number' || page.events.length === 0 || this.state.last_seq <= since) return;
    }
  }

  #follow(attempt: number): void {
    const url = apiUrl(this.#opts, `/traces/${encodeURIComponent(this.traceId)}/events`, {
      stream: 'true',
      since: this.state.last_seq,
    });
    const Ctor =
      this.#opts.EventSource === undefined
        ? (globalThis as { EventSource?: EventSourceCtor }).EventSource
        : this.#opts.EventSource || undefined;
    const handlers = {
      onOpen: () => {
        if (attempt === this.#attempt) this.#setStatus('live');
      },
      onMessage: (data: string) => {
        if (attempt !== this.#attempt) return;
        if (data === SSE_DONE) return this.#end();
        let ev: TraceEvent;
        try {
          ev = JSON.parse(data) as TraceEvent;
        } catch {
          return;
        }
        if (!this.#apply(ev)) return this.#dropped(attempt, undefined, 0);
        this.#drops = 0;
        if (this.#ended()) this.#end();
      },
      onEnd: (err?: unknown) => this.#dropped(attempt, err),
    };
    this.#stream = Ctor ? openEventSource(Ctor, this.#opts, url, handlers) : openFetchStream(this.#opts, url, handlers);
  }

  /** The attempt failed or the stream dropped: give up on a fatal answer, else resume later. */
  #dropped(attempt: number, err: unknown, delay?: number): void {
    if (attempt !== this.#attempt || this.#closed) return;
    if (err instanceof ClientError && err.fatal) return this.#fail(err);
    if (this.#ended()) return this.#end();
    this.#stream?.();
    this.#stream = undefined;
    this.#attempt++;
    this.#setStatus(this.status === 'connecting' ? 'connecting' : 'reconnecting');
    const wait =
      delay ??
      backoffDelay(++this.#drops, { initialMs: this.#opts.retryMs ?? 500, maxMs: this.#opts.maxRetryMs ?? 10_000 });
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      this.stats.reconnects++;
      this.#connect();
    }, wait);
  }
}
