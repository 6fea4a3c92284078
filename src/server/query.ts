// Query-string parsing for the API routes. Every value is validated before any I/O and a
// bad one is a 400 that names the parameter, the allowed form and the value.
import { InvalidArgumentError } from '../core/errors.js';
import type { ListQuery, ListSort, NodeKind, TraceStatus } from '../core/types.js';
import { META_KEY_RE, MAX_META_VALUE, MAX_QUERY_LENGTH, searchPlan } from '../core/search.js';
import { decodeSortCursor } from '../store/store.js';

export type Query = Record<string, string | string[] | undefined>;

const STATUSES: ReadonlySet<string> = new Set(['pending', 'running', 'completed', 'failed', 'cancelled']);

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) return v[v.length - 1];
  return v;
}

export function intParam(q: Query, name: string, min: number, max: number): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,16}$/.test(v))
    throw new InvalidArgumentError(
      `query parameter ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  const n = Number(v);
  if (n < min || n > max)
    throw new InvalidArgumentError(`query parameter ${name} must be an integer from ${min} to ${max}, got ${n}`);
  return n;
}

export function boolParam(q: Query, name: string): boolean {
  const v = one(q, name);
  return v === 'true' || v === '1' || v === '';
}

/** Epoch milliseconds or an ISO-8601 date. */
export function timeParam(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      `query parameter ${name} must be epoch milliseconds or an ISO-8601 date, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return t;
}

function stringParam(q: Query, name: string, max = 256): string | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (v.length > max) throw new InvalidArgumentError(`query parameter ${name} is longer than ${max} characters`);
  return v;
}

/** A non-negative decimal number (`12`, `0.05`). */
function numberParam(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}(\.\d{1,15})?$/.test(v))
    throw new InvalidArgumentError(
      `query parameter ${name} must be a number >= 0 (digits, optionally a decimal point), got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return Number(v);
}

const RANGES = [
  ['min_duration_ms', 'minDurationMs'],
  ['max_duration_ms', 'maxDurationMs'],
  ['min_tokens', 'minTokens'],
  ['max_tokens', 'maxTokens'],
  ['min_cost', 'minCost'],
  ['max_cost', 'maxCost'],
] as const;

/** The search parameters of `GET /traces` (docs/server.md): q, session_id, user_id, kind, model, meta.<key>, ranges, sort. */
function searchParams(q: Query, out: ListQuery): void {
  const text = stringParam(q, 'q', MAX_QUERY_LENGTH);
  if (text !== undefined) out.q = text;
  const sessionId = stringParam(q, 'session_id');
  if (sessionId !== undefined) out.sessionId = sessionId;
  const userId = stringParam(q, 'user_id');
  if (userId !== undefined) out.userId = userId;
  const kind = stringParam(q, 'kind');
  if (kind !== undefined) out.kind = kind as NodeKind;
  const model = stringParam(q, 'model');
  if (model !== undefined) out.model = model;
  for (const name of Object.keys(q)) {
    if (!name.startsWith('meta.')) continue;
    const key = name.slice(5);
    if (!META_KEY_RE.test(key))
      throw new InvalidArgumentError(
        `query parameter ${JSON.stringify(name.slice(0, 80))}: a metadata key must match ${String(META_KEY_RE)}`,
      );
    const value = one(q, name) ?? '';
    if (value.length > MAX_META_VALUE)
      throw new InvalidArgumentError(`query parameter ${name} is longer than ${MAX_META_VALUE} characters`);
    (out.meta ??= {})[key] = value;
  }
  for (const [param, field] of RANGES) {
    const v = numberParam(q, param);
    if (v !== undefined) out[field] = v;
  }
  const sort = stringParam(q, 'sort');
  if (sort !== undefined) out.sort = sort as ListSort;
}

/**
 * `GET /traces` filters: status (comma-separated), created_by, team_id, from, to, limit,
 * cursor, and the search parameters (searchParams). Everything is validated here, before
 * any I/O: the query's search part by searchPlan, the cursor against the sort.
 */
export function listQueryOf(q: Query): ListQuery {
  const out: ListQuery = {};
  const status = q['status'];
  if (status !== undefined && status !== '') {
    const list = (Array.isArray(status) ? status : [status]).flatMap((s) => s.split(',')).filter((s) => s !== '');
    for (const s of list) {
      if (!STATUSES.has(s))
        throw new InvalidArgumentError(
          `query parameter status must be one or more of ${[...STATUSES].join(', ')} (comma-separated), got ${JSON.stringify(s.slice(0, 40))}`,
        );
    }
    out.status = list.length === 1 ? (list[0] as TraceStatus) : (list as TraceStatus[]);
  }
  const createdBy = stringParam(q, 'created_by');
  if (createdBy !== undefined) out.createdBy = createdBy;
  const teamId = stringParam(q, 'team_id');
  if (teamId !== undefined) out.teamId = teamId;
  const tenantId = stringParam(q, 'tenant_id');
  if (tenantId !== undefined) out.tenantId = tenantId;
  const from = timeParam(q, 'from');
  if (from !== undefined) out.from = from;
  const to = timeParam(q, 'to');
  if (to !== undefined) out.to = to;
  const limit = intParam(q, 'limit', 1, 1000);
  if (limit !== undefined) out.limit = limit;
  searchParams(q, out);
  const plan = httpNames(() => searchPlan(out));
  const cursor = stringParam(q, 'cursor', 1024);
  if (cursor !== undefined) {
    decodeSortCursor(cursor, plan.sort); // a bad cursor, or one of another sort, is a 400 before any I/O
    out.cursor = cursor;
  }
  return out;
}

const PARAM_NAMES: Record<string, string> = {
  sessionId: 'session_id',
  userId: 'user_id',
  minDurationMs: 'min_duration_ms',
  maxDurationMs: 'max_duration_ms',
  minTokens: 'min_tokens',
  maxTokens: 'max_tokens',
  minCost: 'min_cost',
  maxCost: 'max_cost',
};

/** Runs a ListQuery check; its error names the query parameter, not the ListQuery field. */
function httpNames<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    const message = err.message
      .replace(
        /\b(minDurationMs|maxDurationMs|minTokens|maxTokens|minCost|maxCost|sessionId|userId)\b/g,
        (m) => PARAM_NAMES[m]!,
      )
      .replace(/^list query /, 'query parameter ');
    throw new InvalidArgumentError(message);
  }
}
