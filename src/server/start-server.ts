// Runs the stand-alone server: opens the store/hub, refuses an open API on a non-loopback
// host, listens, and optionally keeps demo runs going. Used by `livetrace serve`.
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolvePrices, type PriceTable } from '../core/prices.js';
import { InvalidArgumentError, LivetraceError, StoreError, errorMessage } from '../core/errors.js';
import { startDemoLoop, type DemoLoop } from '../demo/demo-loop.js';
import type { Tracer } from '../tracer/tracer.js';
import { TokenAuth, isLoopbackHost, type TokenEntry } from './auth.js';
import { createServer, type CreateServerOptions, type LivetraceServer } from './create-server.js';
import { openTracer } from './open-tracer.js';
import { readOptions } from '../core/read-options.js';
import { intOption } from '../core/int-option.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { HostNotAllowedError } from '../core/errors.js';
import { HostCheck } from './host-check.js';
import { errorBody } from './http-error.js';
import { otlpPlugin } from './otlp-routes.js';
import { RedisHub } from '../hub/redis-hub.js';
import { Cluster, type ClusterOptions } from './cluster/cluster.js';
import { RedisSharedState } from './cluster/shared-state.js';

export interface StartClusterOptions extends ClusterOptions {
  /**
   * The URL other instances reach this one at (its API port), e.g. http://10.0.0.5:7411.
   * Default: http://<bound address>:<port>, the machine's host name when bound to all interfaces.
   */
  advertiseUrl?: string;
}

export interface StartServerOptions extends Omit<
  CreateServerOptions,
  'tracer' | 'tokens' | 'beforeClose' | 'prices' | 'cluster' | 'keepLoaded'
> {
  /**
   * Path of a JSON price table (`{ [model]: { input_per_million, output_per_million,
   * currency } }`), or the table: merged over the defaults, it prices the usage of traces
   * written through this server and fills in missing costs in the snapshots it serves.
   */
  prices?: string | PriceTable;
  /** Default 7411; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Without tokens only a loopback host is allowed. */
  host?: string;
  /** A tracer to serve (not closed by the server); else one is opened from dir/store/hub. */
  tracer?: Tracer;
  /** File store folder (`file:<dir>`). */
  dir?: string;
  /** Store URL (file:, sqlite:, postgres://, redis://). */
  store?: string;
  /** Hub URL (redis://). */
  hub?: string;
  /** Path of a JSON tokens file, or the entries themselves. */
  tokens?: string | readonly TokenEntry[];
  /** Keep demo agent runs going (one every `everyMs`, default 20 s). */
  demo?: boolean | { everyMs?: number; timeScale?: number };
  /** Also serve OTLP/HTTP (`POST /v1/traces`) on this port (4318 is the standard one; 0: any free port). Default: only on `port`. */
  otlpPort?: number;
  /**
   * Several instances on one store with leases (PostgreSQL, SQLite) and one Redis hub: writes
   * of a trace held by another instance are forwarded to it (docs/deploy.md). On by default
   * with such a store and hub; false turns it off (writes to a trace held elsewhere: 409).
   */
  cluster?: StartClusterOptions | false;
}

export interface RunningServer {
  readonly app: LivetraceServer;
  /** e.g. http://127.0.0.1:7411/ */
  readonly url: string;
  /** The API base URL, e.g. http://127.0.0.1:7411/v1/trace */
  readonly apiUrl: string;
  readonly tracer: Tracer;
  /** The OTLP/HTTP traces endpoint on the second port, e.g. http://127.0.0.1:4318/v1/traces (with `otlpPort`). */
  readonly otlpUrl: string | undefined;
  /** Graceful shutdown (see docs/server.md for the order). Idempotent. */
  close(): Promise<void>;
}

