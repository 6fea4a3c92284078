// The cluster's edges, in process over a real PostgreSQL store and a real Redis: a holder
// that is alive (its lease renewed) but does not answer gives 503 LT_ERR_HOLDER_UNAVAILABLE
// with Retry-After after `waitMs`, nothing applied; a trace held by a library writer (no
// announcement) keeps its 409; once the holder releases, the instance that received the
// write takes the trace; the internal forwarded-spans route checks what it is sent.
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Cluster } from '../src/server/cluster/cluster.js';
import { RedisSharedState } from '../src/server/cluster/shared-state.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { dropSchema, pgSkip, PG_URL, redisSkip, REDIS_URL, uniqueName } from './fixtures/services.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const skip = (await pgSkip()) || (await redisSkip());

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('cluster edges (PostgreSQL + Redis, in process)', { skip }, () => {
  const schema = uniqueName('lt_cluster');
  const prefix = uniqueName('lt_cluster');
  const open = () => new Tracer({ store: new PostgresStore({ url: PG_URL, schema }), exitHook: false });
  let holder: Tracer;
  let worker: Tracer;
  let b: TestServer;
  let cluster: Cluster;
  const announcer = new RedisSharedState({ url: REDIS_URL, prefix });

  before(async () => {
    holder = open();
    worker = open();
    const tracer = open();
    cluster = new Cluster(tracer, new RedisSharedState({ url: REDIS_URL, prefix }), { waitMs: 400 });
    b = await startTestServer({ tracer, cluster });
    await cluster.start(b.origin, b.app.livetrace.otlp);
    // The holder is a server instance announced at an address where nothing answers.
    await announcer.announce(holder.owner, `http://127.0.0.1:${await freePort()}`, 60_000);
  });
  after(async () => {
    await b?.close();
    await cluster?.close();
    await announcer.close();
    await Promise.all([holder?.close(), worker?.close(), b?.tracer.close()]);
    if (!skip) await dropSchema(schema);
  });

  const ops = (id: string, list: unknown[]) =>
    fetch(`${b.api}/traces/${id}/ops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ops: list }),
    });

  it('a holder that does not answer while its lease lives: 503 LT_ERR_HOLDER_UNAVAILABLE + Retry-After, nothing applied; applied here once it released', async () => {
    const t = await holder.create({ id: 'cluster-held-1' });
    t.add('x', { label: 'first' });
    await t.flush();
    const before = t.lastSeq;
    const res = await ops('cluster-held-1', [{ op: 'log', level: 'info', message: 'hi' }]);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'LT_ERR_HOLDER_UNAVAILABLE');
    assert.equal((await b.tracer.events('cluster-held-1')).length, before, 'nothing applied');

    await t.release();
    const ok = await ops('cluster-held-1', [{ op: 'log', level: 'info', message: 'hi' }]);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { last_seq: number }).last_seq, before + 1, 'the log continues');
  });

  it('OTLP spans of a trace whose holder does not answer: 503 with Retry-After (exporters retry)', async () => {
    const id = 'c1a5000000000000000000000000000a';
    await holder.create({ id, metadata: { 'otel.trace_id': id } });
    const res = await fetch(`${b.origin}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: id, spanId: '00000000000000a1', name: 'x' }] }] }],
      }),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
  });

  it('a trace held by a library writer (not a server): 409 LT_ERR_TRACE_LOCKED at once', async () => {
    await worker.create({ id: 'cluster-worker-1' });
    const res = await ops('cluster-worker-1', [{ op: 'log', level: 'info', message: 'hi' }]);
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'LT_ERR_TRACE_LOCKED');
  });

  it('the forwarded-spans route takes only forwarded, well-formed span batches', async () => {
    const post = (body: unknown, forwarded: boolean) =>
      fetch(`${b.origin}/v1/traces/forwarded`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(forwarded ? { 'x-livetrace-forwarded': '1' } : {}) },
        body: JSON.stringify(body),
      });
    assert.equal((await post({ spans: [] }, false)).status, 400);
    assert.equal((await post({ spans: [{ traceId: 'zz', spanId: '1' }] }, true)).status, 400);
    assert.equal((await post({ spans: 'x' }, true)).status, 400);
    const span = (traceId: string) => ({
      traceId,
      spanId: '00000000000000b1',
      name: 'root',
      kind: 0,
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
      attributes: { nested: { not: 'allowed' } },
      events: [],
      status: { code: 0 },
    });
    assert.equal((await post({ spans: [span('ab'.repeat(16))] }, true)).status, 400, 'attribute values are checked');
    const good = { ...span('cd'.repeat(16)), attributes: { a: 1, b: ['x', true] } };
    const res = await post({ spans: [good] }, true);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: 1, rejected: 0, message: '' });
  });
});
