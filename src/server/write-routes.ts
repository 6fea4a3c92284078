// Routes of the live HTTP write API, registered inside the API plugin (so its auth hook,
// error handler and prefix apply). Order of checks on every write: token (hook) -> write
// scope -> body size (Fastify, before the body is read) -> body shape -> tenant -> work.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, HolderFailedError, InvalidArgumentError } from '../core/errors.js';
import { assertValidId } from '../core/ids.js';
import type { TraceInfo } from '../core/types.js';
import { canWrite, type Principal } from './auth.js';
import { idempotencyKeyOf, parseCreate, parseOps, type ForwardOps, type TraceWriter } from './write-api.js';
import { FORWARDED_HEADER, HolderBrokenError } from './cluster/cluster.js';
import { SCHEMAS } from './schemas.js';

export interface WriteRoutesContext {
  writer: TraceWriter;
  bodyLimit: number;
  principalOf(req: object): Principal | undefined;
  /** Info of a trace the caller may see; another tenant's is a 404 like a missing one. */
  visibleInfo(req: Pick<FastifyRequest, 'headers' | 'method'> & { params: { id: string } }): Promise<TraceInfo>;
}

export const WRITE_ROUTES = ['/traces/:id/ops'];

/** Parses a JSON body read as bytes (the plugin reads every body as a Buffer). */
export function jsonBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body; // already parsed
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

function requireWrite(principal: Principal | undefined): void {
  if (!canWrite(principal))
    throw new ForbiddenError('this token has only the read scope; writes need a token with scopes ["read", "write"]');
}

const raw = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

// Bodies are read as bytes (the idempotency key hashes them as sent), so they are checked by
// parseCreate/parseOps, not by a body schema; the path's trace id is typed by its schema.
export function registerWriteRoutes(plain: FastifyInstance, ctx: WriteRoutesContext): void {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { writer } = ctx;

  app.post('/traces', { bodyLimit: ctx.bodyLimit }, async (req, reply) => {
    const principal = ctx.principalOf(req);
    requireWrite(principal);
    const body = jsonBody(req.body);
    const key = idempotencyKeyOf(req.headers['idempotency-key'], body);
    const options = parseCreate(body, principal);
    const answer = await writer.create(options, key, raw(req.body));
    return reply.code(answer.status).send(answer.body);
  });

  app.post('/traces/:id/ops', { bodyLimit: ctx.bodyLimit, schema: SCHEMAS.trace }, async (req, reply) => {
    const principal = ctx.principalOf(req);
    requireWrite(principal);
    assertValidId(req.params.id);
    const body = jsonBody(req.body);
    const key = idempotencyKeyOf(req.headers['idempotency-key'], body);
    const ops = parseOps(body, writer.options.maxOpsPerBatch);
    const info = await ctx.visibleInfo(req);
    const answer = await writer.apply(info.id, ops, key, raw(req.body), forwardOf(writer, req, info.id));
    return reply.code(answer.status).send(answer.body);
  });
}

/**
 * Several servers: how this request reaches the instance holding its trace (the same
 * request, same headers, to the same path there). Undefined for a request that was itself
 * forwarded: it is never forwarded twice.
 */
function forwardOf(writer: TraceWriter, req: FastifyRequest, traceId: string): ForwardOps | undefined {
  const cluster = writer.cluster;
  if (!cluster || req.headers[FORWARDED_HEADER] !== undefined) return undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const h of ['authorization', 'idempotency-key'] as const) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  return async (url) => {
    try {
      const res = await cluster.post(url + req.url, headers, raw(req.body));
      return { status: res.status, body: res.body as never };
    } catch (err) {
      if (err instanceof HolderBrokenError) throw new HolderFailedError(traceId);
      throw err;
    }
  };
}
