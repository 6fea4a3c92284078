// A stand-alone Fastify app: the API under `basePath` and the web viewer at `/`.
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ERROR_CODES, HostNotAllowedError, InvalidArgumentError, type ErrorCode } from '../core/errors.js';
import { Tracer } from '../tracer/tracer.js';
import { readOptions } from '../core/read-options.js';
import { HostCheck } from './host-check.js';
import { errorBody } from './http-error.js';
import type { LivetraceApiOptions } from './options.js';
import { DEFAULT_BASE_PATH, livetracePlugin } from './plugin.js';
import { SseRegistry } from './sse-stream.js';
import { TokenAuth } from './auth.js';
import { HeavyWork } from './heavy-work.js';
import { OtlpReceiver, type OtlpReceiverOptions } from './otlp-receiver.js';
import { otlpPlugin } from './otlp-routes.js';
import { findViewerDir, sendViewerFile, viewerPlugin } from './viewer.js';

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
  /**
   * Host names (any port) answered besides localhost, 127.0.0.1 and [::1]; any other
   * `Host` header gets a 403 (DNS-rebinding guard). The guard is on for an open API (no
   * tokens) and whenever this option is given. Default: none.
   */
  allowedHosts?: readonly string[];
  /**
   * The OTLP/HTTP receiver (`POST /v1/traces`): its options, a shared OtlpReceiver, or false
   * to turn it off. Default on, with the write API's auth (the `write` scope) and body limit.
   */
  otlp?: OtlpReceiverOptions | OtlpReceiver | false;
}

export interface ServerState {
  readonly tracer: Tracer;
  readonly basePath: string;
  readonly streams: SseRegistry;
  readonly viewerDir: string | undefined;
  /** The OTLP receiver (undefined when turned off). */
  readonly otlp: OtlpReceiver | undefined;
  /** The token check shared by the API and the OTLP routes (undefined: open API). */
  readonly auth: TokenAuth | undefined;
  /** Largest write body (ops batch, OTLP export), compressed and decompressed. */
  readonly writeBodyLimit: number;
}

export type LivetraceServer = FastifyInstance & { livetrace: ServerState };

export function normalizeBasePath(p: string | undefined): string {
  const path = p ?? DEFAULT_BASE_PATH;
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~/-]*$/.test(path) || path.includes('//')) {
    throw new InvalidArgumentError(`option basePath must be a URL path like "/v1/trace", got ${JSON.stringify(path)}`);
  }
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') throw new InvalidArgumentError('option basePath must not be "/": the web viewer is served there');
  return trimmed;
}

