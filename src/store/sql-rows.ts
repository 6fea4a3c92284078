// What the SQL stores (SQLite, PostgreSQL) share: a trace row holds the listing columns
// plus the whole TraceInfo as JSON in `info`, except the archive fields, which the store
// owns in columns of their own.
import type { ListQuery, TraceInfo } from '../core/types.js';
import { costOf, durationOf, facetsOf, tokensOf, type SearchPlan, type SortField } from '../core/search.js';
import type { SortPos } from './store.js';

/** The columns a trace's info is read from. */
export interface TraceRow {
  info: string;
  /** BOOLEAN in PostgreSQL, 0/1 in SQLite. */
  archived: boolean | number;
  /** BIGINT (as a string from pg) or INTEGER; null until archived. */
  archived_at: string | number | null;
}

/** The info JSON without the archive fields, which the store owns. */
export function encodeInfo(info: TraceInfo): string {
  const { archived: _a, archived_at: _b, ...rest } = info;
  return JSON.stringify(rest);
}

export function rowToInfo(row: TraceRow): TraceInfo {
  const info = JSON.parse(row.info) as TraceInfo;
  info.archived = row.archived === true || row.archived === 1;
  if (row.archived_at !== null) info.archived_at = Number(row.archived_at);
  return info;
}

// ---- search (both SQL stores) -----------------------------------------------------------

/** The sort and range columns of a trace row (MISSING, -1, where the info has no value). */
export interface SearchColumns {
  session_id: string | null;
  user_id: string | null;
  duration: number;
  tokens: number;
  cost: number;
  /** JSON of facetsOf(info). */
  facets: string;
}

export function searchColumns(info: TraceInfo): SearchColumns {
  return {
    session_id: typeof info.session_id === 'string' ? info.session_id : null,
    user_id: typeof info.user_id === 'string' ? info.user_id : null,
    duration: durationOf(info),
    tokens: tokensOf(info),
    cost: costOf(info),
    facets: JSON.stringify(facetsOf(info)),
  };
}

const SORT_COLUMN: Record<SortField, string> = {
  created_at: 'created_at',
  duration: 'duration',
  tokens: 'tokens',
  cost: 'cost',
};

export interface SqlDialect {
  /** A placeholder for a value. */
  p(v: unknown): string;
  /** A condition: the trace has the word (a word of core/search.ts: letters, marks, digits only). */
  word(word: string): string;
  /** A condition: the trace has every facet. */
  facets(facets: string[]): string;
}

/**
 * WHERE conditions and ORDER BY of a search (non-plain) listing: the base filters, the
 * plan's conditions, and the keyset position after the cursor.
 */
export function searchSql(
  query: ListQuery,
  plan: SearchPlan,
  at: SortPos | undefined,
  d: SqlDialect,
): { where: string[]; order: string } {
  const where: string[] = [];
  if (query.status !== undefined) {
    const statuses = Array.isArray(query.status) ? query.status : [query.status];
    where.push(statuses.length === 0 ? 'false' : `status IN (${statuses.map((s) => d.p(s)).join(', ')})`);
  }
  if (query.createdBy !== undefined) where.push(`created_by = ${d.p(query.createdBy)}`);
  if (query.teamId !== undefined) where.push(`team_id = ${d.p(query.teamId)}`);
  if (query.tenantId !== undefined) where.push(`tenant_id = ${d.p(query.tenantId)}`);
  if (query.from !== undefined) where.push(`created_at >= ${d.p(query.from)}`);
  if (query.to !== undefined) where.push(`created_at <= ${d.p(query.to)}`);
  if (plan.sessionId !== undefined) where.push(`session_id = ${d.p(plan.sessionId)}`);
  if (plan.userId !== undefined) where.push(`user_id = ${d.p(plan.userId)}`);
  for (const t of plan.terms) where.push(d.word(t));
  const facets = [...plan.meta.map((m) => `meta:${m}`)];
  if (plan.kind !== undefined) facets.push(`k:${plan.kind}`);
  if (plan.model !== undefined) facets.push(`m:${plan.model}`);
  if (facets.length > 0) where.push(d.facets(facets));
  for (const [col, r] of [
    ['duration', plan.duration],
    ['tokens', plan.tokens],
    ['cost', plan.cost],
  ] as const) {
    if (r.min === undefined && r.max === undefined) continue;
    where.push(`${col} >= 0`);
    if (r.min !== undefined) where.push(`${col} >= ${d.p(r.min)}`);
    if (r.max !== undefined) where.push(`${col} <= ${d.p(r.max)}`);
  }
  const col = SORT_COLUMN[plan.field];
  const dir = plan.descending ? 'DESC' : 'ASC';
  if (at) {
    const op = plan.descending ? '<' : '>';
    where.push(
      plan.field === 'created_at'
        ? `(created_at, id) ${op} (${d.p(at.c)}, ${d.p(at.id)})`
        : `(${col}, created_at, id) ${op} (${d.p(at.v)}, ${d.p(at.c)}, ${d.p(at.id)})`,
    );
  }
  const order =
    plan.field === 'created_at' ? `created_at ${dir}, id ${dir}` : `${col} ${dir}, created_at ${dir}, id ${dir}`;
  return { where, order };
}
