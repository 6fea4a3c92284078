// Follows one trace: history after a cursor, then live, ending after `complete`.
//
// A trace written in this process (or carried by a remote hub) is followed with
// tracer.subscribe(): pushed, bounded, catching up from the store. A trace written by
// another process with no shared hub (e.g. `livetrace demo` next to `livetrace serve` on the
// same directory) has no live feed here, so it is polled from the store by seq. The
// follower switches between the two as the trace gets loaded or released.
import type { TraceEvent } from '../core/types.js';
import type { Subscription } from '../hub/subscription.js';
import type { Tracer } from '../tracer/tracer.js';

export interface FollowOptions {
  /** Exclusive seq to resume after. Default 0. */
  since?: number;
  signal?: AbortSignal;
  /** Poll interval for traces that have no live feed here, in ms. Default 250. */
  pollMs?: number;
  /** Events read per store page while polling. Default 1024. */
  pageSize?: number;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

export class TraceFollower implements AsyncIterableIterator<TraceEvent> {
  readonly traceId: string;
  readonly #tracer: Tracer;
  readonly #pollMs: number;
  readonly #pageSize: number;
  readonly #signal: AbortSignal | undefined;
  /** Internal abort for the current subscription (ours and the caller's signal). */
  #subAbort: AbortController | undefined;
  #sub: Subscription | undefined;
  #page: TraceEvent[] = [];
  #pageHead = 0;
  /** Seq of the last event handed out. */
  #cursor: number;
  #done = false;
  /** Read the store once before (re)subscribing: set when a subscription ended early. */
  #pollFirst = false;
  #reachedEnd = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  readonly #onAbort = (): void => this.#finish();

  constructor(tracer: Tracer, traceId: string, options: FollowOptions = {}) {
    this.#tracer = tracer;
    this.traceId = traceId;
    this.#cursor = Math.max(0, Math.floor(options.since ?? 0));
    this.#pollMs = options.pollMs ?? 250;
    this.#pageSize = options.pageSize ?? 1024;
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.#done = true;
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once the trace's end was reached: `complete` handed out, or resumed after it. */
  get reachedEnd(): boolean {
    return this.#reachedEnd;
  }

  /** Seq of the last event handed out. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Events that next() can hand out without waiting (bounded: one page or the subscription buffer). */
  get buffered(): number {
    return this.#page.length - this.#pageHead + (this.#sub?.buffered ?? 0);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<TraceEvent>> {
    for (;;) {
      if (this.#done) return DONE;
      if (this.#pageHead < this.#page.length) return this.#deliver(this.#page[this.#pageHead++]!);
      if (this.#sub) {
        let r: IteratorResult<TraceEvent>;
        try {
          r = await this.#sub.next();
        } catch (err) {
          this.#finish();
          throw err;
        }
        if (!r.done) {
          if (r.value.seq <= this.#cursor) continue;
          return this.#deliver(r.value);
        }
        this.#dropSub();
        // The subscription ended: the trace completed (we are at its end), or it was
        // released here (it is store-only from now on: poll once before subscribing again,
        // so that a trace in the middle of its release cannot make this loop spin).
        const loaded = this.#tracer.get(this.traceId);
        if (loaded && loaded.isComplete && this.#cursor >= loaded.lastSeq) {
          this.#reachedEnd = true;
          this.#finish();
          return DONE;
        }
        this.#pollFirst = true;
        continue;
      }
      if (this.#tracer.isClosed) {
        this.#finish();
        return DONE;
      }
      if (!this.#pollFirst && (this.#tracer.isLoaded(this.traceId) || this.#tracer.hub.remote)) {
        this.#subAbort = new AbortController();
        this.#sub = this.#tracer.subscribe(this.traceId, { since: this.#cursor, signal: this.#subAbort.signal });
        continue;
      }
      let page: TraceEvent[];
      try {
        page = await this.#tracer.events(this.traceId, { since: this.#cursor, limit: this.#pageSize });
      } catch (err) {
        this.#finish();
        throw err;
      }
      if (this.#done) return DONE;
      const fresh = page.filter((e) => e.seq > this.#cursor);
      this.#pollFirst = false;
      if (fresh.length > 0) {
        this.#page = fresh;
        this.#pageHead = 0;
        continue;
      }
      // Nothing after the cursor: if the trace has ended, the caller already had `complete`
      // (resumed after the end) and there is nothing to wait for.
      let ended = false;
      try {
        const info = await this.#tracer.info(this.traceId);
        ended = info !== undefined && info.status !== 'pending' && info.status !== 'running';
        if (ended && (await this.#tracer.events(this.traceId, { since: this.#cursor, limit: 1 })).length > 0) continue;
      } catch (err) {
        this.#finish();
        throw err;
      }
      if (ended) {
        this.#reachedEnd = true;
        this.#finish();
        return DONE;
      }
      await this.#sleep();
    }
  }

  async return(): Promise<IteratorResult<TraceEvent>> {
    this.#finish();
    return DONE;
  }

  #deliver(ev: TraceEvent): IteratorResult<TraceEvent> {
    this.#cursor = ev.seq;
    if (ev.type === 'complete') {
      this.#reachedEnd = true;
      this.#finish();
    }
    return { value: ev, done: false };
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      }, this.#pollMs);
      // Deliberately not unref'd: it only exists while a consumer awaits next(), and that
      // pending read must keep the process alive (like a pending socket read would).
      // return()/abort clears it.
    });
  }

  #dropSub(): void {
    this.#subAbort?.abort();
    this.#subAbort = undefined;
    this.#sub = undefined;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#page = [];
    this.#pageHead = 0;
    this.#dropSub();
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}
