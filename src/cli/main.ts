// The `livetrace` command line (commander). bin/livetrace.js calls main() and sets the exit
// code it returns; see docs/cli.md for the commands and the exit codes.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { CliContext, Run } from './context.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { colorsFor, escapeTerminal, type Io } from './output.js';
import { registerArchive } from './commands/archive.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerLs } from './commands/ls.js';
import { registerRm } from './commands/rm.js';
import { registerServe } from './commands/serve.js';
import { registerShow } from './commands/show.js';
import { registerTail } from './commands/tail.js';

export interface MainOptions {
  io?: Partial<Io>;
  env?: NodeJS.ProcessEnv;
  /** Handle SIGINT/SIGTERM (first: graceful stop; second: exit 130). Default true. */
  signals?: boolean;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
}

/** Runs the CLI with `argv` (process.argv form) and resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv, options: MainOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const out = options.io?.out ?? process.stdout;
  const err = options.io?.err ?? process.stderr;
  const io: Io = { out, err, colors: options.io?.colors ?? colorsFor(out, env) };
  const abort = new AbortController();
  const ctx: CliContext = { io, signal: abort.signal, env };
  let code: number = EXIT.OK;
  const run: Run = async (work) => {
    code = await work;
  };

  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) {
      err.write(`\nlivetrace: second ${sig}, exiting now\n`);
      process.exit(EXIT.INTERRUPTED);
    }
    abort.abort(sig);
  };
  // `livetrace tail ... | head`: a closed pipe ends the command quietly instead of crashing.
  const onOutError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') abort.abort('EPIPE');
    else err.write(`livetrace: cannot write output: ${e.message}\n`);
  };
  out.on('error', onOutError);
  if (options.signals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const program = new Command('livetrace')
    .description('livetrace: record, store and stream live traces of AI-agent runs')
    .version(version(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void out.write(s),
      writeErr: (s) => void err.write(s),
      outputError: (s, write) => write(io.colors.red(s)),
    });
  registerServe(program, ctx, run);
  registerDemo(program, ctx, run);
  registerLs(program, ctx, run);
  registerShow(program, ctx, run);
  registerTail(program, ctx, run);
  registerExport(program, ctx, run);
  registerImport(program, ctx, run);
  registerArchive(program, ctx, run);
  registerRm(program, ctx, run);

  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT.OK;
      // commander printed the message already.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const errCode = (e as { code?: unknown })?.code;
    // Messages may quote trace content or a remote server's answer: escaped like all output.
    err.write(
      io.colors.red(
        escapeTerminal(
          `livetrace: ${typeof errCode === 'string' ? errCode + ': ' : ''}${(e as Error)?.message ?? String(e)}`,
        ),
      ) + '\n',
    );
    return exitCodeOf(e);
  } finally {
    // After EPIPE the stream may still report failed writes: keep swallowing them until exit.
    if (abort.signal.reason !== 'EPIPE') out.off('error', onOutError);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
