// Shared by the benchmark suites: the statistics, and the OpenTelemetry workload every
// suite compares against (so that each suite measures the peer the same way).
import { context, trace as otelTrace } from '@opentelemetry/api';
import type { Trace } from '../../src/tracer/trace.js';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/**
 * `npm run bench -- --smoke` (env LIVETRACE_BENCH_SMOKE=1): every suite with tiny sizes, so
 * that the test suite runs each bench end to end (they never rot); its figures mean nothing.
 */
export const SMOKE = process.env['LIVETRACE_BENCH_SMOKE'] === '1';
/** `full` normally, `smoke` under --smoke. */
export const sized = (full: number, smoke: number): number => (SMOKE ? smoke : full);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds of one call of `run`, over `rounds` calls. */
export async function timeMs(run: () => Promise<unknown>, rounds: number): Promise<number> {
  const ts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await run();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

/**
 * The order of round `r`: `names` on even rounds, reversed on odd ones, so that each pair
 * of configurations is measured in both orders (the one run second read up to 1.17x).
 */
export function roundOrder<T>(names: readonly T[], r: number): readonly T[] {
  return r % 2 === 0 ? names : [...names].reverse();
}

/** Units/s of one call of `run`, after a GC (with --expose-gc). */
export async function timedRate(units: number, run: () => Promise<unknown>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = process.hrtime.bigint();
  await run();
  return units / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Units/s of every configuration in `runs`, interleaved in this one process: a warm-up
 * run of each, then `rounds` rounds, the order reversed every other round. (What the
 * suites did before support/isolated.ts; they print it beside it.)
 */
export async function interleavedRates(
  runs: Record<string, () => Promise<unknown>>,
  units: number,
  rounds: number,
): Promise<Record<string, number[]>> {
  const names = Object.keys(runs);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await runs[name]!();
  for (let r = 0; r < rounds; r++)
    for (const name of roundOrder(names, r)) rates[name]!.push(await timedRate(units, runs[name]!));
  return rates;
}

/** Median of `rounds` rates (units/s) after one warm-up run; a GC before each round. */
export async function rate(units: number, run: () => Promise<void>, rounds = 5): Promise<number> {
  await run();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await timedRate(units, run));
  return median(rates);
}

/** An exporter that only acknowledges: the cost of OpenTelemetry's pipeline alone. */
export class AckExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    this.count += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

/**
 * OpenTelemetry doing what a livetrace step does: `n` child spans of one root, each
 * startSpan + addEvent + end, then forceFlush. `simple`: SimpleSpanProcessor +
 * InMemorySpanExporter; `batch`: BatchSpanProcessor + the given exporter. Checks that every
 * span was exported: the batch processor silently drops spans when its queue overflows.
 */
export async function otelSteps(
  n: number,
  kind: 'simple' | 'batch',
  batchExporter: 'memory' | 'ack' = 'ack',
  maxExportBatchSize = 2000,
): Promise<void> {
  const memory = new InMemorySpanExporter();
  const ack = new AckExporter();
  const processor =
    kind === 'simple'
      ? new SimpleSpanProcessor(memory)
      : new BatchSpanProcessor(batchExporter === 'ack' ? ack : memory, {
          maxQueueSize: n + 10,
          maxExportBatchSize,
          scheduledDelayMillis: 50,
        });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  const root = tracer.startSpan('root');
  const ctx = otelTrace.setSpan(context.active(), root);
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan('step', undefined, ctx);
    span.addEvent('log line');
    span.end();
  }
  root.end();
  await provider.forceFlush();
  const exported = kind === 'batch' && batchExporter === 'ack' ? ack.count : memory.getFinishedSpans().length;
  if (exported !== n + 1) throw new Error(`OpenTelemetry ${kind} exported ${exported} of ${n + 1} spans`);
  await provider.shutdown();
}

/** The livetrace workload every suite measures: `n` steps of add + one log + complete. */
export function recordSteps(trace: Trace, n: number): void {
  for (let i = 0; i < n; i++) {
    const node = trace.add(undefined, { label: 'step' });
    node.info('log line');
    node.complete();
  }
}
