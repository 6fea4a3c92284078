// Core benchmark: livetrace (memory store) against OpenTelemetry JS, measured side by side
// in this run. Unit: one traced step = livetrace add + one log + complete, OpenTelemetry
// startSpan + addEvent + end. Each figure is the median of several rounds; the time of
// a round includes the durability barrier (trace.flush() / forceFlush()).
import { cpus } from 'node:os';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { otelSteps, rate as rateOf, recordSteps, sized } from './support/measure.js';

const N = sized(100_000, 300);
const ROUNDS = sized(5, 1);

async function livetrace(subscribers: number): Promise<void> {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  const readers: Promise<number>[] = [];
  for (let i = 0; i < subscribers; i++) {
    readers.push(
      (async () => {
        let n = 0;
        for await (const _ of t.subscribe()) n++;
        return n;
      })(),
    );
  }
  recordSteps(t, N);
  t.markComplete();
  await t.flush();
  const counts = await Promise.all(readers);
  for (const c of counts) if (c !== t.events().length) throw new Error(`subscriber got ${c} of ${t.events().length}`);
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

const rate = (run: () => Promise<void>) => rateOf(N, run, ROUNDS);
const otelSimple = await rate(() => otelSteps(N, 'simple'));
const otelBatch = await rate(() => otelSteps(N, 'batch', 'ack'));
const lt = await rate(() => livetrace(0));
const lt10 = await rate(() => livetrace(10));
const bytes = await heapPerNode();
const faster = Math.max(otelSimple, otelBatch);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}; ${N.toLocaleString('en-US')} steps per round, median of ${ROUNDS}\n`,
);
console.log('| configuration | steps/s | ratio vs faster OTel |');
console.log('| --- | ---: | ---: |');
console.log(
  `| OpenTelemetry SimpleSpanProcessor + InMemorySpanExporter | ${fmt(otelSimple)} | ${(otelSimple / faster).toFixed(2)}x |`,
);
console.log(
  `| OpenTelemetry BatchSpanProcessor + ack-only exporter | ${fmt(otelBatch)} | ${(otelBatch / faster).toFixed(2)}x |`,
);
console.log(`| livetrace, memory store, no subscriber | ${fmt(lt)} | **${(lt / faster).toFixed(2)}x** |`);
console.log(`| livetrace, memory store, 10 live subscribers | ${fmt(lt10)} | ${(lt10 / faster).toFixed(2)}x |`);
console.log(`\nheap per live node (node + 3 events + log, trace kept in memory): ${fmt(bytes)} bytes`);
console.log(
  `goal: livetrace without subscribers >= 1.0x the faster OpenTelemetry configuration: ${lt >= faster ? 'met' : 'NOT met'}`,
);
