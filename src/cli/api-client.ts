// A small client of the HTTP API for the read-only commands run with --server. Errors
// come back as the server's LT_ERR_* codes so that exit codes match the local mode.
import { ERROR_CODES, LivetraceError, type ErrorCode } from '../core/errors.js';

export class UnreachableError extends Error {
  readonly code = 'LT_CLI_UNREACHABLE';
  constructor(url: string, cause: unknown) {
    super(
      `cannot reach the livetrace server at ${url}: ${(cause as Error)?.message ?? String(cause)}${(cause as { cause?: { code?: string } })?.cause?.code ? ` (${(cause as { cause: { code: string } }).cause.code})` : ''}`,
      { cause },
    );
  }
}

/** `http://host:port` -> `http://host:port/v1/trace`; a URL with a path is used as the API base. */
export function apiBaseOf(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new LivetraceError(
      'LT_ERR_INVALID_ARGUMENT',
      `--server must be an http(s) URL like http://127.0.0.1:7411, got ${JSON.stringify(server)}`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new LivetraceError(
      'LT_ERR_INVALID_ARGUMENT',
      `--server must be an http(s) URL, got ${JSON.stringify(server)}`,
    );
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/v1/trace' : path}`;
}

export class ApiClient {
  readonly base: string;
  readonly #token: string | undefined;

  constructor(server: string, token?: string) {
    this.base = apiBaseOf(server);
    this.#token = token;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}`, ...extra } : extra;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.fetch(path, { signal });
    return (await res.json()) as T;
  }

  async fetch(
    path: string,
    init: { signal?: AbortSignal | undefined; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = this.base + path;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers(init.headers), signal: init.signal ?? null });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new UnreachableError(url, err);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
}

export async function errorOf(res: Response): Promise<LivetraceError> {
  let code: ErrorCode = 'LT_ERR_INTERNAL';
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.code && body.error.code in ERROR_CODES) code = body.error.code as ErrorCode;
    if (body?.error?.message) message = body.error.message;
  } catch {
    /* not our JSON */
  }
  if (code === 'LT_ERR_INTERNAL') {
    if (res.status === 404) code = 'LT_ERR_NOT_FOUND';
    else if (res.status === 401) code = 'LT_ERR_UNAUTHORIZED';
    else if (res.status === 503) code = 'LT_ERR_TRACER_CLOSED';
  }
  return new LivetraceError(code, message);
}
