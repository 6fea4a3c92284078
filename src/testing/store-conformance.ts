// The store conformance suite: every TraceStore (memory, file, SQLite, PostgreSQL, Redis,
// or yours) must pass it. Import it from `livetrace/testing` and call it inside a
// node:test file with a factory that makes a fresh, empty store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreConflictError, TraceLockedError, TraceNotFoundError, TraceRunningError } from '../core/errors.js';
import { reduceEvents, toSnapshot } from '../core/reducer.js';
import type { TraceEvent, TraceInfo, TraceStatus } from '../core/types.js';
import type { TraceStore } from '../store/store.js';
import { Tracer } from '../tracer/tracer.js';

export interface ConformanceFixture {
  store: TraceStore;
  /** Removes what the store left behind (folders, tables...). */
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Skip the whole suite with this message (e.g. the database is not reachable). */
  skip?: string | false;
}

let counter = 0;
function uid(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;
}

export function makeEvents(traceId: string, from: number, count: number, t0 = 1_700_000_000_000): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (let i = 0; i < count; i++) {
    const seq = from + i;
    if (seq === 1) out.push({ seq, type: 'init', trace_id: traceId, timestamp: t0, data: { trace_id: traceId } });
    else
      out.push({
        seq,
        type: 'log_added',
        trace_id: traceId,
        timestamp: t0 + seq,
        data: {
          level: 'info',
          message: `line ${seq} ✓ "quoted" \\ \n newline`,
          timestamp: t0 + seq,
          data: { n: seq, nested: { a: [1, 'two', null] } },
        },
      });
  }
  return out;
}

export function makeInfo(id: string, over: Partial<TraceInfo> = {}): TraceInfo {
  return {
    id,
    status: 'running',
    created_at: 1_700_000_000_000,
    updated_at: 1_700_000_000_000,
    archived: false,
    ...over,
  };
}

