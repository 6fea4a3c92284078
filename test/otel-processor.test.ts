// LivetraceSpanProcessor with OTel SDK spans made by hand: nesting, live nodes, events,
// attributes, errors, unended spans, bounds, and never throwing into OTel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context as otelContext, trace as otelTrace, SpanStatusCode, type Span } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { LivetraceSpanProcessor, type ProcessorWarning } from '../src/otel/index.js';
import { contextFor } from '../src/otel/otel-context.js';
import type { NodeData } from '../src/core/types.js';
import { randomBytes } from 'node:crypto';
import { TraceLockedError } from '../src/core/errors.js';

function setup(opts: { maxQueuedPerTrace?: number } = {}) {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: ProcessorWarning[] = [];
  const processor = new LivetraceSpanProcessor({ tracer, onWarning: (w) => warnings.push(w), ...opts });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const ot = provider.getTracer('hand-made', '1.0.0');
  const child = (parent: Span, name: string, attributes?: Record<string, string | number | boolean>) =>
    ot.startSpan(name, attributes ? { attributes } : {}, otelTrace.setSpan(otelContext.active(), parent));
  return { tracer, processor, provider, ot, warnings, child };
}

function byLabel(nodes: NodeData[], label: string): NodeData {
  const n = nodes.find((x) => x.label === label);
  assert.ok(n, `node ${label} exists (have ${nodes.map((x) => x.label).join(', ')})`);
  return n;
}

test('spans become nodes at start, nested under their parent span, before any span ends', async () => {
  const { tracer, processor, provider, ot, child } = setup();
  const root = ot.startSpan('agent', { attributes: { 'app.user': 'u1' } });
  const plan = child(root, 'plan', { step: 1 });
  const search = child(plan, 'search');
  const answer = child(root, 'answer');
  const traceId = root.spanContext().traceId;
  // The trace is created asynchronously: forceFlush waits for it and stores what is queued.
  await processor.forceFlush();
  const trace = tracer.get(traceId);
  assert.ok(trace, 'the livetrace trace uses the OTel trace id');
  const nodes = trace.nodes();
  assert.equal(nodes.length, 4);
  for (const n of nodes) assert.equal(n.status, 'running');
  const [a, p, s, ans] = ['agent', 'plan', 'search', 'answer'].map((l) => byLabel(nodes, l));
  assert.deepEqual(a!.parent_ids, []);
  assert.deepEqual(p!.parent_ids, [a!.id]);
  assert.deepEqual(s!.parent_ids, [p!.id]);
  assert.deepEqual(ans!.parent_ids, [a!.id]);
  assert.equal(a!.metadata['app.user'], 'u1');
  assert.equal(p!.metadata['step'], 1);
  assert.equal(p!.metadata['otel.span_id'], plan.spanContext().spanId);
  assert.equal(trace.getInfo().metadata?.['otel.trace_id'], traceId);
  assert.equal(trace.getInfo().agent_name, 'agent');

  search.end();
  plan.end();
  answer.end();
  assert.equal(trace.getNode(s!.id)!.status, 'completed');
  assert.equal(trace.status, 'running');
  root.end();
  assert.equal(trace.status, 'completed', 'the trace completes when its root span ends');
  await processor.forceFlush();
  assert.equal(tracer.isLoaded(traceId), false, 'a finished trace is released');
  const stored = await tracer.read(traceId);
  assert.equal(stored?.info.status, 'completed');
  assert.equal(stored?.nodes.length, 4);
  await provider.shutdown();
  await tracer.close();
});

