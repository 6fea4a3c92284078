// Options of the API plugin, their defaults and validation.
import { InvalidArgumentError } from '../core/errors.js';
import type { PriceTable } from '../core/prices.js';
import type { Tracer } from '../tracer/tracer.js';
import type { TokenAuth, TokenEntry } from './auth.js';
import type { HeavyWork, HeavyWorkOptions } from './heavy-work.js';
import type { SnapshotCacheOptions } from './snapshot-cache.js';
import type { SseOptions, SseRegistry } from './sse-stream.js';
import type { TraceWriter, WriteApiOptions } from './write-api.js';
import { intOption } from '../core/int-option.js';
import type { Cluster } from './cluster/cluster.js';

export interface LivetraceApiOptions {
  /** The tracer whose traces are served (loaded here or only in its store). */
  tracer: Tracer;
  /** Bearer tokens, each mapped to a tenant (and optionally a team). Absent: open API. */
  tokens?: readonly TokenEntry[] | TokenAuth;
  /** Origins allowed by CORS (exact strings, or "*"). Default: none (CORS off). */
  cors?: readonly string[];
  /** Largest request body in bytes (bigger: 413). Default 65536. */
  bodyLimit?: number;
  /** SSE heartbeat comment interval in ms. Default 15000. */
  heartbeatMs?: number;
  /** SSE: a client whose socket stays full this long is disconnected (it resumes by Last-Event-ID). Default 30000. */
  stallTimeoutMs?: number;
  /** SSE `retry:` hint for EventSource reconnects, in ms. Default 2000. */
  retryMs?: number;
  /** Poll interval in ms for traces written by another process without a shared hub. Default 250. */
  pollMs?: number;
  /** Close the tracer when the Fastify instance closes. Default false (the caller owns it). */
  closeTracer?: boolean;
  /** Snapshots of finished store-only traces kept between requests; false: rebuild on every request. Default { maxTraces: 32, maxEvents: 200000 }. */
  snapshotCache?: SnapshotCacheOptions | false;
  /**
   * A price table (as `resolvePrices` returns it): nodes whose usage has no cost get one
   * from it in the snapshots the API serves (traces written without a price for their model).
   */
  prices?: PriceTable;
  /**
   * Bound of heavy work (snapshot rebuilds, exports): `{ concurrency: 4, queue: 16 }` by
   * default; beyond, 503 LT_ERR_BUSY with Retry-After. A HeavyWork instance may be shared.
   */
  heavyWork?: HeavyWorkOptions | HeavyWork;
  /** Registry of open SSE streams (exposed for shutdown and tests). Default: a new one. */
  streams?: SseRegistry;
  /** The live HTTP write API (`POST /traces`, `POST /traces/:id/ops`): its options, a shared TraceWriter, or false to turn it off. Default on. */
  write?: WriteApiOptions | TraceWriter | false;
  /** Largest body of a write (ops batch, OTLP export) in bytes (bigger: 413). Default 1048576. */
  writeBodyLimit?: number;
  /** Several servers on one store and Redis: writes of a trace go to the instance holding it (docs/deploy.md). */
  cluster?: Cluster;
  /** Traces the write API must keep loaded while idle (the OTLP receiver assembles them). */
  keepLoaded?: (traceId: string) => boolean;
}

export interface ResolvedApiOptions {
  bodyLimit: number;
  writeBodyLimit: number;
  sse: SseOptions;
}

function positive(name: string, value: unknown, fallback: number): number {
  return intOption(`option ${name}`, value, fallback);
}

export function resolveApiOptions(o: LivetraceApiOptions): ResolvedApiOptions {
  if (!o || typeof o !== 'object' || !o.tracer)
    throw new InvalidArgumentError('livetrace API: option tracer is required (a Tracer instance)');
  return {
    bodyLimit: positive('bodyLimit', o.bodyLimit, 64 * 1024),
    writeBodyLimit: positive('writeBodyLimit', o.writeBodyLimit, 1024 * 1024),
    sse: {
      heartbeatMs: positive('heartbeatMs', o.heartbeatMs, 15_000),
      stallTimeoutMs: positive('stallTimeoutMs', o.stallTimeoutMs, 30_000),
      retryMs: positive('retryMs', o.retryMs, 2000),
      pollMs: positive('pollMs', o.pollMs, 250),
    },
  };
}
