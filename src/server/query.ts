// The checks of `GET /traces` a route schema cannot express. Shapes, types and ranges are
// checked by Fastify against the route schemas (schemas.ts) before the handler runs; what
// is left is checked here, still before any I/O, and a bad value is a 400 that names the
// parameter: ISO dates, metadata key names, min <= max and the search limits (searchPlan),
// and a cursor bound to its sort.
import { InvalidArgumentError } from '../core/errors.js';
import type { ListQuery, TraceStatus } from '../core/types.js';
import { META_KEY_RE, searchPlan } from '../core/search.js';
import { decodeSortCursor } from '../store/store.js';
import type { ListQuerystring } from './schemas.js';

/** Epoch milliseconds or an ISO-8601 date. */
function timeOf(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      `query parameter ${name} must be epoch milliseconds or an ISO-8601 date, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return t;
}

const RANGES = ['min_duration_ms', 'max_duration_ms', 'min_tokens', 'max_tokens', 'min_cost', 'max_cost'] as const;
const FIELDS = {
  min_duration_ms: 'minDurationMs',
  max_duration_ms: 'maxDurationMs',
  min_tokens: 'minTokens',
  max_tokens: 'maxTokens',
  min_cost: 'minCost',
  max_cost: 'maxCost',
} as const;

/** `GET /traces`'s query string, validated by its route schema, as a ListQuery. */
export function listQueryOf(q: ListQuerystring): ListQuery {
  const out: ListQuery = {};
  if (q.status !== undefined) {
    const list = q.status.flatMap((s) => s.split(',')).filter((s) => s !== '') as TraceStatus[];
    if (list.length > 0) out.status = list.length === 1 ? list[0]! : list;
  }
  if (q.created_by !== undefined) out.createdBy = q.created_by;
  if (q.team_id !== undefined) out.teamId = q.team_id;
  if (q.tenant_id !== undefined) out.tenantId = q.tenant_id;
  const from = timeOf('from', q.from);
  if (from !== undefined) out.from = from;
  const to = timeOf('to', q.to);
  if (to !== undefined) out.to = to;
  if (q.limit !== undefined) out.limit = q.limit;
  if (q.q !== undefined) out.q = q.q;
  if (q.session_id !== undefined) out.sessionId = q.session_id;
  if (q.user_id !== undefined) out.userId = q.user_id;
  if (q.kind !== undefined) out.kind = q.kind;
  if (q.model !== undefined) out.model = q.model;
  for (const name of Object.keys(q)) {
    if (!name.startsWith('meta.')) continue;
    const key = name.slice(5);
    if (!META_KEY_RE.test(key))
      throw new InvalidArgumentError(
        `query parameter ${JSON.stringify(name.slice(0, 80))}: a metadata key must match ${String(META_KEY_RE)}`,
      );
    // A string by the schema's patternProperties (a repeated `meta.<key>` is a 400 there).
    const value = (q as Record<string, unknown>)[name];
    (out.meta ??= {})[key] = typeof value === 'string' ? value : '';
  }
  for (const param of RANGES) {
    const v = q[param];
    if (v !== undefined) out[FIELDS[param]] = v;
  }
  if (q.sort !== undefined) out.sort = q.sort;
  const plan = httpNames(() => searchPlan(out));
  if (q.cursor !== undefined) {
    decodeSortCursor(q.cursor, plan.sort); // a bad cursor, or one of another sort, is a 400 before any I/O
    out.cursor = q.cursor;
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
