// OTLP/HTTP: `POST /v1/traces` as the OpenTelemetry Collector answers it. Registered at the
// root of the server's own app and, with `--otlp-port`, of a second app on that port. The
// order of checks: token (hook) -> write scope -> content type and encoding -> body size
// (compressed, by Fastify before the body is read; decompressed, while inflating) ->
// decode -> spans. Errors are the API's JSON error bodies.
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  BusyError,
  ForbiddenError,
  HolderUnavailableError,
  InvalidArgumentError,
  LivetraceError,
  UnsupportedMediaTypeError,
} from '../core/errors.js';
import { canWrite, tokenOf, type Principal, type TokenAuth } from './auth.js';
import { errorBody, toHttpError } from './http-error.js';
import { decodeExport, encodeResponse, type OtlpEncoding } from './otlp-decode.js';
import type { OtlpReceiver } from './otlp-receiver.js';
import { FORWARDED_HEADER, FORWARDED_SPANS_PATH } from './cluster/cluster.js';
import { parseForwardedSpans } from './cluster/forwarded-spans.js';

export const OTLP_TRACES_PATH = '/v1/traces';

export interface OtlpRoutesOptions {
  receiver: OtlpReceiver;
  /** Absent: open API (the server only listens on loopback then). */
  auth?: TokenAuth | undefined;
  /** Largest body, compressed and decompressed, in bytes. */
  bodyLimit: number;
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

const CONTENT_TYPES: Record<string, OtlpEncoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

function encodingOf(contentType: string | undefined): OtlpEncoding {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const e = CONTENT_TYPES[type];
  if (e === undefined)
    throw new UnsupportedMediaTypeError(
      `OTLP/HTTP takes application/x-protobuf or application/json, got ${JSON.stringify(type.slice(0, 80) || '(none)')}`,
    );
  return e;
}

function tooLarge(limit: number): LivetraceError {
  return new LivetraceError(
    'LT_ERR_PAYLOAD_TOO_LARGE',
    `the decompressed OTLP body is larger than ${limit} bytes (the write body limit)`,
  );
}

/** The body as sent, inflated per Content-Encoding, never past `limit` bytes. */
async function inflated(body: Buffer, contentEncoding: string | string[] | undefined, limit: number): Promise<Buffer> {
  const enc = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : (contentEncoding ?? ''))
    .trim()
    .toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  const fn = enc === 'gzip' || enc === 'x-gzip' ? gunzipAsync : enc === 'deflate' ? inflateAsync : undefined;
  if (!fn)
    throw new UnsupportedMediaTypeError(
      `Content-Encoding ${JSON.stringify(enc.slice(0, 40))} is not supported (gzip, deflate or none)`,
    );
  try {
    // maxOutputLength stops inflating at the limit: a gzip bomb costs at most `limit` bytes.
    return await fn(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
      throw tooLarge(limit);
    throw new LivetraceError('LT_ERR_INVALID_ARGUMENT', `the body is not valid ${enc} data`);
  }
}

export const otlpPlugin: FastifyPluginAsync<OtlpRoutesOptions> = async (app: FastifyInstance, options) => {
  const { receiver, auth, bodyLimit } = options;
  const principals = new WeakMap<FastifyRequest, Principal>();
  let closing = false;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (closing) {
      reply.header('connection', 'close');
      return reply.code(503).send(errorBody('LT_ERR_TRACER_CLOSED', 'the server is shutting down'));
    }
    if (!auth) return;
    const principal = auth.verify(tokenOf(req.headers.authorization, undefined, false));
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="livetrace"');
      return reply.code(401).send(errorBody('LT_ERR_UNAUTHORIZED'));
    }
    principals.set(req, principal);
  });
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    // OTLP exporters retry a 503 (after Retry-After): spans are recorded once by span id.
    if (err instanceof HolderUnavailableError || err instanceof BusyError)
      void reply.header('retry-after', String(err.retryAfter));
    else if (e.status >= 500) req.log.error({ err }, 'livetrace OTLP receiver error');
    void reply.code(e.status).send(e.body);
  });

  app.post(OTLP_TRACES_PATH, { bodyLimit }, async (req, reply) => {
    const principal = principals.get(req);
    if (!canWrite(principal))
      throw new ForbiddenError(
        'this token has only the read scope; OTLP export needs a token with scopes ["read", "write"]',
      );
    const encoding = encodingOf(req.headers['content-type']);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = await inflated(raw, req.headers['content-encoding'], bodyLimit);
    const decoded = decodeExport(body, encoding);
    const result = await receiver.export(decoded.spans, principal, {
      authorization: req.headers.authorization,
      forwarded: false,
    });
    const rejected = result.rejectedSpans + decoded.invalid;
    const message = [decoded.invalidMessage, result.errorMessage].filter((m) => m).join('; ');
    void reply.header('content-type', encoding === 'json' ? 'application/json' : 'application/x-protobuf');
    return reply.code(200).send(encodeResponse(encoding, rejected, message));
  });
  // Several servers: spans of one trace forwarded by another instance to this one, the holder
  // (JSON of decoded spans; a 409 LT_ERR_TRACE_LOCKED if this instance does not hold it).
  app.post(FORWARDED_SPANS_PATH, { bodyLimit: bodyLimit * 4 }, async (req, reply) => {
    const principal = principals.get(req);
    if (!canWrite(principal))
      throw new ForbiddenError('this token has only the read scope; writes need scopes ["read", "write"]');
    if (req.headers[FORWARDED_HEADER] === undefined)
      throw new InvalidArgumentError(`${FORWARDED_SPANS_PATH} takes spans forwarded by another livetrace instance`);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const spans = parseForwardedSpans(raw);
    if (spans.length === 0) return reply.send({ accepted: 0, rejected: 0, message: '' });
    return reply.send(await receiver.exportForwarded(spans[0]!.traceId, spans, principal));
  });
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'],
    url: OTLP_TRACES_PATH,
    handler: async (req, reply) => {
      void reply.header('allow', 'POST');
      return reply
        .code(405)
        .send(errorBody('LT_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; OTLP export is a POST`));
    },
  });
};

Object.assign(otlpPlugin, {
  [Symbol.for('fastify.display-name')]: 'livetrace-otlp',
});
