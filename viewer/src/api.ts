// HTTP access to the livetrace server API for the viewer: the token, and JSON requests through livetrace/client.
import { apiUrl, ClientError, getJson, listTraces as clientListTraces, type Endpoint } from '../../src/client/http.js';
import type { ListQuery, ListResult, TraceStatus } from '../../src/core/types.js';

const TOKEN_KEY = 'livetrace.token';

/** API base, relative to the page so the viewer works under any mount path. */
export function apiBase(): string {
  const meta = document.querySelector('meta[name="livetrace-api"]')?.getAttribute('content');
  const base = new URL(meta || 'v1/trace', new URL('.', location.href));
  return base.href.replace(/\/$/, '');
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives for this page only.
  }
  authListeners.forEach((fn) => fn());
}

const authListeners = new Set<() => void>();
/** Called when a request is refused for lack of a valid token. */
export function onAuthChange(fn: () => void): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

/** A refused request: the client library's typed error (status, LT_* code, message). */
export { ClientError as ApiError } from '../../src/client/http.js';

let authNeeded = false;
export function isAuthNeeded(): boolean {
  return authNeeded;
}

/** A request was refused for lack of a valid token: ask for one. */
export function noteAuthFailure(): void {
  authNeeded = true;
  authListeners.forEach((fn) => fn());
}

/** The API as livetrace/client addresses it: this page's server, mount path and token. */
function endpoint(): Endpoint {
  const base = new URL(apiBase());
  return { server: base.origin, apiPath: base.pathname, token: getToken };
}

/** Marks the token as needed when the server refuses it. */
async function authed<T>(p: Promise<T>): Promise<T> {
  try {
    const v = await p;
    authNeeded = false;
    return v;
  } catch (err) {
    if (err instanceof ClientError && (err.status === 401 || err.status === 403)) noteAuthFailure();
    throw err;
  }
}

export function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const ep = endpoint();
  return authed(getJson<T>(ep, apiUrl(ep, path), signal));
}

/**
 * The list query the viewer sends: the store's ListQuery fields it uses, with the form's
 * values as typed (an empty status is "any"; kind and sort as the server reads them).
 */
export type ListParams = Pick<
  ListQuery,
  'createdBy' | 'teamId' | 'from' | 'to' | 'limit' | 'cursor' | 'q' | 'sessionId' | 'userId' | 'model'
> & {
  status?: TraceStatus | '' | undefined;
  /** Traces having a node of this kind. */
  kind?: string | undefined;
  /** `created_at`, `duration`, `tokens` or `cost`; `-` prefix for descending. */
  sort?: string | undefined;
};

export function listTraces(p: ListParams, signal?: AbortSignal): Promise<ListResult> {
  const params = { q: p.q, session_id: p.sessionId, user_id: p.userId, kind: p.kind, model: p.model, sort: p.sort };
  return authed(
    clientListTraces({
      ...endpoint(),
      status: p.status || undefined,
      createdBy: p.createdBy,
      teamId: p.teamId,
      from: p.from,
      to: p.to,
      limit: p.limit,
      cursor: p.cursor,
      params,
      signal,
    }),
  );
}

let searchSupport: boolean | undefined;

/**
 * Does the server answer the text query `q`? Probed once with a word no trace contains:
 * a server that ignores `q` answers traces anyway. Not cached while the store is empty.
 */
export async function serverSearches(signal?: AbortSignal): Promise<boolean> {
  if (searchSupport !== undefined) return searchSupport;
  const word = `zq${Math.random().toString(36).slice(2, 14)}`;
  const all = await listTraces({ limit: 1 }, signal);
  if (all.traces.length === 0) return true;
  const r = await listTraces({ q: word, limit: 1 }, signal);
  searchSupport = r.traces.length === 0;
  return searchSupport;
}
