// toOtlp(snapshot) checked against OpenTelemetry's own serializers: the OTLP/JSON it
// produces is turned back into SDK ReadableSpans, serialized by @opentelemetry/
// otlp-transformer's JsonTraceSerializer, and must come out identical (field names, enum
// numbering, id and time encodings, attribute values). The protobuf serializer must accept
// it too, and a local OTLP/HTTP receiver gets it by POST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  context as otelContext,
  trace as otelTrace,
  SpanStatusCode,
  type HrTime,
  type AttributeValue,
  type Span,
} from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import {
  toOtlp,
  msToUnixNano,
  otlpSpanId,
  otlpTraceId,
  LivetraceSpanProcessor,
  type OtlpAnyValue,
  type OtlpExportTraceServiceRequest,
  type OtlpKeyValue,
  type OtlpSpan,
} from '../src/otel/index.js';
import type { TraceSnapshot } from '../src/core/types.js';

// ---- OTLP/JSON -> SDK ReadableSpan (generic, shares nothing with toOtlp) ---------------

function hr(nanos: string): HrTime {
  const n = BigInt(nanos);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

function fromAny(v: OtlpAnyValue): AttributeValue {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return v.intValue;
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return v.arrayValue.values.map((x) => fromAny(x)) as AttributeValue;
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}

function attrs(kvs: OtlpKeyValue[]): Record<string, AttributeValue> {
  return Object.fromEntries(kvs.map((kv) => [kv.key, fromAny(kv.value)]));
}

function toReadableSpans(req: OtlpExportTraceServiceRequest): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resource = resourceFromAttributes(attrs(rs.resource.attributes));
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        const ctx = { traceId: s.traceId, spanId: s.spanId, traceFlags: (s.flags ?? 1) & 0xff, isRemote: false };
        const span: ReadableSpan = {
          name: s.name,
          kind: s.kind - 1,
          spanContext: () => ctx,
          ...(s.parentSpanId
            ? { parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: false } }
            : {}),
          startTime: hr(s.startTimeUnixNano),
          endTime: hr(s.endTimeUnixNano),
          duration: hr((BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)).toString()),
          status:
            s.status.message !== undefined
              ? { code: s.status.code, message: s.status.message }
              : { code: s.status.code },
          attributes: attrs(s.attributes),
          links: s.links.map((l) => ({
            context: { traceId: l.traceId, spanId: l.spanId, traceFlags: (l.flags ?? 1) & 0xff, isRemote: false },
            attributes: attrs(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount,
          })),
          events: s.events.map((e) => ({
            name: e.name,
            time: hr(e.timeUnixNano),
            attributes: attrs(e.attributes),
            droppedAttributesCount: e.droppedAttributesCount,
          })),
          ended: true,
          resource,
          instrumentationScope:
            ss.scope.version !== undefined
              ? { name: ss.scope.name, version: ss.scope.version }
              : { name: ss.scope.name },
          droppedAttributesCount: s.droppedAttributesCount,
          droppedEventsCount: s.droppedEventsCount,
          droppedLinksCount: s.droppedLinksCount,
        };
        out.push(span);
      }
    }
  }
  return out;
}

/** What OpenTelemetry's own JSON serializer makes of the same spans. */
function viaOtel(req: OtlpExportTraceServiceRequest): unknown {
  const bytes = JsonTraceSerializer.serializeRequest(toReadableSpans(req));
  assert.ok(bytes);
  return JSON.parse(new TextDecoder().decode(bytes));
}

const plainJson = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

async function sampleTrace(): Promise<{ tracer: Tracer; snap: TraceSnapshot }> {
  const tracer = new Tracer({ store: new MemoryStore() });
  const trace = await tracer.create({ agentName: 'research-agent', createdBy: 'alice' });
  const plan = trace.add(
    { question: 'why is the sky blue?' },
    { label: 'plan', metadata: { model: 'm1', temperature: 0.2, tags: ['a', 'b'], nested: { deep: true } } },
  );
  plan.info('planning', { steps: 2 }).warn('slow');
  const [search, read] = trace.parallel([{ label: 'search', input: 'rayleigh' }, { label: 'read' }]);
  search!.complete(['doc1', 'doc2']);
  read!.fail(new TypeError('fetch failed'));
  const join = trace.add(undefined, { label: 'answer' }); // a join: parents = both branches
  join.setOutput('Rayleigh scattering');
  trace.add(undefined, { label: 'still running', autoCompleteParent: false });
  return { tracer, snap: trace.snapshot() };
}

