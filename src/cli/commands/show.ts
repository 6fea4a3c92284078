import type { Command } from 'commander';
import { TraceNotFoundError } from '../../core/errors.js';
import { assertValidId } from '../../core/ids.js';
import type { TraceSnapshot } from '../../core/types.js';
import { ApiClient } from '../api-client.js';
import {
  addServerOptions,
  addStoreOptions,
  withTracer,
  type CliContext,
  type Run,
  type StoreFlags,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import { jsonForTerminal, terminalSafe } from '../output.js';
import { renderTrace } from '../render-tree.js';

interface ShowFlags extends StoreFlags {
  logs?: boolean;
  json?: boolean;
  server?: string;
  token?: string;
}

export function registerShow(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('show <id>')
    .description('print a trace as a tree: status, durations, joins, errors, spaces')
    .option('--logs', "print each node's log lines under it")
    .option('--json', 'print the trace snapshot (info, nodes, logs, spaces) as JSON');
  addServerOptions(addStoreOptions(cmd)).action((id: string, flags: ShowFlags) => done(show(ctx, id, flags)));
}

async function show(ctx: CliContext, id: string, flags: ShowFlags): Promise<number> {
  assertValidId(id);
  let snap: TraceSnapshot | undefined;
  if (flags.server) {
    snap = await new ApiClient(flags.server, flags.token ?? ctx.env['LIVETRACE_TOKEN']).get<TraceSnapshot>(
      `/traces/${id}`,
    );
  } else {
    snap = await withTracer(ctx, flags, ({ tracer }) => tracer.read(id));
  }
  if (!snap) throw new TraceNotFoundError(id);
  // Trace content is untrusted: control characters are escaped before anything is printed.
  if (flags.json) ctx.io.out.write(jsonForTerminal(JSON.stringify(snap, null, 2)) + '\n');
  else ctx.io.out.write(renderTrace(terminalSafe(snap), ctx.io.colors, { logs: flags.logs === true }));
  return EXIT.OK;
}
