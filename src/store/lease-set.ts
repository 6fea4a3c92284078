// The write leases a store holds for its tracer, kept alive by ONE timer per store (never
// one per trace). A lease is a row with an expiry: a writer that dies (SIGKILL) stops
// renewing, so its traces become writable elsewhere after `ttlMs`. The store's append seq
// check stays the atomic guard against forks even if a lease expires under a live writer.

export interface LeaseSetOptions {
  /** Lease lifetime; renewed every ttl/3 while held. */
  ttlMs: number;
  /** Extends every held lease (one statement for all of them). */
  renew: (leases: ReadonlyMap<string, string>) => Promise<void>;
  /** A failed renewal (the next tick retries). */
  onError?: (err: unknown) => void;
}

export class LeaseSet {
  /** traceId -> owner, for leases this store took and has not given back. */
  readonly held = new Map<string, string>();
  readonly #opts: LeaseSetOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;

  constructor(options: LeaseSetOptions) {
    this.#opts = options;
  }

  add(traceId: string, owner: string): void {
    this.held.set(traceId, owner);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), Math.max(10, Math.floor(this.#opts.ttlMs / 3)));
      this.#timer.unref?.();
    }
  }

  delete(traceId: string, owner: string): void {
    if (this.held.get(traceId) === owner) this.held.delete(traceId);
    if (this.held.size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#renewing || this.held.size === 0) return;
    this.#renewing = true;
    this.#opts
      .renew(this.held)
      .catch((err: unknown) => this.#opts.onError?.(err))
      .finally(() => {
        this.#renewing = false;
      });
  }
}
