// OTel bridge benchmark, measured side by side in this run:
// 1. span throughput of an OTel SDK pipeline with LivetraceSpanProcessor (live nodes in a
//    memory-store trace) against the SDK's own SimpleSpanProcessor + InMemorySpanExporter;
// 2. OTLP/JSON export: toOtlp(snapshot) + JSON.stringify against otlp-transformer's
//    JsonTraceSerializer on the SDK's ReadableSpans of the same run.
// Unit: one span = startSpan (2 attributes) + addEvent + end, children of one root per
// trace of SPANS_PER_TRACE spans. Each figure is the median of several rounds and
// includes forceFlush(). The goal's figure runs each pipeline in a process of its own, as
// an application runs one (support/isolated.ts); the same pipelines interleaved in one
// process are printed too, for what they measure of each other.
import { cpus } from 'node:os';
import { context, trace as otelTrace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { LivetraceSpanProcessor } from '../src/otel/span-processor.js';
import { toOtlp } from '../src/otel/otlp.js';
import { interleavedRates, median, rate as rateOf, sized } from './support/measure.js';
import { childConfig, isolatedRounds, measureInChild } from './support/isolated.js';

const TRACES = sized(100, 3);
const SPANS_PER_TRACE = sized(200, 20);
const N = TRACES * SPANS_PER_TRACE;
const ROUNDS = sized(7, 1);

const rate = (units: number, run: () => Promise<void>): Promise<number> => rateOf(units, run, ROUNDS);

function emit(provider: BasicTracerProvider): void {
  const ot = provider.getTracer('bench');
  for (let t = 0; t < TRACES; t++) {
    const root = ot.startSpan('agent');
    const ctx = otelTrace.setSpan(context.active(), root);
    for (let i = 1; i < SPANS_PER_TRACE; i++) {
      const span = ot.startSpan('step', { attributes: { 'step.index': i, 'gen_ai.prompt': 'hello' } }, ctx);
      span.addEvent('log line');
      span.setAttribute('gen_ai.completion', 'world');
      span.end();
    }
    root.end();
  }
}

async function pipeline(kind: 'otel' | 'livetrace'): Promise<void> {
  let processor: SpanProcessor;
  let tracer: Tracer | undefined;
  const memory = new InMemorySpanExporter();
  if (kind === 'otel') processor = new SimpleSpanProcessor(memory);
  else {
    tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    processor = new LivetraceSpanProcessor({ tracer });
  }
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  emit(provider);
  await provider.forceFlush();
  if (kind === 'otel' && memory.getFinishedSpans().length !== N) throw new Error('OTel lost spans');
  if (tracer) {
    const { traces } = await tracer.list({ limit: TRACES + 1 });
    if (traces.length !== TRACES || traces.some((t) => t.status !== 'completed' || t.node_count !== SPANS_PER_TRACE))
      throw new Error('livetrace lost spans');
  }
  await provider.shutdown();
  await tracer?.close();
}

const config = childConfig();
if (config === 'otel' || config === 'livetrace')
  await measureInChild(() => pipeline(config), N, { warmups: sized(5, 0), measured: sized(3, 1) });
else await main();

async function main(): Promise<void> {
  // Export: the same 20,000 spans, once as livetrace snapshots, once as SDK ReadableSpans.
  const exporter = new InMemorySpanExporter();
  const exportTracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const exportProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), new LivetraceSpanProcessor({ tracer: exportTracer })],
  });
  emit(exportProvider);
  await exportProvider.forceFlush();
  const { traces } = await exportTracer.list({ limit: TRACES + 1 });
  const snapshots = await Promise.all(traces.map((t) => exportTracer.read(t.id)));
  const readable = exporter.getFinishedSpans();
  if (readable.length !== N || snapshots.reduce((n, s) => n + s!.nodes.length, 0) !== N)
    throw new Error('export fixtures incomplete');
  let bytesOurs = 0;
  let bytesOtel = 0;
  const exportOurs = await rate(N, async () => {
    bytesOurs = 0;
    for (const s of snapshots) bytesOurs += JSON.stringify(toOtlp(s!)).length;
  });
  const exportOtel = await rate(N, async () => {
    bytesOtel = JsonTraceSerializer.serializeRequest(readable)!.byteLength;
  });

  // The two pipelines in rounds, each run in a process of its own (a round: one fresh
  // process per pipeline: five warm-up runs, then the median of three), the ratio the median of the
  // per-round ratios: measured one after the other, they measured the machine's drift.
  const isolated = await isolatedRounds(import.meta.url, ['otel', 'livetrace'], ROUNDS);
  const otelRates = isolated['otel']!;
  const ltRates = isolated['livetrace']!;
  const otelRate = median(otelRates);
  const ltRate = median(ltRates);
  const processorRatio = median(ltRates.map((x, r) => x / otelRates[r]!));
  // The same, with a young generation four times the size Node grows it to by default: most
  // of SimpleSpanProcessor + InMemorySpanExporter's time is the scavenger copying the spans
  // the exporter keeps (docs/performance.md, section 11).
  const bigYoung = await isolatedRounds(import.meta.url, ['otel', 'livetrace'], ROUNDS, ['--max-semi-space-size=64']);
  const bigYoungRatio = median(bigYoung['livetrace']!.map((x, r) => x / bigYoung['otel']![r]!));
  // The same pipelines interleaved in this one process.
  const interleaved = await interleavedRates(
    { otel: () => pipeline('otel'), livetrace: () => pipeline('livetrace') },
    N,
    ROUNDS,
  );
  const sharedOtel = interleaved['otel']!;
  const sharedLt = interleaved['livetrace']!;
  const sharedRatio = median(sharedLt.map((x, r) => x / sharedOtel[r]!));
  await exportProvider.shutdown();
  await exportTracer.close();

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}; ${N.toLocaleString('en-US')} spans per round (${TRACES} traces x ${SPANS_PER_TRACE}), median of ${ROUNDS}\n`,
  );
  console.log('| configuration | spans/s | ratio |');
  console.log('| --- | ---: | ---: |');
  console.log(`| OTel SDK + SimpleSpanProcessor + InMemorySpanExporter (a process each) | ${fmt(otelRate)} | 1.00x |`);
  console.log(
    `| OTel SDK + LivetraceSpanProcessor (live nodes, memory store, traces completed and released; a process each) | ${fmt(ltRate)} | **${processorRatio.toFixed(2)}x** (median of per-round ratios) |`,
  );
  console.log(
    `| the same two, a process each with \`--max-semi-space-size=64\`: SimpleSpanProcessor ${fmt(median(bigYoung['otel']!))}, LivetraceSpanProcessor ${fmt(median(bigYoung['livetrace']!))} | | ${bigYoungRatio.toFixed(2)}x |`,
  );
  console.log(
    `| the same two pipelines interleaved in one process: SimpleSpanProcessor ${fmt(median(sharedOtel))}, LivetraceSpanProcessor ${fmt(median(sharedLt))} | | ${sharedRatio.toFixed(2)}x |`,
  );
  console.log(
    `| OTLP/JSON: otlp-transformer JsonTraceSerializer (ReadableSpans -> bytes) | ${fmt(exportOtel)} | 1.00x |`,
  );
  console.log(
    `| OTLP/JSON: livetrace toOtlp + JSON.stringify (snapshots -> string) | ${fmt(exportOurs)} | **${(exportOurs / exportOtel).toFixed(2)}x** |`,
  );
  console.log(
    `\ngoal: LivetraceSpanProcessor >= 1.0x SimpleSpanProcessor + InMemorySpanExporter: ${processorRatio >= 1 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `\nOTLP/JSON size for ${fmt(N)} spans: livetrace ${fmt(bytesOurs)} chars (${TRACES} requests), otlp-transformer ${fmt(bytesOtel)} bytes (1 request); livetrace adds livetrace.* attributes and input/output`,
  );
}
