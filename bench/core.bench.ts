// Core benchmark: livetrace (memory store) against OpenTelemetry JS, measured side by side
// in this run. Unit: one traced step = livetrace add + one log + complete, OpenTelemetry
// startSpan + addEvent + end. Each figure is the median of several rounds; the time of
// a round includes the durability barrier (trace.flush() / forceFlush()). Goals (issue 16):
// the long trace >= 0.9x OpenTelemetry's BatchSpanProcessor, 10 live subscribers >= 0.7x
// of none, heap retained per live node <= 600 bytes.
import { cpus, loadavg } from 'node:os';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { median, otelSteps, recordSteps, sized } from './support/measure.js';
import { childConfig, isolatedRounds, measureInChild } from './support/isolated.js';

const N = sized(100_000, 300);
const ROUNDS = sized(5, 1);

/**
 * `subscribers` readers of every event: with `for await` (one promise per event per
 * reader), or (`drain`) also taking the events already there with `takeReady()`.
 */
async function livetrace(subscribers: number, drain = false): Promise<void> {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  const readers: Promise<number>[] = [];
  for (let i = 0; i < subscribers; i++) {
    readers.push(
      (async () => {
        let n = 0;
        const sub = t.subscribe();
        if (drain)
          for await (const _ of sub) {
            n++;
            while (sub.takeReady() !== undefined) n++;
          }
        else for await (const _ of sub) n++;
        return n;
      })(),
    );
  }
  recordSteps(t, N);
  t.markComplete();
  await t.flush();
  const counts = await Promise.all(readers);
  // lastSeq, not events().length per subscriber: events() decodes the whole compacted log,
  // which cost the 10-subscriber row 11% of its time (3 million decoded events per round).
  const total = t.lastSeq;
  for (const c of counts) if (c !== total) throw new Error(`subscriber got ${c} of ${total}`);
  await t.release();
  await tracer.close();
}

async function heapPerNode(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  await t.flush();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  recordSteps(t, N);
  await t.flush();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  await t.release();
  await tracer.close();
  return (h1 - h0) / N;
}

// Every configuration runs in a process of its own (support/isolated.ts: in one process,
// a configuration's speed depended on the others run before it), round after round, so
// that the load of a shared machine weighs on all of them alike; each ratio is the median
// of the per-round ratios (the two runs compared, back to back).
const configs: Record<string, () => Promise<void>> = {
  otelSimple: () => otelSteps(N, 'simple'),
  otelBatch: () => otelSteps(N, 'batch', 'ack'),
  lt10: () => livetrace(10),
  lt: () => livetrace(0),
  lt10drain: () => livetrace(10, true),
};
const config = childConfig();
if (config !== undefined) await measureInChild(configs[config]!, N, { warmups: sized(2, 0) });
else await main();

async function main(): Promise<void> {
  const rates = await isolatedRounds(import.meta.url, Object.keys(configs), ROUNDS);
  const perRound = (a: string, b: string): number => median(rates[a]!.map((x, r) => x / rates[b]![r]!));
  const pairRatios = rates['lt10']!.map((x, r) => x / rates['lt']![r]!);
  const drainRatios = rates['lt10drain']!.map((x, r) => x / rates['lt']![r]!);
  const longRatio = perRound('lt', 'otelBatch');
  const otelSimple = median(rates['otelSimple']!);
  const otelBatch = median(rates['otelBatch']!);
  const lt = median(rates['lt']!);
  const lt10 = median(rates['lt10']!);
  const subRatio = median(pairRatios);
  const lt10drain = median(rates['lt10drain']!);
  const drainRatio = median(drainRatios);
  const bytes = await heapPerNode();

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; ${N.toLocaleString('en-US')} steps per round (one long trace), median of ${ROUNDS} rounds, each configuration in a process of its own after a warm-up\n`,
  );
  console.log('| configuration | steps/s | ratio | goal |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| OpenTelemetry SimpleSpanProcessor + InMemorySpanExporter | ${fmt(otelSimple)} | ${(otelSimple / otelBatch).toFixed(2)}x of OTel batch | |`,
  );
  console.log(`| OpenTelemetry BatchSpanProcessor + ack-only exporter | ${fmt(otelBatch)} | 1.00x | |`);
  console.log(
    `| livetrace, memory store, no subscriber | ${fmt(lt)} | **${longRatio.toFixed(2)}x** of OTel batch (median of per-round ratios) | >= 0.9x |`,
  );
  console.log(
    `| livetrace, memory store, 10 live subscribers (for await, one promise per event) | ${fmt(lt10)} | **${subRatio.toFixed(2)}x** of no subscriber (median of per-round ratios) | >= 0.7x |`,
  );
  console.log(
    `| livetrace, memory store, 10 live subscribers (for await + takeReady() for the events already there) | ${fmt(lt10drain)} | **${drainRatio.toFixed(2)}x** of no subscriber (median of per-round ratios) | >= 0.7x |`,
  );
  console.log(
    `\nheap retained per live node (node + 3 events + log, trace kept in memory): ${fmt(bytes)} bytes (goal <= 600)`,
  );
  console.log(
    `goal: long trace >= 0.9x OTel batch: ${longRatio >= 0.9 ? 'met' : 'NOT met'}; 10 subscribers >= 0.7x none: for await ${subRatio >= 0.7 ? 'met' : 'NOT met'}, with takeReady() ${drainRatio >= 0.7 ? 'met' : 'NOT met'}; heap per node <= 600 B: ${bytes <= 600 ? 'met' : 'NOT met'}`,
  );
}