test('attributes set later, events and errors: metadata, logs and failed nodes', async () => {
  const { tracer, processor, provider, ot, child, warnings } = setup();
  const root = ot.startSpan('run');
  const step = child(root, 'step');
  const bad = child(root, 'bad');
  await processor.forceFlush();
  const traceId = root.spanContext().traceId;
  step.setAttribute('result.count', 3);
  step.addEvent('cache miss', { key: 'k1' });
  step.addEvent('retry');
  step.end();
  const err = new TypeError('no such tool');
  bad.recordException(err);
  bad.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
  bad.end();
  const trace = tracer.get(traceId)!;
  const s = byLabel(trace.nodes(), 'step');
  assert.equal(s.metadata['result.count'], 3);
  const logs = trace.logs(s.id);
  assert.deepEqual(
    logs.map((l) => [l.level, l.message]),
    [
      ['info', 'cache miss'],
      ['info', 'retry'],
    ],
  );
  assert.deepEqual(logs[0]!.data, { key: 'k1' });
  const b = byLabel(trace.nodes(), 'bad');
  assert.equal(b.status, 'failed');
  assert.equal(b.error?.message, 'tool failed');
  assert.equal(b.error?.name, 'TypeError');
  assert.match(String(b.error?.stack), /no such tool/);
  assert.deepEqual(
    trace.logs(b.id).map((l) => [l.level, l.message]),
    [['error', 'exception']],
  );
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  assert.equal(trace.status, 'completed');
  await processor.shutdown();
  assert.deepEqual(warnings, []);
  await provider.shutdown();
  await tracer.close();
});

test('spans that never end are closed as cancelled on shutdown', async () => {
  const { tracer, processor, ot, child } = setup();
  const root = ot.startSpan('long run');
  const done = child(root, 'done');
  const hanging = child(root, 'hanging');
  child(hanging, 'inner');
  done.end();
  await processor.forceFlush();
  const traceId = root.spanContext().traceId;
  const trace = tracer.get(traceId)!;
  assert.equal(trace.nodes().filter((n) => n.status === 'running').length, 3);
  await processor.shutdown();
  assert.equal(processor.stats.cancelledSpans, 3);
  assert.equal(tracer.isLoaded(traceId), false);
  const snap = (await tracer.read(traceId))!;
  assert.equal(snap.info.status, 'cancelled');
  assert.equal(byLabel(snap.nodes, 'done').status, 'completed');
  for (const label of ['long run', 'hanging', 'inner']) assert.equal(byLabel(snap.nodes, label).status, 'cancelled');
  // Spans after shutdown are dropped, not recorded, and do not throw.
  const late = ot.startSpan('after shutdown');
  late.end();
  assert.equal(tracer.loaded().length, 0);
  assert.ok(processor.stats.droppedSpans >= 1);
  await processor.shutdown(); // idempotent
  await tracer.close();
});

/** A context whose span is remote (a propagated traceparent): its trace may exist in the store. */
function remoteParent(): ReturnType<typeof otelContext.active> {
  const traceId = randomBytes(16).toString('hex');
  return otelTrace.setSpanContext(otelContext.active(), {
    traceId,
    spanId: randomBytes(8).toString('hex'),
    traceFlags: 1,
    isRemote: true,
  });
}

test('spans started while the trace is being created are queued, within a bound', async () => {
  const { tracer, processor, ot, child, warnings } = setup({ maxQueuedPerTrace: 3 });
  // A remote parent: the trace may exist in the store, so create() is awaited (and resumes it).
  const root = ot.startSpan('root', {}, remoteParent());
  assert.equal(tracer.get(root.spanContext().traceId), undefined, 'not created yet');
  const kids = [child(root, 'a'), child(root, 'b'), child(root, 'c'), child(root, 'd')];
  await processor.forceFlush();
  const trace = tracer.get(root.spanContext().traceId)!;
  assert.deepEqual(
    trace.nodes().map((n) => n.label),
    ['root', 'a', 'b'],
  );
  assert.equal(processor.stats.droppedSpans, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /maxQueuedPerTrace/);
  for (const k of kids) k.end();
  root.end();
  assert.equal(trace.status, 'completed');
  await processor.shutdown();
  await tracer.close();
});

test('a root span without a parent creates its trace at once: nothing is queued', async () => {
  const { tracer, processor, ot, child } = setup({ maxQueuedPerTrace: 1 });
  const root = ot.startSpan('root');
  const kids = [child(root, 'a'), child(root, 'b'), child(root, 'c')];
  // No await: the trace id was generated by OTel here, so the trace records synchronously
  // (and the queue bound of 1 never applies).
  const trace = tracer.get(root.spanContext().traceId);
  assert.ok(trace);
  assert.deepEqual(
    trace.nodes().map((n) => n.label),
    ['root', 'a', 'b', 'c'],
  );
  for (const k of kids) k.end();
  root.end();
  assert.equal(trace.status, 'completed');
  assert.equal(processor.stats.droppedSpans, 0);
  await processor.forceFlush();
  const snap = (await tracer.read(root.spanContext().traceId))!;
  assert.equal(snap.info.status, 'completed');
  assert.equal(snap.nodes.length, 4);
  assert.equal(snap.events_count, 1 + 4 + 4 + 1);
  await processor.shutdown();
  await tracer.close();
});

