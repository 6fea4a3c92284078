// Query-string parsing for the API routes. Every value is validated before any I/O and a
// bad one is a 400 that names the parameter, the allowed form and the value.
import { InvalidArgumentError } from '../core/errors.js';
import type { ListQuery, TraceStatus } from '../core/types.js';
import { decodeCursor } from '../store/store.js';

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

function stringParam(q: Query, name: string): string | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (v.length > 256) throw new InvalidArgumentError(`query parameter ${name} is longer than 256 characters`);
  return v;
}

/** `GET /traces` filters: status (comma-separated), created_by, team_id, from, to, limit, cursor. */
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
  const cursor = stringParam(q, 'cursor');
  if (cursor !== undefined) {
    decodeCursor(cursor); // a bad cursor is a 400 before any I/O
    out.cursor = cursor;
  }
  return out;
}
