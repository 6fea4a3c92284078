// POST /v1/traces over real HTTP: out-of-order batches from several services, protobuf and
// JSON (gzip or not) giving the same trace, partial success (late spans, bounds, bad ids),
// 400/401/403/413/415, a gzip bomb, tenant isolation, orphans attached at completion.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { NodeData, TraceSnapshot } from '../src/core/types.js';
import { decodeResponse, encodeRequest } from '../src/server/otlp-decode.js';
import { startTestServer, type ErrorBody, type TestServer } from './server-helpers.js';

const TOKENS = [
  { token: 'alpha-write-001', tenantId: 'alpha', scopes: ['read', 'write'] as const },
  { token: 'alpha-read-0001', tenantId: 'alpha' },
  { token: 'beta-write-0001', tenantId: 'beta', scopes: ['read', 'write'] as const },
];
const W = 'alpha-write-001';

let n = 0;
const hexId = (bytes: number): string => {
  n++;
  return (n.toString(16).padStart(4, '0') + 'ab'.repeat(bytes)).slice(0, bytes * 2);
};

interface S {
  spanId: string;
  parent?: string;
  name: string;
  attributes?: Record<string, string | number | boolean>;
  error?: string;
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  [field: string]: unknown;
}
interface JsonRequest {
  resourceSpans: { resource: unknown; scopeSpans: { scope: unknown; spans: JsonSpan[] }[] }[];
}

/** OTLP/JSON as the spec writes it (hex ids, lowerCamelCase, int64 as strings). */
function jsonRequest(traceId: string, spans: S[], service = 'svc'): JsonRequest {
  const value = (v: string | number | boolean) =>
    typeof v === 'string'
      ? { stringValue: v }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v };
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test-scope' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              ...(s.parent ? { parentSpanId: s.parent } : {}),
              name: s.name,
              kind: 1,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000100000000',
              attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: value(v) })),
              status: s.error ? { code: 2, message: s.error } : { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

/** The same request as protobuf (ids as bytes), encoded by protobufjs from the official protos. */
function protoRequest(traceId: string, spans: S[], service = 'svc'): Buffer {
  const json = jsonRequest(traceId, spans, service);
  const bytes = (hex: string) => Buffer.from(hex, 'hex');
  return encodeRequest({
    resourceSpans: json.resourceSpans.map((rs) => ({
      ...rs,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        ...ss,
        spans: ss.spans.map((s) => ({
          ...s,
          traceId: bytes(s.traceId),
          spanId: bytes(s.spanId),
          ...(s.parentSpanId ? { parentSpanId: bytes(s.parentSpanId) } : {}),
        })),
      })),
    })),
  });
}

async function send(
  origin: string,
  body: Buffer | string,
  {
    type = 'application/x-protobuf',
    token = W,
    encoding,
  }: { type?: string; token?: string | null; encoding?: string } = {},
): Promise<{ status: number; rejected: number; message: string; body: ErrorBody | undefined }> {
  const headers: Record<string, string> = { 'content-type': type };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (encoding) headers['content-encoding'] = encoding;
  const res = await fetch(`${origin}/v1/traces`, { method: 'POST', headers, body: body as unknown as BodyInit });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200)
    return { status: res.status, rejected: -1, message: '', body: JSON.parse(buf.toString()) as ErrorBody };
  const enc = (res.headers.get('content-type') ?? '').includes('json') ? 'json' : 'protobuf';
  const r = decodeResponse(buf, enc);
  return { status: 200, rejected: r.rejectedSpans, message: r.errorMessage, body: undefined };
}

async function stored(server: TestServer, id: string): Promise<TraceSnapshot> {
  for (let i = 0; i < 200; i++) {
    const snap = await server.tracer.read(id);
    if (snap && snap.info.status !== 'running' && snap.info.status !== 'pending') return snap;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`trace ${id} did not complete`);
}