test('a trace created at once writes nothing until the store grants its lease; a refusal is reported, never thrown', async () => {
  // A store that refuses every lease (another writer holds it).
  let asked = 0;
  class RefusingStore extends MemoryStore {
    override async acquire(id: string): Promise<void> {
      asked++;
      await new Promise((r) => setTimeout(r, 20));
      throw new TraceLockedError(id, 'someone else');
    }
  }
  const memory = new RefusingStore();
  const tracer = new Tracer({ store: memory, exitHook: false });
  const errors: unknown[] = [];
  tracer.on('error', (e) => errors.push(e));
  const warnings: ProcessorWarning[] = [];
  const processor = new LivetraceSpanProcessor({ tracer, onWarning: (w) => warnings.push(w) });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const ot = provider.getTracer('t');
  const root = ot.startSpan('root');
  const traceId = root.spanContext().traceId;
  ot.startSpan('a', {}, otelTrace.setSpan(otelContext.active(), root)).end();
  root.end(); // completes and releases the trace: its flush waits for the lease
  await processor.forceFlush();
  await processor.shutdown();
  assert.equal(asked, 1);
  assert.deepEqual(await memory.read(traceId), [], 'nothing written without the lease');
  assert.equal(await memory.info(traceId), undefined);
  assert.ok(
    errors.some((e) => e instanceof TraceLockedError),
    'the refusal reaches tracer.on("error")',
  );
  assert.ok(
    warnings.some((w) => /release failed/.test(w.message)),
    'and the processor warns',
  );
  await provider.shutdown();
  await tracer.close().catch(() => undefined);
});

test('a root that ends before its trace exists still completes the trace', async () => {
  const { tracer, processor, ot, child } = setup();
  const root = ot.startSpan('quick');
  const c = child(root, 'inner', { 'ai.toolCall.args': '{"q":1}' });
  c.setAttribute('ai.toolCall.result', '{"ok":true}');
  c.end();
  root.end();
  await processor.forceFlush();
  const snap = (await tracer.read(root.spanContext().traceId))!;
  assert.equal(snap.info.status, 'completed');
  const inner = byLabel(snap.nodes, 'inner');
  assert.deepEqual(inner.input, { q: 1 });
  assert.deepEqual(inner.output, { ok: true });
  assert.equal(inner.metadata['ai.toolCall.args'], undefined, 'mapped attributes are not duplicated in metadata');
  await processor.shutdown();
  await tracer.close();
});

test('failures of the tracer are reported as warnings, never thrown into OTel', async () => {
  const { tracer, processor, ot, child, warnings } = setup();
  await tracer.close();
  const root = ot.startSpan('after close');
  const c = child(root, 'c');
  c.end();
  root.end();
  await processor.forceFlush();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /could not create/);
  assert.ok(processor.stats.droppedSpans >= 1);
  await processor.shutdown();
});

test('contextFor(node): OTel spans started under a livetrace node join that trace', async () => {
  const { tracer, processor, ot } = setup();
  const trace = await tracer.create({ agentName: 'mine' });
  const step = trace.add({ q: 1 }, { label: 'my step' });
  const span = ot.startSpan('llm call', {}, contextFor(step));
  const inner = ot.startSpan('inner', {}, otelTrace.setSpan(otelContext.active(), span));
  inner.end();
  span.end();
  await processor.forceFlush();
  const llm = byLabel(trace.nodes(), 'llm call');
  assert.deepEqual(llm.parent_ids, [step.id]);
  assert.deepEqual(byLabel(trace.nodes(), 'inner').parent_ids, [llm.id]);
  assert.equal(llm.status, 'completed');
  assert.equal(trace.status, 'running', 'the processor does not complete a trace it did not create');
  assert.equal(tracer.isLoaded(trace.id), true, 'nor release it');
  // A second OTel call under another node of the same trace (same OTel trace id) is recorded too.
  const next = trace.add(undefined, { label: 'next step' });
  const again = ot.startSpan('second call', {}, contextFor(next));
  again.end();
  assert.equal(again.spanContext().traceId, span.spanContext().traceId);
  assert.deepEqual(byLabel(trace.nodes(), 'second call').parent_ids, [next.id]);
  trace.markComplete();
  await processor.shutdown();
  await tracer.close();
});

