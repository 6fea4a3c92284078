// One subscriber's view of a trace: history from a cursor, then live, in seq order, with
// no gap and no duplicate. Live events are buffered up to `bufferSize`; past that (or on
// any gap) the subscription falls "behind" and reads pages from the source (the trace's
// log in this process, or the store) until it has caught up. Memory per subscriber is
// therefore bounded whatever the consumer's speed.
import type { EventList } from '../core/compact-log.js';
import type { TraceEvent } from '../core/types.js';
import type { EventHub } from './hub.js';

/**
 * The log of a trace loaded in this process, read in place: a subscriber of a local trace
 * is a cursor into it, not a copy (no per-subscriber queue, no per-event hand-off: publishing
 * to N local subscribers costs one wake-up of those that wait).
 */
export interface LocalFeed {
  /** Every event of the trace, `events.at(i).seq === i + 1`, append-only. */
  readonly events: EventList;
  /** Calls `wake` once, after the next event is appended (or when the trace is released). */
  park(wake: () => void): void;
  /** Seq of the trace's `complete` event; 0 while the trace runs (set by the trace). */
  endSeq: number;
}

/** Reads events with seq > since, at most `limit`. */
export type EventSource = (
  traceId: string,
  since: number,
  limit: number,
) => readonly TraceEvent[] | Promise<readonly TraceEvent[]>;

export interface SubscribeOptions {
  /** Exclusive seq to resume after. */
  since?: number | undefined;
  /** Start at the first event with timestamp >= sinceTime (epoch ms). */
  sinceTime?: number | undefined;
  /** Ends the subscription when aborted. */
  signal?: AbortSignal | undefined;
  /**
   * Poll interval (ms) for a trace written by another process that no shared hub connects
   * us to. Default 250 (5000 when the hub is remote: polling is then only a safety net).
   */
  pollMs?: number | undefined;
}

