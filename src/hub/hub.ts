// The event hub: the one process-level service that carries live events from writers to
// subscribers. The tracer publishes every event once; a hub never stores, it only
// delivers. Subscribers that miss something (buffer full, reconnect) catch up from the
// store by seq, so a hub may drop but must never reorder within a trace.
import type { TraceEvent } from '../core/types.js';

export type HubListener = (events: readonly TraceEvent[]) => void;

export interface EventHub {
  /** Delivers events of one trace (ascending seq) to its listeners. Never throws. */
  publish(traceId: string, events: readonly TraceEvent[]): void;
  /** Registers a listener; returns the function that removes it. */
  subscribe(traceId: string, listener: HubListener): () => void;
  /** Cheap check used on the hot path to skip publishing when nobody listens. */
  hasSubscribers(traceId: string): boolean;
  /**
   * True if the hub carries events to other processes (then the tracer publishes even
   * without local listeners).
   */
  readonly remote: boolean;
  /** Removes every listener and closes connections. Idempotent. */
  close(): Promise<void>;
}
