import type { Command } from 'commander';
import { LivetraceError, TraceNotFoundError } from '../../core/errors.js';
import { assertValidId } from '../../core/ids.js';
import type { TraceEvent } from '../../core/types.js';
import { ApiClient } from '../api-client.js';
import {
  addServerOptions,
  addStoreOptions,
  withTracer,
  type CliContext,
  type Run,
  type StoreFlags,
} from '../context.js';
import { EventPrinter } from '../event-line.js';
import { EXIT } from '../exit-codes.js';
import { jsonForTerminal, terminalSafe } from '../output.js';
import { readSse } from '../sse-reader.js';
import { parseNonNegativeInt, parsePositiveInt } from './parse.js';
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';
import { SSE_DONE } from '../../core/sse.js';

/** Waits before resuming a dropped stream: 250 ms after a clean end, doubling per failure up to 5 s. */
const RESUME_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5000 };

interface TailFlags extends StoreFlags {
  since: number;
  json?: boolean;
  server?: string;
  token?: string;
  retries: number;
}

export function registerTail(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('tail <id>')
    .description(
      'follow a trace live until it completes (history first); from a server with -s, resuming after disconnects',
    )
    .option('--since <seq>', 'start after this event seq', parseNonNegativeInt, 0)
    .option('--json', 'print events as JSON lines')
    .option('--retries <n>', 'with --server: consecutive failed reconnects before giving up', parsePositiveInt, 30);
  addServerOptions(addStoreOptions(cmd)).action((id: string, flags: TailFlags) => done(tail(ctx, id, flags)));
}

async function tail(ctx: CliContext, id: string, flags: TailFlags): Promise<number> {
  assertValidId(id);
  const printer = new EventPrinter(id, ctx.io.colors);
  const print = (ev: TraceEvent): void => {
    // Trace content is untrusted: control characters are escaped before anything is printed.
    const line = printer.line(terminalSafe(ev));
    ctx.io.out.write((flags.json ? jsonForTerminal(JSON.stringify(ev)) : line) + '\n');
  };
  if (flags.server) return tailRemote(ctx, id, flags, print);
  return withTracer(ctx, flags, async ({ tracer }) => {
    if (!(await tracer.exists(id))) throw new TraceNotFoundError(id);
    const follower = tracer.subscribe(id, { since: flags.since, signal: ctx.signal, pollMs: 200 });
    for await (const ev of follower) print(ev);
    return follower.reachedEnd ? EXIT.OK : EXIT.INTERRUPTED;
  });
}

async function tailRemote(
  ctx: CliContext,
  id: string,
  flags: TailFlags,
  print: (ev: TraceEvent) => void,
): Promise<number> {
  const { signal, io } = ctx;
  const c = io.colors;
  const client = new ApiClient(flags.server!, flags.token ?? ctx.env['LIVETRACE_TOKEN']);
  let last = flags.since;
  let failures = 0;
  // Existence and auth first, so that a wrong id or token is an immediate, clear exit code.
  await client.get(`/traces/${id}/info`, signal);
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (last > 0) headers['last-event-id'] = String(last);
      const res = await client.fetch(`/traces/${id}/events?stream=true`, { signal, headers });
      failures = 0;
      for await (const m of readSse(res.body!)) {
        if (m.data === SSE_DONE) return EXIT.OK;
        const ev = JSON.parse(m.data) as TraceEvent;
        if (ev.seq <= last) continue;
        print(ev);
        last = ev.seq;
      }
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof LivetraceError && err.status < 500 && err.code !== 'LT_ERR_TRACER_CLOSED') throw err;
      if (++failures > flags.retries) throw err;
    }
    if (signal.aborted) break;
    const delay = backoffDelay(failures + 1, RESUME_BACKOFF);
    io.err.write(c.dim(`connection lost; resuming after seq ${last} in ${delay} ms`) + '\n');
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, delay);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
  return EXIT.INTERRUPTED;
}
