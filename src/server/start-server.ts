// Runs the stand-alone server: opens the store/hub, refuses an open API on a non-loopback
// host, listens, and optionally keeps demo runs going. Used by `livetrace serve`.
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolvePrices, type PriceTable } from '../core/prices.js';
import { InvalidArgumentError, LivetraceError, StoreError, errorMessage } from '../core/errors.js';
import { startDemoLoop, type DemoLoop } from '../demo/demo-loop.js';
import type { Tracer } from '../tracer/tracer.js';
import { TokenAuth, isLoopbackHost, type TokenEntry } from './auth.js';
import { createServer, type CreateServerOptions, type LivetraceServer } from './create-server.js';
import { openTracer } from './open-tracer.js';
import { readOptions } from '../core/read-options.js';
import { intOption } from '../core/int-option.js';

export interface StartServerOptions extends Omit<CreateServerOptions, 'tracer' | 'tokens' | 'beforeClose' | 'prices'> {
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
}

export interface RunningServer {
  readonly app: LivetraceServer;
  /** e.g. http://127.0.0.1:7411/ */
  readonly url: string;
  /** The API base URL, e.g. http://127.0.0.1:7411/v1/trace */
  readonly apiUrl: string;
  readonly tracer: Tracer;
  /** Graceful shutdown (see docs/server.md for the order). Idempotent. */
  close(): Promise<void>;
}

export async function startServer(serverOptions?: StartServerOptions): Promise<RunningServer> {
  const options = readOptions('startServer()', serverOptions);
  const port = options.port ?? 7411;
  const host = options.host ?? '127.0.0.1';
  intOption('option port', port, undefined, { min: 0, max: 65535 });
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
  let demo: DemoLoop | undefined;
  let app: LivetraceServer;
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
      ...rest
    } = options;
    app = await createServer({
      ...rest,
      tracer,
      ...(prices ? { prices } : {}),
      ...(auth ? { tokens: auth } : {}),
      closeTracer: false,
      beforeClose: async () => {
        await demo?.stop();
      },
    });
    // After the server has closed (its connections are gone): flush, release, close the store.
    if (opened) app.addHook('onClose', async () => opened.close());
    await app.listen({ port, host });
  } catch (err) {
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
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    apiUrl: url.slice(0, -1) + app.livetrace.basePath,
    tracer,
    close: () => (closing ??= app.close()),
  };
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
