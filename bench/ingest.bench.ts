// Ingest benchmark, measured side by side in this run:
// 1. OTLP ingest: the same spans (OTel SDK ReadableSpans, one root + children per trace)
//    recorded in process by LivetraceSpanProcessor, against the same spans encoded by
//    otlp-transformer's ProtobufTraceSerializer (what exporter-trace-otlp-proto sends) and
//    POSTed over real HTTP to a livetrace server (memory store) in batches of BATCH spans,
//    4 requests in flight, until every trace is stored and completed.
// 2. HTTP write API: ops/s of `POST /v1/trace/traces/:id/ops` (batches of OPS_PER_BATCH:
//    add + complete per node) against the same calls on the in-process Trace API.
// Client and server share this process and its cores: HTTP figures include both sides.
import { cpus } from 'node:os';
import { context, trace as otelTrace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createServer } from '../src/server/create-server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { LivetraceSpanProcessor } from '../src/otel/span-processor.js';
import { rate as rateOf, sized } from './support/measure.js';
import type { AddressInfo } from 'node:net';

const TRACES = sized(40, 2);
const SPANS_PER_TRACE = sized(250, 10);
const N = TRACES * SPANS_PER_TRACE;
const BATCH = 512;
const ROUNDS = sized(3, 1);
const NODES = sized(5000, 50);
const OPS_PER_BATCH = 100;
const rate = (units: number, run: () => Promise<void>): Promise<number> => rateOf(units, run, ROUNDS);

function emit(provider: BasicTracerProvider): void {
  const ot = provider.getTracer('bench');
  for (let t = 0; t < TRACES; t++) {
    const root = ot.startSpan('agent', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
    const ctx = otelTrace.setSpan(context.active(), root);
    for (let i = 1; i < SPANS_PER_TRACE; i++) {
      const span = ot.startSpan(
        'llm call',
        { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm', 'step.index': i } },
        ctx,
      );
      span.addEvent('token');
      span.setAttributes({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 });
      span.end();
    }
    root.end();
  }
}

// The spans, once: ReadableSpans to replay in process, protobuf request bodies to POST.
const memory = new InMemorySpanExporter();
const source = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
const spans: ReadableSpan[] = [];
const bodies: Uint8Array[] = [];
async function regenerate(): Promise<void> {
  memory.reset();
  emit(source);
  await source.forceFlush();
  spans.length = 0;
  spans.push(...memory.getFinishedSpans());
  bodies.length = 0;
  for (let i = 0; i < spans.length; i += BATCH)
    bodies.push(ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + BATCH))!);
}

/** In process: the SDK hands every span to LivetraceSpanProcessor (start, then end). */
async function inProcess(): Promise<void> {
  await regenerate(); // fresh trace ids (a completed trace refuses late spans)
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const processor = new LivetraceSpanProcessor({ tracer });
  const t0 = process.hrtime.bigint();
  // Replay in start order (parents first), then end order.
  const byStart = [...spans].sort((a, b) => (a.parentSpanContext ? 1 : 0) - (b.parentSpanContext ? 1 : 0));
  for (const s of byStart) processor.onStart(s, context.active());
  for (const s of spans) processor.onEnd(s);
  await processor.forceFlush();
  const elapsed = Number(process.hrtime.bigint() - t0);
  const { traces } = await tracer.list({ limit: TRACES + 1 });
  if (traces.length !== TRACES || traces.some((t) => t.status !== 'completed' || t.node_count !== SPANS_PER_TRACE))
    throw new Error('in-process: spans lost');
  await tracer.close();
  timings.push(elapsed);
}
const timings: number[] = [];

