// The write side is bounded like the read side: body limits (413 before the body is read),
// heavy work (loading a stored trace to write to it takes a slot of the same bound as
// snapshot rebuilds: 503 LT_ERR_BUSY + Retry-After beyond it, for ops and OTLP alike) and
// tenant checks before any work (another tenant's trace is a 404 and is never loaded).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeavyWork } from '../src/server/heavy-work.js';
import { encodeRequest } from '../src/server/otlp-decode.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const ALPHA = 'alpha-write-bounds-1';
const BETA = 'beta-write-bounds-01';

function otlpBody(traceId: string, spanId: string, parent?: string): Uint8Array {
  return new Uint8Array(
    encodeRequest({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from(traceId, 'hex'),
                  spanId: Buffer.from(spanId, 'hex'),
                  ...(parent ? { parentSpanId: Buffer.from(parent, 'hex') } : {}),
                  name: `span ${spanId}`,
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

describe('write side bounds', () => {
  const heavy = new HeavyWork({ concurrency: 1, queue: 0, retryAfterSec: 2 });
  let s: TestServer;
  let tracer: Tracer;
  const store = new MemoryStore();
  const loads: string[] = [];

  before(async () => {
    tracer = new Tracer({ store, exitHook: false });
    const load = tracer.load.bind(tracer);
    tracer.load = (id: string) => {
      loads.push(id);
      return load(id);
    };
    s = await startTestServer({
      tracer,
      heavyWork: heavy,
      writeBodyLimit: 4096,
      tokens: [
        { token: ALPHA, tenantId: 'alpha', scopes: ['read', 'write'] },
        { token: BETA, tenantId: 'beta', scopes: ['read', 'write'] },
      ],
    });
  });
  after(async () => {
    await s.close();
    await tracer.close();
  });

  const ops = (id: string, token: string, list: unknown[]) =>
    fetch(`${s.api}/traces/${id}/ops`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ops: list }),
    });

  /** A running trace of tenant alpha, stored and not loaded here (as after the idle release). */
  async function storedTrace(id: string, otel = false): Promise<void> {
    const writer = new Tracer({ store, exitHook: false, onClose: 'keep' });
    const t = await writer.create({
      id,
      tenantId: 'alpha',
      ...(otel ? { metadata: { 'otel.trace_id': id } } : {}),
    });
    t.add('x', { label: 'first' });
    await writer.close();
  }

  it('an ops batch that must load a stored trace waits for a heavy-work slot: 503 LT_ERR_BUSY with Retry-After when none is free', async () => {
    await storedTrace('bounds-ops-1');
    const release = await heavy.acquire('test');
    let res: Response;
    try {
      res = await ops('bounds-ops-1', ALPHA, [{ op: 'log', level: 'info', message: 'hi' }]);
    } finally {
      release();
    }
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'LT_ERR_BUSY');
    // With the slot free again, the same batch applies.
    const ok = await ops('bounds-ops-1', ALPHA, [{ op: 'log', level: 'info', message: 'hi' }]);
    assert.equal(ok.status, 200);
  });

  it('OTLP spans of a stored trace not loaded here: the same bound (exporters retry the 503)', async () => {
    const id = 'b0b0000000000000000000000000000b';
    await storedTrace(id, true);
    const release = await heavy.acquire('test');
    let res: Response;
    try {
      res = await fetch(`${s.origin}/v1/traces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ALPHA}`, 'content-type': 'application/x-protobuf' },
        body: otlpBody(id, '00000000000000a1') as unknown as BodyInit,
      });
    } finally {
      release();
    }
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    const ok = await fetch(`${s.origin}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALPHA}`, 'content-type': 'application/x-protobuf' },
      body: otlpBody(id, '00000000000000a1') as unknown as BodyInit,
    });
    assert.equal(ok.status, 200);
  });

  it('another tenant writing: 404 (ops) or refused spans (OTLP), and the trace is never loaded', async () => {
    await storedTrace('bounds-tenant-1');
    const id = 'c0c0000000000000000000000000000c';
    await storedTrace(id, true);
    loads.length = 0;
    const res = await ops('bounds-tenant-1', BETA, [{ op: 'log', level: 'info', message: 'not yours' }]);
    assert.equal(res.status, 404);
    const otlp = await fetch(`${s.origin}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BETA}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: id, spanId: '00000000000000b1', name: 'x' }] }] }],
      }),
    });
    assert.equal(otlp.status, 200);
    assert.equal(
      ((await otlp.json()) as { partialSuccess: { rejectedSpans: string } }).partialSuccess.rejectedSpans,
      '1',
    );
    assert.deepEqual(loads, [], 'nothing loaded for another tenant');
  });

  it('bodies over the write limit: 413 for ops and OTLP, before any work', async () => {
    loads.length = 0;
    const big = 'x'.repeat(5000);
    const res = await ops('bounds-ops-1', ALPHA, [{ op: 'log', level: 'info', message: big }]);
    assert.equal(res.status, 413);
    const otlp = await fetch(`${s.origin}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALPHA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ big }),
    });
    assert.equal(otlp.status, 413);
    assert.deepEqual(loads, []);
  });
});
