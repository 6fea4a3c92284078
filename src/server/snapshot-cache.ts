// Snapshots of finished traces, kept between requests. A finished trace is sealed: its
// snapshot (built by tracer.read(), i.e. the shared reducer) changes only if the trace is
// archived, removed or re-imported, which its info shows; so each request checks the info
// (one small read) instead of rebuilding the whole event log. Running traces always go to
// tracer.read(). A snapshot handed out from (or into) the cache is `cached()`: the server
// serves its views as prebuilt bytes (finished-views.ts).
import type { TraceInfo, TraceSnapshot } from '../core/types.js';
import type { Tracer } from '../tracer/tracer.js';
import { isActive } from '../core/status.js';

export interface SnapshotCacheOptions {
  /** Most traces kept. Default 32. */
  maxTraces?: number;
  /** Most events (sum of events_count) represented by the kept snapshots. Default 200,000. */
  maxEvents?: number;
}

interface Entry {
  stamp: string;
  snapshot: TraceSnapshot;
}

function finished(info: TraceInfo): boolean {
  return !isActive(info.status);
}

function stampOf(info: TraceInfo): string {
  return `${info.created_at}:${info.updated_at}:${info.last_seq ?? ''}:${info.status}:${info.archived}:${info.archived_at ?? ''}`;
}

export class SnapshotCache {
  readonly #maxTraces: number;
  readonly #maxEvents: number;
  /** Insertion order is recency order (a hit re-inserts). */
  readonly #entries = new Map<string, Entry>();
  /** Snapshots that were ever kept here: sealed, so views built from them stay valid. */
  readonly #kept = new WeakSet<TraceSnapshot>();
  #events = 0;
  hits = 0;
  misses = 0;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#maxTraces = options.maxTraces ?? 32;
    this.#maxEvents = options.maxEvents ?? 200_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Same contract as tracer.read(id). Callers must not mutate the result (it may be shared). */
  async read(tracer: Tracer, id: string): Promise<TraceSnapshot | undefined> {
    const info = await tracer.info(id);
    if (!info || !finished(info)) {
      this.#drop(id);
      return tracer.read(id);
    }
    const stamp = stampOf(info);
    const hit = this.#entries.get(id);
    if (hit && hit.stamp === stamp) {
      this.hits++;
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit.snapshot;
    }
    this.misses++;
    this.#drop(id);
    const snapshot = await tracer.read(id);
    if (snapshot && finished(snapshot.info) && snapshot.events_count <= this.#maxEvents) {
      this.#entries.set(id, { stamp, snapshot });
      this.#kept.add(snapshot);
      this.#events += snapshot.events_count;
      for (const [oldId] of this.#entries) {
        if (this.#entries.size <= this.#maxTraces && this.#events <= this.#maxEvents) break;
        this.#drop(oldId);
      }
    }
    return snapshot;
  }

  /** True if `snapshot` came from this cache (a finished trace's, at the stamp it was read at). */
  cached(snapshot: TraceSnapshot): boolean {
    return this.#kept.has(snapshot);
  }

  clear(): void {
    this.#entries.clear();
    this.#events = 0;
  }

  #drop(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    this.#events -= e.snapshot.events_count;
  }
}
