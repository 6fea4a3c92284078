// HTTP access to the livetrace server API: token handling, JSON fetches, SSE URLs.
import type { ListResult, TraceEvent, TraceStatus } from '../../src/core/types.js';

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

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let authNeeded = false;
export function isAuthNeeded(): boolean {
  return authNeeded;
}

export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(apiBase() + path, { headers, signal });
  if (!res.ok) {
    let code: string | undefined;
    let message = `${res.status} ${res.statusText}`;
    try {
      // The server's error body is { error: { code, message } } (docs/server.md).
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code;
      message = body.error?.message ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    if (res.status === 401 || res.status === 403) {
      authNeeded = true;
      authListeners.forEach((fn) => fn());
    }
    throw new ApiError(res.status, code, message);
  }
  authNeeded = false;
  return (await res.json()) as T;
}

export interface ListParams {
  status?: TraceStatus | '';
  createdBy?: string;
  teamId?: string;
  from?: number;
  to?: number;
  limit?: number;
  cursor?: string;
  /** Server-side full text (whole words, every term must occur). */
  q?: string;
  sessionId?: string;
  userId?: string;
  /** Traces having a node of this kind / with usage of this model. */
  kind?: string;
  model?: string;
  /** `created_at`, `duration`, `tokens` or `cost`; `-` prefix for descending. */
  sort?: string;
}

export async function listTraces(p: ListParams, signal?: AbortSignal): Promise<ListResult> {
  const q = new URLSearchParams();
  if (p.status) q.set('status', p.status);
  if (p.createdBy) q.set('created_by', p.createdBy);
  if (p.teamId) q.set('team_id', p.teamId);
  if (p.from !== undefined) q.set('from', String(p.from));
  if (p.to !== undefined) q.set('to', String(p.to));
  if (p.limit !== undefined) q.set('limit', String(p.limit));
  if (p.cursor) q.set('cursor', p.cursor);
  if (p.q) q.set('q', p.q);
  if (p.sessionId) q.set('session_id', p.sessionId);
  if (p.userId) q.set('user_id', p.userId);
  if (p.kind) q.set('kind', p.kind);
  if (p.model) q.set('model', p.model);
  if (p.sort) q.set('sort', p.sort);
  const qs = q.toString();
  const body = await apiGet<ListResult & { next_cursor?: string }>(`/traces${qs ? `?${qs}` : ''}`, signal);
  const next = body.nextCursor ?? body.next_cursor;
  return next ? { traces: body.traces, nextCursor: next } : { traces: body.traces };
}

const EVENTS_PAGE = 10_000;

/** The stored history after `since`, page by page (`next_since` until it is null). */
export async function traceEvents(id: string, signal?: AbortSignal, onPage?: (events: TraceEvent[]) => void): Promise<void> {
  let since = 0;
  for (;;) {
    const body = await apiGet<{ events: TraceEvent[]; next_since?: number | null }>(
      `/traces/${encodeURIComponent(id)}/events?since=${since}&limit=${EVENTS_PAGE}`,
      signal,
    );
    onPage?.(body.events);
    const next = body.next_since;
    if (typeof next !== 'number' || next <= since || body.events.length === 0) return;
    since = next;
  }
}

/** SSE URL; EventSource cannot send headers, so the token travels as a query parameter. */
export function streamUrl(id: string, since: number): string {
  const q = new URLSearchParams({ stream: 'true', since: String(since) });
  const token = getToken();
  if (token) q.set('access_token', token);
  return `${apiBase()}/traces/${encodeURIComponent(id)}/events?${q}`;
}
