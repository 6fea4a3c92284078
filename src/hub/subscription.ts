// One subscriber's view of a trace: history from a cursor, then live, in seq order, with
// no gap and no duplicate. Live events are buffered up to `bufferSize`; past that (or on
// any gap) the subscription falls "behind" and reads pages from the source (the trace's
// log in this process, or the store) until it has caught up. Memory per subscriber is
// therefore bounded whatever the consumer's speed.
import type { TraceEvent } from '../core/types.js';
import type { EventHub } from './hub.js';

/**
 * The log of a trace loaded in this process, read in place: a subscriber of a local trace
 * is a cursor into it, not a copy (no per-subscriber queue, no per-event hand-off: publishing
 * to N local subscribers costs one wake-up of those that wait).
 */
export interface LocalFeed {
  /** Every event of the trace, `events[i].seq === i + 1`, append-only. */
  readonly events: readonly TraceEvent[];
  /** Calls `wake` once, after the next event is appended (or when the trace is released). */
  park(wake: () => void): void;
}

/** Reads events with seq > since, at most `limit`. */
export type EventSource = (
  traceId: string,
  since: number,
  limit: number,
) => readonly TraceEvent[] | Promise<readonly TraceEvent[]>;

export interface SubscribeOptions {
  /** Exclusive seq to resume after. */
  since?: number;
  /** Start at the first event with timestamp >= sinceTime (epoch ms). */
  sinceTime?: number;
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
  /**
   * Poll interval (ms) for a trace written by another process that no shared hub connects
   * us to. Default 250 (5000 when the hub is remote: polling is then only a safety net).
   */
  pollMs?: number;
}

export interface SubscriptionConfig {
  bufferSize: number;
  /** Poll interval while behind a source that lags the live stream (remote hubs). */
  retryMs?: number;
  /**
   * Poll the source every pollMs even when caught up: for a trace written by another
   * process that no hub connects us to (e.g. two processes sharing a file store).
   */
  pollMs?: number;
  /** Runs before the first read; may reject (e.g. trace not found). */
  prepare?: () => Promise<void>;
  /** The trace's log when it is loaded here: read in place until close(). */
  local?: LocalFeed;
  onClose?: (sub: Subscription) => void;
  /**
   * The seq of the trace's `complete` event if it has completed, else undefined. Asked
   * when the subscriber has caught up, so that resuming after the end ends at once.
   */
  endSeq?: () => number | undefined | Promise<number | undefined>;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

export class Subscription implements AsyncIterableIterator<TraceEvent> {
  readonly traceId: string;
  readonly #source: EventSource;
  readonly #config: SubscriptionConfig;
  /** Events queued for the consumer; `#head` is the next one to hand out. */
  #queue: (TraceEvent | undefined)[] = [];
  #head = 0;
  /** Seq of the last event queued or skipped; the consumer has everything up to it. */
  #cursor: number;
  /** True until the source has confirmed we hold everything seen live. */
  #behind = true;
  #liveMax = 0;
  #minTime: number | undefined;
  /** Set when the trace was released here: deliver up to this seq, then end. */
  #finalSeq: number | undefined;
  #done = false;
  #reachedEnd = false;
  #prepared: boolean;
  #waiter: ((v: void) => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  /** Set while the trace is loaded here (until close()): events are read from its log in place. */
  #local: LocalFeed | undefined;
  readonly #onAbort = (): void => this.#finish();
  readonly #wakeUp = (): void => this.#wake();