const bySpan = (snap: TraceSnapshot) => {
  const m = new Map<string, NodeData>();
  for (const node of snap.nodes) m.set(String(node.metadata?.['otel.span_id']), node);
  return m;
};

describe('OTLP/HTTP receiver: POST /v1/traces', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      tokens: TOKENS,
      writeBodyLimit: 64 * 1024,
      otlp: { quietMs: 150, maxPendingPerTrace: 5 },
    });
  });
  after(async () => server.close());

  it('child before parent, over several requests from two services: nodes attach when their parent arrives', async () => {
    const t = hexId(16);
    const [root, a, b, c] = [hexId(8), hexId(8), hexId(8), hexId(8)];
    // grandchild, then child (service 2), then the root: each waits for its parent.
    let r = await send(server.origin, protoRequest(t, [{ spanId: c, parent: b, name: 'c' }], 'svc-2'));
    assert.equal(r.status, 200);
    assert.equal(r.rejected, 0);
    const live = server.tracer.get(t)!;
    assert.equal(live.nodes().length, 0, 'c waits for b');
    r = await send(
      server.origin,
      protoRequest(t, [
        { spanId: b, parent: a, name: 'b' },
        { spanId: a, parent: root, name: 'a', error: 'boom' },
      ]),
    );
    assert.equal(r.rejected, 0);
    assert.equal(live.nodes().length, 0, 'a, b, c wait for the root');
    r = await send(server.origin, protoRequest(t, [{ spanId: root, name: 'root' }]));
    assert.equal(r.rejected, 0);
    // Attached at once (before the quiet period): root -> a -> b -> c.
    assert.equal(live.nodes().length, 4);
    const snap = await stored(server, t);
    const m = bySpan(snap);
    assert.equal(snap.info.status, 'completed');
    assert.equal(snap.info.tenant_id, 'alpha');
    assert.deepEqual(m.get(root)!.parent_ids, []);
    assert.deepEqual(m.get(a)!.parent_ids, [m.get(root)!.id]);
    assert.deepEqual(m.get(b)!.parent_ids, [m.get(a)!.id]);
    assert.deepEqual(m.get(c)!.parent_ids, [m.get(b)!.id]);
    assert.equal(m.get(a)!.status, 'failed');
    assert.equal((m.get(a)!.error as { message: string }).message, 'boom');
    // A parent ends after its children: node_end events come leaf first.
    const events = await server.tracer.events(t);
    const endOrder = events
      .filter((e) => e.type === 'node_complete' || e.type === 'node_failed')
      .map((e) => snap.nodes.find((x) => x.id === (e.data as { node_id: string }).node_id)!.label);
    assert.deepEqual(endOrder, ['c', 'b', 'a', 'root']);
  });

  it('a span after its trace completed is refused in rejected_spans with a message', async () => {
    const t = hexId(16);
    const root = hexId(8);
    assert.equal((await send(server.origin, protoRequest(t, [{ spanId: root, name: 'root' }]))).rejected, 0);
    await stored(server, t);
    const late = await send(server.origin, protoRequest(t, [{ spanId: hexId(8), parent: root, name: 'late' }]));
    assert.equal(late.status, 200);
    assert.equal(late.rejected, 1);
    assert.match(late.message, /already completed/);
    assert.equal((await server.tracer.read(t))!.nodes.length, 1);
  });

  it('protobuf, JSON and gzip give the same trace', async () => {
    const shapes: string[] = [];
    for (const mode of ['proto', 'json', 'proto+gzip', 'json+gzip'] as const) {
      const t = hexId(16);
      const root = hexId(8);
      const child = hexId(8);
      const spans: S[] = [
        {
          spanId: child,
          parent: root,
          name: 'llm',
          attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 7, 'x.ratio': 0.5, 'x.ok': true },
        },
        { spanId: root, name: 'root', attributes: { 'input.value': '{"q":1}' } },
      ];
      let body: Buffer = mode.startsWith('proto')
        ? protoRequest(t, spans)
        : Buffer.from(JSON.stringify(jsonRequest(t, spans)));
      if (mode.endsWith('gzip')) body = gzipSync(body);
      const r = await send(server.origin, body, {
        type: mode.startsWith('json') ? 'application/json' : 'application/x-protobuf',
        ...(mode.endsWith('gzip') ? { encoding: 'gzip' } : {}),
      });
      assert.equal(r.status, 200, mode);
      assert.equal(r.rejected, 0);
      const snap = await stored(server, t);
      const m = bySpan(snap);
      const llm = m.get(child)!;
      assert.equal(llm.kind, 'llm');
      assert.equal(llm.usage?.input_tokens, 7);
      assert.equal(llm.metadata?.['x.ratio'], 0.5);
      assert.equal(llm.metadata?.['x.ok'], true);
      assert.deepEqual(m.get(root)!.input, { q: 1 });
      shapes.push(
        JSON.stringify(
          snap.nodes.map((x) => ({
            label: x.label,
            kind: x.kind,
            status: x.status,
            input: x.input,
            metadata: { ...x.metadata, 'otel.span_id': 0 },
            usage: x.usage,
          })),
        ),
      );
    }
    assert.equal(new Set(shapes).size, 1, 'the four encodings store the same nodes');
  });

  it('answers in the request encoding: JSON gets OTLP/JSON partial success, protobuf gets protobuf', async () => {
    const t = hexId(16);
    const bad = jsonRequest(t, [{ spanId: hexId(8), name: 'ok' }]);
    bad.resourceSpans[0]!.scopeSpans[0]!.spans.push({
      traceId: t,
      spanId: '00000000000000ab'.slice(0, 14),
      name: 'short id',
    });
    const res = await fetch(`${server.origin}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${W}` },
      body: JSON.stringify(bad),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /application\/json/);
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(body.partialSuccess.rejectedSpans, '1');
    assert.match(body.partialSuccess.errorMessage, /span id 8 bytes/);
    const ok = await fetch(`${server.origin}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${W}` },
      body: new Uint8Array(protoRequest(hexId(16), [{ spanId: hexId(8), name: 'r' }])),
    });
    assert.equal(ok.headers.get('content-type'), 'application/x-protobuf');
    assert.equal(Buffer.from(await ok.arrayBuffer()).length, 0, 'full success: an empty ExportTraceServiceResponse');
  });

  it('spans waiting for a parent are bounded per trace; orphans attach under the root at completion', async () => {
    const t = hexId(16);
    const root = hexId(8);
    const missing = hexId(8);
    const orphans = Array.from({ length: 7 }, (_, i) => ({ spanId: hexId(8), parent: missing, name: `orphan ${i}` }));
    const r = await send(server.origin, protoRequest(t, orphans));
    assert.equal(r.rejected, 2, 'maxPendingPerTrace 5: two refused');
    assert.match(r.message, /5 spans of this trace already wait/);
    await send(server.origin, protoRequest(t, [{ spanId: root, name: 'root' }]));
    const snap = await stored(server, t);
    const m = bySpan(snap);
    assert.equal(snap.nodes.length, 6);
    for (const o of orphans.slice(0, 5)) {
      const node = m.get(o.spanId)!;
      assert.deepEqual(node.parent_ids, [m.get(root)!.id]);
      assert.equal(node.metadata?.['otel.parent_span_id'], missing, 'the real parent span id is kept');
    }
  });

  it('a retried export (same spans again) records nothing twice', async () => {
    const t = hexId(16);
    const root = hexId(8);
    const child = hexId(8);
    const body = protoRequest(t, [{ spanId: child, parent: root, name: 'child' }]);
    assert.equal((await send(server.origin, body)).rejected, 0);
    assert.equal((await send(server.origin, body)).rejected, 0);
    await send(server.origin, protoRequest(t, [{ spanId: root, name: 'root' }]));
    assert.equal((await stored(server, t)).nodes.length, 2);
  });

  it('400 for a malformed body, 415 for other content types and encodings', async () => {
    const garbage = await send(server.origin, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body?.error.code, 'LT_ERR_INVALID_ARGUMENT');
    assert.equal((await send(server.origin, '{"resourceSpans": [', { type: 'application/json' })).status, 400);
    assert.equal((await send(server.origin, '[1,2]', { type: 'application/json' })).status, 400);
    const badHex = JSON.stringify(jsonRequest('zz'.repeat(16), [{ spanId: hexId(8), name: 'x' }]));
    assert.equal((await send(server.origin, badHex, { type: 'application/json' })).status, 400);
    assert.equal((await send(server.origin, Buffer.from('not gzip'), { encoding: 'gzip' })).status, 400);
    const text = await send(server.origin, 'hello', { type: 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(text.body?.error.code, 'LT_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.equal((await send(server.origin, Buffer.alloc(0), { encoding: 'br' })).status, 415);
  });

  it('401 without a valid token, 403 with a read-only token', async () => {
    const body = protoRequest(hexId(16), [{ spanId: hexId(8), name: 'x' }]);
    assert.equal((await send(server.origin, body, { token: null })).status, 401);
    assert.equal((await send(server.origin, body, { token: 'not-a-token-at-all' })).status, 401);
    const ro = await send(server.origin, body, { token: 'alpha-read-0001' });
    assert.equal(ro.status, 403);
    assert.equal(ro.body?.error.code, 'LT_ERR_FORBIDDEN');
  });

  it('413 over the body limit, compressed or decompressed (a gzip bomb stops at the limit)', async () => {
    const big = Buffer.alloc(70 * 1024, 1);
    assert.equal((await send(server.origin, big)).status, 413);
    // 64 KiB limit; 50 MiB of zeros compress to ~50 KiB.
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    const r = await send(server.origin, bomb, { encoding: 'gzip' });
    assert.equal(r.status, 413);
    assert.equal(r.body?.error.code, 'LT_ERR_PAYLOAD_TOO_LARGE');
    assert.match(r.body?.error.message, /decompressed/);
  });

  it("tenant isolation: another tenant's spans never reach a trace, and its own land in its tenant", async () => {
    const t = hexId(16);
    const root = hexId(8);
    const child = hexId(8);
    await send(server.origin, protoRequest(t, [{ spanId: child, parent: root, name: 'alpha child' }]));
    // beta writes into alpha's trace id: refused, nothing of beta stored.
    const r = await send(server.origin, protoRequest(t, [{ spanId: root, name: 'beta root' }]), {
      token: 'beta-write-0001',
    });
    assert.equal(r.status, 200);
    assert.equal(r.rejected, 1);
    assert.match(r.message, /cannot be written with this token/);
    await send(server.origin, protoRequest(t, [{ spanId: root, name: 'alpha root' }]));
    const snap = await stored(server, t);
    assert.equal(snap.info.tenant_id, 'alpha');
    assert.deepEqual(snap.nodes.map((x) => x.label).sort(), ['alpha child', 'alpha root']);
    // Completed: beta still cannot tell it from a trace it may not write.
    const after = await send(server.origin, protoRequest(t, [{ spanId: hexId(8), name: 'x' }]), {
      token: 'beta-write-0001',
    });
    assert.equal(after.rejected, 1);
    const own = hexId(16);
    await send(server.origin, protoRequest(own, [{ spanId: hexId(8), name: 'beta run' }]), {
      token: 'beta-write-0001',
    });
    assert.equal((await stored(server, own)).info.tenant_id, 'beta');
    // And alpha's reader does not see beta's trace.
    const res = await fetch(`${server.api}/traces/${own}`, { headers: { authorization: 'Bearer alpha-read-0001' } });
    assert.equal(res.status, 404);
  });
});