test('toOtlp output is exactly what OpenTelemetry serializes for the same spans', async () => {
  const { tracer, snap } = await sampleTrace();
  const req = toOtlp(snap);
  assert.deepEqual(plainJson(req), viaOtel(req));
  // The binary encoding accepts it too: ids are valid hex of the right length.
  const proto = ProtobufTraceSerializer.serializeRequest(toReadableSpans(req));
  assert.ok(proto && proto.byteLength > 100);
  await tracer.close();
});

test('ids, parents, joins, logs, errors, status and times', async () => {
  const { tracer, snap } = await sampleTrace();
  const req = toOtlp(snap, {
    serviceName: 'svc',
    resourceAttributes: { 'deployment.environment': 'test' },
    scopeVersion: '1.2.3',
  });
  assert.equal(req.resourceSpans.length, 1);
  const rs = req.resourceSpans[0]!;
  const res = attrs(rs.resource.attributes);
  assert.equal(res['service.name'], 'svc');
  assert.equal(res['deployment.environment'], 'test');
  assert.equal(res['livetrace.trace_id'], snap.info.id);
  assert.deepEqual(rs.scopeSpans[0]!.scope, { name: 'livetrace', version: '1.2.3' });
  const spans = rs.scopeSpans[0]!.spans;
  assert.equal(spans.length, snap.nodes.length);
  const by = (label: string): OtlpSpan => spans.find((s) => s.name === label)!;
  const node = (label: string) => snap.nodes.find((n) => n.label === label)!;

  const traceId = otlpTraceId(snap.info.id);
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.equal(otlpTraceId(snap.info.id), traceId, 'deterministic');
  for (const s of spans) {
    assert.equal(s.traceId, traceId);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(s.startTimeUnixNano, /^\d+$/);
  }
  assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length, 'span ids are unique');
  assert.equal(by('plan').spanId, otlpSpanId(snap.info.id, node('plan').id));
  assert.equal(by('plan').parentSpanId, undefined);
  assert.equal(by('search').parentSpanId, by('plan').spanId);
  // The join: first parent as parent, the other as a link.
  assert.equal(by('answer').parentSpanId, by('search').spanId);
  assert.deepEqual(
    by('answer').links.map((l) => l.spanId),
    [by('read').spanId],
  );

  const planAttrs = attrs(by('plan').attributes);
  assert.equal(planAttrs['model'], 'm1');
  assert.equal(planAttrs['temperature'], 0.2);
  assert.deepEqual(planAttrs['tags'], ['a', 'b']);
  assert.equal(planAttrs['nested'], '{"deep":true}', 'objects become JSON strings');
  assert.equal(planAttrs['livetrace.input'], '{"question":"why is the sky blue?"}');
  assert.equal(planAttrs['livetrace.node_id'], node('plan').id);
  assert.deepEqual(
    by('plan').events.map((e) => [e.name, attrs(e.attributes)['log.severity']]),
    [
      ['planning', 'info'],
      ['slow', 'warn'],
    ],
  );
  assert.equal(attrs(by('plan').events[0]!.attributes)['log.data'], '{"steps":2}');
  assert.equal(by('plan').startTimeUnixNano, msToUnixNano(node('plan').start_time!));
  assert.equal(by('plan').endTimeUnixNano, msToUnixNano(node('plan').end_time!));

  assert.deepEqual(by('search').status, { code: 1 });
  assert.deepEqual(attrs(by('search').attributes)['livetrace.output'], ['doc1', 'doc2'], 'scalar arrays stay arrays');
  assert.deepEqual(by('read').status, { code: 2, message: 'fetch failed' });
  const exc = by('read').events.find((e) => e.name === 'exception')!;
  assert.equal(attrs(exc.attributes)['exception.type'], 'TypeError');
  assert.equal(attrs(exc.attributes)['exception.message'], 'fetch failed');
  // A node still running: status unset, ended at the snapshot's last update.
  assert.deepEqual(by('still running').status, { code: 0 });
  assert.equal(attrs(by('still running').attributes)['livetrace.status'], 'running');
  assert.ok(BigInt(by('still running').endTimeUnixNano) >= BigInt(by('still running').startTimeUnixNano));
  assert.equal(msToUnixNano(1.5), '1500000');
  await tracer.close();
});

