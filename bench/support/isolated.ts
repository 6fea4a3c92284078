// Each configuration of a suite measured in a process of its own, as it is deployed: an
// application runs one span processor, one tracer. Measured one after the other in one
// process, two pipelines measure each other too: they share the JIT's type feedback of
// the code they both run and the garbage collector's heap sizing. In the OTel suite the
// processor read 1.2-1.4x of SimpleSpanProcessor with each pipeline alone in its process,
// 0.76-0.97x with both interleaved in one (docs/performance.md, section 11).
//
// A round forks one child per configuration (in the reverse order every other round, so
// each pair is measured in both orders); a child does its warm-up runs, then its measured
// runs after a GC each, and reports their median units/s over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, roundOrder, timedRate } from './measure.js';

const FLAG = '--bench-config';
/** Node flags for every child (as in the server suite), e.g. "--cpu-prof --cpu-prof-dir=prof". */
const CHILD_ARGS = process.env['LIVETRACE_BENCH_CHILD_ARGS']?.split(' ').filter(Boolean) ?? [];

/** The configuration this process measures when forked by isolatedRounds(), else undefined. */
export function childConfig(): string | undefined {
  const i = process.argv.indexOf(FLAG);
  return i < 0 ? undefined : process.argv[i + 1];
}

/**
 * In a child: `warmups` runs, then `measured` runs, each after a GC; sends the median
 * units/s to the parent and exits. A failing run exits with code 1 (the parent reports it).
 * A fresh process needs a few runs to reach its steady state (the JIT, and the heap sizes
 * the garbage collector grows to): the OTel suite's first runs were 1.3-2.2x slower.
 */
export async function measureInChild(
  run: () => Promise<void>,
  units: number,
  {
    warmups = 1,
    measured = 1,
    between,
  }: {
    warmups?: number;
    measured?: number;
    /** Runs after every run, untimed (clean-up). */
    between?: () => void;
  } = {},
): Promise<void> {
  try {
    for (let i = 0; i < warmups; i++) {
      await run();
      between?.();
    }
    const rates: number[] = [];
    for (let i = 0; i < measured; i++) {
      rates.push(await timedRate(units, run));
      between?.();
    }
    const rate = median(rates);
    await new Promise<void>((resolve, reject) =>
      process.send!({ rate }, (err: Error | null) => (err ? reject(err) : resolve())),
    );
    process.exit(0);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}

/** One child of `suite` (a compiled suite's path) measuring configuration `name`: its units/s. */
export function runChild(suite: string, name: string, v8Flags: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(suite, [FLAG, name], {
      execArgv: ['--expose-gc', ...v8Flags, ...CHILD_ARGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let rate: number | undefined;
    child.on('message', (m: { rate?: unknown }) => {
      if (typeof m?.rate === 'number') rate = m.rate;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (rate !== undefined && code === 0) resolve(rate);
      else reject(new Error(`bench configuration ${name} failed (exit ${code ?? signal})`));
    });
  });
}

/**
 * `rounds` rounds of every configuration in `names`, each run in a fresh process forked
 * from `suiteUrl` (the suite's `import.meta.url`, which must call measureInChild() when
 * childConfig() is set), with `v8Flags` added to node's. Returns units/s per configuration,
 * one entry per round.
 */
export async function isolatedRounds(
  suiteUrl: string,
  names: readonly string[],
  rounds: number,
  v8Flags: readonly string[] = [],
): Promise<Record<string, number[]>> {
  const suite = fileURLToPath(suiteUrl);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of roundOrder(names, r)) {
      rates[name]!.push(await runChild(suite, name, v8Flags));
    }
  }
  return rates;
}
