// A stand-alone Fastify app: the API under `basePath` and the web viewer at `/`.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { InvalidArgumentError } from '../core/errors.js';
import { Tracer } from '../tracer/tracer.js';
import { errorBody } from './http-error.js';
import type { LivetraceApiOptions } from './options.js';
import { DEFAULT_BASE_PATH, livetracePlugin } from './plugin.js';
import { SseRegistry } from './sse-stream.js';
import { findViewerDir, viewerPlugin } from './viewer.js';

export interface CreateServerOptions extends Omit<LivetraceApiOptions, 'tracer' | 'streams'> {
  /** Default: a new Tracer with the default store, closed with the server. */
  tracer?: Tracer;
  /** Where the API is mounted. Default "/v1/trace". */
  basePath?: string;
  /** Folder of the built viewer; false: no viewer routes; default: the package's viewer-dist/ if built. */
  viewer?: string | false;
  /** Fastify logger option. Default false. */
  logger?: FastifyServerOptions['logger'];
  /** Runs first on close, before SSE streams end (e.g. stop a demo loop). */
  beforeClose?: () => Promise<void>;
}

export interface ServerState {
  readonly tracer: Tracer;
  readonly basePath: string;
  readonly streams: SseRegistry;
  readonly viewerDir: string | undefined;
}

export type LivetraceServer = FastifyInstance & { livetrace: ServerState };

export function normalizeBasePath(p: string | undefined): string {
  const path = p ?? DEFAULT_BASE_PATH;
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\/-]*$/.test(path) || path.includes('//')) {
    throw new InvalidArgumentError(`option basePath must be a URL path like "/v1/trace", got ${JSON.stringify(path)}`);
  }
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') throw new InvalidArgumentError('option basePath must not be "/": the web viewer is served there');
  return trimmed;
}

export async function createServer(options: CreateServerOptions = {}): Promise<LivetraceServer> {
  const basePath = normalizeBasePath(options.basePath);
  const ownsTracer = options.tracer === undefined;
  const tracer = options.tracer ?? new Tracer();
  const viewerDir = options.viewer === false ? undefined : (options.viewer ?? findViewerDir());
  const streams = new SseRegistry();
  const app = Fastify({
    logger: options.logger ?? false,
    // Trace ids may be 128 characters.
    routerOptions: { maxParamLength: 256 },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // The API answers 503 itself during shutdown, in its JSON error format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  const state: ServerState = { tracer, basePath, streams, viewerDir };
  app.decorate('livetrace', state);
  // Root preClose runs before the plugin's: from here on every new request gets a 503.
  const before = options.beforeClose;
  app.addHook('preClose', async () => {
    streams.closing = true;
    await before?.();
  });
  const { beforeClose: _b, tracer: _t, basePath: _p, viewer: _v, logger: _l, ...api } = options;
  await app.register(livetracePlugin, { ...api, tracer, streams, closeTracer: options.closeTracer ?? ownsTracer, prefix: basePath });
  if (options.viewer !== false) await app.register(viewerPlugin, { root: viewerDir, basePath });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // Client-side routes of the viewer get its index.html; everything else a JSON 404.
    if (viewerDir && (req.method === 'GET' || req.method === 'HEAD') && !path.startsWith(basePath + '/') && /\btext\/html\b/.test(req.headers.accept ?? '')) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html', viewerDir);
    }
    return reply.code(404).send(errorBody('LT_ERR_NOT_FOUND', `no route ${req.method} ${path}`));
  });
  return app as unknown as LivetraceServer;
}
