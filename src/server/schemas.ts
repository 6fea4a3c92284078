// Route schemas of the HTTP API (TypeBox, through @fastify/type-provider-typebox): Fastify
// validates and coerces each request's params and query string with them before the
// handler runs, and the handlers get their types from them. Each property's `description`
// is the allowed form, quoted in the 400 when a value does not fit (validationMessage in
// http-error.ts). What a schema cannot say (a cursor bound to its sort, min <= max, ISO
// dates, metadata key names) is checked in query.ts and core/search.ts. No response schemas:
// docs/server.md ("Why TypeBox route schemas") has the measurement.
import { Type, type Static } from 'typebox';
import { NODE_KINDS } from '../core/types.js';
import { MAX_META_VALUE, MAX_QUERY_LENGTH, SORTS } from '../core/search.js';

const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

const text = (max = 256) => Type.Optional(Type.String({ maxLength: max }));
const int = (min: number, max: number) =>
  Type.Optional(Type.Integer({ minimum: min, maximum: max, description: `an integer from ${min} to ${max}` }));
const amount = () =>
  Type.Optional(
    Type.Number({ minimum: 0, maximum: 1e15, description: 'a number >= 0 (digits, optionally a decimal point)' }),
  );
const time = () => Type.Optional(Type.String({ maxLength: 64, description: 'epoch milliseconds or an ISO-8601 date' }));

export const TraceParams = Type.Object({ id: Type.String() });
export const NodeParams = Type.Object({ id: Type.String(), nodeId: Type.String() });
export const SpaceParams = Type.Object({ id: Type.String(), spaceId: Type.String() });

/** `GET /traces` (docs/server.md): the filters, the page and the search parameters. */
export const ListQuerystring = Type.Object(
  {
    // Comma-separated and/or repeated (`status=failed,cancelled` or `status=failed&status=cancelled`).
    status: Type.Optional(
      Type.Array(
        Type.String({
          pattern: `^(${STATUSES.join('|')})?(,(${STATUSES.join('|')})?)*$`,
          description: `one or more of ${STATUSES.join(', ')} (comma-separated)`,
        }),
      ),
    ),
    created_by: text(),
    team_id: text(),
    tenant_id: text(),
    from: time(),
    to: time(),
    limit: int(1, 1000),
    cursor: text(1024),
    q: text(MAX_QUERY_LENGTH),
    session_id: text(),
    user_id: text(),
    kind: Type.Optional(Type.Enum([...NODE_KINDS], { description: `one of ${NODE_KINDS.join(', ')}` })),
    model: text(),
    min_duration_ms: amount(),
    max_duration_ms: amount(),
    min_tokens: amount(),
    max_tokens: amount(),
    min_cost: amount(),
    max_cost: amount(),
    sort: Type.Optional(Type.Enum([...SORTS], { description: `one of ${SORTS.join(', ')}` })),
  },
  {
    // `meta.<key>=<value>`: the key's form is checked in query.ts (its error names the rule).
    patternProperties: { '^meta\\.': Type.String({ maxLength: MAX_META_VALUE }) },
    // Other parameters (the `access_token` of EventSource clients) pass through untouched.
    additionalProperties: true,
  },
);
export type ListQuerystring = Static<typeof ListQuerystring>;

/** `GET /traces/:id/events`. */
export const EventsQuerystring = Type.Object(
  {
    since: int(0, Number.MAX_SAFE_INTEGER),
    limit: int(1, 10_000),
    stream: text(5),
  },
  { additionalProperties: true },
);

/** `GET /traces/:id/export`. */
export const ExportQuerystring = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('otlp')], { description: '"json" or "otlp"' }),
    ),
  },
  { additionalProperties: true },
);

export const SCHEMAS = {
  list: { querystring: ListQuerystring },
  trace: { params: TraceParams },
  events: { params: TraceParams, querystring: EventsQuerystring },
  node: { params: NodeParams },
  space: { params: SpaceParams },
  export: { params: TraceParams, querystring: ExportQuerystring },
} as const;

/** preValidation: `name=` is the same as no `name` (except `meta.<key>=`, an empty value). */
export async function dropEmpty(req: { query: unknown }): Promise<void> {
  const q = req.query as Record<string, unknown>;
  for (const k in q) if (q[k] === '' && !k.startsWith('meta.')) delete q[k];
}
