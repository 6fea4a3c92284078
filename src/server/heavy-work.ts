// Bounds the server's heavy work: building a trace's snapshot from its event log and
// streaming an export can take seconds and memory for a big trace. At most `concurrency`
// run at once and at most `queue` wait for a slot; beyond that a request is refused at once
// with 503 LT_ERR_BUSY and Retry-After, so light requests (/info, listings, SSE) stay fast.
import { BusyError } from '../core/errors.js';
import { intOption } from '../core/int-option.js';

export interface HeavyWorkOptions {
  /** Heavy requests running at once. Default 4. */
  concurrency?: number;
  /** Heavy requests waiting for a slot; beyond: 503. Default 16. */
  queue?: number;
  /** Retry-After hint of the 503, in seconds. Default 1. */
  retryAfterSec?: number;
}

export class HeavyWork {
  readonly concurrency: number;
  readonly queue: number;
  readonly retryAfterSec: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /** Requests refused with 503 so far. */
  refused = 0;

  constructor(options: HeavyWorkOptions = {}) {
    const int = (name: string, v: unknown, fallback: number, min: number): number =>
      intOption(`option heavyWork.${name}`, v, fallback, { min });
    this.concurrency = int('concurrency', options.concurrency, 4, 1);
    this.queue = int('queue', options.queue, 16, 0);
    this.retryAfterSec = int('retryAfterSec', options.retryAfterSec, 1, 1);
  }

  get active(): number {
    return this.#active;
  }
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Takes a slot (waiting in the queue if needed); the returned function gives it back (idempotent). */
  async acquire(what: string): Promise<() => void> {
    if (this.#active >= this.concurrency) {
      if (this.#waiting.length >= this.queue) {
        this.refused++;
        throw new BusyError(what, this.retryAfterSec);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter: `active` stays the same.
      if (next) next();
      else this.#active--;
    };
  }

  /** Runs `fn` in a slot. */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(what);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