test('a throwing traceOptions function is reported and leaves nothing behind', async () => {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: ProcessorWarning[] = [];
  let calls = 0;
  const processor = new LivetraceSpanProcessor({
    tracer,
    onWarning: (w) => warnings.push(w),
    traceOptions: (span) => {
      if (calls++ === 0) throw new Error('bad options');
      return { agentName: `agent:${span.name}`, createdBy: 'bob' };
    },
  });
  const ot = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('t');
  const first = ot.startSpan('first');
  first.end();
  assert.match(warnings[0]!.message, /onStart failed .*bad options/);
  const second = ot.startSpan('second');
  second.end();
  await processor.forceFlush();
  const info = await tracer.info(second.spanContext().traceId);
  assert.equal(info?.agent_name, 'agent:second');
  assert.equal(info?.created_by, 'bob');
  assert.equal(info?.status, 'completed');
  await processor.shutdown();
  await tracer.close();
});

test('constructor validates its options', () => {
  assert.throws(() => new LivetraceSpanProcessor({} as never), /option tracer/);
  const tracer = new Tracer({ store: new MemoryStore() });
  assert.throws(
    () => new LivetraceSpanProcessor({ tracer, maxQueuedPerTrace: 0 }),
    /maxQueuedPerTrace must be an integer >= 1, got 0/,
  );
  return tracer.close();
});

test('attributes set after the start arrive in one node_updated event (node.setMetadata(entries))', async () => {
  const { tracer, processor, ot, child } = setup();
  const root = ot.startSpan('root');
  const step = child(root, 'step', { a: 1 });
  await processor.forceFlush();
  const trace = tracer.get(root.spanContext().traceId)!;
  const before = trace.events().length;
  step.setAttributes({ b: 2, c: 'three', 'gen_ai.usage.output_tokens': 7 });
  step.end();
  const added = trace.events().slice(before);
  assert.deepEqual(
    added.map((e) => e.type),
    ['node_updated', 'node_complete'],
  );
  assert.deepEqual(
    Object.fromEntries(
      ['a', 'b', 'c', 'gen_ai.usage.output_tokens'].map((k) => [k, byLabel(trace.nodes(), 'step').metadata[k]]),
    ),
    { a: 1, b: 2, c: 'three', 'gen_ai.usage.output_tokens': 7 },
  );
  // The core call itself: several keys, one event; bad input is a typed error; {} is a no-op.
  const n = trace.root!;
  const count = trace.events().length;
  n.setMetadata({ x: 1, y: { z: [1, 2] } });
  assert.equal(trace.events().length, count + 1);
  assert.deepEqual(trace.getNode(n.id)!.metadata['y'], { z: [1, 2] });
  n.setMetadata({});
  assert.equal(trace.events().length, count + 1);
  assert.throws(() => n.setMetadata([1] as never), /setMetadata\(entries\) needs a plain object, got an array/);
  root.end();
  await processor.shutdown();
  await tracer.close();
});

