import type { Command } from 'commander';
import { assertValidId } from '../../core/ids.js';
import type { TraceInfo } from '../../core/types.js';
import type { Tracer } from '../../tracer/tracer.js';
import { addStoreOptions, withTracer, type CliContext, type Run, type StoreFlags } from '../context.js';
import { EXIT, exitCodeOf } from '../exit-codes.js';
import { formatDuration } from '../output.js';
import { progressBar } from '../progress.js';
import { parseDurationOption } from './parse.js';

interface ArchiveFlags extends StoreFlags {
  olderThan?: number;
  dryRun?: boolean;
}

export function registerArchive(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('archive [ids...]')
    .description(
      'archive finished traces (the file store gzips them; they stay readable): the given ids, or every finished trace older than --older-than (default 7d)',
    )
    .option(
      '--older-than <duration>',
      'finished traces created more than <duration> ago: 30m, 12h, 7d, 2w',
      parseDurationOption,
    )
    .option('--dry-run', 'print what would be archived');
  addStoreOptions(cmd).action((ids: string[], flags: ArchiveFlags) => done(archive(ctx, ids, flags)));
}

/** Finished, not yet archived traces created before `before`. */
async function candidates(tracer: Tracer, before: number): Promise<TraceInfo[]> {
  const out: TraceInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await tracer.list({
      status: ['completed', 'failed', 'cancelled'],
      to: before,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const t of page.traces) if (!t.archived) out.push(t);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

async function archive(ctx: CliContext, ids: string[], flags: ArchiveFlags): Promise<number> {
  const { io } = ctx;
  const c = io.colors;
  ids.forEach((id) => assertValidId(id));
  return withTracer(ctx, flags, async ({ tracer }) => {
    let targets: string[];
    if (ids.length > 0) {
      targets = ids;
    } else {
      const age = flags.olderThan ?? 7 * 86_400_000;
      targets = (await candidates(tracer, Date.now() - age)).map((t) => t.id);
      io.err.write(c.dim(`${targets.length} finished trace(s) older than ${formatDuration(age)}`) + '\n');
    }
    if (flags.dryRun) {
      for (const id of targets) io.out.write(id + '\n');
      return EXIT.OK;
    }
    const bar = progressBar(io, targets.length, 'archive');
    let worst: number = EXIT.OK;
    let done = 0;
    try {
      for (const id of targets) {
        if (ctx.signal.aborted) return EXIT.INTERRUPTED;
        try {
          await tracer.archive(id);
          done++;
          if (ids.length > 0) io.out.write(id + '\n');
        } catch (err) {
          if (worst === EXIT.OK) worst = exitCodeOf(err);
          io.err.write(c.red(`${id}: ${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`) + '\n');
        }
        bar.increment();
      }
    } finally {
      bar.stop();
    }
    io.err.write(`archived ${done} trace(s)\n`);
    return worst;
  });
}
