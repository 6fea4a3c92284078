// Core benchmark: livetrace (memory store) against OpenTelemetry JS, measured side by side
// in this run. Unit: one traced step = livetrace add + one log + complete, OpenTelemetry
// startSpan + addEvent + end. Each figure is the median of several rounds; the time of
// a round includes the durability barrier (trace.flush() / forceFlush()).
import { cpus } from 'node:os';
import { context, trace as otelTrace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const N = 100_000;
const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function rate(run: () => Promise<void>): Promise<number> {
  await run(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    await run();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(N / s);
  }
  return median(rates);
}

async function livetrace(subscribers: number): Promise<void> {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  const readers: Promise<number>[] = [];
  for (let i = 0; i < subscribers; i++) {
    readers.push((async () => {
      let n = 0;
      for await (const _ of t.subscribe()) n++;
      return n;
    })());
  }
  for (let i = 0; i < N; i++) {
    const node = t.add(undefined, { label: 'step' });
    node.info('log line');
    node.complete();
  }
  t.markComplete();
  await t.flush();
  const counts = await Promise.all(readers);
  for (const c of counts) if (c !== t.events().length) throw new Error(`subscriber got ${c} of ${t.events().length}`);
  await t.release();
  await tracer.close();
}

class AckExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    this.count += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

async function otel(kind: 'simple' | 'batch'): Promise<void> {
  const memory = new InMemorySpanExporter();
  const ack = new AckExporter();
  const processor =
    kind === 'simple'
      ? new SimpleSpanProcessor(memory)
      : new BatchSpanProcessor(ack, { maxQueueSize: N + 10, maxExportBatchSize: 2000, scheduledDelayMillis: 50 });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  const root = tracer.startSpan('root');
  const ctx = otelTrace.setSpan(context.active(), root);
  for (let i = 0; i < N; i++) {
    const span = tracer.startSpan('step', undefined, ctx);
    span.addEvent('log line');
    span.end();
  }
  root.end();
  await provider.forceFlush();
  const exported = kind === 'simple' ? memory.getFinishedSpans().length : ack.count;
  // OpenTelemetry's batch processor drops spans silently when its queue overflows: check.
  if (exported !== N + 1) throw new Error(`OpenTelemetry ${kind} exported ${exported} of ${N + 1} spans`);
  await provider.shutdown();
}

async function heapPerNode(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  await t.flush();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    const node = t.add(undefined, { label: 'step' });
    node.info('log line');
    node.complete();
  }
  await t.flush();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  await t.release();
  await tracer.close();
  return (h1 - h0) / N;
}

const otelSimple = await rate(() => otel('simple'));
const otelBatch = await rate(() => otel('batch'));
const lt = await rate(() => livetrace(0));
const lt10 = await rate(() => livetrace(10));
const bytes = await heapPerNode();
const faster = Math.max(otelSimple, otelBatch);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}; ${N.toLocaleString('en-US')} steps per round, median of ${ROUNDS}\n`);
console.log('| configuration | steps/s | ratio vs faster OTel |');
console.log('| --- | ---: | ---: |');
console.log(`| OpenTelemetry SimpleSpanProcessor + InMemorySpanExporter | ${fmt(otelSimple)} | ${(otelSimple / faster).toFixed(2)}x |`);
console.log(`| OpenTelemetry BatchSpanProcessor + ack-only exporter | ${fmt(otelBatch)} | ${(otelBatch / faster).toFixed(2)}x |`);
console.log(`| livetrace, memory store, no subscriber | ${fmt(lt)} | **${(lt / faster).toFixed(2)}x** |`);
console.log(`| livetrace, memory store, 10 live subscribers | ${fmt(lt10)} | ${(lt10 / faster).toFixed(2)}x |`);
console.log(`\nheap per live node (node + 3 events + log, trace kept in memory): ${fmt(bytes)} bytes`);
console.log(`goal: livetrace without subscribers >= 1.0x the faster OpenTelemetry configuration: ${lt >= faster ? 'met' : 'NOT met'}`);
