import type { Command } from 'commander';
import { newDemoSession, runDemoAgent } from '../../demo/agent.js';
import { addStoreOptions, withTracer, type CliContext, type Run, type StoreFlags } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration } from '../output.js';
import { parsePositiveNumber } from './parse.js';

interface DemoFlags extends StoreFlags {
  every?: number;
  timeScale: number;
  tenant?: string;
}

export function registerDemo(program: Command, ctx: CliContext, done: Run): void {
  const cmd = program
    .command('demo')
    .description(
      'record a realistic demo agent run (node kinds, plan, parallel tools, a retried failure, a streaming LLM call with its conversation, tokens and cost, memory spaces; with --every, runs continue a session of three turns); prints each trace id as it starts',
    )
    .option(
      '--every <seconds>',
      'keep starting runs, one every <seconds> (the next starts when the previous has finished)',
      parsePositiveNumber,
    )
    .option('--time-scale <factor>', 'multiply every pause (0.1 = ten times faster)', parsePositiveNumber, 1)
    .option('--tenant <id>', 'tenant id recorded in the trace info');
  addStoreOptions(cmd, true).action((flags: DemoFlags) => done(demo(ctx, flags)));
}

async function demo(ctx: CliContext, flags: DemoFlags): Promise<number> {
  const { io, signal } = ctx;
  const c = io.colors;
  return withTracer(ctx, flags, async ({ tracer }) => {
    // With --every, runs continue one conversation (a session of three turns, then a new one).
    let session = newDemoSession();
    for (;;) {
      const started = Date.now();
      if (session.turns >= 3) session = newDemoSession();
      let id = '';
      const final = await runDemoAgent(tracer, {
        timeScale: flags.timeScale,
        signal,
        session,
        ...(flags.tenant !== undefined ? { tenantId: flags.tenant } : {}),
        onStart: (traceId) => {
          id = traceId;
          // stdout carries only the id (scripts: `id=$(livetrace demo)`); the rest goes to stderr.
          io.out.write(traceId + '\n');
          io.err.write(c.dim(`▶ demo run ${traceId} started (livetrace tail ${traceId})`) + '\n');
        },
      });
      const info = await tracer.info(final);
      io.err.write(
        `${info?.status === 'completed' ? c.green('✔') : c.yellow('⊘')} ${id} ${info?.status ?? ''} in ${formatDuration(Date.now() - started)}\n`,
      );
      if (signal.aborted) return EXIT.INTERRUPTED;
      if (flags.every === undefined) return EXIT.OK;
      const wait = Math.max(0, flags.every * 1000 - (Date.now() - started));
      const interrupted = await sleep(wait, signal);
      if (interrupted) return EXIT.INTERRUPTED;
    }
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