export interface SubscriptionConfig {
  bufferSize: number;
  /** Poll interval while behind a source that lags the live stream (remote hubs). */
  retryMs?: number | undefined;
  /**
   * Poll the source every pollMs even when caught up: for a trace written by another
   * process that no hub connects us to (e.g. two processes sharing a file store).
   */
  pollMs?: number | undefined;
  /** Runs before the first read; may reject (e.g. trace not found). */
  prepare?: (() => Promise<void>) | undefined;
  /** The trace's log when it is loaded here: read in place until close(). */
  local?: LocalFeed | undefined;
  onClose?: ((sub: Subscription) => void) | undefined;
  /**
   * The seq of the trace's `complete` event if it has completed, else undefined. Asked
   * when the subscriber has caught up, so that resuming after the end ends at once.
   */
  endSeq?: () => number | undefined | Promise<number | undefined>;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * takeReady() hands out at most this many events between two next() calls. Subscribers of
 * one loaded trace then read its log in turns of this size, while the events they read are
 * still in the log's cache of decoded events (compact-log.ts, SHARED): drained in one go,
 * each of 10 subscribers decoded the whole log again (docs/performance.md, section 14).
 */
export const READY_BURST = 256;

/**
 * Where a subscription is:
 * - `replaying`: behind the live stream (a late start, a gap, a full buffer): reads pages
 *   from the source until it holds everything seen live;
 * - `live`: caught up; live events are queued as they come (or, for a trace loaded here,
 *   read in place from its log);
 * - `draining`: the trace was released here: hands out what is left up to the final seq
 *   (from the queue, then the source), then ends;
 * - `done`: ended (complete handed out, returned, aborted, closed, or failed); next()
 *   returns done from now on.
 */
export type SubscriptionState = 'replaying' | 'live' | 'draining' | 'done';

export class Subscription implements AsyncIterableIterator<TraceEvent, undefined> {
  readonly traceId: string;
  readonly #source: EventSource;
  readonly #config: SubscriptionConfig;
  #state: SubscriptionState;
  /** Events queued for the consumer; `#head` is the next one to hand out. */
  #queue: (TraceEvent | undefined)[] = [];
  #head = 0;
  /** Seq of the last event queued or skipped; the consumer has everything up to it. */
  #cursor: number;
  /** Highest seq seen live: replaying ends once the source has given us up to it. */
  #liveMax = 0;
  /** Events before this time are skipped (until the first one at or after it). */
  #minTime: number | undefined;
  /** While draining: deliver up to this seq, then end. */
  #finalSeq = 0;
  /** True once the trace's end was reached (set when entering `done`). */
  #reachedEnd = false;
  /** Runs before the first read; cleared once started. */
  #prepare: (() => Promise<void>) | undefined;
  /** Events takeReady() handed out since the last next(). */
  #taken = 0;
  /** The consumer's pending next(), waiting for an event or a state change. */
  #waiter: ((v: void) => void) | undefined;
  /** The poll or retry timer, armed only while a consumer waits. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  #signal: AbortSignal | undefined;
  /** Set while the trace is loaded here (live, until close()): events are read from its log in place. */
  #local: LocalFeed | undefined;
  readonly #onAbort = (): void => {
    this.#end(false);
  };
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
    this.#prepare = config.prepare;
    this.#local = config.local;
    this.#state = this.#local ? 'live' : 'replaying';
    if (!this.#local && hub) this.#unsubscribe = hub.subscribe(traceId, (events) => this.#onLive(events));
    if (options.signal) {
      this.#signal = options.signal;
      if (options.signal.aborted) this.#end(false);
      else options.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Seq of the last event handed out (or skipped): the events up to it are read. */
  get position(): number {
    return this.#cursor;
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
  next(): Promise<IteratorResult<TraceEvent, undefined>> {
    this.#taken = 0;
    // Hot path: a local subscriber that is behind the writer takes the next event without
    // the machinery of an async function.
    const local = this.#local;
    if (local !== undefined && this.#cursor < local.events.length) {
      const r = this.#takeLocal(local);
      if (r !== undefined) return Promise.resolve(r);
    }
    return this.#next().catch((err: unknown) => {
      // The one failure path: whatever failed, the subscription ends, then the caller hears why.
      this.#end(false);
      throw err;
    });
  }

  /**
   * The next event if one is ready now, without waiting or reading the store; undefined
   * otherwise (then next() waits for it), in the same order as next() and sharing its
   * cursor. For a consumer that handles bursts (the SSE route gathers one into one write):
   * no promise per event, where `for await` costs one per event per subscriber. A burst is
   * at most READY_BURST (256) events: then it returns undefined and next() resolves at
   * once, so the trace's other subscribers take their turn.
   *
   * ```ts
   * for await (const ev of sub) {
   *   handle(ev);
   *   for (let more = sub.takeReady(); more !== undefined; more = sub.takeReady()) handle(more);
   * }
   * ```
   */
  takeReady(): TraceEvent | undefined {
    if (this.#state === 'done' || this.#taken >= READY_BURST) return undefined;
    const local = this.#local;
    const ev =
      local !== undefined
        ? this.#takeLocalEvent(local)
        : this.#head < this.#queue.length
          ? this.#takeQueued().value
          : undefined;
    if (ev !== undefined) this.#taken++;
    return ev;
  }

  async #next(): Promise<IteratorResult<TraceEvent, undefined>> {
    for (;;) {
      if (this.#state === 'done') return DONE;
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
      if (this.#head < this.#queue.length) return this.#takeQueued();
      if (this.#state === 'draining' && this.#cursor >= this.#finalSeq) return this.#end(false);
      const prepare = this.#prepare;
      if (prepare) {
        this.#prepare = undefined;
        await prepare();
        continue;
      }
      if (this.#state === 'replaying' || this.#state === 'draining') {
        if (await this.#fill()) continue;
        // The state may have changed while the page was read (close(), a gap seen live).
        const now = this.#now();
        // Released here and the source has nothing more: that is the end.
        if (now === 'draining') return this.#end(false);
        if (now === 'replaying') this.#armRetry();
        else if (now === 'live' && this.#config.endSeq && (await this.#checkEnd())) continue;
      }
      if (this.#now() === 'done') return DONE;
      if (this.#state === 'live' && this.#config.pollMs !== undefined) this.#armPoll(this.#config.pollMs);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** Hands out the next queued event (ending after `complete` or the final seq). */
  #takeQueued(): IteratorResult<TraceEvent, undefined> {
    const ev = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    if (ev.type === 'complete') this.#end(true);
    else if (this.#state === 'draining' && ev.seq >= this.#finalSeq) this.#end(false);
    return { value: ev, done: false };
  }

  /**
   * Caught up: asks whether the trace has ended. True if next() should look again (ended,
   * released, or events queued meanwhile), false to wait.
   */
  async #checkEnd(): Promise<boolean> {
    const end = await this.#config.endSeq!();
    // Events queued while we asked (live, from the hub: the cursor may then be at the end)
    // are handed out first; the end itself is reached when its `complete` is, never by
    // dropping the queue.
    if (this.#head < this.#queue.length || this.#now() === 'done' || this.#now() === 'draining') return true;
    if (end !== undefined && this.#cursor >= end) {
      this.#end(true);
      return true;
    }
    if (end !== undefined && this.#state === 'live') {
      // Finished elsewhere but the store has not shown us the end yet: poll it.
      this.#state = 'replaying';
      this.#armRetry();
    }
    return false;
  }

  /** The state read afresh (after an await, where TypeScript would keep an old narrowing). */
  #now(): SubscriptionState {
    return this.#state;
  }

  /** Next event from the local log; undefined if the consumer must wait for the next one. */
  #takeLocal(feed: LocalFeed): IteratorResult<TraceEvent, undefined> | undefined {
    const ev = this.#takeLocalEvent(feed);
    if (ev !== undefined) return { value: ev, done: false };
    // Resumed at or after the end (the one place the end is known: the feed's endSeq).
    if (feed.endSeq !== 0 && this.#cursor >= feed.endSeq) return this.#end(true);
    return undefined;
  }

  /** The next event of the trace's log in place, if there is one (the end handed out ends the subscription). */
  #takeLocalEvent(feed: LocalFeed): TraceEvent | undefined {
    const events = feed.events;
    // Nothing after the trace's `complete` (a hostile log may go on after it).
    const end = feed.endSeq !== 0 ? Math.min(feed.endSeq, events.length) : events.length;
    while (this.#cursor < end) {
      const ev = events.at(this.#cursor)!;
      // seq = index + 1 in a trace's log, and the feed knows where `complete` is: the event
      // itself is not read here. Handed to a consumer that may never look at it, reading it
      // cost a cache miss per event per subscriber: 300,000 events of a long trace are
      // scattered over tens of megabytes (docs/performance.md, section 9).
      const seq = ++this.#cursor;
      if (this.#minTime !== undefined) {
        if (ev.timestamp < this.#minTime) continue;
        this.#minTime = undefined;
      }
      if (seq === feed.endSeq) this.#end(true);
      return ev;
    }
    return undefined;
  }

  async return(): Promise<IteratorResult<TraceEvent, undefined>> {
    return this.#end(false);
  }

  /**
   * Called when the trace is released in this process: stop listening, hand out what is
   * left up to `finalSeq` (from the buffer or the store), then end.
   */
  close(finalSeq?: number): void {
    if (this.#state === 'done') return;
    this.#detach();
    // A local subscriber's rest comes from the store, like a late subscriber's.
    this.#local = undefined;
    this.#state = 'draining';
    this.#finalSeq = finalSeq ?? this.#cursor;
    if (this.#head >= this.#queue.length && this.#cursor >= this.#finalSeq) this.#end(false);
    else this.#wake();
  }

  /** Queues the source's next page; true if it had anything new. */
  async #fill(): Promise<boolean> {
    const page = await this.#source(this.traceId, this.#cursor, this.#config.bufferSize);
    if (this.#state === 'done') return false;
    let progressed = false;
    for (const ev of page) {
      if (ev.seq <= this.#cursor) continue;
      if (ev.seq !== this.#cursor + 1) break;
      progressed = true;
      this.#accept(ev);
      if (ev.type === 'complete') break;
    }
    if (this.#state === 'replaying' && page.length < this.#config.bufferSize && this.#cursor >= this.#liveMax)
      this.#state = 'live';
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
    if (this.#state === 'done') return;
    for (const ev of events) {
      if (ev.seq > this.#liveMax) this.#liveMax = ev.seq;
      if (this.#state !== 'live' || ev.seq <= this.#cursor) continue;
      if (ev.seq !== this.#cursor + 1 || this.#queue.length - this.#head >= this.#config.bufferSize) {
        // A gap or a full buffer: read the rest from the source.
        this.#state = 'replaying';
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
      if (this.#state === 'live') this.#state = 'replaying';
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

  /** Enters `done` (once): detaches, drops the queue, wakes a waiting consumer. */
  #end(reachedEnd: boolean): IteratorReturnResult<undefined> {
    if (this.#state === 'done') return DONE;
    this.#state = 'done';
    this.#reachedEnd = reachedEnd;
    this.#local = undefined;
    this.#detach();
    this.#queue = [];
    this.#head = 0;
    this.#wake();
    this.#config.onClose?.(this);
    return DONE;
  }
}
