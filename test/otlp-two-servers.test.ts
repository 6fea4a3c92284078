// Two servers on one PostgreSQL store WITHOUT a Redis hub (so without the cluster of
// docs/deploy.md, which forwards writes to the holder; test/two-instances.test.ts covers it):
// spans of a trace held by instance A that reach instance B are refused in rejected_spans
// with the lease message, never written twice or forked; once A completed and released the
// trace, B refuses them as late.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../src/store/postgres-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { decodeResponse, encodeRequest } from '../src/server/otlp-decode.js';
import { dropSchema, pgSkip, PG_URL, uniqueName } from './fixtures/services.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const skip = await pgSkip();

function body(traceId: string, spans: { spanId: string; parent?: string; name: string }[]): Uint8Array {
  return new Uint8Array(
    encodeRequest({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: spans.map((s) => ({
                traceId: Buffer.from(traceId, 'hex'),
                spanId: Buffer.from(s.spanId, 'hex'),
                ...(s.parent ? { parentSpanId: Buffer.from(s.parent, 'hex') } : {}),
                name: s.name,
              })),
            },
          ],
        },
      ],
    }),
  );
}

async function send(server: TestServer, b: Uint8Array): Promise<{ rejected: number; message: string }> {
  const res = await fetch(`${server.origin}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: b as unknown as BodyInit,
  });
  assert.equal(res.status, 200);
  const r = decodeResponse(Buffer.from(await res.arrayBuffer()), 'protobuf');
  return { rejected: r.rejectedSpans, message: r.errorMessage };
}

describe('OTLP with two servers on one PostgreSQL store', { skip }, () => {
  const schema = uniqueName('lt_otlp2');
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    const open = () => new Tracer({ store: new PostgresStore({ url: PG_URL, schema }), exitHook: false });
    a = await startTestServer({ tracer: open(), otlp: { quietMs: 200 } });
    b = await startTestServer({ tracer: open(), otlp: { quietMs: 200 } });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await a?.tracer.close();
    await b?.tracer.close();
    await dropSchema(schema);
  });

  it('a span reaching the instance that does not hold the trace is refused, never forked', async () => {
    const t = 'c0ffee00000000000000000000000001';
    const root = '00000000000000a1';
    assert.equal((await send(a, body(t, [{ spanId: '00000000000000b1', parent: root, name: 'child' }]))).rejected, 0);
    const onB = await send(b, body(t, [{ spanId: root, name: 'root' }]));
    assert.equal(onB.rejected, 1);
    assert.match(onB.message, /live in another writer/);
    // The root goes to A: the trace completes there, with both spans.
    assert.equal((await send(a, body(t, [{ spanId: root, name: 'root' }]))).rejected, 0);
    let snap = await b.tracer.read(t);
    for (let i = 0; i < 100 && snap?.info.status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      snap = await b.tracer.read(t);
    }
    assert.equal(snap!.info.status, 'completed');
    assert.deepEqual(snap!.nodes.map((n) => n.label).sort(), ['child', 'root']);
    const seqs = (await b.tracer.events(t)).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'one gapless log',
    );
    const late = await send(b, body(t, [{ spanId: '00000000000000c1', parent: root, name: 'late' }]));
    assert.equal(late.rejected, 1);
    assert.match(late.message, /already completed/);
  });
});