export function runStoreConformance(
  name: string,
  factory: () => Promise<ConformanceFixture>,
  options: ConformanceOptions = {},
): void {
  describe(`store conformance: ${name}`, { skip: options.skip || false }, () => {
    const use = async (fn: (store: TraceStore) => Promise<void>): Promise<void> => {
      const fx = await factory();
      try {
        await fn(fx.store);
      } finally {
        await fx.store.close();
        await fx.cleanup?.();
      }
    };

    it('appends batches and reads them back in order, after a cursor, with a limit', () =>
      use(async (store) => {
        const id = uid('t');
        const events = makeEvents(id, 1, 25);
        await store.append(id, events.slice(0, 10), makeInfo(id));
        await store.append(id, events.slice(10), makeInfo(id));
        assert.deepEqual(await store.read(id), events);
        assert.deepEqual(await store.read(id, { since: 20 }), events.slice(20));
        assert.deepEqual(await store.read(id, { since: 5, limit: 3 }), events.slice(5, 8));
        assert.deepEqual(await store.read(id, { since: 25 }), []);
        assert.deepEqual(await store.read(uid('missing')), []);
      }));

    it('rejects a batch that does not continue the stored seq, and writes nothing of it', () =>
      use(async (store) => {
        const id = uid('t');
        const events = makeEvents(id, 1, 6);
        await store.append(id, events.slice(0, 3), makeInfo(id));
        await assert.rejects(store.append(id, events.slice(4), makeInfo(id)), StoreConflictError);
        await assert.rejects(store.append(id, events.slice(1, 3), makeInfo(id)), StoreConflictError);
        assert.deepEqual(await store.read(id), events.slice(0, 3));
        await store.append(id, events.slice(3), makeInfo(id));
        assert.deepEqual(await store.read(id), events);
      }));

    it('rejects a new trace whose first event is not seq 1', () =>
      use(async (store) => {
        const id = uid('t');
        await assert.rejects(store.append(id, makeEvents(id, 2, 2), makeInfo(id)), StoreConflictError);
        assert.deepEqual(await store.read(id), []);
      }));

    it('saves info with each batch and returns it', () =>
      use(async (store) => {
        const id = uid('t');
        assert.equal(await store.info(id), undefined);
        await store.append(id, makeEvents(id, 1, 2), makeInfo(id, { created_by: 'ann', metadata: { k: 'v' } }));
        const a = await store.info(id);
        assert.equal(a?.id, id);
        assert.equal(a?.status, 'running');
        assert.equal(a?.created_by, 'ann');
        assert.deepEqual(a?.metadata, { k: 'v' });
        assert.equal(a?.archived, false);
        await store.append(
          id,
          makeEvents(id, 3, 1),
          makeInfo(id, { status: 'completed', updated_at: 1_700_000_000_100 }),
        );
        const b = await store.info(id);
        assert.equal(b?.status, 'completed');
        assert.equal(b?.updated_at, 1_700_000_000_100);
      }));

    it('lists newest first, filters, and pages with an opaque cursor', () =>
      use(async (store) => {
        const tenant = uid('tenant');
        const ids: string[] = [];
        const statuses: TraceStatus[] = ['running', 'completed', 'failed'];
        for (let i = 0; i < 23; i++) {
          const id = uid(`l${i}`);
          ids.push(id);
          await store.append(
            id,
            makeEvents(id, 1, 1),
            makeInfo(id, {
              created_at: 1_800_000_000_000 + i * 1000,
              status: statuses[i % 3]!,
              created_by: i % 2 ? 'bob' : 'ann',
              team_id: i < 10 ? 'red' : 'blue',
              tenant_id: tenant,
            }),
          );
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ tenantId: tenant, limit: 5, cursor });
          assert.ok(page.traces.length <= 5);
          for (const t of page.traces) seen.push(t.id);
          cursor = page.nextCursor;
          pages++;
          assert.ok(pages < 10, 'paging must terminate');
        } while (cursor);
        assert.deepEqual(seen, [...ids].reverse(), 'newest first, each exactly once');
        const completed = await store.list({ tenantId: tenant, status: 'completed', limit: 100 });
        assert.deepEqual(
          completed.traces.map((t) => t.id),
          ids.filter((_, i) => i % 3 === 1).reverse(),
        );
        const several = await store.list({ tenantId: tenant, status: ['failed', 'completed'], limit: 100 });
        assert.equal(several.traces.length, ids.filter((_, i) => i % 3 !== 0).length);
        const bob = await store.list({ tenantId: tenant, createdBy: 'bob', teamId: 'red', limit: 100 });
        assert.deepEqual(
          bob.traces.map((t) => t.id),
          ids.filter((_, i) => i % 2 === 1 && i < 10).reverse(),
        );
        const range = await store.list({
          tenantId: tenant,
          from: 1_800_000_005_000,
          to: 1_800_000_007_000,
          limit: 100,
        });
        assert.deepEqual(
          range.traces.map((t) => t.id),
          [ids[7], ids[6], ids[5]],
        );
        const none = await store.list({ tenantId: uid('nobody') });
        assert.deepEqual(none.traces, []);
        assert.equal(none.nextCursor, undefined);
      }));

    it('removes everything of a trace', () =>
      use(async (store) => {
        const id = uid('t');
        await store.append(id, makeEvents(id, 1, 3), makeInfo(id));
        assert.equal(await store.remove(id), true);
        assert.equal(await store.info(id), undefined);
        assert.deepEqual(await store.read(id), []);
        assert.equal(await store.remove(id), false);
        await store.append(id, makeEvents(id, 1, 2), makeInfo(id));
        assert.equal((await store.read(id)).length, 2, 'the id can be used again');
      }));

    it('archives finished traces and keeps reading and listing them', () =>
      use(async (store) => {
        const id = uid('t');
        const tenant = uid('tenant');
        const events = makeEvents(id, 1, 50);
        await store.append(id, events, makeInfo(id, { status: 'completed', tenant_id: tenant }));
        await store.archive(id);
        const info = await store.info(id);
        assert.equal(info?.archived, true);
        assert.equal(typeof info?.archived_at, 'number');
        assert.deepEqual(await store.read(id), events);
        assert.deepEqual(await store.read(id, { since: 40, limit: 5 }), events.slice(40, 45));
        const listed = await store.list({ tenantId: tenant });
        assert.deepEqual(
          listed.traces.map((t) => [t.id, t.archived]),
          [[id, true]],
        );
        const running = uid('t');
        await store.append(running, makeEvents(running, 1, 1), makeInfo(running));
        await assert.rejects(store.archive(running), TraceRunningError);
        await assert.rejects(store.archive(uid('missing')), TraceNotFoundError);
      }));

    it('keeps traces apart under concurrent appends', () =>
      use(async (store) => {
        const ids = Array.from({ length: 8 }, () => uid('c'));
        await Promise.all(
          ids.map(async (id) => {
            const evs = makeEvents(id, 1, 40);
            for (let i = 0; i < 40; i += 8) await store.append(id, evs.slice(i, i + 8), makeInfo(id));
          }),
        );
        for (const id of ids) {
          const got = await store.read(id);
          assert.equal(got.length, 40);
          got.forEach((e, i) => {
            assert.equal(e.seq, i + 1);
            assert.equal(e.trace_id, id);
          });
        }
      }));

    it('round-trips a real trace through a Tracer and resumes its seq', () =>
      use(async (store) => {
        const id = uid('r');
        const a = new Tracer({ store, exitHook: false });
        const t = await a.create({ id, createdBy: 'ann', tenantId: 'ten' });
        const s = t.add({ q: 'question', big: 10n, when: new Date(0) }, { label: 'plan' });
        s.info('thinking', { step: 1 });
        const [x, y] = t.parallel([{ label: 'x' }, { label: 'y' }]);
        x!.complete({ ok: true });
        y!.fail(new Error('nope'));
        const space = t.createSpace({ label: 'context' });
        space.set('k', { v: 1 }).set('k', { v: 2 });
        await t.release();
        const before = t.snapshot();
        await a.close();
        const b = new Tracer({ store, exitHook: false });
        const again = await b.load(id);
        assert.deepEqual(again.snapshot(), before);
        again.add('more', { label: 'after' });
        again.markComplete();
        await again.release();
        const events = await store.read(id);
        events.forEach((e, i) => assert.equal(e.seq, i + 1));
        const snap = toSnapshot(reduceEvents(id, events));
        assert.equal(snap.info.status, 'completed');
        assert.equal((await store.info(id))?.status, 'completed');
        const c = await b.load(id);
        assert.equal(c.status, 'completed');
        assert.equal(c.isComplete, true);
        await b.close();
      }));

    it('guards a trace against a second writer when it supports leases', { skip: false }, () =>
      use(async (store) => {
        if (!store.acquire) return;
        const id = uid('lease');
        await store.append(id, makeEvents(id, 1, 1), makeInfo(id));
        await store.acquire(id, 'writer-a');
        await store.acquire(id, 'writer-a');
        await assert.rejects(store.acquire(id, 'writer-b'), TraceLockedError);
        await store.releaseLease?.(id, 'writer-a');
        await store.acquire(id, 'writer-b');
        await store.releaseLease?.(id, 'writer-b');
      }),
    );

    it('closes idempotently', async () => {
      const fx = await factory();
      await fx.store.close();
      await fx.store.close();
      await fx.cleanup?.();
    });
  });
}
