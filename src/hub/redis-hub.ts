// Redis hub: carries live events between processes and hosts through one Redis Stream per
// trace. Publishing is coalesced per tick into one pipelined XADD per trace; one blocking
// XREAD connection per hub (never one per trace) reads every subscribed stream. Streams
// rather than pub/sub because a reader resumes from the last entry id it saw after a
// disconnect or a Redis restart, and a writer's events published while Redis was down are
// added once it is back, so a subscriber whose writer already finished still gets the
// tail. Anything missed anyway (trimmed stream, restart that lost entries) shows up as a
// seq gap, and the subscription catches up from the shared store by seq.
// ioredis is an optional peer dependency imported on first use.
import { randomBytes } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { InvalidArgumentError, StoreError, errorMessage } from '../core/errors.js';
import type { TraceEvent } from '../core/types.js';
import type { EventHub, HubListener } from './hub.js';
import { intOption } from '../core/int-option.js';
import { backoffDelay, type BackoffPolicy } from '../core/backoff.js';
import { redactUrl } from '../core/redact.js';

export interface RedisHubOptions {
  /** redis://[user:password@]host:port[/db] or rediss://... */
  url: string;
  /** Key prefix of the per-trace streams. Default "livetrace". */
  prefix?: string | undefined;
  /** Approximate number of entries (batches) kept per trace stream. Default 1000. */
  maxLen?: number | undefined;
  /** A trace's stream expires this long after its last publish, in ms. Default 3600000. */
  ttlMs?: number | undefined;
  /** Events kept for publishing while Redis is unreachable; the oldest are dropped past it (subscribers catch up from the store). Default 100000. */
  maxPendingEvents?: number | undefined;
  /** Longest XREAD block, in ms. Default 2000. */
  blockMs?: number | undefined;
  /** Called once per failing streak with the connection error (the hub retries by itself). */
  onError?: ((err: Error) => void) | undefined;
  /**
   * Extra ioredis options (`RedisOptions`: tls, username...). Typed as `object` so that
   * livetrace's types compile in projects without ioredis installed.
   */
  redis?: object | undefined;
}

/** Stream id meaning "everything" (a stream that did not exist when we subscribed). */
const START = '0-0';
/** Longest wait for a publish pipeline's replies. */
const SEND_TIMEOUT_MS = 3000;
/** Waits between reconnect attempts (ioredis retryStrategy) and between failed publishes. */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 2000 };
const PUBLISH_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 2000 };
/** Traces whose last event a hub remembers to re-send after a reconnect. */
const RECENT_TRACES = 1000;

/** The options, checked, with their defaults. */
interface HubSettings {
  readonly prefix: string;
  readonly maxLen: number;
  readonly ttl: number;
  readonly maxPending: number;
  readonly blockMs: number;
  readonly onError: ((err: Error) => void) | undefined;
  readonly redis: object;
}

/** The two connections and their health. */
interface Connections {
  pub: RedisClient | undefined;
  sub: RedisClient | undefined;
  /** Set on first use: loads ioredis and creates both clients. */
  connecting: Promise<void> | undefined;
  /** The publishing connection has been ready once (a later 'ready' is a reconnect). */
  everReady: boolean;
  /** In a failing streak: onError was called and is not called again until recovery. */
  failing: boolean;
}

