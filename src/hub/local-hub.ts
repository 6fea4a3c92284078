// In-process hub: synchronous fan-out over a map of listener sets. No timer, no task:
// when a trace has no listeners it has no entry here.
import type { TraceEvent } from '../core/types.js';
import type { EventHub, HubListener } from './hub.js';

export class LocalHub implements EventHub {
  readonly remote = false;
  readonly #listeners = new Map<string, Set<HubListener>>();
  /** Called when a listener throws; the hub itself never throws into a writer. */
  onListenerError: ((err: unknown) => void) | undefined;

  publish(traceId: string, events: readonly TraceEvent[]): void {
    const set = this.#listeners.get(traceId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(events);
      } catch (err) {
        this.onListenerError?.(err);
      }
    }
  }

  subscribe(traceId: string, listener: HubListener): () => void {
    let set = this.#listeners.get(traceId);
    if (!set) {
      set = new Set();
      this.#listeners.set(traceId, set);
    }
    set.add(listener);
    return () => {
      const s = this.#listeners.get(traceId);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.#listeners.delete(traceId);
    };
  }

  hasSubscribers(traceId: string): boolean {
    return this.#listeners.has(traceId);
  }

  /** Number of traces with listeners (leak checks). */
  get size(): number {
    return this.#listeners.size;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
