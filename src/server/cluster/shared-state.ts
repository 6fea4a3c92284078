// What several `livetrace serve` instances share besides the store: in Redis (the hub's
// server), under the hub's key prefix, every key with a TTL:
//   <prefix>:cluster:instance:<owner>  -> the instance's internal URL (who holds a lease, reachable where)
//   <prefix>:cluster:answer:<sha256>   -> the answer of an idempotent write (scope + key)
//   <prefix>:cluster:wait:<trace id>   -> hash span id -> OTLP span waiting for its parent
// One ioredis connection per instance (ioredis is an optional peer, imported on first use).
import { createHash } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { StoreError, errorMessage } from '../../core/errors.js';
import { backoffDelay } from '../../core/backoff.js';
import type { ReceivedSpan } from '../otlp-decode.js';

/** The answer of an idempotent write as it was sent, and the digest of the request it answered. */
export interface StoredAnswer {
  digest: string;
  status: number;
  body: unknown;
}

export interface SharedState {
  /** Announces `owner` (a Tracer's lease owner) at `url` for `ttlMs`. */
  announce(owner: string, url: string, ttlMs: number): Promise<void>;
  /** Forgets an announcement (on shutdown). */
  withdraw(owner: string): Promise<void>;
  /** The URL an owner announced, or undefined (not a server instance, or gone). */
  addressOf(owner: string): Promise<string | undefined>;
  getAnswer(scope: string, key: string): Promise<StoredAnswer | undefined>;
  putAnswer(scope: string, key: string, answer: StoredAnswer, ttlMs: number): Promise<void>;
  /** Adds spans waiting for their parent span (kept `ttlMs` after the last change). */
  addWaiting(traceId: string, spans: readonly ReceivedSpan[], ttlMs: number): Promise<void>;
  removeWaiting(traceId: string, spanIds: readonly string[]): Promise<void>;
  waiting(traceId: string): Promise<ReceivedSpan[]>;
  clearWaiting(traceId: string): Promise<void>;
  close(): Promise<void>;
}

export interface RedisSharedStateOptions {
  url: string;
  /** Key prefix (the hub's). Default "livetrace". */
  prefix?: string;
  /** Extra ioredis options. */
  redis?: object;
}

export class RedisSharedState implements SharedState {
  readonly #url: string;
  readonly #prefix: string;
  readonly #extra: object;
  #client: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(options: RedisSharedStateOptions) {
    this.#url = options.url;
    this.#prefix = `${options.prefix ?? 'livetrace'}:cluster`;
    this.#extra = options.redis ?? {};
  }

  async announce(owner: string, url: string, ttlMs: number): Promise<void> {
    await (await this.#redis()).set(`${this.#prefix}:instance:${owner}`, url, 'PX', ttlMs);
  }

  async withdraw(owner: string): Promise<void> {
    await (await this.#redis()).del(`${this.#prefix}:instance:${owner}`);
  }

  async addressOf(owner: string): Promise<string | undefined> {
    return (await (await this.#redis()).get(`${this.#prefix}:instance:${owner}`)) ?? undefined;
  }

  async getAnswer(scope: string, key: string): Promise<StoredAnswer | undefined> {
    const raw = await (await this.#redis()).get(this.#answerKey(scope, key));
    return raw === null ? undefined : (JSON.parse(raw) as StoredAnswer);
  }

  async putAnswer(scope: string, key: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    await (await this.#redis()).set(this.#answerKey(scope, key), JSON.stringify(answer), 'PX', ttlMs);
  }

  async addWaiting(traceId: string, spans: readonly ReceivedSpan[], ttlMs: number): Promise<void> {
    if (spans.length === 0) return;
    const k = this.#waitKey(traceId);
    const fields: string[] = [];
    for (const s of spans) fields.push(s.spanId, JSON.stringify(s));
    await (
      await this.#redis()
    )
      .multi()
      .hset(k, ...fields)
      .pexpire(k, ttlMs)
      .exec();
  }

  async removeWaiting(traceId: string, spanIds: readonly string[]): Promise<void> {
    if (spanIds.length === 0) return;
    await (await this.#redis()).hdel(this.#waitKey(traceId), ...spanIds);
  }

  async waiting(traceId: string): Promise<ReceivedSpan[]> {
    const all = await (await this.#redis()).hvals(this.#waitKey(traceId));
    return all.map((v) => JSON.parse(v) as ReceivedSpan);
  }

  async clearWaiting(traceId: string): Promise<void> {
    await (await this.#redis()).del(this.#waitKey(traceId));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    if (c) await c.quit().catch(() => c.disconnect());
  }

  #answerKey(scope: string, key: string): string {
    return `${this.#prefix}:answer:${createHash('sha256').update(scope).update('\0').update(key).digest('base64url')}`;
  }

  #waitKey(traceId: string): string {
    return `${this.#prefix}:wait:${traceId}`;
  }

  #redis(): Promise<RedisClient> {
    if (this.#closed) return Promise.reject(new StoreError('the cluster state is closed'));
    this.#client ??= (async () => {
      const mod = await import('ioredis').catch((err: unknown) => {
        throw new StoreError(
          `several servers share state in Redis: install the optional dependency ioredis: ${errorMessage(err)}`,
          { cause: err },
        );
      });
      // replyMapping left out: see RedisHub#connect (ioredis 6 types, exactOptionalPropertyTypes).
      const { replyMapping: _resp3Only, ...extra } = this.#extra as RedisOptions;
      const options: Omit<RedisOptions, 'replyMapping'> = {
        protocol: 2,
        connectionName: `livetrace-cluster-${this.#prefix.replace(/[^A-Za-z0-9_:.-]/g, '_')}`,
        retryStrategy: (times) => backoffDelay(times, { initialMs: 100, maxMs: 2000 }),
        // A command waits at most this long for a (re)connection: a write then fails instead of hanging.
        maxRetriesPerRequest: 2,
        commandTimeout: 5000,
        ...extra,
      };
      const client = new mod.Redis(this.#url, options);
      client.on('error', () => undefined); // reconnects by itself; commands fail and are reported by callers
      return client;
    })();
    return this.#client;
  }
}
