// HTTP access to a livetrace server for the client: URLs, the token, JSON requests and the
// server's error body. Shared by openTrace and listTraces.
import type { ListResult, TraceEvent, TraceStatus } from '../core/types.js';

/** A request the server refused, or a network failure (`status` 0). */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    /** The server's `LT_*` code when it sent one. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }

  /** Retrying cannot help: the request itself is wrong, unauthorised or about nothing. */
  get fatal(): boolean {
    return this.status === 400 || this.status === 401 || this.status === 403 || this.status === 404;
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** What every client call needs to reach the API. */
export interface Endpoint {
  /** The server's origin, as the CLI's `-s` takes it: `http://localhost:4317`. */
  server: string;
  /** A bearer token, or a function that returns the current one. */
  token?: string | (() => string | undefined | null) | undefined;
  /** Where the API is mounted. Default `/v1/trace`. */
  apiPath?: string | undefined;
  /** Default: the global fetch. */
  fetch?: FetchLike | undefined;
}

export function apiUrl(ep: Endpoint, path: string, query?: Record<string, string | number | undefined>): string {
  const base = ep.server.replace(/\/+$/, '') + '/' + (ep.apiPath ?? '/v1/trace').replace(/^\/+|\/+$/g, '');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return base + path + (qs ? `?${qs}` : '');
}

export function tokenOf(ep: Endpoint): string | undefined {
  const t = typeof ep.token === 'function' ? ep.token() : ep.token;
  return t || undefined;
}

export function fetchOf(ep: Endpoint): FetchLike {
  if (ep.fetch) return ep.fetch;
  if (typeof fetch !== 'function') throw new TypeError('livetrace/client: no global fetch; pass `fetch`');
  return (input, init) => fetch(input, init);
}

/** Reads the server's `{ error: { code, message } }` body into a ClientError. */
export async function errorOf(res: Response): Promise<ClientError> {
  let code: string | undefined;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ClientError(res.status, code, message);
}

export async function getJson<T>(ep: Endpoint, url: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = tokenOf(ep);
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetchOf(ep)(url, { headers, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ClientError(0, undefined, `cannot reach ${ep.server}: ${(err as Error)?.message ?? String(err)}`);
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export interface EventsPage {
  events: TraceEvent[];
  next_since?: number | null;
}

export interface ListTracesOptions extends Endpoint {
  status?: TraceStatus | undefined;
  createdBy?: string | undefined;
  teamId?: string | undefined;
  /** Created at or after (epoch ms). */
  from?: number | undefined;
  /** Created before (epoch ms). */
  to?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Any other query parameter the server's list accepts (for example `q`, `session_id`, `sort`). */
  params?: Record<string, string | number | undefined> | undefined;
  signal?: AbortSignal | undefined;
}

/** One page of `GET /traces`; pass `nextCursor` back as `cursor` for the next. */
export async function listTraces(options: ListTracesOptions): Promise<ListResult> {
  const { status, createdBy, teamId, from, to, limit, cursor, params, signal } = options;
  const url = apiUrl(options, '/traces', {
    ...params,
    status,
    created_by: createdBy,
    team_id: teamId,
    from,
    to,
    limit,
    cursor,
  });
  const body = await getJson<ListResult & { next_cursor?: string }>(options, url, signal);
  const next = body.nextCursor ?? body.next_cursor;
  return next ? { traces: body.traces, nextCursor: next } : { traces: body.traces };
}
