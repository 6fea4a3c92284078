// The store interface every backend implements (memory, file, SQLite, PostgreSQL, Redis).
// The event log is the source of truth; info is a summary the tracer derives with the
// reducer and hands over with each batch so listings never read event logs.
import { InvalidArgumentError } from '../core/errors.js';
import type { ListQuery, ListResult, ListSort, TraceEvent, TraceInfo } from '../core/types.js';
import { sortValue, type SearchPlan } from '../core/search.js';

export interface ReadOptions {
  /** Exclusive: return events with seq > since. Default 0. */
  since?: number | undefined;
  /** At most this many events. Default: all. */
  limit?: number | undefined;
}

export interface TraceStore {
  /** Human-readable name for messages (`file:/path`, `memory`, ...). */
  readonly name: string;

  /**
   * Appends a batch. `events` are contiguous and must continue the stored log exactly
   * (first seq = stored last seq + 1), else the store rejects with StoreConflictError and
   * writes nothing. `info` is the trace's info after the batch; the store saves it with the
   * batch (atomically where it can). An empty batch only updates info.
   */
  append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void>;

  /** Events in seq order, after `since`. Unknown trace: []. Works on archived traces. */
  read(traceId: string, options?: ReadOptions): Promise<TraceEvent[]>;

  /** Stored info, or undefined. */
  info(traceId: string): Promise<TraceInfo | undefined>;

  /** Newest first (created_at desc, then id desc), filtered, paged by an opaque cursor. */
  list(query?: ListQuery): Promise<ListResult>;

  /** Deletes everything of a trace. Resolves true if something was removed. */
  remove(traceId: string): Promise<boolean>;

  /**
   * Marks a finished trace archived (and compresses it where the store can). Reading,
   * listing and subscribing keep working. Unknown trace: TraceNotFoundError.
   */
  archive(traceId: string): Promise<void>;

  /**
   * Optional single-writer guard: take the write lease of a trace for `owner`.
   * Rejects with TraceLockedError while another live owner holds it.
   */
  acquire?(traceId: string, owner: string): Promise<void>;
  /** Gives the lease back. */
  releaseLease?(traceId: string, owner: string): Promise<void>;

  /** Closes handles and pools. Idempotent. */
  close(): Promise<void>;
}

/** Opaque cursor helpers shared by stores: base64url of JSON `[created_at, id]`. */
export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

/** The position of a cursor; a cursor that is not one of ours is an InvalidArgumentError (never page 1). */
export function decodeCursor(cursor: string | undefined): [number, string] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (typeof cursor === 'string' && /^[A-Za-z0-9_-]{1,512}$/.test(cursor)) {
    try {
      const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
      if (
        Array.isArray(v) &&
        v.length === 2 &&
        typeof v[0] === 'number' &&
        Number.isFinite(v[0]) &&
        typeof v[1] === 'string'
      )
        return [v[0], v[1]];
    } catch {
      /* fall through */
    }
  }
  throw new InvalidArgumentError(
    `cursor ${JSON.stringify(String(cursor).slice(0, 40))} is not a listing cursor: pass the next_cursor of a previous page`,
  );
}

/** True if `info` passes the filters of `q` (used by stores that filter in memory). */
export function matchesQuery(info: TraceInfo, q: ListQuery): boolean {
  if (q.status !== undefined) {
    const statuses = Array.isArray(q.status) ? q.status : [q.status];
    if (!statuses.includes(info.status)) return false;
  }
  if (q.createdBy !== undefined && info.created_by !== q.createdBy) return false;
  if (q.teamId !== undefined && info.team_id !== q.teamId) return false;
  if (q.tenantId !== undefined && info.tenant_id !== q.tenantId) return false;
  if (q.from !== undefined && info.created_at < q.from) return false;
  if (q.to !== undefined && info.created_at > q.to) return false;
  return true;
}

