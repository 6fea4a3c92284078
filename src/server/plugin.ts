// The HTTP API as a Fastify plugin: register it in any Fastify v5 app under a prefix
// (`app.register(livetracePlugin, { prefix: '/v1/trace', tracer })`). It is encapsulated:
// its auth hook, error and not-found handlers apply to its routes only.
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  BusyError,
  HolderUnavailableError,
  InvalidArgumentError,
  TraceNotFoundError,
  UnknownNodeError,
  UnknownSpaceError,
} from '../core/errors.js';
import { assertValidId } from '../core/ids.js';
import { fillMissingCosts } from '../core/usage.js';
import type { TraceInfo, TraceSnapshot } from '../core/types.js';
import type { Tracer } from '../tracer/tracer.js';
import { TokenAuth, canSee, tokenOf, type Principal } from './auth.js';
import { exportChunks, exportFormatOf } from './export-trace.js';
import { HeavyWork } from './heavy-work.js';
import { errorBody, toHttpError } from './http-error.js';
import { resolveApiOptions, type LivetraceApiOptions } from './options.js';
import { listQueryOf } from './query.js';
import { SCHEMAS, dropEmpty } from './schemas.js';
import { FinishedViews, sendView, type ViewName } from './finished-views.js';
import { SnapshotCache } from './snapshot-cache.js';
import { SseRegistry, streamTrace } from './sse-stream.js';
import { TraceWriter } from './write-api.js';
import { WRITE_ROUTES, registerWriteRoutes } from './write-routes.js';

export const DEFAULT_BASE_PATH = '/v1/trace';

const READ_ROUTES = [
  '/',
  '/traces',
  '/traces/:id',
  '/traces/:id/info',
  '/traces/:id/events',
  '/traces/:id/nodes',
  '/traces/:id/nodes/:nodeId',
  '/traces/:id/logs',
  '/traces/:id/logs/:nodeId',
  '/traces/:id/spaces',
  '/traces/:id/spaces/:spaceId',
  '/traces/:id/export',
];

const READ_ROUTE_PATTERNS = READ_ROUTES.map((r) => new RegExp(`^${r.replace(/:\w+/g, '[^/]+')}/?$`));
function isReadRoute(path: string): boolean {
  return READ_ROUTE_PATTERNS.some((re) => re.test(path));
}

type Params = { id: string; nodeId?: string; spaceId?: string };
/** What the read helpers use of a request (any route's typed request fits). */
type Req = Pick<FastifyRequest, 'headers' | 'method'> & { params: Params };