async function overHttp(): Promise<void> {
  await regenerate();
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const app = await createServer({
    tracer,
    viewer: false,
    writeBodyLimit: 16 * 1024 * 1024,
    otlp: { quietMs: 3_600_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/traces`;
  const t0 = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: body as unknown as BodyInit,
      });
      const answer = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200 || answer.length !== 0) throw new Error(`OTLP export answered ${res.status}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  // Every trace's root arrived: complete them now (the quiet period would, later).
  await app.livetrace.otlp!.sweep(Date.now() + 3_600_001);
  const elapsed = Number(process.hrtime.bigint() - t0);
  const { traces } = await tracer.list({ limit: TRACES + 1 });
  if (traces.length !== TRACES || traces.some((t) => t.status !== 'completed' || t.node_count !== SPANS_PER_TRACE))
    throw new Error('OTLP: spans lost');
  await app.close();
  await tracer.close();
  timings.push(elapsed);
}

async function median(run: () => Promise<void>): Promise<number> {
  timings.length = 0;
  await run(); // warm-up
  timings.length = 0;
  for (let r = 0; r < ROUNDS; r++) {
    (globalThis as { gc?: () => void }).gc?.();
    await run();
  }
  const s = [...timings].sort((a, b) => a - b);
  return N / (s[Math.floor(s.length / 2)]! / 1e9);
}

const processorRate = await median(inProcess);
const otlpRate = await median(overHttp);
await source.shutdown();

// ---- HTTP write API vs the Trace API ---------------------------------------------
const inProcessOps = await rate(NODES * 2, async () => {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const trace = await tracer.create({ agentName: 'bench' });
  const root = trace.add(undefined, { label: 'root' });
  for (let i = 0; i < NODES; i++) root.add({ i }, { label: 'step' }).complete({ ok: true });
  await trace.flush();
  await tracer.close();
});

const httpOps = await rate(NODES * 2, async () => {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const app = await createServer({ tracer, viewer: false, otlp: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/trace`;
  const created = await fetch(`${api}/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const { trace_id } = (await created.json()) as { trace_id: string };
  const post = async (ops: unknown[]) => {
    const res = await fetch(`${api}/traces/${trace_id}/ops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ops }),
    });
    if (res.status !== 200) throw new Error(`ops answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  await post([{ op: 'add', ref: 'root', label: 'root' }]);
  let ops: unknown[] = [];
  for (let i = 0; i < NODES; i++) {
    ops.push({ op: 'add', ref: `n${i}`, parent: 'root', label: 'step', input: { i } });
    ops.push({ op: 'complete', node: `n${i}`, output: { ok: true } });
    if (ops.length >= OPS_PER_BATCH) {
      await post(ops);
      ops = [];
    }
  }
  if (ops.length > 0) await post(ops);
  const snap = await tracer.read(trace_id);
  if (snap?.nodes.length !== NODES + 1) throw new Error('write API: nodes lost');
  await app.close();
  await tracer.close();
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}; ${fmt(N)} spans per round (${TRACES} traces x ${SPANS_PER_TRACE}), ${fmt(NODES * 2)} write ops per round; median of ${ROUNDS}\n`,
);
console.log('| configuration | units/s | ratio |');
console.log('| --- | ---: | ---: |');
console.log(`| spans: LivetraceSpanProcessor in process (memory store) | ${fmt(processorRate)} | 1.00x |`);
console.log(
  `| spans: OTLP/HTTP protobuf POST /v1/traces (${BATCH} spans/request, 4 in flight, same process) | ${fmt(otlpRate)} | **${(otlpRate / processorRate).toFixed(2)}x** |`,
);
console.log(`| write ops: in-process Trace API (add + complete) | ${fmt(inProcessOps)} | 1.00x |`);
console.log(
  `| write ops: HTTP POST /v1/trace/traces/:id/ops (${OPS_PER_BATCH} ops/batch, sequential) | ${fmt(httpOps)} | **${(httpOps / inProcessOps).toFixed(2)}x** |`,
);
console.log(
  '\ngoal: none numeric in issue 13 (ratios are reported). Bounds: OTLP = protobuf decode + span mapping + the HTTP round trip, client and server on the same cores; write API = JSON parse/validation + one HTTP round trip and one flush per batch.',
);