/** Sort order of listings: newest first, ties by id descending. */
export function compareNewestFirst(a: TraceInfo, b: TraceInfo): number {
  return b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** True if `info` comes strictly after the cursor position in listing order. */
export function afterCursor(info: TraceInfo, cursor: [number, string]): boolean {
  return info.created_at < cursor[0] || (info.created_at === cursor[0] && info.id < cursor[1]);
}

/**
 * One page of a listing from matches in listing order (at least `limit + 1` of them when
 * there is a next page): the first `limit`, and the cursor after the last when more follow.
 */
export function toPage(matches: readonly TraceInfo[], limit: number): ListResult {
  const traces = matches.slice(0, limit);
  const result: ListResult = { traces };
  if (matches.length > limit) {
    const last = traces[traces.length - 1]!;
    result.nextCursor = encodeCursor(last.created_at, last.id);
  }
  return result;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;

export function listLimit(q: ListQuery): number {
  const n = q.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(n) || n < 1) return DEFAULT_LIST_LIMIT;
  return Math.min(n, MAX_LIST_LIMIT);
}

// ---- sorted listings (search) ---------------------------------------------------------------

/** A position in a sorted listing: sort value, created_at, id (compared in that order). */
export interface SortPos {
  v: number;
  c: number;
  id: string;
}

export function posOf(info: TraceInfo, plan: SearchPlan): SortPos {
  return { v: sortValue(info, plan.field), c: info.created_at, id: info.id };
}

/**
 * A cursor for `plan`'s order: the plain `-created_at` one is the listing cursor
 * (`[created_at, id]`); any other order's is `[sort, value, created_at, id]`.
 */
export function encodeSortCursor(pos: SortPos, sort: ListSort): string {
  if (sort === '-created_at') return encodeCursor(pos.c, pos.id);
  return Buffer.from(JSON.stringify([sort, pos.v, pos.c, pos.id])).toString('base64url');
}

/** A cursor's position; a cursor of another order (or none of ours) is an InvalidArgumentError. */
export function decodeSortCursor(cursor: string | undefined, sort: ListSort): SortPos | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (sort === '-created_at') {
    let pos: [number, string] | undefined;
    try {
      pos = decodeCursor(cursor);
    } catch (err) {
      throw otherSort(cursor, sort, err);
    }
    return pos && { v: pos[0], c: pos[0], id: pos[1] };
  }
  let v: unknown;
  try {
    if (/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    /* not ours */
  }
  if (
    Array.isArray(v) &&
    v.length === 4 &&
    v[0] === sort &&
    typeof v[1] === 'number' &&
    Number.isFinite(v[1]) &&
    typeof v[2] === 'number' &&
    Number.isFinite(v[2]) &&
    typeof v[3] === 'string'
  )
    return { v: v[1], c: v[2], id: v[3] };
  throw otherSort(cursor, sort);
}

function otherSort(cursor: string, sort: ListSort, cause?: unknown): InvalidArgumentError {
  let theirs = '';
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v))
      theirs = typeof v[0] === 'string' ? ` (it belongs to sort ${v[0]})` : ' (it belongs to sort -created_at)';
  } catch {
    /* not ours at all */
  }
  if (cause instanceof InvalidArgumentError && theirs === '') return cause;
  return new InvalidArgumentError(
    `cursor ${JSON.stringify(cursor.slice(0, 40))} is not a cursor of sort ${sort}${theirs}: pass the next_cursor of a previous page of the same sort`,
  );
}

function cmpPos(a: SortPos, b: SortPos): number {
  return a.v - b.v || a.c - b.c || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Listing order of `plan`: the sort value, then created_at, then id, all in its direction. */
export function comparePos(plan: SearchPlan): (a: SortPos, b: SortPos) => number {
  return plan.descending ? (a, b) => cmpPos(b, a) : cmpPos;
}

/** True if `pos` comes strictly after `cursor` in `plan`'s order. */
export function afterPos(pos: SortPos, cursor: SortPos, plan: SearchPlan): boolean {
  const c = cmpPos(pos, cursor);
  return plan.descending ? c < 0 : c > 0;
}

/** One page from matches in `plan`'s order (at least `limit + 1` when a next page exists). */
export function toSortedPage(matches: readonly TraceInfo[], limit: number, plan: SearchPlan): ListResult {
  const traces = matches.slice(0, limit);
  const result: ListResult = { traces };
  if (matches.length > limit) result.nextCursor = encodeSortCursor(posOf(traces[traces.length - 1]!, plan), plan.sort);
  return result;
}