  constructor(
    traceId: string,
    hub: EventHub | undefined,
    source: EventSource,
    options: SubscribeOptions,
    config: SubscriptionConfig,
  ) {
    this.traceId = traceId;
    this.#source = source;
    this.#config = config;
    this.#cursor = Math.max(0, Math.floor(options.since ?? 0));
    this.#minTime = options.sinceTime;
    this.#prepared = config.prepare === undefined;
    this.#local = config.local;
    if (this.#local) this.#behind = false;
    else if (hub) this.#unsubscribe = hub.subscribe(traceId, (events) => this.#onLive(events));
    if (options.signal) {
      this.#signal = options.signal;
      if (options.signal.aborted) this.#finish();
      else options.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get done(): boolean {
    return this.#done;
  }

  /** True once the trace's end was reached: `complete` handed out, or resumed after it. */
  get reachedEnd(): boolean {
    return this.#reachedEnd;
  }

  /**
   * Events ready to hand out without waiting (bounded by bufferSize). A local subscriber
   * holds no copy: it counts the events it can read in place from the trace's log.
   */
  get buffered(): number {
    if (this.#local) return Math.min(this.#config.bufferSize, Math.max(0, this.#local.events.length - this.#cursor));
    return this.#queue.length - this.#head;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next event. A failing read (prepare, catch-up page, end check) ends the
   * subscription with that error: it is detached from the hub before the error reaches
   * the caller, and later calls return done.
   */
  next(): Promise<IteratorResult<TraceEvent>> {
    // Hot path: a local subscriber that is behind the writer takes the next event without
    // the machinery of an async function.
    const local = this.#local;
    if (local !== undefined && !this.#done && this.#cursor < local.events.length) {
      const r = this.#takeLocal(local);
      if (r !== undefined) return Promise.resolve(r);
    }
    return this.#guardedNext();
  }

  async #guardedNext(): Promise<IteratorResult<TraceEvent>> {
    try {
      return await this.#next();
    } catch (err) {
      this.#finish();
      throw err;
    }
  }

  async #next(): Promise<IteratorResult<TraceEvent>> {
    for (;;) {
      if (this.#done) return DONE;
      const local = this.#local;
      if (local) {
        const r = this.#takeLocal(local);
        if (r) return r;
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
          local.park(this.#wakeUp);
        });
        continue;
      }
      if (this.#head < this.#queue.length) {
        const ev = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        }
        if (ev.type === 'complete') this.#reachedEnd = true;
        if (ev.type === 'complete' || (this.#finalSeq !== undefined && ev.seq >= this.#finalSeq)) this.#finish();
        return { value: ev, done: false };
      }
      if (this.#finalSeq !== undefined && this.#cursor >= this.#finalSeq) {
        this.#finish();
        return DONE;
      }
      if (!this.#prepared) {
        this.#prepared = true;
        await this.#config.prepare!();
        continue;
      }
      if (this.#behind || this.#finalSeq !== undefined) {
        if (await this.#fill()) continue;
        if (this.#finalSeq !== undefined) {
          // Released here and the source has nothing more: that is the end.
          this.#finish();
          return DONE;
        }
        if (this.#behind) this.#armRetry();
        else if (this.#config.endSeq) {
          const end = await this.#config.endSeq();
          if (end !== undefined && this.#cursor >= end) {
            this.#reachedEnd = true;
            this.#finish();
            return DONE;
          }
          if (end !== undefined) {
            // Finished elsewhere but the store has not shown us the end yet: poll it.
            this.#behind = true;
            this.#armRetry();
          }
          if (this.#head < this.#queue.length || this.#done) continue;
        }
      }
      if (this.#done) return DONE;
      if (!this.#behind && this.#config.pollMs !== undefined) this.#armPoll(this.#config.pollMs);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** Next event from the local log; undefined if the consumer must wait for the next one. */
  #takeLocal(feed: LocalFeed): IteratorResult<TraceEvent> | undefined {
    const events = feed.events;
    while (this.#cursor < events.length) {
      const ev = events[this.#cursor]!;
      this.#cursor = ev.seq;
      if (this.#minTime !== undefined) {
        if (ev.timestamp < this.#minTime) continue;
        this.#minTime = undefined;
      }
      if (ev.type === 'complete') {
        this.#reachedEnd = true;
        this.#finish();
      }
      return { value: ev, done: false };
    }
    const last = events[events.length - 1];
    if (last !== undefined && last.type === 'complete') {
      // Resumed at or after the end.
      this.#reachedEnd = true;
      this.#finish();
      return DONE;
    }
    return undefined;
  }

  async return(): Promise<IteratorResult<TraceEvent>> {
    this.#finish();
    return DONE;
  }

  /**
   * Called when the trace is released in this process: stop listening, hand out what is
   * left up to `finalSeq` (from the buffer or the store), then end.
   */
  close(finalSeq?: number): void {
    if (this.#done) return;
    this.#detach();
    if (this.#local) {
      // The trace leaves this process: the rest comes from the store, like for a late subscriber.
      this.#local = undefined;
      this.#behind = true;
    }
    this.#finalSeq = finalSeq ?? this.#cursor;
    if (this.#head >= this.#queue.length && this.#cursor >= this.#finalSeq) this.#finish();
    else this.#wake();
  }

  async #fill(): Promise<boolean> {
    const page = await this.#source(this.traceId, this.#cursor, this.#config.bufferSize);
    if (this.#done) return false;
    let progressed = false;
    for (const ev of page) {
      if (ev.seq <= this.#cursor) continue;
      if (ev.seq !== this.#cursor + 1) break;
      progressed = true;
      this.#accept(ev);
      if (ev.type === 'complete') break;
    }
    if (page.length < this.#config.bufferSize && this.#cursor >= this.#liveMax) this.#behind = false;
    return progressed;
  }

  #accept(ev: TraceEvent): void {
    this.#cursor = ev.seq;
    if (this.#minTime !== undefined) {
      if (ev.timestamp < this.#minTime) return;
      this.#minTime = undefined;
    }
    this.#queue.push(ev);
  }

  #onLive(events: readonly TraceEvent[]): void {
    if (this.#done) return;
    for (const ev of events) {
      if (ev.seq > this.#liveMax) this.#liveMax = ev.seq;
      if (this.#behind || ev.seq <= this.#cursor) continue;
      if (ev.seq !== this.#cursor + 1 || this.#queue.length - this.#head >= this.#config.bufferSize) {
        this.#behind = true;
        continue;
      }
      this.#accept(ev);
    }
    this.#wake();
  }

  // Poll and retry timers are armed only while a consumer awaits next(), and they keep the
  // process alive like a pending socket read would: a script awaiting a remote trace must
  // not exit early. They are cleared when the subscription ends.
  #armRetry(): void {
    if (this.#timer || this.#config.retryMs === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake();
    }, this.#config.retryMs);
  }

  #armPoll(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#behind = true;
      this.#wake();
    }, ms);
  }

  #wake(): void {
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w();
    }
  }

  #detach(): void {
    if (this.#unsubscribe) {
      this.#unsubscribe();
      this.#unsubscribe = undefined;
    }
    if (this.#signal) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#signal = undefined;
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#local = undefined;
    this.#detach();
    this.#queue = [];
    this.#head = 0;
    this.#wake();
    this.#config.onClose?.(this);
  }
}