test('GenAI operation names, OpenInference span kinds and AI SDK operation ids set node kinds; model calls carry usage', async () => {
  const { tracer, processor, ot, child, warnings } = setup();
  const root = ot.startSpan('invoke_agent planner', {
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 999 },
  });
  const chat = child(root, 'chat gpt-4o', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai',
  });
  chat.setAttributes({
    'gen_ai.response.model': 'gpt-4o-2024-08-06',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.output_tokens': 100,
    'gen_ai.usage.cache_read.input_tokens': 400,
  });
  chat.end();
  child(root, 'execute_tool weather', { 'gen_ai.operation.name': 'execute_tool' }).end();
  child(root, 'embed', {
    'gen_ai.operation.name': 'embeddings',
    'gen_ai.request.model': 'text-embedding-3-small',
    'gen_ai.usage.input_tokens': 50,
  }).end();
  const oi = child(root, 'retrieve', { 'openinference.span.kind': 'RETRIEVER' });
  oi.end();
  child(root, 'rerank', { 'openinference.span.kind': 'RERANKER' }).end();
  child(root, 'guard', { 'openinference.span.kind': 'GUARDRAIL' }).end();
  child(root, 'oi llm', {
    'openinference.span.kind': 'LLM',
    'llm.model_name': 'claude-3-5-haiku-20241022',
    'llm.provider': 'anthropic',
    'llm.token_count.prompt': 10,
    'llm.token_count.completion': 20,
  }).end();
  const sdk = child(root, 'ai.streamText.doStream', {
    'ai.operationId': 'ai.streamText.doStream',
    'ai.model.id': 'gpt-4o-mini',
    'ai.model.provider': 'openai.chat',
  });
  sdk.setAttributes({ 'ai.usage.inputTokens': 7, 'ai.usage.outputTokens': 3, 'ai.response.msToFirstChunk': 42 });
  sdk.end();
  child(root, 'ai.toolCall', { 'ai.operationId': 'ai.toolCall' }).end();
  child(root, 'plain step').end();
  const traceId = root.spanContext().traceId;
  root.end();
  await processor.forceFlush();
  const snap = (await tracer.read(traceId))!;
  const kinds = Object.fromEntries(snap.nodes.map((n) => [n.label ?? n.id, n.kind]));
  assert.deepEqual(kinds, {
    'invoke_agent planner': 'agent',
    'chat gpt-4o': 'llm',
    'execute_tool weather': 'tool',
    embed: 'embedding',
    retrieve: 'retriever',
    rerank: 'retriever',
    guard: 'guardrail',
    'oi llm': 'llm',
    'ai.streamText.doStream': 'llm',
    'ai.toolCall': 'tool',
    'plain step': 'step',
  });
  const usage = (label: string) => byLabel(snap.nodes, label).usage;
  assert.equal(usage('invoke_agent planner'), undefined, 'an agent span never carries usage (no double counting)');
  assert.deepEqual(usage('chat gpt-4o'), {
    model: 'gpt-4o-2024-08-06',
    provider: 'openai',
    input_tokens: 1000,
    output_tokens: 100,
    total_tokens: 1100,
    cached_tokens: 400,
    cost: { amount: (600 * 2.5 + 400 * 1.25 + 100 * 10) / 1e6, currency: 'USD', estimated: true },
  });
  assert.equal(usage('embed')!.model, 'text-embedding-3-small');
  assert.deepEqual(
    [usage('oi llm')!.model, usage('oi llm')!.provider, usage('oi llm')!.total_tokens],
    ['claude-3-5-haiku-20241022', 'anthropic', 30],
  );
  assert.deepEqual([usage('ai.streamText.doStream')!.input_tokens, usage('ai.streamText.doStream')!.ttft_ms], [7, 42]);
  assert.equal(usage('execute_tool weather'), undefined);
  assert.deepEqual(
    { ...snap.info.usage, cost: undefined },
    {
      input_tokens: 1067,
      output_tokens: 123,
      total_tokens: 1190,
      cost: undefined,
      llm_calls: 3,
      tool_calls: 2,
      failed_nodes: 0,
    },
  );
  assert.deepEqual(warnings, []);
  await processor.shutdown();
  await tracer.close();
});

test('attributes named like Object.prototype members are metadata, never input/output or a prototype', async () => {
  const { splitAttributes } = await import('../src/otel/gen-ai-attributes.js');
  const attrs = JSON.parse(
    '{"constructor":"c","toString":"t","__proto__":"p","hasOwnProperty":"h","gen_ai.prompt":"hi","gen_ai.prompt.0.content":"x"}',
  ) as Record<string, string>;
  const split = splitAttributes(attrs);
  assert.deepEqual(Object.keys(split.metadata).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
  assert.equal(Object.getPrototypeOf(split.metadata), Object.prototype);
  assert.equal(split.metadata['constructor'], 'c');
  assert.equal(split.hasInput, true);
  assert.equal(split.input, 'hi');
  assert.equal(split.hasOutput, false);
  assert.equal(split.output, undefined);
});