export async function startServer(serverOptions?: StartServerOptions): Promise<RunningServer> {
  const options = readOptions('startServer()', serverOptions);
  const port = options.port ?? 7411;
  const host = options.host ?? '127.0.0.1';
  intOption('option port', port, undefined, { min: 0, max: 65535 });
  const otlpPort = options.otlpPort;
  if (otlpPort !== undefined) intOption('option otlpPort', otlpPort, undefined, { min: 0, max: 65535 });
  const auth =
    options.tokens === undefined
      ? undefined
      : typeof options.tokens === 'string'
        ? await TokenAuth.fromFile(options.tokens)
        : new TokenAuth(options.tokens);
  if (!auth && !isLoopbackHost(host)) {
    throw new InvalidArgumentError(
      `refusing to serve an open API on ${host}: without --tokens <file> livetrace only listens on a loopback host (127.0.0.1, ::1, localhost)`,
    );
  }
  if (auth && auth.size === 0 && !isLoopbackHost(host)) {
    throw new InvalidArgumentError('the tokens file is empty: no request could be authorized');
  }
  const prices = options.prices === undefined ? undefined : await loadPrices(options.prices);
  const opened = options.tracer
    ? undefined
    : await openTracer({
        dir: options.dir,
        store: options.store,
        hub: options.hub,
        ...(prices ? { tracer: { prices } } : {}),
      });
  const tracer = options.tracer ?? opened!.tracer;
  let cluster: Cluster | undefined;
  try {
    cluster = clusterOf(tracer, options.cluster);
  } catch (err) {
    await opened?.close().catch(() => undefined);
    throw err;
  }
  let demo: DemoLoop | undefined;
  let app: LivetraceServer;
  let otlpApp: FastifyInstance | undefined;
  let created: LivetraceServer | undefined;
  try {
    // A store that cannot serve (a --dir that is a file, a database that refuses us) fails
    // here, at start, rather than with a 500 on every request.
    await probeStore(tracer);
    const {
      port: _p,
      host: _h,
      dir: _d,
      store: _s,
      hub: _hub,
      tokens: _t,
      demo: _demo,
      tracer: _tr,
      prices: _pr,
      otlpPort: _op,
      cluster: _c,
      ...rest
    } = options;
    app = await createServer({
      ...rest,
      tracer,
      ...(cluster ? { cluster } : {}),
      ...(prices ? { prices } : {}),
      ...(auth ? { tokens: auth } : {}),
      closeTracer: false,
      beforeClose: async () => {
        await demo?.stop();
        // The second port stops taking exports before the receiver completes what it holds.
        await otlpApp?.close();
      },
    });
    created = app;
    if (cluster) {
      let failing = false;
      cluster.onError = (err) => {
        if (failing) return;
        failing = true;
        app.log.warn({ err }, 'livetrace cluster: Redis failed (idempotency answers, waiting spans, announcements)');
        setTimeout(() => (failing = false), 10_000).unref();
      };
      app.addHook('onClose', async () => cluster.close());
    }
    // After the server has closed (its connections are gone): flush, release, close the store.
    if (opened) app.addHook('onClose', async () => opened.close());
    await app.listen({ port, host });
    if (cluster) {
      const a = app.server.address() as AddressInfo;
      const any = a.address === '0.0.0.0' || a.address === '::';
      const h = any ? hostname() : a.family === 'IPv6' ? `[${a.address}]` : a.address;
      const advertise = (options.cluster || undefined)?.advertiseUrl ?? `http://${h}:${a.port}`;
      await cluster.start(advertise, app.livetrace.otlp);
    }
    if (otlpPort !== undefined) {
      if (!app.livetrace.otlp)
        throw new InvalidArgumentError('option otlpPort needs the OTLP receiver (otlp: false turns it off)');
      otlpApp = await otlpServer(app, otlpPort, host, options.allowedHosts);
    }
  } catch (err) {
    await otlpApp?.close().catch(() => undefined);
    await created?.close().catch(() => undefined);
    if (!created) await cluster?.close().catch(() => undefined);
    await opened?.close().catch(() => undefined);
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostPart}:${addr.port}/`;
  if (options.demo) {
    const d = typeof options.demo === 'object' ? options.demo : {};
    demo = startDemoLoop(tracer, {
      ...(d.everyMs !== undefined ? { everyMs: d.everyMs } : {}),
      ...(d.timeScale !== undefined ? { timeScale: d.timeScale } : {}),
      onError: (err) => app.log.error({ err }, 'demo run failed'),
    });
  }
  let otlpUrl: string | undefined;
  if (otlpApp) {
    const o = otlpApp.server.address() as AddressInfo;
    otlpUrl = `http://${o.family === 'IPv6' ? `[${o.address}]` : o.address}:${o.port}/v1/traces`;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    otlpUrl,
    apiUrl: url.slice(0, -1) + app.livetrace.basePath,
    tracer,
    close: () => (closing ??= app.close()),
  };
}