test('long values are truncated; an empty trace exports no spans', async () => {
  const tracer = new Tracer({ store: new MemoryStore() });
  const trace = await tracer.create({});
  assert.deepEqual(toOtlp(trace.snapshot()).resourceSpans[0]!.scopeSpans[0]!.spans, []);
  trace.add('x'.repeat(500), { label: 'big' });
  const span = toOtlp(trace.snapshot(), { maxAttributeLength: 100 }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  const input = attrs(span.attributes)['livetrace.input'] as string;
  assert.equal(input, 'x'.repeat(100) + '…[truncated]');
  assert.equal(attrs(toOtlp(trace.snapshot()).resourceSpans[0]!.resource.attributes)['service.name'], 'livetrace');
  await tracer.close();
});

test('a trace that came in as OTel spans goes out with the same trace and span ids', async () => {
  const tracer = new Tracer({ store: new MemoryStore() });
  const exporter = new InMemorySpanExporter();
  const processor = new LivetraceSpanProcessor({ tracer });
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(exporter)] });
  const ot = provider.getTracer('roundtrip');
  const root = ot.startSpan('root', { kind: 1 /* SERVER */ });
  const under = (p: Span) => otelTrace.setSpan(otelContext.active(), p);
  const a = ot.startSpan('a', {}, under(root));
  const b = ot.startSpan('b', { attributes: { n: 1 } }, under(a));
  b.setStatus({ code: SpanStatusCode.ERROR, message: 'bad' });
  b.end();
  a.end();
  root.end();
  await processor.forceFlush();
  const snap = (await tracer.read(root.spanContext().traceId))!;
  const ours = toOtlp(snap).resourceSpans[0]!.scopeSpans[0]!.spans;
  const theirs = exporter.getFinishedSpans();
  assert.equal(ours.length, theirs.length);
  for (const t of theirs) {
    const o = ours.find((s) => s.spanId === t.spanContext().spanId);
    assert.ok(o, `span ${t.name} kept its id`);
    assert.equal(o.traceId, t.spanContext().traceId);
    assert.equal(o.parentSpanId, t.parentSpanContext?.spanId);
    assert.equal(o.name, t.name);
    assert.equal(o.kind, t.kind + 1);
    assert.equal(o.status.code, t.status.code === SpanStatusCode.UNSET ? 1 : t.status.code, 'ended OK or ERROR');
  }
  await processor.shutdown();
  await provider.shutdown();
  await tracer.close();
});

test('the export is accepted by an OTLP/HTTP receiver on 127.0.0.1', async () => {
  const { tracer, snap } = await sampleTrace();
  const received: Array<{ path: string; type: string; body: OtlpExportTraceServiceRequest }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExportTraceServiceRequest;
        // What a collector checks first: the ids decode, the span list is there.
        for (const s of body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans))) {
          if (!/^[0-9a-f]{32}$/.test(s.traceId) || !/^[0-9a-f]{16}$/.test(s.spanId)) throw new Error('bad id');
        }
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{}}');
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(err) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const request = toOtlp(snap);
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { partialSuccess: {} });
    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, '/v1/traces');
    assert.equal(received[0]!.type, 'application/json');
    assert.deepEqual(received[0]!.body, plainJson(request));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await tracer.close();
  }
});

test('kinds and usage go out in the GenAI form and come back through the shared mapping', async () => {
  const { spanNodeKind, spanUsage } = await import('../src/otel/gen-ai-semantics.js');
  const tracer = new Tracer({ store: new MemoryStore() });
  const t = await tracer.create();
  const agent = t.add('ask', { kind: 'agent', label: 'ask' });
  agent
    .add(
      { messages: [{ role: 'user', content: 'hi' }] },
      {
        usage: {
          model: 'gpt-4o',
          provider: 'openai',
          inputTokens: 10,
          outputTokens: 5,
          cachedTokens: 2,
          timeToFirstTokenMs: 80,
        },
      },
    )
    .complete('hello');
  agent.add('x', { label: 'x' }).complete();
  t.markComplete();
  const req = toOtlp(t.snapshot());
  const spans = req.resourceSpans[0]!.scopeSpans[0]!.spans;
  const byName = (n: string) => attrs(spans.find((s) => s.name === n)!.attributes);
  const llm = attrs(spans.find((s) => attrs(s.attributes)['livetrace.kind'] === 'llm')!.attributes);
  assert.equal(llm['gen_ai.request.model'], 'gpt-4o');
  assert.equal(llm['gen_ai.usage.input_tokens'], 10);
  assert.equal(llm['livetrace.usage.currency'], 'USD');
  assert.equal(spanNodeKind(llm as never), 'llm');
  assert.deepEqual(spanUsage(llm as never), {
    model: 'gpt-4o',
    provider: 'openai',
    inputTokens: 10,
    outputTokens: 5,
    cachedTokens: 2,
  });
  assert.equal(byName('ask')['livetrace.kind'], 'agent');
  assert.equal(byName('x')['livetrace.kind'], undefined, 'steps carry no kind attribute');
  assert.equal(spanUsage(byName('ask') as never), undefined);
  await tracer.close();
});