export async function createServer(serverOptions?: CreateServerOptions): Promise<LivetraceServer> {
  const options = readOptions('createServer()', serverOptions);
  const basePath = normalizeBasePath(options.basePath);
  const ownsTracer = options.tracer === undefined;
  const tracer = options.tracer ?? new Tracer();
  const viewerDir = options.viewer === false ? undefined : (options.viewer ?? findViewerDir());
  const streams = new SseRegistry();
  const hostCheck =
    options.tokens === undefined || options.allowedHosts !== undefined
      ? new HostCheck(options.allowedHosts)
      : undefined;
  const app = Fastify({
    logger: options.logger ?? false,
    // Trace ids may be 128 characters.
    routerOptions: { maxParamLength: 256 },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // The API answers 503 itself during shutdown, in its JSON error format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Errors raised before routing (bad URL encoding, a too long path parameter) and by
    // the HTTP parser (headers too large, malformed request) answer in the API's JSON shape.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as { code(n: number): { send(b: unknown): unknown } };
      if (err.statusCode === 414)
        void r
          .code(414)
          .send(errorBody('LT_ERR_URI_TOO_LONG', 'request URL too long (path parameters are at most 256 characters)'));
      else void r.code(400).send(errorBody('LT_ERR_BAD_REQUEST'));
    },
    clientErrorHandler: clientError,
  });
  const auth =
    options.tokens === undefined
      ? undefined
      : options.tokens instanceof TokenAuth
        ? options.tokens
        : new TokenAuth(options.tokens);
  const otlp =
    options.otlp === false
      ? undefined
      : options.otlp instanceof OtlpReceiver
        ? options.otlp
        : new OtlpReceiver(tracer, options.otlp);
  if (otlp && options.cluster) otlp.cluster = options.cluster;
  // One bound of heavy work for the read side and the write side (loading stored traces).
  const heavyWork = options.heavyWork instanceof HeavyWork ? options.heavyWork : new HeavyWork(options.heavyWork);
  if (otlp) otlp.heavy ??= heavyWork;
  const writeBodyLimit = options.writeBodyLimit ?? 1024 * 1024;
  const state: ServerState = { tracer, basePath, streams, viewerDir, otlp, auth, writeBodyLimit };
  app.decorate('livetrace', state);
  if (hostCheck) {
    // Root hook: runs before the API's auth and for the viewer's files too.
    app.addHook('onRequest', async (req, reply) => {
      if (!hostCheck.allows(req.headers.host)) {
        return reply
          .code(403)
          .send(errorBody('LT_ERR_HOST_NOT_ALLOWED', new HostNotAllowedError(req.headers.host).message));
      }
    });
  }
  // Root preClose runs before the plugin's: from here on every new request gets a 503.
  const before = options.beforeClose;
  app.addHook('preClose', async () => {
    streams.closing = true;
    await before?.();
    // Traces being assembled from OTLP spans complete before the tracer closes.
    if (otlp && !(options.otlp instanceof OtlpReceiver)) await otlp.close();
  });
  const {
    beforeClose: _b,
    tracer: _t,
    basePath: _p,
    viewer: _v,
    logger: _l,
    allowedHosts: _a,
    otlp: _o,
    tokens: _tk,
    ...api
  } = options;
  if (otlp) await app.register(otlpPlugin, { receiver: otlp, auth, bodyLimit: writeBodyLimit });
  await app.register(livetracePlugin, {
    ...api,
    ...(auth ? { tokens: auth } : {}),
    tracer,
    streams,
    heavyWork,
    ...(otlp ? { keepLoaded: (id: string) => otlp.isAssembling(id) } : {}),
    closeTracer: options.closeTracer ?? ownsTracer,
    prefix: basePath,
  });
  if (options.viewer !== false) await app.register(viewerPlugin, { root: viewerDir, basePath });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // Client-side routes of the viewer get its index.html; everything else a JSON 404.
    if (
      viewerDir &&
      (req.method === 'GET' || req.method === 'HEAD') &&
      !path.startsWith(basePath + '/') &&
      /\btext\/html\b/.test(req.headers.accept ?? '')
    ) {
      return sendViewerFile(req, reply, viewerDir, 'index.html');
    }
    if (
      viewerDir &&
      req.method !== 'GET' &&
      req.method !== 'HEAD' &&
      !path.startsWith(basePath + '/') &&
      path !== basePath
    ) {
      // The viewer's paths are read-only.
      void reply.header('allow', 'GET, HEAD');
      return reply.code(405).send(errorBody('LT_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use GET`));
    }
    return reply.code(404).send(errorBody('LT_ERR_NOT_FOUND', `no route ${req.method} ${path}`));
  });
  return app as unknown as LivetraceServer;
}

/** Raw-socket answers of HTTP parser errors, in the API's JSON error shape. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status: number;
  let code: ErrorCode;
  if (err.code === 'HPE_HEADER_OVERFLOW') [status, code] = [431, 'LT_ERR_HEADERS_TOO_LARGE'];
  else if (err.code === 'HPE_URI_TOO_LONG') [status, code] = [414, 'LT_ERR_URI_TOO_LONG'];
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') [status, code] = [408, 'LT_ERR_REQUEST_TIMEOUT'];
  else [status, code] = [400, 'LT_ERR_BAD_REQUEST'];
  const body = JSON.stringify(errorBody(code, ERROR_CODES[code].message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};
