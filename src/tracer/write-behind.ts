// Write-behind persistence for every trace of a tracer: one timer for all of them (no
// per-trace task). Recording calls only append to the trace's in-memory log; batches go to
// the store at most `intervalMs` later (or at once when a batch is full). A failing store
// is retried with backoff; nothing is dropped: unstored events stay in the log and
// `flush()` rejects with them.
import { FlushError, StoreConflictError } from '../core/errors.js';
import type { TraceEvent, TraceInfo } from '../core/types.js';
import type { TraceStore } from '../store/store.js';
import type { FlushOptions } from './options.js';
import { backoffDelay } from '../core/backoff.js';
import { CompactLog } from '../core/compact-log.js';

/**
 * A log holding this many events as objects encodes its stored ones, all but the newest
 * KEEP_HOT (read in place by local subscribers): a trace that stays loaded for hours keeps
 * about 35 bytes per event instead of an object graph (core/compact-log.ts). Short traces
 * (the usual agent run) never reach it and pay nothing.
 */
const COMPACT_AT = 4096;
const KEEP_HOT = 1024;
/** Events held as objects, stored or not, past which the log encodes them (see append()). */
const BURST_HOT = 16384;

/** A trace's event log as the writer sees it. */
export class TraceLog {
  readonly id: string;
  /** Every event of the trace, seq = index + 1. */
  readonly events: CompactLog;
  /** Count of events the store has acknowledged. */
  stored = 0;
  /** True while the log sits in the writer's dirty set. */
  dirty = false;
  inflight: Promise<void> | undefined;
  /** Last store error while failing; undefined when healthy. */
  failure: unknown = undefined;
  /** A failure that retrying cannot fix (seq conflict): no more background attempts. */
  fatal = false;
  /** Failed attempts in a row (the backoff's exponent); 0 when healthy. */
  failedAttempts = 0;
  nextAttempt = 0;
  readonly info: () => TraceInfo;
  /**
   * How many events every reader in place has read (the trace's slowest local subscriber):
   * events beyond it stay objects, so a subscriber that is behind does not decode them.
   * Given once to the constructor: reassigning a function field after construction made
   * every trace twice as slow to record (V8 field constness; docs/performance.md, section 8).
   */
  readonly readFloor: () => number;

  constructor(id: string, info: () => TraceInfo, readFloor: () => number = () => Infinity) {
    this.id = id;
    this.info = info;
    this.readFloor = readFloor;
    this.events = new CompactLog(id);
  }

  /**
   * Appends a new event. A log that holds BURST_HOT events as objects (a trace recorded in
   * one synchronous burst: the writer cannot store anything before it ends) encodes all but
   * the newest KEEP_HOT, stored or not, read or not: the writer's batches and the readers
   * behind then decode them, as short-lived copies. Held as objects, a 100,000-step burst
   * kept 300,000 events live through every scavenge of the burst; encoded, the burst ran
   * 1.46x as fast, and 1.21-1.41x with 10 subscribers behind it (docs/performance.md,
   * section 12). Below BURST_HOT, what a reader has not read stays an object (markStored).
   */
  append(ev: TraceEvent): void {
    const events = this.events;
    events.push(ev);
    if (events.hotLength >= BURST_HOT) events.compact(events.length - KEEP_HOT);
  }

  /** The store holds the first `n` events (`n` never decreases). */
  markStored(n: number): void {
    this.stored = n;
    const events = this.events;
    if (events.hotLength >= COMPACT_AT) events.compact(Math.min(n, events.length - KEEP_HOT, this.readFloor()));
  }

  get pending(): number {
    return this.events.length - this.stored;
  }
}

/** First wait after a failed store append; doubles up to flush.maxRetryMs. */
const STORE_RETRY_INITIAL_MS = 50;

