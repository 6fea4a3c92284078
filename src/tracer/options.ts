// Tracer options, their defaults and their validation (errors name the option, the
// allowed range, the value and its type).
import { InvalidArgumentError, shownValue } from '../core/errors.js';
import type { PriceTable } from '../core/prices.js';
import type { EventHub } from '../hub/hub.js';
import type { TraceStore } from '../store/store.js';
import { intOption } from '../core/int-option.js';

export interface Limits {
  /** Approximate JSON size budget of one captured value (input, output, log data...). Default 64 KiB. */
  maxValueSize: number;
  /** Maximum nesting depth of a captured value. Default 32. */
  maxDepth: number;
  /** Live events buffered per subscriber before it reads from the store instead. Default 1024. */
  subscriberBuffer: number;
  /** Unstored events kept per trace while the store fails; past it new events are dropped and reported. Default 1,000,000. */
  maxPendingEvents: number;
  /** Labels, icons, space labels, item titles, agent names, error names. Longer: truncated with the value marker. Default 1024 characters. */
  maxLabelLength: number;
  /** Log messages, error messages, descriptions, cancel reasons. Default 16384 characters. */
  maxMessageLength: number;
  /** Metadata and value object keys, space keys, createdBy/teamId/tenantId. Longer: truncated, keeping a hash of the whole key. Default 256 characters. */
  maxKeyLength: number;
}

export interface FlushOptions {
  /** Longest time an event waits before its batch is written, in ms. Default 50. */
  intervalMs: number;
  /** Most events per store append. Default 2000. */
  maxBatch: number;
  /** Longest retry delay after a store failure, in ms. Default 5000. */
  maxRetryMs: number;
}

export interface TracerOptions {
  /** Where events are persisted. Default: FileStore under $LIVETRACE_DIR or ./.livetrace. */
  store?: TraceStore | undefined;
  /** Carries live events to subscribers. Default: an in-process LocalHub. */
  hub?: EventHub | undefined;
  /**
   * What `close()` leaves open. By default `tracer.close()` closes the store and the hub it
   * was given (so a process can exit on its own); mark one `true` here when something else
   * still uses it (several tracers on one hub, a store you close yourself).
   */
  shared?: SharedOptions | undefined;
  /** Throw TraceClosedError on calls to released/sealed traces instead of ignoring them. */
  strict?: boolean | undefined;
  limits?: Partial<Limits> | undefined;
  flush?: Partial<FlushOptions> | undefined;
  /** What close() does with traces still running: mark them cancelled ("shutdown"), or keep them resumable. */
  onClose?: 'cancel' | 'keep' | undefined;
  /** Writer identity for the store's single-writer lease. Default: host:pid:random. */
  owner?: string | undefined;
  /** Flush pending events on process `beforeExit`. Default true. */
  exitHook?: boolean | undefined;
  /**
   * Model prices keyed by model name (`{ input_per_million, output_per_million, currency }`),
   * merged over the dated default table (DEFAULT_PRICES); they turn usage into a cost.
   */
  prices?: PriceTable | undefined;
}

/** Resources given to a Tracer that its close() must not close. */
export interface SharedOptions {
  /** The store outlives this tracer: close() flushes into it but does not close it. */
  store?: boolean;
  /** The hub outlives this tracer: close() does not close it. */
  hub?: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxValueSize: 64 * 1024,
  maxDepth: 32,
  subscriberBuffer: 1024,
  maxPendingEvents: 1_000_000,
  maxLabelLength: 1024,
  maxMessageLength: 16 * 1024,
  maxKeyLength: 256,
};
export const DEFAULT_FLUSH: FlushOptions = { intervalMs: 50, maxBatch: 2000, maxRetryMs: 5000 };

function positiveInt(name: string, value: unknown, min = 1): number {
  return intOption(`option ${name}`, value, undefined, { min });
}

export function resolveLimits(limits: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  positiveInt('limits.maxValueSize', out.maxValueSize, 16);
  positiveInt('limits.maxDepth', out.maxDepth);
  positiveInt('limits.subscriberBuffer', out.subscriberBuffer);
  positiveInt('limits.maxPendingEvents', out.maxPendingEvents);
  positiveInt('limits.maxLabelLength', out.maxLabelLength, 16);
  positiveInt('limits.maxMessageLength', out.maxMessageLength, 16);
  positiveInt('limits.maxKeyLength', out.maxKeyLength, 32);
  return out;
}

export function resolveFlush(flush: Partial<FlushOptions> = {}): FlushOptions {
  const out = { ...DEFAULT_FLUSH, ...flush };
  positiveInt('flush.intervalMs', out.intervalMs, 0);
  positiveInt('flush.maxBatch', out.maxBatch);
  positiveInt('flush.maxRetryMs', out.maxRetryMs);
  return out;
}

export function resolveShared(shared: unknown): Required<SharedOptions> {
  if (shared === undefined) return { store: false, hub: false };
  if (shared === null || typeof shared !== 'object' || Array.isArray(shared)) {
    throw new InvalidArgumentError(
      `option shared must be an object like { hub: true }, got ${shared === null ? 'null' : Array.isArray(shared) ? 'an array' : typeof shared}`,
    );
  }
  const out = { store: false, hub: false };
  for (const key of ['store', 'hub'] as const) {
    const v = (shared as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean')
      throw new InvalidArgumentError(`option shared.${key} must be a boolean, got ${shownValue(v)}`);
    out[key] = v;
  }
  return out;
}
