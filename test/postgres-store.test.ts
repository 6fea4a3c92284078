import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FlushError, TraceLockedError } from '../src/core/errors.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { makeEvents, makeInfo, runStoreConformance } from '../src/testing/store-conformance.js';
import { Tracer } from '../src/tracer/tracer.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';
import { PG_URL, dropSchema, pgExec, pgSkip, uniqueName } from './fixtures/services.js';

const skip = await pgSkip();
if (skip) console.log(`# skipping PostgreSQL tests: ${skip}`);
const schemas: string[] = [];
const schemaName = (): string => {
  const s = uniqueName('lt_test');
  schemas.push(s);
  return s;
};
after(async () => {
  if (!skip) for (const s of schemas) await dropSchema(s);
});

// One schema for the whole conformance run: also proves a reopened store reuses the tables.
const conformanceSchema = schemaName();
runStoreConformance(
  'PostgresStore',
  async () => ({ store: new PostgresStore({ url: PG_URL, schema: conformanceSchema }) }),
  { skip },
);

describe('PostgresStore', { skip }, () => {
  it('creates its schema with a version table and indexes for listing', async () => {
    const schema = schemaName();
    const a = new PostgresStore({ url: PG_URL, schema });
    const b = new PostgresStore({ url: PG_URL, schema });
    // Two processes starting at once: the advisory lock serializes the migration.
    await Promise.all([a.info('x'), b.info('x')]);
    const versions = await pgExec<{ version: number }>(`SELECT version FROM "${schema}".schema_version`);
    assert.deepEqual(
      versions.map((v) => v.version),
      [1, 2],
    );
    const idx = await pgExec<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
      [schema],
    );
    for (const name of [
      'traces_created',
      'traces_status',
      'traces_tenant',
      'traces_team',
      'traces_creator',
      'traces_facets',
      'traces_tokens',
      'words_gin',
    ])
      assert.ok(
        idx.some((i) => i.indexname === name),
        name,
      );
    await a.close();
    await b.close();
  });

  it('shares one pool among every trace of a tracer', async () => {
    const schema = schemaName();
    const app = uniqueName('lt_pool');
    const store = new PostgresStore({ url: PG_URL, schema, max: 3, pool: { application_name: app } });
    const tracer = new Tracer({ store, exitHook: false });
    const traces = await Promise.all(Array.from({ length: 20 }, () => tracer.create({ agentName: 'pool' })));
    for (const t of traces) for (let i = 0; i < 20; i++) t.add({ i });
    await Promise.all(traces.map((t) => t.flush()));
    const conns = await pgExec<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    assert.ok(
      Number(conns[0]!.n) >= 1 && Number(conns[0]!.n) <= 3,
      `at most the pool's 3 connections, got ${conns[0]!.n}`,
    );
    for (const t of traces) assert.equal((await store.read(t.id)).length, t.events().length);
    await tracer.close();
  });

  it('retries a batch whose connection was terminated (pg_terminate_backend) and loses nothing', async () => {
    const schema = schemaName();
    const app = uniqueName('lt_kill');
    const store = new PostgresStore({ url: PG_URL, schema, max: 2, pool: { application_name: app } });
    const errors: Error[] = [];
    const tracer = new Tracer({ store, exitHook: false, flush: { intervalMs: 5, maxRetryMs: 100 } });
    tracer.on('error', (e) => errors.push(e));
    const t = await tracer.create({ id: uniqueName('kill') });
    for (let i = 0; i < 50; i++) t.add({ i }, { label: `a${i}` });
    await t.flush();
    for (let round = 0; round < 3; round++) {
      // Kill every connection of our pool, idle or busy, while writes keep coming.
      const killed = await pgExec<{ ok: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      assert.ok(killed.length > 0);
      for (let i = 0; i < 50; i++) t.info(`round ${round} line ${i}`);
      await t.flush();
    }
    t.markComplete();
    await t.release();
    const stored = await store.read(t.id);
    assert.equal(stored.length, t.events().length);
    stored.forEach((e, i) => assert.equal(e.seq, i + 1));
    assert.ok(store.lastConnectionError || errors.length > 0, 'the kill was observed');
    await tracer.close();
  });

  it('an append whose connection dies is retried once on a fresh one: lost before the server saw it, or after it committed', async () => {
    const schema = schemaName();
    const target = new URL(PG_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    const via = new URL(PG_URL);
    via.port = String(await proxy.up());
    // One connection, warmed up: the next bytes a client sends are the append's.
    const store = new PostgresStore({ url: via.toString(), schema, max: 1 });
    try {
      const id = uniqueName('cut');
      await store.append(id, makeEvents(id, 1, 10), makeInfo(id, { last_seq: 10 }));
      proxy.cutNext('request');
      await store.append(id, makeEvents(id, 11, 10), makeInfo(id, { last_seq: 20 }));
      proxy.cutNext('answer');
      await store.append(id, makeEvents(id, 21, 10), makeInfo(id, { last_seq: 30 }));
      const stored = await store.read(id);
      assert.deepEqual(
        stored.map((e) => e.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
        'every batch once, in order',
      );
      // A real conflict on the retry is still one: a batch that does not continue the log.
      proxy.cutNext('request');
      await assert.rejects(
        store.append(id, makeEvents(id, 35, 1), makeInfo(id, { last_seq: 35 })),
        (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'LT_ERR_STORE_CONFLICT',
      );
    } finally {
      await store.close();
      await proxy.down();
    }
  });

  it('keeps writes pending while the database is unreachable: flush() rejects with them, then they are stored', async () => {
    const schema = schemaName();
    const target = new URL(PG_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    const port = await proxy.up();
    const via = new URL(PG_URL);
    via.port = String(port);
    const store = new PostgresStore({ url: via.toString(), schema, connectionTimeoutMs: 500 });
    const errors: Error[] = [];
    const tracer = new Tracer({ store, exitHook: false, flush: { intervalMs: 5, maxRetryMs: 50 } });
    tracer.on('error', (e) => errors.push(e));
    const t = await tracer.create({ id: uniqueName('down') });
    t.add('before');
    await t.flush();
    await proxy.down();
    for (let i = 0; i < 30; i++) t.info(`while down ${i}`);
    const err = await t.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof FlushError, `FlushError, got ${String(err)}`);
    assert.ok(err.pending.length >= 30);
    assert.equal(err.pending[err.pending.length - 1]!.seq, t.events().length);
    assert.equal(errors.length, 1, 'the failure is reported once');
    await proxy.up();
    t.markComplete();
    await t.release();
    const stored = await store.read(t.id);
    assert.equal(stored.length, t.events().length);
    stored.forEach((e, i) => assert.equal(e.seq, i + 1));
    await tracer.close();
    await proxy.down();
  });

  it('refuses a second writer while the lease is live, and frees it when the writer dies', async () => {
    const schema = schemaName();
    const s1 = new PostgresStore({ url: PG_URL, schema, leaseTtlMs: 400 });
    const s2 = new PostgresStore({ url: PG_URL, schema, leaseTtlMs: 400 });
    const a = new Tracer({ store: s1, exitHook: false, owner: 'writer-a' });
    const b = new Tracer({ store: s2, exitHook: false, owner: 'writer-b' });
    const t = await a.create({ id: 'guarded' });
    t.add('x');
    await t.flush();
    await new Promise((r) => setTimeout(r, 900)); // > 2 ttl: the renewal timer keeps it
    const err = await b.load('guarded').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TraceLockedError);
    assert.match(err.message, /writer-a/);
    await t.release();
    const t2 = await b.load('guarded');
    t2.markComplete();
    await t2.release();
    // A lease nobody renews (SIGKILLed writer) expires by the database clock.
    await pgExec(`INSERT INTO "${schema}".leases VALUES ('orphan', 'ghost', now() + interval '300 milliseconds')`);
    await assert.rejects(s2.acquire('orphan', 'writer-b'), TraceLockedError);
    await new Promise((r) => setTimeout(r, 400));
    await s2.acquire('orphan', 'writer-b');
    await s2.releaseLease('orphan', 'writer-b');
    await a.close();
    await b.close();
  });

  it('never forks a trace even when two writers race past an expired lease', async () => {
    const schema = schemaName();
    const s1 = new PostgresStore({ url: PG_URL, schema });
    const s2 = new PostgresStore({ url: PG_URL, schema });
    await s1.append('race', makeEvents('race', 1, 5), makeInfo('race'));
    const results = await Promise.allSettled([
      s1.append('race', makeEvents('race', 6, 3), makeInfo('race')),
      s2.append('race', makeEvents('race', 6, 4), makeInfo('race')),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const stored = await s1.read('race');
    stored.forEach((e, i) => assert.equal(e.seq, i + 1));
    assert.ok(stored.length === 8 || stored.length === 9);
    await s1.close();
    await s2.close();
  });
});
