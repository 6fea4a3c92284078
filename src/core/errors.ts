// One registry of coded errors (fastify's lib/errors.js pattern). Each code has a message,
// an HTTP status for the server, and a class so callers can `instanceof`. docs/errors.md
// is kept in sync by test/errors-doc.test.ts.

import type { TraceEvent } from './types.js';

export interface ErrorSpec {
  readonly message: string;
  readonly status: number;
}

export const ERROR_CODES = {
  LT_ERR_INVALID_ID: { message: 'invalid id', status: 400 },
  LT_ERR_INVALID_ARGUMENT: { message: 'invalid argument', status: 400 },
  LT_ERR_INVALID_KEY: { message: 'space keys must be non-empty strings', status: 400 },
  LT_ERR_UNKNOWN_SPACE: { message: 'unknown space', status: 404 },
  LT_ERR_UNKNOWN_NODE: { message: 'unknown node', status: 404 },
  LT_ERR_NO_ROOT: { message: 'the trace has no root node yet', status: 400 },
  LT_ERR_TRACE_EXISTS: { message: 'trace already loaded', status: 409 },
  LT_ERR_TRACE_NOT_FOUND: { message: 'trace not found', status: 404 },
  LT_ERR_TRACE_CLOSED: { message: 'trace is closed', status: 409 },
  LT_ERR_TRACE_RUNNING: { message: 'trace is still running', status: 409 },
  LT_ERR_TRACE_LOCKED: { message: 'trace is being written by another process', status: 409 },
  LT_ERR_TRACER_CLOSED: { message: 'tracer is closed', status: 503 },
  LT_ERR_STORE: { message: 'store failure', status: 500 },
  LT_ERR_STORE_CONFLICT: { message: 'events do not continue the stored sequence', status: 409 },
  LT_ERR_FLUSH: { message: 'events could not be stored', status: 500 },
  LT_ERR_CORRUPT: { message: 'stored data is corrupt', status: 500 },
  LT_ERR_UNSUPPORTED: { message: 'not supported', status: 501 },
  LT_ERR_UNAUTHORIZED: { message: 'missing or invalid bearer token', status: 401 },
  LT_ERR_FORBIDDEN: { message: 'the token may not do this (it lacks the write scope)', status: 403 },
  LT_ERR_IDEMPOTENCY_MISMATCH: { message: 'this idempotency key was used for a different request', status: 422 },
  LT_ERR_UNSUPPORTED_MEDIA_TYPE: { message: 'unsupported content type or encoding', status: 415 },
  LT_ERR_NOT_FOUND: { message: 'not found', status: 404 },
  LT_ERR_METHOD_NOT_ALLOWED: { message: 'method not allowed', status: 405 },
  LT_ERR_PAYLOAD_TOO_LARGE: { message: 'request body too large', status: 413 },
  LT_ERR_HOST_NOT_ALLOWED: { message: 'host name not allowed', status: 403 },
  LT_ERR_URI_TOO_LONG: { message: 'request URL too long', status: 414 },
  LT_ERR_HEADERS_TOO_LARGE: { message: 'request headers too large', status: 431 },
  LT_ERR_BAD_REQUEST: { message: 'malformed HTTP request', status: 400 },
  LT_ERR_REQUEST_TIMEOUT: { message: 'request timed out', status: 408 },
  LT_ERR_BUSY: { message: 'the server is busy; retry later', status: 503 },
  LT_ERR_HOLDER_UNAVAILABLE: {
    message: 'the server instance writing this trace does not answer; retry later',
    status: 503,
  },
  LT_ERR_HOLDER_FAILED: {
    message: 'the server instance writing this trace failed during the request; it may have been applied',
    status: 502,
  },
  LT_ERR_INTERNAL: { message: 'internal error', status: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LivetraceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

export class InvalidIdError extends LivetraceError {
  constructor(kind: string, value: unknown) {
    super('LT_ERR_INVALID_ID', `invalid ${kind} id ${describe(value)}: expected 1-128 characters of [A-Za-z0-9_-]`);
  }
}

export class InvalidArgumentError extends LivetraceError {
  constructor(message: string) {
    super('LT_ERR_INVALID_ARGUMENT', message);
  }
}

export class InvalidKeyError extends LivetraceError {
  constructor(value: unknown) {
    super('LT_ERR_INVALID_KEY', `space key must be a non-empty string, got ${describe(value)}`);
  }
}

export class UnknownSpaceError extends LivetraceError {
  constructor(traceId: string, spaceId: unknown) {
    super('LT_ERR_UNKNOWN_SPACE', `trace ${traceId} has no space ${describe(spaceId)}`);
  }
}

export class UnknownNodeError extends LivetraceError {
  constructor(traceId: string, nodeId: unknown) {
    super('LT_ERR_UNKNOWN_NODE', `trace ${traceId} has no node ${describe(nodeId)}`);
  }
}

export class NoRootError extends LivetraceError {
  constructor(traceId: string, what: string) {
    super('LT_ERR_NO_ROOT', `${what} needs a root node: call trace.add() first (trace ${traceId})`);
  }
}

export class TraceExistsError extends LivetraceError {
  constructor(traceId: string) {
    super('LT_ERR_TRACE_EXISTS', `trace ${traceId} is already loaded in this process; use tracer.get(id)`);
  }
}

export class TraceNotFoundError extends LivetraceError {
  constructor(traceId: string) {
    super('LT_ERR_TRACE_NOT_FOUND', `trace ${traceId} not found`);
  }
}

export class TraceClosedError extends LivetraceError {
  constructor(traceId: string, state: string, call: string) {
    super('LT_ERR_TRACE_CLOSED', `${call}() on trace ${traceId}, which is ${state}`);
  }
}

export class TraceRunningError extends LivetraceError {
  constructor(traceId: string, what: string) {
    super('LT_ERR_TRACE_RUNNING', `cannot ${what} trace ${traceId}: it has not completed`);
  }
}

export class TraceLockedError extends LivetraceError {
  /** The lease owner holding the trace, when the store names it. */
  readonly owner: string | undefined;
  constructor(traceId: string, owner?: string) {
    super(
      'LT_ERR_TRACE_LOCKED',
      `trace ${traceId} is live in another writer${owner ? ` (${owner})` : ''}; only one process may write a trace at a time`,
    );
    this.owner = owner;
  }
}

/** Several servers: the instance holding a trace's lease did not answer a forwarded request (and its lease has not expired yet). */
export class HolderUnavailableError extends LivetraceError {
  /** Seconds after which a retry is likely to be served (the holder's lease expires by then). */
  readonly retryAfter: number;
  constructor(traceId: string, retryAfter: number) {
    super(
      'LT_ERR_HOLDER_UNAVAILABLE',
      `the server instance writing trace ${traceId} does not answer; this instance takes the trace over once its lease expires: retry in ${retryAfter} s`,
    );
    this.retryAfter = retryAfter;
  }
}

/** Several servers: the holder of a trace failed while it handled a forwarded write batch. */
export class HolderFailedError extends LivetraceError {
  constructor(traceId: string) {
    super(
      'LT_ERR_HOLDER_FAILED',
      `the server instance writing trace ${traceId} failed during the request: the batch may or may not have been applied; retry it with the same Idempotency-Key`,
    );
  }
}

export class TracerClosedError extends LivetraceError {
  constructor() {
    super('LT_ERR_TRACER_CLOSED', 'the tracer is closed');
  }
}

export class StoreError extends LivetraceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LT_ERR_STORE', message, options);
  }
}

