// Maps any error to the API's JSON error body `{ error: { code, message } }`. Errors of
// the 5xx class never leak their message (it may hold paths or driver details): the body
// carries the registry's generic message and the real one goes to the log.
import { ERROR_CODES, LivetraceError, type ErrorCode } from '../core/errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'LT_ERR_INVALID_ARGUMENT',
  401: 'LT_ERR_UNAUTHORIZED',
  404: 'LT_ERR_NOT_FOUND',
  405: 'LT_ERR_METHOD_NOT_ALLOWED',
  413: 'LT_ERR_PAYLOAD_TOO_LARGE',
  501: 'LT_ERR_UNSUPPORTED',
  503: 'LT_ERR_TRACER_CLOSED',
};

export function toHttpError(err: unknown): HttpError {
  if (err instanceof LivetraceError) {
    const message =
      err.status >= 500 && err.status !== 501 && err.status !== 502 && err.status !== 503
        ? ERROR_CODES[err.code].message
        : err.message;
    return { status: err.status, body: { error: { code: err.code, message } } };
  }
  // Fastify's own errors (body too large, bad JSON, unsupported media type) carry a 4xx statusCode.
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'LT_ERR_INVALID_ARGUMENT';
    const message =
      status === 413
        ? ERROR_CODES.LT_ERR_PAYLOAD_TOO_LARGE.message
        : String((err as Error).message ?? ERROR_CODES[code].message);
    return { status, body: { error: { code, message } } };
  }
  return { status: 500, body: { error: { code: 'LT_ERR_INTERNAL', message: ERROR_CODES.LT_ERR_INTERNAL.message } } };
}

export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  return { error: { code, message: message ?? ERROR_CODES[code].message } };
}
