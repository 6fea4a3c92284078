// Several `livetrace serve` instances on one store (PostgreSQL) and one Redis: writes of a
// trace are applied by the one instance holding its writer lease; any other instance that
// receives them forwards them there (docs/deploy.md, "Writes over HTTP and OTLP with several
// servers"). A holder that died stops renewing its lease: after the lease expires, the
// instance that received the write takes the trace over (load() reads the log after taking
// the lease) and applies it itself.
//
// This module: the instance's announcement (lease owner -> internal URL, in Redis), the
// route() loop (local, else forward to the holder, else wait for its lease), the HTTP
// forwarding itself, the shared idempotency answers and the periodic adoption of OTLP
// traces whose holder died.
import { HolderUnavailableError, TraceLockedError, errorMessage } from '../../core/errors.js';
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';
import { intOption } from '../../core/int-option.js';
import type { Tracer } from '../../tracer/tracer.js';
import type { ReceivedSpan } from '../otlp-decode.js';
import type { SharedState, StoredAnswer } from './shared-state.js';

/** Header marking a request one instance forwarded to another (never forwarded again). */
export const FORWARDED_HEADER = 'x-livetrace-forwarded';
/** The internal route a holder receives forwarded OTLP spans on (JSON, one trace). */
export const FORWARDED_SPANS_PATH = '/v1/traces/forwarded';

export interface ClusterOptions {
  /** How long one request waits at most for a holder that does not answer (its lease to expire). Default 5000 ms. */
  waitMs?: number;
  /** Idempotency answers are kept this long in Redis. Default 86400000 (24 h). */
  keyTtlMs?: number;
  /** A forwarded request fails after this long. Default 30000 ms. */
  forwardTimeoutMs?: number;
  /** Every this long, OTLP traces whose holder died (running, unleased, quiet) are adopted and completed here. Default 5000 ms. */
  adoptEveryMs?: number;
  /** The instance's announcement in Redis lives this long and is renewed every third of it. Default 60000 ms. */
  announceTtlMs?: number;
}

interface Resolved {
  waitMs: number;
  keyTtlMs: number;
  forwardTimeoutMs: number;
  adoptEveryMs: number;
  announceTtlMs: number;
}

/** The holder did not take the request (not reachable, shutting down, no longer the holder): nothing was applied. */
export class HolderUnreachableError extends Error {}
/** The request reached the holder, which failed before answering: it may have been applied. */
export class HolderBrokenError extends Error {}

/** OTLP work the cluster drives on the receiver (adoption of traces whose holder died). */
export interface AdoptingReceiver {
  adoptOrphans(): Promise<void>;
}