export class StoreConflictError extends LivetraceError {
  readonly expected: number;
  readonly got: number;
  constructor(traceId: string, expected: number, got: number) {
    super('LT_ERR_STORE_CONFLICT', `trace ${traceId}: expected event seq ${expected}, got ${got}`);
    this.expected = expected;
    this.got = got;
  }
}

/** `flush()`/`release()` could not store every event. `pending` holds what is not stored. */
export class FlushError extends LivetraceError {
  readonly traceId: string;
  readonly pending: readonly TraceEvent[];
  constructor(traceId: string, pending: readonly TraceEvent[], cause: unknown) {
    super('LT_ERR_FLUSH', `trace ${traceId}: ${pending.length} event(s) not stored: ${errorMessage(cause)}`, { cause });
    this.traceId = traceId;
    this.pending = pending;
  }
}

/** The server refused a request whose Host header names no allowed host (DNS-rebinding guard). */
export class HostNotAllowedError extends LivetraceError {
  constructor(host: string | undefined) {
    super(
      'LT_ERR_HOST_NOT_ALLOWED',
      `host ${host === undefined ? '(none)' : JSON.stringify(host.slice(0, 100))} is not allowed: this server answers localhost, 127.0.0.1 and [::1] only (serve --allowed-hosts adds names)`,
    );
  }
}

