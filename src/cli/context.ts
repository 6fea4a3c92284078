// What every command gets: output streams with colors, an abort signal fired by
// SIGINT/SIGTERM, and the store/hub flags turned into a Tracer.
import type { Command } from 'commander';
import { openTracer, type OpenedTracer } from '../server/open-tracer.js';
import type { Io } from './output.js';

export interface CliContext {
  io: Io;
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export interface StoreFlags {
  dir?: string;
  store?: string;
  hub?: string;
}

export function addStoreOptions(cmd: Command, withHub = false): Command {
  cmd.option('--dir <path>', 'file store folder (default: $LIVETRACE_DIR or ./.livetrace)');
  cmd.option(
    '--store <url>',
    'store URL: file:<dir>, sqlite:<path>, postgres://..., redis://... (default: $LIVETRACE_STORE)',
  );
  if (withHub)
    cmd.option('--hub <url>', 'hub URL for live events between processes: redis://... (default: $LIVETRACE_HUB)');
  return cmd;
}

export function addServerOptions(cmd: Command): Command {
  cmd.option(
    '-s, --server <url>',
    'read from a livetrace server instead of the local store (e.g. http://127.0.0.1:7411)',
  );
  cmd.option('--token <token>', 'bearer token for --server (default: $LIVETRACE_TOKEN)');
  return cmd;
}

/** Opens the tracer, runs `fn`, and always closes it (flush, release, close the store). */
export async function withTracer<T>(
  ctx: CliContext,
  flags: StoreFlags,
  fn: (opened: OpenedTracer) => Promise<T>,
): Promise<T> {
  const opened = await openTracer({ ...flags, env: ctx.env });
  const c = ctx.io.colors;
  opened.tracer.on('error', (e) =>
    ctx.io.err.write(c.red(`livetrace: ${(e as { code?: string }).code ?? 'LT_ERR_STORE'}: ${e.message}`) + '\n'),
  );
  opened.tracer.on('warning', (w) => ctx.io.err.write(c.yellow(`livetrace: ${w.code}: ${w.message}`) + '\n'));
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/** Records a command's exit code; commander awaits the returned promise. */
export type Run = (work: Promise<number>) => Promise<void>;
