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

/** The request as the error handler sees it (its route schema and its input). */
export interface RequestInput {
  query?: unknown;
  params?: unknown;
  body?: unknown;
  headers?: unknown;
  routeOptions?: { schema?: unknown };
}

export function toHttpError(err: unknown, req?: RequestInput): HttpError {
  const invalid = req === undefined ? undefined : validationMessage(err, req);
  if (invalid !== undefined)
    return { status: 400, body: { error: { code: 'LT_ERR_INVALID_ARGUMENT', message: invalid } } };
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

interface AjvError {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

const WHERE: Record<string, [string, keyof RequestInput]> = {
  querystring: ['query parameter', 'query'],
  params: ['path parameter', 'params'],
  body: ['body field', 'body'],
  headers: ['header', 'headers'],
};

/**
 * The message of a route-schema failure (Fastify's FST_ERR_VALIDATION, from AJV): it names
 * the parameter, the allowed form (the property schema's `description`, see schemas.ts) and
 * the value sent. Undefined for any other error.
 */
function validationMessage(err: unknown, req: RequestInput): string | undefined {
  const e = err as { validation?: AjvError[]; validationContext?: string } | null;
  const first = e?.validation?.[0];
  if (!first) return undefined;
  const context = e?.validationContext ?? '';
  const [what, key] = WHERE[context] ?? ['parameter', 'query'];
  const path = (first.instancePath ?? '').split('/').slice(1);
  const missing = first.params?.['missingProperty'];
  const name = (path[0] ?? (typeof missing === 'string' ? missing : '')).replace(/~1/g, '/').replace(/~0/g, '~');
  if (name === '') return `${what}s: ${first.message ?? 'invalid'}`;
  if (first.keyword === 'maxLength')
    return `${what} ${name} is longer than ${String(first.params?.['limit'])} characters`;
  let value = (req[key] as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(value) && path[1] !== undefined) value = value[Number(path[1])];
  const got = JSON.stringify(typeof value === 'string' ? value.slice(0, 40) : value) ?? String(value);
  const schema = (req.routeOptions?.schema as Record<string, unknown> | undefined)?.[context] as
    { properties?: Record<string, { description?: unknown; items?: { description?: unknown } }> } | undefined;
  const prop = schema?.properties?.[name];
  const form = prop?.description ?? prop?.items?.description;
  if (typeof form === 'string') return `${what} ${name} must be ${form}, got ${got}`;
  return `${what} ${name} ${first.message ?? 'is invalid'}, got ${got}`;
}
