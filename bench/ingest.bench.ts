// Ingest benchmark, measured side by side in this run:
// 1. OTLP ingest: the same spans (OTel SDK ReadableSpans, one root + children per trace)
//    recorded in process by LivetraceSpanProcessor, against the same spans encoded by
//    otlp-transformer's ProtobufTraceSerializer (what exporter-trace-otlp-proto sends) and
//    POSTed over real HTTP to a livetrace server (memory store) in batches of BATCH spans,
//    4 requests in flight, until every trace is stored and completed.
// 2. HTTP write API: ops/s of `POST /v1/trace/traces/:id/ops` (batches of OPS_PER_BATCH:
//    add + complete per node) against the same calls on the in-process Trace API.
// 3. Several servers: the same write batches POSTed to the instance that does NOT hold the
//    trace, which forwards each to the holder (two servers in this process on one
//    MemoryStore with leases, the cluster state in Redis; skipped when Redis is absent).
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
import { Cluster } from '../src/server/cluster/cluster.js';
import { RedisSharedState } from '../src/server/cluster/shared-state.js';

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

/** Writes NODES nodes (add + complete) over HTTP: created through `createApi`, batches to `opsApi`. */
async function writeOverHttp(
  createApi: string,
  opsApi: string,
  tracer: Tracer,
  onCreated?: (id: string) => Promise<void>,
): Promise<void> {
  const created = await fetch(`${createApi}/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const { trace_id } = (await created.json()) as { trace_id: string };
  await onCreated?.(trace_id);
  const post = async (ops: unknown[]) => {
    const res = await fetch(`${opsApi}/traces/${trace_id}/ops`, {
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
}

const httpOps = await rate(NODES * 2, async () => {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const app = await createServer({ tracer, viewer: false, otlp: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/trace`;
  await writeOverHttp(api, api, tracer);
  await app.close();
  await tracer.close();
});

/** Two servers on one store: the trace is created on A (its holder), every batch is sent to B. */
async function forwardedOps(): Promise<number | undefined> {
  const redisUrl = process.env['LIVETRACE_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';
  const prefix = `lt_bench_${process.pid}_${Date.now().toString(36)}`;
  const probe = new RedisSharedState({ url: redisUrl, prefix });
  try {
    await probe.addressOf('probe');
  } catch {
    return undefined;
  } finally {
    await probe.close();
  }
  return rate(NODES * 2, async () => {
    const store = new MemoryStore();
    const servers = await Promise.all(
      ['a', 'b'].map(async () => {
        const tracer = new Tracer({ store, exitHook: false, shared: { store: true } });
        const cluster = new Cluster(tracer, new RedisSharedState({ url: redisUrl, prefix }));
        const app = await createServer({ tracer, viewer: false, otlp: false, cluster });
        await app.listen({ port: 0, host: '127.0.0.1' });
        const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        await cluster.start(origin, undefined);
        return { tracer, app, cluster, api: `${origin}/v1/trace` };
      }),
    );
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    // MemoryStore records a lease only for a stored trace (create takes it before): A takes it again.
    await writeOverHttp(a.api, b.api, a.tracer, (id) => store.acquire(id, a.tracer.owner));
    for (const s of servers) {
      await s.app.close();
      await s.cluster.close();
      await s.tracer.close();
    }
  });
}
const forwarded = await forwardedOps();

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
  forwarded === undefined
    ? '| write ops: forwarded to the holder (2 servers) | skipped: no Redis | |'
    : `| write ops: HTTP POST .../ops to the instance NOT holding the trace, forwarded to the holder (2 servers, one store, Redis cluster state) | ${fmt(forwarded)} | **${(forwarded / inProcessOps).toFixed(2)}x** (${(forwarded / httpOps).toFixed(2)}x of direct HTTP) |`,
);
console.log(
  '\ngoal: none numeric in issue 13 (ratios are reported). Bounds: OTLP = protobuf decode + span mapping + the HTTP round trip, client and server on the same cores; write API = JSON parse/validation + one HTTP round trip and one flush per batch.',
);