/** A second app on `port` serving only OTLP/HTTP, with the main app's receiver, tokens and host guard. */
async function otlpServer(
  main: LivetraceServer,
  port: number,
  host: string,
  allowedHosts: readonly string[] | undefined,
): Promise<FastifyInstance> {
  const { otlp, auth, writeBodyLimit } = main.livetrace;
  const app = Fastify({ logger: false, forceCloseConnections: 'idle', return503OnClosing: false });
  if (!auth || allowedHosts !== undefined) {
    const hostCheck = new HostCheck(allowedHosts);
    app.addHook('onRequest', async (req, reply) => {
      if (!hostCheck.allows(req.headers.host))
        return reply
          .code(403)
          .send(errorBody('LT_ERR_HOST_NOT_ALLOWED', new HostNotAllowedError(req.headers.host).message));
    });
  }
  await app.register(otlpPlugin, { receiver: otlp!, auth, bodyLimit: writeBodyLimit });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          'LT_ERR_NOT_FOUND',
          `no route ${req.method} ${req.url.split('?')[0]!}; this port serves POST /v1/traces`,
        ),
      ),
  );
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

/** The cluster of a tracer on a store with leases and a Redis hub (unless turned off). */
function clusterOf(tracer: Tracer, option: StartClusterOptions | false | undefined): Cluster | undefined {
  if (option === false) return undefined;
  const hub = tracer.hub;
  if (!(hub instanceof RedisHub) || typeof tracer.store.acquire !== 'function') {
    if (option !== undefined)
      throw new InvalidArgumentError(
        'option cluster needs a store with leases (postgres://..., sqlite:<path>) and a Redis hub (--hub redis://...)',
      );
    return undefined;
  }
  if (option?.advertiseUrl !== undefined && !/^https?:\/\/[^/\s]+$/.test(option.advertiseUrl))
    throw new InvalidArgumentError(
      `option cluster.advertiseUrl must be an origin like http://10.0.0.5:7411, got ${JSON.stringify(option.advertiseUrl)}`,
    );
  const { advertiseUrl: _a, ...rest } = option ?? {};
  return new Cluster(tracer, new RedisSharedState({ url: hub.url, prefix: hub.prefix, redis: hub.redisOptions }), rest);
}

async function probeStore(tracer: Tracer): Promise<void> {
  try {
    await tracer.store.list({ limit: 1 });
  } catch (err) {
    const detail =
      err instanceof LivetraceError && err.cause !== undefined ? errorMessage(err.cause) : errorMessage(err);
    throw new StoreError(`cannot open store ${tracer.store.name}: ${detail}`, { cause: err });
  }
}

/** Reads and validates a price table; a bad file fails the start with what to fix. */
async function loadPrices(source: string | PriceTable): Promise<PriceTable> {
  if (typeof source !== 'string') return resolvePrices(source, 'prices');
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the prices file ${source}: ${errorMessage(err)}`);
  }
  let table: unknown;
  try {
    table = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`the prices file ${source} is not JSON: ${errorMessage(err)}`);
  }
  return resolvePrices(table, `prices file ${source}`);
}
