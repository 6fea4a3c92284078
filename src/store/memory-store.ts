// In-memory store: for tests and ephemeral use. A first-class implementation of the
// interface (it passes the conformance suite), like OpenTelemetry's InMemorySpanExporter.
import { StoreConflictError, TraceLockedError, TraceNotFoundError, TraceRunningError } from '../core/errors.js';
import type { ListQuery, ListResult, TraceEvent, TraceInfo } from '../core/types.js';
import type { ReadOptions, TraceStore } from './store.js';
import {
  afterCursor,
  afterPos,
  compareNewestFirst,
  comparePos,
  decodeCursor,
  decodeSortCursor,
  listLimit,
  matchesQuery,
  posOf,
  toPage,
  toSortedPage,
} from './store.js';
import { batchTokens, matchesPlan, searchPlan } from '../core/search.js';
import { TextIndex } from './text-index.js';
import { isActive } from '../core/status.js';
import { CompactLog } from '../core/compact-log.js';

interface Entry {
  info: TraceInfo;
  /** Kept encoded (core/compact-log.ts): a memory store lives as long as its process. */
  events: CompactLog;
  owner?: string;
}

export class MemoryStore implements TraceStore {
  readonly name = 'memory';
  readonly #traces = new Map<string, Entry>();
  /** Words of each trace's events (postings): `q` never scans the events. */
  readonly #text = new TextIndex();

  async append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    let entry = this.#traces.get(traceId);
    const last = entry ? entry.events.length : 0;
    if (events.length > 0 && events[0]!.seq !== last + 1)
      throw new StoreConflictError(traceId, last + 1, events[0]!.seq);
    if (!entry) {
      entry = { info: { ...info }, events: new CompactLog(traceId) };
      this.#traces.set(traceId, entry);
    }
    entry.events.pushAllCompact(events);
    if (events.length > 0) this.#text.add(traceId, batchTokens(events));
    entry.info = {
      ...info,
      archived: entry.info.archived,
      ...(entry.info.archived_at !== undefined ? { archived_at: entry.info.archived_at } : {}),
    };
  }

  async read(traceId: string, options: ReadOptions = {}): Promise<TraceEvent[]> {
    const entry = this.#traces.get(traceId);
    if (!entry) return [];
    const since = Math.max(0, options.since ?? 0);
    const end = options.limit === undefined ? undefined : since + options.limit;
    return entry.events.slice(since, end);
  }

  async info(traceId: string): Promise<TraceInfo | undefined> {
    const entry = this.#traces.get(traceId);
    return entry ? { ...entry.info } : undefined;
  }

  async list(query: ListQuery = {}): Promise<ListResult> {
    const limit = listLimit(query);
    const plan = searchPlan(query);
    if (!plan.plain) {
      const at = decodeSortCursor(query.cursor, plan.sort);
      const ids = plan.terms.length > 0 ? this.#text.match(plan.terms) : this.#traces.keys();
      const found: TraceInfo[] = [];
      for (const id of ids) {
        const info = this.#traces.get(id)?.info;
        if (!info || !matchesQuery(info, query) || !matchesPlan(info, plan)) continue;
        if (at && !afterPos(posOf(info, plan), at, plan)) continue;
        found.push(info);
      }
      const cmp = comparePos(plan);
      found.sort((a, b) => cmp(posOf(a, plan), posOf(b, plan)));
      return toSortedPage(
        found.slice(0, limit + 1).map((i) => ({ ...i })),
        limit,
        plan,
      );
    }
    const cursor = decodeCursor(query.cursor);
    const all = [...this.#traces.values()]
      .map((e) => e.info)
      .filter((i) => matchesQuery(i, query) && (!cursor || afterCursor(i, cursor)));
    all.sort(compareNewestFirst);
    return toPage(
      all.slice(0, limit + 1).map((i) => ({ ...i })),
      limit,
    );
  }

  async remove(traceId: string): Promise<boolean> {
    this.#text.remove(traceId);
    return this.#traces.delete(traceId);
  }

  async archive(traceId: string): Promise<void> {
    const entry = this.#traces.get(traceId);
    if (!entry) throw new TraceNotFoundError(traceId);
    if (isActive(entry.info.status)) throw new TraceRunningError(traceId, 'archive');
    entry.info = { ...entry.info, archived: true, archived_at: Date.now() };
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    const entry = this.#traces.get(traceId);
    if (!entry) return;
    if (entry.owner !== undefined && entry.owner !== owner) throw new TraceLockedError(traceId, entry.owner);
    entry.owner = owner;
  }

  async releaseLease(traceId: string, owner: string): Promise<void> {
    const entry = this.#traces.get(traceId);
    if (entry && entry.owner === owner) delete entry.owner;
  }

  async close(): Promise<void> {}
}