const RETRY: BackoffPolicy = { initialMs: 50, maxMs: 500 };
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class Cluster {
  readonly tracer: Tracer;
  readonly state: SharedState;
  readonly options: Resolved;
  /** This instance's internal URL (set by start()). */
  url: string | undefined;
  /** Lease owner -> announced URL (owners are unique per process: never stale, only gone). */
  readonly #addresses = new Map<string, string>();
  #receiver: AdoptingReceiver | undefined;
  #announceTimer: ReturnType<typeof setInterval> | undefined;
  #adoptTimer: ReturnType<typeof setInterval> | undefined;
  #adopting = false;
  #closed = false;
  /** Failures to reach Redis, reported through this (one line per streak is the caller's choice). */
  onError: ((err: unknown) => void) | undefined;

  constructor(tracer: Tracer, state: SharedState, options: ClusterOptions = {}) {
    this.tracer = tracer;
    this.state = state;
    const int = (name: string, v: unknown, d: number): number => intOption(`option cluster.${name}`, v, d);
    this.options = {
      waitMs: int('waitMs', options.waitMs, 5000),
      keyTtlMs: int('keyTtlMs', options.keyTtlMs, 86_400_000),
      forwardTimeoutMs: int('forwardTimeoutMs', options.forwardTimeoutMs, 30_000),
      adoptEveryMs: int('adoptEveryMs', options.adoptEveryMs, 5000),
      announceTtlMs: int('announceTtlMs', options.announceTtlMs, 60_000),
    };
  }

  /** Announces this instance at `url` (renewed) and starts adopting orphaned OTLP traces. */
  async start(url: string, receiver: AdoptingReceiver | undefined): Promise<void> {
    this.url = url.replace(/\/+$/, '');
    this.#receiver = receiver;
    await this.state.announce(this.tracer.owner, this.url, this.options.announceTtlMs);
    this.#announceTimer = setInterval(
      () => {
        this.state
          .announce(this.tracer.owner, this.url!, this.options.announceTtlMs)
          .catch((err: unknown) => this.onError?.(err));
      },
      Math.max(100, Math.floor(this.options.announceTtlMs / 3)),
    );
    this.#announceTimer.unref?.();
    if (receiver) {
      this.#adoptTimer = setInterval(() => void this.#adopt(), this.options.adoptEveryMs);
      this.#adoptTimer.unref?.();
    }
  }

  /** Stops the timers and withdraws the announcement (the tracer then releases its leases). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#announceTimer) clearInterval(this.#announceTimer);
    if (this.#adoptTimer) clearInterval(this.#adoptTimer);
    if (this.url !== undefined) await this.state.withdraw(this.tracer.owner).catch(() => undefined);
    await this.state.close();
  }

  /**
   * Runs `local` (which loads the trace, taking its lease). While another instance holds
   * the trace: `forward(url)` sends the request to it; if it does not take it (unreachable,
   * shutting down, no longer the holder), waits a little and tries again, `local` first
   * (its lease may have expired), for at most `waitMs`, then HolderUnavailableError (503).
   * A trace held by a process that is no server (a library writer) keeps its 409.
   * Without `forward` (the request was forwarded to us) a lock is the caller's 409.
   */
  async route<T>(
    traceId: string,
    local: () => Promise<T>,
    forward: ((url: string) => Promise<T>) | undefined,
  ): Promise<T> {
    const deadline = Date.now() + this.options.waitMs;
    for (let failures = 1; ; failures++) {
      try {
        return await local();
      } catch (err) {
        if (!(err instanceof TraceLockedError) || err.owner === undefined || !forward) throw err;
        const url = await this.addressOf(err.owner);
        if (url === undefined) throw err;
        // Our own address under another owner: this instance before a restart, whose lease expires.
        if (url !== this.url) {
          try {
            return await forward(url);
          } catch (e) {
            if (!(e instanceof HolderUnreachableError)) throw e;
          }
        }
      }
      const wait = backoffDelay(failures, RETRY);
      if (this.#closed || Date.now() + wait > deadline)
        throw new HolderUnavailableError(traceId, Math.max(1, Math.ceil(this.options.waitMs / 1000)));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** The URL an owner announced (cached), or undefined when it is no server instance. */
  async addressOf(owner: string): Promise<string | undefined> {
    const known = this.#addresses.get(owner);
    if (known !== undefined) return known;
    let url: string | undefined;
    try {
      url = await this.state.addressOf(owner);
    } catch (err) {
      this.onError?.(err);
      return undefined;
    }
    if (url !== undefined) {
      this.#addresses.set(owner, url);
      if (this.#addresses.size > 1000) this.#addresses.delete(this.#addresses.keys().next().value!);
    }
    return url;
  }

  /** A shared idempotency answer; Redis failing counts as none (reported). */
  async answerOf(scope: string, key: string): Promise<StoredAnswer | undefined> {
    try {
      return await this.state.getAnswer(scope, key);
    } catch (err) {
      this.onError?.(err);
      return undefined;
    }
  }

  async remember(scope: string, key: string, answer: StoredAnswer): Promise<void> {
    try {
      await this.state.putAnswer(scope, key, answer, this.options.keyTtlMs);
    } catch (err) {
      this.onError?.(err);
    }
  }

  /** POSTs a forwarded request to `url` (the holder's origin + path); its JSON answer. */
  async post(
    url: string,
    headers: Record<string, string>,
    body: string | Uint8Array,
  ): Promise<{ status: number; body: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { ...headers, [FORWARDED_HEADER]: '1' },
        body: body as BodyInit,
        signal: AbortSignal.timeout(this.options.forwardTimeoutMs),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      if (typeof code === 'string' && CONNECT_ERRORS.has(code))
        throw new HolderUnreachableError(`${url}: ${code}`, { cause: err });
      throw new HolderBrokenError(`${url}: ${errorMessage(err)}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await res.text());
    } catch (err) {
      throw new HolderBrokenError(`${url}: the answer is not JSON: ${errorMessage(err)}`, { cause: err });
    }
    const code = (parsed as { error?: { code?: unknown } } | null)?.error?.code;
    // Shutting down, busy, or no longer the holder: nothing was applied there.
    if (res.status === 503 || (res.status === 409 && code === 'LT_ERR_TRACE_LOCKED'))
      throw new HolderUnreachableError(`${url}: ${res.status} ${String(code)}`);
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Forwards the spans of one trace to its holder; what it accepted and refused. */
  async forwardSpans(
    url: string,
    authorization: string | undefined,
    spans: readonly ReceivedSpan[],
  ): Promise<{ accepted: number; rejected: number; message: string }> {
    try {
      const res = await this.post(
        url + FORWARDED_SPANS_PATH,
        { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
        JSON.stringify({ spans }),
      );
      const b = res.body as { accepted?: number; rejected?: number; message?: string };
      if (res.status !== 200 || typeof b.accepted !== 'number')
        return { accepted: 0, rejected: spans.length, message: `forwarded spans refused: ${JSON.stringify(res.body)}` };
      return { accepted: b.accepted, rejected: b.rejected ?? 0, message: b.message ?? '' };
    } catch (err) {
      // Spans are recorded once by span id: sending them again (here or there) is always safe.
      if (err instanceof HolderBrokenError) throw new HolderUnreachableError(err.message, { cause: err });
      throw err;
    }
  }

  async #adopt(): Promise<void> {
    if (this.#adopting || this.#closed || !this.#receiver) return;
    this.#adopting = true;
    try {
      await this.#receiver.adoptOrphans();
    } catch (err) {
      this.onError?.(err);
    } finally {
      this.#adopting = false;
    }
  }
}