export class WriteBehind {
  readonly #store: TraceStore;
  readonly #opts: FlushOptions;
  readonly #onError: (err: unknown, log: TraceLog) => void;
  readonly #dirty = new Set<TraceLog>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  readonly #drain = (): void => {
    this.#timer = undefined;
    this.#immediate = undefined;
    this.drain();
  };

  constructor(store: TraceStore, opts: FlushOptions, onError: (err: unknown, log: TraceLog) => void) {
    this.#store = store;
    this.#opts = opts;
    this.#onError = onError;
  }

  get maxBatch(): number {
    return this.#opts.maxBatch;
  }

  /** Marks a log as having unstored events. Hot path: cheap when already dirty. */
  touch(log: TraceLog): void {
    if (!log.dirty) {
      log.dirty = true;
      this.#dirty.add(log);
      if (this.#timer === undefined && this.#immediate === undefined) this.#arm(this.#opts.intervalMs);
    } else if (
      log.events.length - log.stored >= this.#opts.maxBatch &&
      this.#immediate === undefined &&
      log.failure === undefined
    ) {
      this.#immediate = setImmediate(this.#drain);
      this.#immediate.unref?.();
    }
  }

  /** Starts a write for every dirty log that is not already writing or backing off. */
  drain(): void {
    const now = Date.now();
    let wait = Infinity;
    for (const log of this.#dirty) {
      if (log.inflight || log.fatal) continue;
      if (log.nextAttempt > now) {
        wait = Math.min(wait, log.nextAttempt - now);
        continue;
      }
      this.#write(log).catch(() => {
        /* reported through onError; flush() callers get their own rejection */
      });
    }
    if (wait !== Infinity) this.#arm(wait);
  }

  /** Resolves when every event appended so far is stored; rejects with FlushError. */
  async flush(log: TraceLog): Promise<void> {
    const target = log.events.length;
    while (log.stored < target) {
      try {
        // A fatal failure (a seq conflict, a lease refused) is not retried here either.
        if (log.fatal) throw log.failure;
        await (log.inflight ?? this.#write(log));
      } catch (err) {
        throw new FlushError(log.id, log.events.slice(log.stored), err);
      }
    }
  }

  /**
   * Holds the log's writes until `ready` resolves: the lease of a trace that records before
   * its store has granted it (tracer[kCreateFresh]). A refusal is fatal to the log, like a
   * seq conflict: nothing of it is written, flush() rejects, and onError hears why once.
   */
  gate(log: TraceLog, ready: Promise<void>): void {
    const done = ready.then(
      () => {
        log.inflight = undefined;
        if (log.dirty) this.#arm(this.#opts.intervalMs);
      },
      (err: unknown) => {
        log.inflight = undefined;
        log.failure = err;
        log.fatal = true;
        this.#onError(err, log);
        throw err;
      },
    );
    done.catch(() => {
      /* reported through onError; flush() callers get their own rejection */
    });
    log.inflight = done;
  }

  /** Stops tracking a log (after release). */
  forget(log: TraceLog): void {
    this.#dirty.delete(log);
    log.dirty = false;
  }

  /** Logs that still hold unstored events. */
  pendingLogs(): TraceLog[] {
    return [...this.#dirty].filter((l) => l.pending > 0);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    for (const log of this.#dirty) log.dirty = false;
    this.#dirty.clear();
  }

  #arm(delay: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#drain, delay);
    this.#timer.unref?.();
  }

  #write(log: TraceLog): Promise<void> {
    const start = log.stored;
    const batch = log.events.slice(start, start + this.#opts.maxBatch);
    let p: Promise<void>;
    try {
      p = this.#store.append(log.id, batch, log.info());
    } catch (err) {
      p = Promise.reject(err);
    }
    const done = p.then(
      () => {
        log.inflight = undefined;
        log.markStored(Math.max(log.stored, start + batch.length));
        log.failure = undefined;
        log.failedAttempts = 0;
        log.nextAttempt = 0;
        if (log.stored < log.events.length) {
          if (log.dirty) this.#arm(log.pending >= this.#opts.maxBatch ? 0 : this.#opts.intervalMs);
        } else if (log.dirty) {
          log.dirty = false;
          this.#dirty.delete(log);
        }
      },
      (err: unknown) => {
        log.inflight = undefined;
        const first = log.failure === undefined;
        log.failure = err;
        if (err instanceof StoreConflictError) log.fatal = true;
        const delay = backoffDelay(++log.failedAttempts, {
          initialMs: STORE_RETRY_INITIAL_MS,
          maxMs: this.#opts.maxRetryMs,
        });
        log.nextAttempt = Date.now() + delay;
        if (!log.fatal && log.dirty) this.#arm(delay);
        if (first) this.#onError(err, log);
        throw err;
      },
    );
    log.inflight = done;
    return done;
  }
}
