import type { Command } from 'commander';
import { startServer } from '../../server/start-server.js';
import type { CliContext, Run } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { parseNonNegativeInt, parsePort } from './parse.js';

interface ServeFlags {
  port: number;
  host: string;
  dir?: string;
  store?: string;
  hub?: string;
  tokens?: string;
  cors?: string;
  allowedHosts?: string;
  prices?: string;
  demo?: boolean;
  otlpPort?: number;
  otlpQuietMs?: number;
  advertiseUrl?: string;
}

export function registerServe(program: Command, ctx: CliContext, done: Run): void {
  program
    .command('serve')
    .description('run the HTTP API, live SSE and the web viewer; prints the URL as its first line')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 7411)
    .option('--host <host>', 'interface to bind; without --tokens only loopback hosts are allowed', '127.0.0.1')
    .option('--dir <path>', 'file store folder (default: $LIVETRACE_DIR or ./.livetrace)')
    .option(
      '--store <url>',
      'store URL: file:<dir>, sqlite:<path>, postgres://..., redis://... (default: $LIVETRACE_STORE)',
    )
    .option('--hub <url>', 'hub URL carrying live events from other processes: redis://... (default: $LIVETRACE_HUB)')
    .option('--tokens <file>', 'JSON array of { "token", "tenantId", "teamId"? }: bearer auth with tenant scoping')
    .option('--cors <origins>', 'comma-separated origins allowed by CORS ("*" for any); default: CORS off')
    .option(
      '--allowed-hosts <names>',
      'comma-separated host names answered besides localhost, 127.0.0.1 and [::1] (DNS-rebinding guard; e.g. behind a proxy)',
    )
    .option(
      '--prices <file>',
      'JSON price table { "<model>": { "input_per_million", "output_per_million", "currency" } } over the defaults: fills in missing costs',
    )
    .option(
      '--otlp-port <port>',
      'also serve OTLP/HTTP POST /v1/traces on this port (4318 is the standard one); it is always served on --port',
      parsePort,
    )
    .option(
      '--otlp-quiet-ms <ms>',
      'an OTLP trace completes once its root span arrived and nothing arrived for this long (default 5000)',
      parseNonNegativeInt,
    )
    .option(
      '--advertise-url <url>',
      'several servers (a store with leases and --hub redis://): the URL other instances reach this one at, e.g. http://10.0.0.5:7411 (default: http://<bound address>:<port>)',
    )
    .option('--demo', 'keep a demo agent run going (one every 20 s)')
    .action((flags: ServeFlags) => done(serve(ctx, flags)));
}

async function serve(ctx: CliContext, flags: ServeFlags): Promise<number> {
  const { io } = ctx;
  const c = io.colors;
  const server = await startServer({
    port: flags.port,
    host: flags.host,
    ...(flags.dir !== undefined ? { dir: flags.dir } : {}),
    ...(flags.store !== undefined ? { store: flags.store } : {}),
    ...(flags.hub !== undefined ? { hub: flags.hub } : {}),
    ...(flags.tokens !== undefined ? { tokens: flags.tokens } : {}),
    ...(flags.cors !== undefined
      ? {
          cors: flags.cors
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        }
      : {}),
    ...(flags.allowedHosts !== undefined
      ? {
          allowedHosts: flags.allowedHosts
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        }
      : {}),
    ...(flags.prices !== undefined ? { prices: flags.prices } : {}),
    ...(flags.demo ? { demo: true } : {}),
    ...(flags.otlpPort !== undefined ? { otlpPort: flags.otlpPort } : {}),
    ...(flags.otlpQuietMs !== undefined ? { otlp: { quietMs: flags.otlpQuietMs } } : {}),
    ...(flags.advertiseUrl !== undefined ? { cluster: { advertiseUrl: flags.advertiseUrl } } : {}),
    logger: { level: 'warn' },
  });
  // Scripts and tests read the URL from the first line: nothing may be printed before it.
  io.out.write(server.url + '\n');
  io.out.write(
    c.dim(
      `API ${server.apiUrl}  OTLP ${server.otlpUrl ?? server.url + 'v1/traces'}  store ${server.tracer.store.name}${flags.demo ? '  demo runs every 20 s' : ''}  (Ctrl-C to stop)`,
    ) + '\n',
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  io.err.write(c.dim('shutting down: ending streams, flushing traces...') + '\n');
  await server.close();
  io.err.write(c.dim('stopped') + '\n');
  return EXIT.OK;
}