export const livetracePlugin: FastifyPluginAsync<LivetraceApiOptions> = async (plain, options) => {
  // Route input is validated and typed by the route schemas (schemas.ts).
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const resolved = resolveApiOptions(options);
  const tracer = options.tracer;
  const auth =
    options.tokens === undefined
      ? undefined
      : options.tokens instanceof TokenAuth
        ? options.tokens
        : new TokenAuth(options.tokens);
  const streams = options.streams ?? new SseRegistry();
  const heavy = options.heavyWork instanceof HeavyWork ? options.heavyWork : new HeavyWork(options.heavyWork);
  const principals = new WeakMap<object, Principal>();
  const snapshots = options.snapshotCache === false ? undefined : new SnapshotCache(options.snapshotCache);
  const writer =
    options.write === false
      ? undefined
      : options.write instanceof TraceWriter
        ? options.write
        : new TraceWriter(tracer, options.write);
  if (writer && options.cluster) writer.cluster = options.cluster;
  if (writer) writer.heavy ??= heavy;
  if (writer && options.keepLoaded) writer.keepLoaded = options.keepLoaded;
  const views = new FinishedViews();
  let closing = false;

  if (options.cors && options.cors.length > 0) {
    const allowed = new Set(options.cors);
    await app.register(cors, {
      origin: allowed.has('*') ? '*' : (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      methods: ['GET', 'HEAD'],
      allowedHeaders: ['Authorization', 'Last-Event-ID', 'Content-Type'],
      maxAge: 600,
    });
  }

  // Any body is read as bytes, under the limit: an oversize request is a 413 and any
  // other write is a 405, never a 415 from a missing parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: resolved.bodyLimit }, (_req, body, done) =>
    done(null, body),
  );

  app.addHook('onRequest', async (req, reply) => {
    if (closing || streams.closing) {
      reply.header('connection', 'close');
      return reply.code(503).send(errorBody('LT_ERR_TRACER_CLOSED', 'the server is shutting down'));
    }
    if (!auth || req.method === 'OPTIONS') return;
    const token = tokenOf(req.headers.authorization, req.query, req.method === 'GET' || req.method === 'HEAD');
    const principal = auth.verify(token);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="livetrace"');
      return reply.code(401).send(errorBody('LT_ERR_UNAUTHORIZED'));
    }
    principals.set(req, principal);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err, req);
    if (err instanceof BusyError || err instanceof HolderUnavailableError)
      void reply.header('retry-after', String(err.retryAfter));
    if (e.status >= 500) req.log.error({ err }, 'livetrace API error');
    void reply.code(e.status).send(e.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // Methods the router does not know (PROPFIND, TRACE...) on a known path: 405 too.
    const rel = path.slice(app.prefix.length) || '/';
    if (writer && req.method !== 'POST' && /^\/traces\/[^/]+\/ops\/?$/.test(rel)) {
      void reply.header('allow', 'POST');
      return void reply
        .code(405)
        .send(errorBody('LT_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use POST`));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && isReadRoute(rel)) {
      const post = writer !== undefined && /^\/traces\/?$/.test(rel);
      void reply.header('allow', post ? 'GET, HEAD, POST' : 'GET, HEAD');
      return void reply
        .code(405)
        .send(
          errorBody('LT_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use GET${post ? ' or POST' : ''}`),
        );
    }
    void reply.code(404).send(errorBody('LT_ERR_NOT_FOUND', `no route ${req.method} ${path}`));
  });

  // Shutdown: answer new requests with 503, then end every SSE stream so that the
  // server's close() does not wait for them; the tracer closes after the server (onClose).
  app.addHook('preClose', async () => {
    closing = true;
    streams.endAll();
  });
  app.addHook('onClose', async () => snapshots?.clear());
  // Held write traces are flushed and released before the tracer closes.
  if (writer && !(options.write instanceof TraceWriter)) app.addHook('onClose', async () => writer.close());
  if (options.closeTracer) app.addHook('onClose', async () => tracer.close());

  const principalOf = (req: object): Principal | undefined => principals.get(req);

  /** Info of a trace the caller may see; another tenant's trace is a 404, like a missing one. */
  const visibleInfo = async (req: Req): Promise<TraceInfo> => {
    const id = req.params.id;
    assertValidId(id);
    const info = await tracer.info(id);
    if (!info || !canSee(principalOf(req), info)) throw new TraceNotFoundError(id);
    return info;
  };
  /**
   * Snapshot of a trace the caller may see. Visibility is decided from the stored info
   * (one small read) before the event log is read, so another tenant's trace costs what a
   * missing one costs and reveals nothing by its timing.
   */
  const visibleSnapshot = async (req: Req): Promise<TraceSnapshot> => {
    const id = req.params.id;
    assertValidId(id);
    if (req.params.nodeId !== undefined) assertValidId(req.params.nodeId, 'node');
    if (req.params.spaceId !== undefined) assertValidId(req.params.spaceId, 'space');
    await visibleInfo(req);
    // Rebuilding a snapshot from the log is heavy work: bounded (503 + Retry-After beyond).
    const snap = await heavy.run('snapshot reads', async () =>
      snapshots ? snapshots.read(tracer, id) : tracer.read(id),
    );
    if (!snap || !canSee(principalOf(req), snap.info)) throw new TraceNotFoundError(id);
    // In place and idempotent: a cached snapshot is filled once, before its views are built.
    if (options.prices) fillMissingCosts(snap, options.prices);
    return snap;
  };

  /** A whole-trace view: prebuilt bytes with an ETag for a finished trace, else built now. */
  const view = async (
    req: Req,
    reply: FastifyReply,
    name: ViewName,
    build: (snap: TraceSnapshot) => unknown,
  ): Promise<unknown> => {
    const snap = await visibleSnapshot(req);
    if (snapshots?.cached(snap)) return sendView(req, reply, views.body(snap, name, build));
    return build(snap);
  };

  app.get('/', async () => ({
    name: 'livetrace',
    routes: READ_ROUTES.filter((r) => r !== '/'),
    ...(writer ? { write_routes: ['/traces', ...WRITE_ROUTES] } : {}),
    auth: auth ? 'bearer' : 'none',
  }));

  if (writer)
    registerWriteRoutes(app, {
      writer,
      bodyLimit: resolved.writeBodyLimit,
      principalOf,
      visibleInfo,
    });

  app.get('/traces', { schema: SCHEMAS.list, preValidation: dropEmpty }, async (req) => {
    const query = listQueryOf(req.query);
    const p = principalOf(req);
    if (p) {
      if (query.tenantId !== undefined && query.tenantId !== p.tenantId) return { traces: [] };
      query.tenantId = p.tenantId;
      if (p.teamId !== undefined) {
        if (query.teamId !== undefined && query.teamId !== p.teamId) return { traces: [] };
        query.teamId = p.teamId;
      }
    }
    const r = await tracer.list(query);
    return r.nextCursor === undefined ? { traces: r.traces } : { traces: r.traces, next_cursor: r.nextCursor };
  });

  app.get('/traces/:id', { schema: SCHEMAS.trace }, async (req, reply) => view(req, reply, 'snapshot', (snap) => snap));
  app.get('/traces/:id/info', { schema: SCHEMAS.trace }, async (req) => visibleInfo(req));

  app.get('/traces/:id/events', { schema: SCHEMAS.events, preValidation: dropEmpty }, async (req, reply) => {
    // HEAD gets the JSON variant's headers: a stream without a body would never end.
    const wantsStream =
      req.method === 'GET' && (isTrue(req.query.stream) || /\btext\/event-stream\b/.test(req.headers.accept ?? ''));
    // Validate everything before any I/O.
    assertValidId(req.params.id);
    const since = sinceOf(req, wantsStream, req.query.since);
    const limit = req.query.limit ?? 1000;
    const info = await visibleInfo(req);
    if (wantsStream) return sse(req, reply, info.id, since);
    const events = await tracer.events(info.id, { since, limit });
    const last = events.length > 0 ? events[events.length - 1]! : undefined;
    return { events, next_since: events.length === limit && last && last.type !== 'complete' ? last.seq : null };
  });

  app.get('/traces/:id/nodes', { schema: SCHEMAS.trace }, async (req, reply) =>
    view(req, reply, 'nodes', (snap) => ({ nodes: snap.nodes })),
  );
  app.get('/traces/:id/nodes/:nodeId', { schema: SCHEMAS.node }, async (req) => {
    const snap = await visibleSnapshot(req);
    const node = snap.nodes.find((n) => n.id === req.params.nodeId);
    if (!node) throw new UnknownNodeError(snap.info.id, req.params.nodeId);
    return node;
  });
  app.get('/traces/:id/logs', { schema: SCHEMAS.trace }, async (req, reply) =>
    view(req, reply, 'logs', (snap) => ({ logs: snap.logs })),
  );
  app.get('/traces/:id/logs/:nodeId', { schema: SCHEMAS.node }, async (req) => {
    const snap = await visibleSnapshot(req);
    const nodeId = req.params.nodeId;
    if (!snap.nodes.some((n) => n.id === nodeId)) throw new UnknownNodeError(snap.info.id, nodeId);
    return { logs: snap.logs.filter((l) => l.node_id === nodeId) };
  });
  app.get('/traces/:id/spaces', { schema: SCHEMAS.trace }, async (req, reply) =>
    view(req, reply, 'spaces', (snap) => ({
      spaces: snap.spaces.map(({ data, items: _items, ...space }) => ({ ...space, keys: Object.keys(data) })),
    })),
  );
  app.get('/traces/:id/spaces/:spaceId', { schema: SCHEMAS.space }, async (req) => {
    const snap = await visibleSnapshot(req);
    const space = snap.spaces.find((s) => s.id === req.params.spaceId);
    if (!space) throw new UnknownSpaceError(snap.info.id, req.params.spaceId);
    return space;
  });
  app.get('/traces/:id/export', { schema: SCHEMAS.export, preValidation: dropEmpty }, async (req, reply) => {
    const format = exportFormatOf(req.query.format);
    const snap = await visibleSnapshot(req);
    // Streamed (the snapshot, then the log a page at a time; never the whole document in
    // memory), in a heavy-work slot held until the response ends.
    const release = await heavy.acquire('exports');
    const body = Readable.from(exportChunks(tracer, snap, format), { objectMode: false });
    body.once('close', release);
    void reply.header(
      'content-disposition',
      `attachment; filename="${snap.info.id}${format === 'otlp' ? '.otlp' : ''}.json"`,
    );
    void reply.header('content-type', 'application/json; charset=utf-8');
    return reply.send(body);
  });

  // Every other method on a known path is a 405 that says what is allowed (OPTIONS too,
  // unless CORS answers its preflights).
  const corsOn = options.cors !== undefined && options.cors.length > 0;
  const otherMethods = app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD' && !(corsOn && m === 'OPTIONS'));
  for (const url of READ_ROUTES) {
    const post = writer !== undefined && url === '/traces';
    app.route({
      method: post ? otherMethods.filter((m) => m !== 'POST') : otherMethods,
      url,
      bodyLimit: resolved.bodyLimit,
      handler: async (req, reply) => {
        void reply.header('allow', post ? 'GET, HEAD, POST' : 'GET, HEAD');
        return reply
          .code(405)
          .send(
            errorBody(
              'LT_ERR_METHOD_NOT_ALLOWED',
              `${req.method} is not allowed here; use GET${post ? ' or POST' : ''}`,
            ),
          );
      },
    });
  }
  for (const url of writer ? WRITE_ROUTES : []) {
    app.route({
      method: ['GET', 'HEAD', ...otherMethods.filter((m) => m !== 'POST')],
      url,
      bodyLimit: resolved.bodyLimit,
      handler: async (req, reply) => {
        void reply.header('allow', 'POST');
        return reply
          .code(405)
          .send(errorBody('LT_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use POST`));
      },
    });
  }

  async function sse(req: Req, reply: FastifyReply, id: string, since: number): Promise<void> {
    const headers = reply.getHeaders() as OutgoingHttpHeaders;
    reply.hijack();
    await streamTrace({
      tracer,
      traceId: id,
      since,
      res: reply.raw,
      headers,
      registry: streams,
      options: resolved.sse,
    });
  }
};

// Fastify plugin metadata: a name for error messages and the framework version it needs.
Object.assign(livetracePlugin, {
  [Symbol.for('fastify.display-name')]: 'livetrace',
  [Symbol.for('plugin-meta')]: { name: 'livetrace', fastify: '5.x' },
});

/** The resume point of a request: `Last-Event-ID` (sent by EventSource on reconnect) wins over `?since=`. */
function sinceOf(req: Req, stream: boolean, since: number | undefined): number {
  const header = req.headers['last-event-id'];
  if (stream && typeof header === 'string' && header !== '') {
    if (!/^\d{1,16}$/.test(header))
      throw new InvalidArgumentError(
        `Last-Event-ID must be an event seq (integer >= 0), got ${JSON.stringify(header.slice(0, 40))}`,
      );
    return Number(header);
  }
  return since ?? 0;
}

/** `?stream`, `?stream=1`, `?stream=true`. */
function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1' || v === '';
}

export type { FastifyInstance, Tracer };