/** Heavy work (building a snapshot, an export) is at its concurrency bound. */
export class BusyError extends LivetraceError {
  /** Seconds after which a retry is likely to be served. */
  readonly retryAfter: number;
  constructor(what: string, retryAfter = 1) {
    super('LT_ERR_BUSY', `the server is busy with other ${what}; retry in ${retryAfter} s`);
    this.retryAfter = retryAfter;
  }
}

export class CorruptDataError extends LivetraceError {
  constructor(message: string) {
    super('LT_ERR_CORRUPT', message);
  }
}

export class UnsupportedError extends LivetraceError {
  constructor(message: string) {
    super('LT_ERR_UNSUPPORTED', message);
  }
}

export class ForbiddenError extends LivetraceError {
  constructor(message?: string) {
    super('LT_ERR_FORBIDDEN', message);
  }
}

export class IdempotencyMismatchError extends LivetraceError {
  constructor(key: string) {
    super(
      'LT_ERR_IDEMPOTENCY_MISMATCH',
      `idempotency key ${describe(key)} was already used for a different batch on this trace`,
    );
  }
}

export class UnsupportedMediaTypeError extends LivetraceError {
  constructor(message: string) {
    super('LT_ERR_UNSUPPORTED_MEDIA_TYPE', message);
  }
}

/** Warnings are reported, never thrown (`tracer.on('warning')`). */
export const WARNING_CODES = {
  LT_WARN_LATE_CALL: 'a call on a released, sealed or aborted trace was ignored',
  LT_WARN_PENDING_OVERFLOW: 'pending events exceeded the bound while the store failed; new events were dropped',
  LT_WARN_TORN_LINE: 'a torn last line was cut from a trace log',
  LT_WARN_SUBSCRIBER: 'a subscriber failed',
  LT_WARN_AI_SDK: 'the AI SDK integration could not record something (never thrown into the SDK)',
  LT_WARN_OPENAI_AGENTS: 'the OpenAI Agents SDK processor could not record something (never thrown into the SDK)',
  LT_WARN_LANGCHAIN: 'the LangChain handler could not record something (never thrown into LangChain)',
  LT_WARN_OTEL: 'the OpenTelemetry span processor could not record something (never thrown into OTel)',
  LT_WARN_OTLP: 'the OTLP receiver could not complete a trace after its spans were answered',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

export interface LivetraceWarning {
  code: WarningCode;
  message: string;
  traceId?: string;
  count?: number;
}

/**
 * How a usage error shows the bad value it got: its text and its type, e.g. `-1 (number)`,
 * `[object Object] (object)`. Never throws (a value whose toString throws is "unprintable").
 */
export function shownValue(value: unknown): string {
  let text: string;
  try {
    text = String(value);
  } catch {
    text = 'unprintable';
  }
  return `${text} (${typeof value})`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? value.slice(0, 64) + '…' : value);
  return `${value === null ? 'null' : typeof value} ${String(value).slice(0, 32)}`;
}
