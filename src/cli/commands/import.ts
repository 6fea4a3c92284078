import type { Command } from 'commander';
import { addStoreOptions, withTracer, type CliContext, type Run, type StoreFlags } from '../context.js';
import { EXIT, exitCodeOf } from '../exit-codes.js';
import { importTrace, readTraceFile } from '../import-trace.js';
import { progressBar } from '../progress.js';

interface ImportFlags extends StoreFlags {
  replace?: boolean;
}

export function registerImport(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('import <files...>')
    .description('import traces from files written by `livetrace export` (or JSON arrays / JSON lines of events)')
    .option('--replace', 'overwrite a stored trace with the same id');
  addStoreOptions(cmd).action((files: string[], flags: ImportFlags) => done(importCmd(ctx, files, flags)));
}

async function importCmd(ctx: CliContext, files: string[], flags: ImportFlags): Promise<number> {
  const { io } = ctx;
  const c = io.colors;
  return withTracer(ctx, flags, async ({ tracer }) => {
    const bar = progressBar(io, files.length, 'import');
    let worst: number = EXIT.OK;
    let imported = 0;
    try {
      for (const file of files) {
        if (ctx.signal.aborted) return EXIT.INTERRUPTED;
        try {
          const parsed = await readTraceFile(file);
          await importTrace(tracer, parsed, { replace: flags.replace === true });
          imported++;
          if (files.length === 1) io.out.write(parsed.id + '\n');
          else io.out.write(`${parsed.id}\t${file}\n`);
        } catch (err) {
          const code = exitCodeOf(err);
          if (worst === EXIT.OK) worst = code;
          io.err.write(
            c.red(`${file}: ${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`) + '\n',
          );
        }
        bar.increment();
      }
    } finally {
      bar.stop();
    }
    if (files.length > 1) io.err.write(`imported ${imported} of ${files.length} file(s)\n`);
    return worst;
  });
}