/** Publishing: the outbox and its flush. */
interface Outbox {
  /** Events waiting to be XADDed, per trace, in seq order. */
  byTrace: Map<string, TraceEvent[]>;
  /** Events in `byTrace`, all traces together. */
  count: number;
  /** Last event published per trace (most recent RECENT_TRACES traces), re-sent after a reconnect. */
  readonly recent: Map<string, TraceEvent>;
  /** A flush is queued for the end of this tick. */
  queued: boolean;
  /** The flush in progress. */
  flushing: Promise<void> | undefined;
  /** Set while waiting to retry a failed flush. */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Failed flushes in a row (the backoff's exponent). */
  failures: number;
}

/** Reading: the subscribed streams and the one blocking reader. */
interface Reader {
  readonly listeners: Map<string, Set<HubListener>>;
  /** Last stream entry id read, per subscribed trace; absent while being resolved. */
  readonly cursors: Map<string, string>;
  /** Subscribed traces whose starting id is not known yet (Redis was unreachable). */
  readonly unresolved: Set<string>;
  /** The read loop is running. */
  running: boolean;
  /** CLIENT ID of the reading connection (to UNBLOCK its XREAD); reset on reconnect. */
  clientId: number | undefined;
}

export class RedisHub implements EventHub {
  readonly remote = true;
  readonly url: string;
  readonly #opts: HubSettings;
  /** Tags our own entries so the reader skips what was already delivered in-process. */
  readonly #origin = randomBytes(6).toString('hex');
  readonly #conn: Connections = {
    pub: undefined,
    sub: undefined,
    connecting: undefined,
    everReady: false,
    failing: false,
  };
  readonly #out: Outbox = {
    byTrace: new Map(),
    count: 0,
    recent: new Map(),
    queued: false,
    flushing: undefined,
    retryTimer: undefined,
    failures: 0,
  };
  readonly #in: Reader = {
    listeners: new Map(),
    cursors: new Map(),
    unresolved: new Set(),
    running: false,
    clientId: undefined,
  };
  #closed: Promise<void> | undefined;
  /** Events dropped from the outbox because Redis stayed unreachable too long. */
  droppedEvents = 0;
  lastError: Error | undefined;

  constructor(options: RedisHubOptions) {
    if (!options || typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new InvalidArgumentError(
        `new RedisHub({ url }): url must be a redis:// or rediss:// URL, got ${String(options?.url)}`,
      );
    }
    this.url = options.url;
    this.#opts = {
      prefix: options.prefix ?? 'livetrace',
      maxLen: positive('maxLen', options.maxLen ?? 1000),
      ttl: positive('ttlMs', options.ttlMs ?? 3_600_000),
      maxPending: positive('maxPendingEvents', options.maxPendingEvents ?? 100_000),
      blockMs: positive('blockMs', options.blockMs ?? 2000),
      onError: options.onError,
      redis: options.redis ?? {},
    };
  }

  /** Key prefix of this hub's streams (other Redis users of a deployment, e.g. the server cluster, share it). */
  get prefix(): string {
    return this.#opts.prefix;
  }

  /** Extra ioredis options this hub was given (tls, username...). */
  get redisOptions(): object {
    return this.#opts.redis;
  }

  publish(traceId: string, events: readonly TraceEvent[]): void {
    if (this.#closed || events.length === 0) return;
    const set = this.#in.listeners.get(traceId);
    if (set) for (const l of set) safeCall(l, events);
    let box = this.#out.byTrace.get(traceId);
    if (!box) this.#out.byTrace.set(traceId, (box = []));
    for (const ev of events) box.push(ev);
    this.#out.count += events.length;
    if (this.#out.count > this.#opts.maxPending) this.#trim();
    if (!this.#out.queued) {
      this.#out.queued = true;
      setImmediate(() => {
        this.#out.queued = false;
        this.#kick();
      }).unref();
    }
  }

  subscribe(traceId: string, listener: HubListener): () => void {
    if (this.#closed) return () => undefined;
    let set = this.#in.listeners.get(traceId);
    if (!set) {
      this.#in.listeners.set(traceId, (set = new Set()));
      this.#in.unresolved.add(traceId);
      void this.#resolveCursors();
    }
    set.add(listener);
    return () => {
      const s = this.#in.listeners.get(traceId);
      if (!s || !s.delete(listener) || s.size > 0) return;
      this.#in.listeners.delete(traceId);
      this.#in.cursors.delete(traceId);
      this.#in.unresolved.delete(traceId);
    };
  }

  hasSubscribers(traceId: string): boolean {
    return this.#in.listeners.has(traceId);
  }

  /** Traces with listeners in this process (leak checks). */
  get size(): number {
    return this.#in.listeners.size;
  }

  /** CLIENT SETNAME of this hub's two connections: livetrace-hub-<prefix>-<random> (CLIENT LIST, fault tests). */
  get connectionName(): string {
    return `livetrace-hub-${this.#opts.prefix.replace(/[^A-Za-z0-9_:.-]/g, '_')}-${this.#origin}`;
  }

  /** Events waiting to reach Redis. */
  get pending(): number {
    return this.#out.count;
  }

  /** Resolves when everything published so far has reached Redis (or rejects after `timeoutMs`). */
  async flush(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#out.count > 0 || this.#out.flushing) {
      if (Date.now() > deadline)
        throw new StoreError(
          `redis hub: ${this.#out.count} event(s) not published within ${timeoutMs} ms: ${errorMessage(this.lastError)}`,
        );
      this.#kick();
      await (this.#out.flushing ?? new Promise((r) => setTimeout(r, 20)));
    }
  }

  /** Publishes what is pending (bounded wait), then closes both connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#in.listeners.clear();
    this.#in.cursors.clear();
    this.#in.unresolved.clear();
    if (this.#out.retryTimer) clearTimeout(this.#out.retryTimer);
    this.#out.retryTimer = undefined;
    await this.#conn.connecting?.catch(() => undefined);
    if (this.#out.count > 0 && this.#conn.pub?.status === 'ready') {
      await this.#send().catch(() => undefined);
    }
    await this.#out.flushing?.catch(() => undefined);
    this.#out.byTrace.clear();
    this.#out.recent.clear();
    this.#out.count = 0;
    const pub = this.#conn.pub;
    const sub = this.#conn.sub;
    this.#conn.pub = this.#conn.sub = undefined;
    sub?.disconnect();
    if (pub) await pub.quit().catch(() => pub.disconnect());
    for (const c of [pub, sub]) if (c) c.removeAllListeners('ready');
  }

  // ---- connections --------------------------------------------------------------------

  #connect(): Promise<void> {
    this.#conn.connecting ??= (async () => {
      const mod = await import('ioredis').catch((err: unknown) => {
        throw new StoreError(
          `RedisHub needs the optional dependency ioredis (npm install ioredis): ${errorMessage(err)}`,
          { cause: err },
        );
      });
      if (this.#closed) return;
      // replyMapping (RESP3 only; we speak RESP2) is left out: ioredis 6 declares it
      // `ReplyMappingMode | undefined` in RedisOptions but without undefined in its
      // constructors, so under exactOptionalPropertyTypes no RedisOptions value fits them.
      const { replyMapping: _resp3Only, ...extra } = (this.#opts.redis ?? {}) as RedisOptions;
      const base: Omit<RedisOptions, 'replyMapping'> = {
        protocol: 2,
        connectionName: this.connectionName,
        retryStrategy: (times) => backoffDelay(times, RECONNECT_BACKOFF),
        ...extra,
      };
      // Publishing fails fast while disconnected: the outbox (bounded) holds the events.
      const pub = new mod.Redis(this.url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      // The reader's XREAD waits for the connection and is re-sent after a reconnect.
      const sub = new mod.Redis(this.url, { ...base, maxRetriesPerRequest: null });
      for (const c of [pub, sub]) c.on('error', (err: Error) => this.#failed(err));
      pub.on('ready', () => {
        if (this.#conn.everReady) this.#republishRecent();
        this.#conn.everReady = true;
        this.#recovered();
        void this.#resolveCursors();
        this.#kick();
      });
      sub.on('ready', () => {
        this.#in.clientId = undefined;
      });
      this.#conn.pub = pub;
      this.#conn.sub = sub;
    })();
    return this.#conn.connecting;
  }

  /** Waits for the publishing connection (first connect, reconnect) for a bounded time. */
  #whenReady(): Promise<void> {
    const pub = this.#conn.pub;
    if (!pub || pub.status === 'ready') return Promise.resolve();
    if (pub.status === 'end' || pub.status === 'close')
      return Promise.reject(this.lastError ?? new Error('redis hub: connection closed'));
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        pub.off('ready', done);
        resolve();
      };
      const timer = setTimeout(() => {
        pub.off('ready', done);
        reject(this.lastError ?? new Error('redis hub: not connected'));
      }, 2000);
      timer.unref();
      pub.on('ready', done);
    });
  }

  /**
   * After a reconnect, Redis may have restarted and lost stream entries that readers had
   * not read yet; if those were a trace's last, nothing later would reveal the gap. Sending
   * each recent trace's last event again lets every reader see how far the trace is and
   * catch up from the store (a duplicate is dropped by seq).
   */
  #republishRecent(): void {
    for (const [traceId, ev] of this.#out.recent) {
      const box = this.#out.byTrace.get(traceId);
      if (box && box.length > 0 && box[0]!.seq <= ev.seq) continue;
      this.#out.byTrace.set(traceId, [ev, ...(box ?? [])]);
      this.#out.count++;
    }
  }

  #failed(err: Error): void {
    this.lastError = err;
    if (this.#conn.failing || this.#closed) return;
    this.#conn.failing = true;
    try {
      this.#opts.onError?.(
        new StoreError(`redis hub ${redactUrl(this.url)}: ${err.message}; retrying`, { cause: err }),
      );
    } catch {
      /* a listener's failure must not reach the hub */
    }
  }

  #recovered(): void {
    this.#conn.failing = false;
    this.#out.failures = 0;
  }

  // ---- publishing ---------------------------------------------------------------------

  #kick(): void {
    if (this.#closed || this.#out.flushing || this.#out.count === 0 || this.#out.retryTimer) return;
    this.#out.flushing = this.#connect()
      .then(() => this.#whenReady())
      .then(() => this.#send())
      .catch((err: unknown) => {
        this.#failed(err instanceof Error ? err : new Error(String(err)));
        const delay = backoffDelay(++this.#out.failures, PUBLISH_BACKOFF);
        this.#out.retryTimer = setTimeout(() => {
          this.#out.retryTimer = undefined;
          this.#kick();
        }, delay);
        this.#out.retryTimer.unref();
      })
      .finally(() => {
        this.#out.flushing = undefined;
        if (this.#out.count > 0 && !this.#out.retryTimer) this.#kick();
      });
  }

  async #send(): Promise<void> {
    const pub = this.#conn.pub;
    if (!pub || pub.status !== 'ready') throw this.lastError ?? new Error('redis hub: not connected yet');
    const batch = this.#out.byTrace;
    this.#out.byTrace = new Map();
    this.#out.count = 0;
    const failed = new Map<string, TraceEvent[]>();
    try {
      const p = pub.pipeline();
      const order: string[] = [];
      for (const [traceId, events] of batch) {
        const key = this.#key(traceId);
        p.xadd(key, 'MAXLEN', '~', this.#opts.maxLen, '*', 'o', this.#origin, 'e', JSON.stringify(events));
        // A finished trace's stream is only needed by readers a moment behind.
        const done = events[events.length - 1]!.type === 'complete';
        p.pexpire(key, done ? Math.min(this.#opts.ttl, 60_000) : this.#opts.ttl);
        order.push(traceId);
      }
      // A pipeline caught in a reconnect must not hold the outbox forever: past the
      // timeout it counts as failed and is sent again (subscribers drop duplicates).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exec = p.exec();
      exec.catch(() => undefined);
      const results =
        (await Promise.race([
          exec,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`redis hub: XADD not acknowledged within ${SEND_TIMEOUT_MS} ms`)),
              SEND_TIMEOUT_MS,
            );
            timer.unref();
          }),
        ]).finally(() => clearTimeout(timer))) ?? [];
      order.forEach((traceId, i) => {
        if (results[i * 2]?.[0]) failed.set(traceId, batch.get(traceId)!);
      });
      for (const [traceId, events] of batch) {
        if (failed.has(traceId)) continue;
        this.#out.recent.delete(traceId);
        this.#out.recent.set(traceId, events[events.length - 1]!);
        if (this.#out.recent.size > RECENT_TRACES) this.#out.recent.delete(this.#out.recent.keys().next().value!);
      }
      if (failed.size > 0) throw results.find((r) => r[0])![0]!;
    } catch (err) {
      // Put back in front of anything published meanwhile: per-trace order is kept. A
      // batch may reach the stream twice (reply lost); subscribers drop duplicate seqs.
      const back = failed.size > 0 ? failed : batch;
      for (const [traceId, events] of this.#out.byTrace) back.set(traceId, [...(back.get(traceId) ?? []), ...events]);
      this.#out.byTrace = back;
      this.#out.count = 0;
      for (const evs of back.values()) this.#out.count += evs.length;
      if (this.#out.count > this.#opts.maxPending) this.#trim();
      throw err;
    }
  }

  /** Drops the oldest pending events until under the bound (subscribers see a gap and read the store). */
  #trim(): void {
    for (const evs of this.#out.byTrace.values()) {
      if (this.#out.count <= this.#opts.maxPending) break;
      const n = Math.min(evs.length - 1, this.#out.count - this.#opts.maxPending);
      if (n <= 0) continue;
      evs.splice(0, n);
      this.#out.count -= n;
      this.droppedEvents += n;
    }
  }

  // ---- reading ------------------------------------------------------------------------

  /** Starts each newly subscribed trace at its stream's current last entry. */
  async #resolveCursors(): Promise<void> {
    if (this.#in.unresolved.size === 0 || this.#closed) return;
    try {
      await this.#connect();
      const pub = this.#conn.pub;
      if (!pub || pub.status !== 'ready') return; // retried on 'ready'
      const ids = [...this.#in.unresolved];
      const p = pub.pipeline();
      for (const id of ids) p.xrevrange(this.#key(id), '+', '-', 'COUNT', 1);
      const results = (await p.exec()) ?? [];
      ids.forEach((id, i) => {
        const [err, entries] = results[i] ?? [new Error('no reply')];
        if (err || !this.#in.unresolved.has(id)) return;
        this.#in.unresolved.delete(id);
        const last = (entries as [string, string[]][])[0];
        this.#in.cursors.set(id, last ? last[0] : START);
        // The newest batch tells the subscriber how far the trace already is: whatever it
        // missed between its store read and now shows up as a gap it fills from the store,
        // even if the writer has finished and nothing else will be published.
        if (last) this.#deliverEntry(id, last[1]);
      });
    } catch (err) {
      this.#failed(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#wakeReader();
  }

  #wakeReader(): void {
    if (this.#closed || this.#in.cursors.size === 0) return;
    if (!this.#in.running) {
      this.#in.running = true;
      void this.#readLoop().finally(() => {
        this.#in.running = false;
        if (this.#in.cursors.size > 0 && !this.#closed) this.#wakeReader();
      });
      return;
    }
    // The reader is blocked on the old set of streams: interrupt it.
    const id = this.#in.clientId;
    if (id !== undefined && this.#conn.pub?.status === 'ready')
      this.#conn.pub.client('UNBLOCK', id).catch(() => undefined);
  }

  async #readLoop(): Promise<void> {
    await this.#connect();
    while (!this.#closed && this.#in.cursors.size > 0) {
      const sub = this.#conn.sub;
      if (!sub) return;
      try {
        if (this.#in.clientId === undefined) this.#in.clientId = await sub.client('ID');
        const traces = [...this.#in.cursors.keys()];
        if (traces.length === 0) return;
        const reply = (await sub.call(
          'XREAD',
          'COUNT',
          1000,
          'BLOCK',
          this.#opts.blockMs,
          'STREAMS',
          ...traces.map((t) => this.#key(t)),
          ...traces.map((t) => this.#in.cursors.get(t)!),
        )) as [string, [string, string[]][]][] | null;
        if (reply) this.#deliver(reply);
      } catch (err) {
        if (this.#closed) return;
        this.#failed(err instanceof Error ? err : new Error(String(err)));
        await new Promise((r) => setTimeout(r, 200).unref());
      }
    }
  }

  #deliver(reply: [string, [string, string[]][]][]): void {
    const skip = this.#opts.prefix.length + 1;
    for (const [key, entries] of reply) {
      const traceId = key.slice(skip);
      for (const [entryId, fields] of entries) {
        if (!this.#in.cursors.has(traceId)) break; // unsubscribed meanwhile
        this.#in.cursors.set(traceId, entryId);
        this.#deliverEntry(traceId, fields);
      }
    }
  }

  #deliverEntry(traceId: string, fields: readonly string[]): void {
    let origin: string | undefined;
    let payload: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'o') origin = fields[i + 1];
      else if (fields[i] === 'e') payload = fields[i + 1];
    }
    if (origin === this.#origin || payload === undefined) return; // delivered in-process already
    let events: TraceEvent[];
    try {
      events = JSON.parse(payload) as TraceEvent[];
    } catch {
      return; // not ours: subscribers fill any gap from the store
    }
    const set = this.#in.listeners.get(traceId);
    if (set) for (const l of [...set]) safeCall(l, events);
  }

  #key(traceId: string): string {
    return `${this.#opts.prefix}:${traceId}`;
  }
}

function safeCall(listener: HubListener, events: readonly TraceEvent[]): void {
  try {
    listener(events);
  } catch {
    /* a subscriber's failure never reaches the writer */
  }
}

function positive(name: string, v: number): number {
  return intOption(`new RedisHub() option ${name}`, v);
}
