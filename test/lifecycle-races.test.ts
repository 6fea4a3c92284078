import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { reduceEvents, toSnapshot } from '../src/core/reducer.js';
import { LocalHub } from '../src/hub/local-hub.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { traced } from '../src/tracer/traced.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { Trace } from '../src/tracer/trace.js';

const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

function setup() {
  const store = new MemoryStore();
  const hub = new LocalHub();
  const tracer = new Tracer({ store, hub, exitHook: false, flush: { intervalMs: 1 } });
  const warnings: string[] = [];
  tracer.on('warning', (w) => warnings.push(w.code));
  tracer.on('error', (e) => crashes.push(e));
  return { store, hub, tracer, warnings };
}

async function assertConsistent(store: MemoryStore, trace: Trace) {
  const stored = await store.read(trace.id);
  assert.deepEqual(
    stored.map((e) => e.seq),
    stored.map((_, i) => i + 1),
    'gapless',
  );
  assert.equal(stored.length, trace.events().length, 'everything recorded is stored');
  assert.deepEqual(toSnapshot(reduceEvents(trace.id, stored)).nodes, trace.snapshot().nodes);
}

describe('lifecycle races', () => {
  before(() => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
  });
  after(() => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    assert.deepEqual(crashes, [], 'no unhandled rejection, uncaught exception or store error');
  });

  it('release while 20 concurrent writers write', async () => {
    for (let round = 0; round < 30; round++) {
      const { tracer, store, hub } = setup();
      const t = await tracer.create();
      const root = t.add('root');
      const space = t.createSpace();
      const writers = Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 50; i++) {
          const n = root.add({ w, i });
          n.info('working', { i });
          space.set(`w${w}`, i);
          if (i % 7 === 0) await tick();
          n.complete(i);
        }
      });
      await tick();
      const released = t.release();
      await Promise.all([...writers, released]);
      await assertConsistent(store, t);
      assert.equal(tracer.isLoaded(t.id), false);
      assert.equal(hub.size, 0);
      await tracer.close();
    }
  });

  it('release during space operations', async () => {
    for (let round = 0; round < 50; round++) {
      const { tracer, store } = setup();
      const t = await tracer.create();
      const s = t.createSpace({ label: 'ctx' });
      const ops = (async () => {
        for (let i = 0; i < 100; i++) {
          s.set(`k${i % 10}`, i);
          if (i % 3 === 0) s.delete(`k${(i + 1) % 10}`);
          if (i % 25 === 0) s.clear();
          if (i % 10 === 0) await tick();
        }
      })();
      await tick();
      await Promise.all([t.release(), ops]);
      await assertConsistent(store, t);
      await tracer.close();
    }
  });

  it('late writes after markComplete and after release are counted no-ops, warned once', async () => {
    const { tracer, store, warnings } = setup();
    const t = await tracer.create();
    const n = t.add('a');
    const s = t.createSpace();
    t.markComplete();
    const count = t.events().length;
    n.info('late').complete('late');
    s.set('k', 1);
    t.add('late');
    await t.release();
    n.fail('later');
    t.parallel([{ label: 'x' }]);
    t.markFailed('no');
    assert.equal(t.events().length, count);
    assert.ok(t.lateCalls >= 6);
    assert.deepEqual(warnings, ['LT_WARN_LATE_CALL']);
    await assertConsistent(store, t);
    await t.release();
    await tracer.close();
  });

  it('markCancelled racing release', async () => {
    for (let round = 0; round < 200; round++) {
      const { tracer, store } = setup();
      const t = await tracer.create();
      t.add('x');
      const order = round % 3;
      if (order === 0) await Promise.all([Promise.resolve().then(() => t.markCancelled('race')), t.release()]);
      else if (order === 1) await Promise.all([t.release(), Promise.resolve().then(() => t.markCancelled('race'))]);
      else await Promise.all([tracer.markCancelled(t.id, 'race'), t.release()]);
      await assertConsistent(store, t);
      const status = (await store.info(t.id))!.status;
      assert.ok(status === 'cancelled' || status === 'running', status);
      await tracer.close();
    }
  });

  it('1,000 rapid create/use/release cycles leave nothing loaded', async () => {
    const { tracer, store, hub } = setup();
    for (let i = 0; i < 1000; i++) {
      const t = await tracer.create();
      const sub = t.subscribe();
      t.add('a').info('x');
      t.markComplete();
      await t.release();
      assert.equal(sub.done, false, 'the subscriber still owns unread events');
      let n = 0;
      for await (const _ of sub) n++;
      assert.equal(n, 5);
      if (i % 100 === 0) await assertConsistent(store, t);
    }
    assert.deepEqual(tracer.loaded(), []);
    assert.equal(hub.size, 0);
    await tracer.close();
  });

  it('fork pattern: parent released while 10 nested branches still run', async () => {
    for (let round = 0; round < 20; round++) {
      const { tracer, store, warnings } = setup();
      const t = await tracer.create();
      const root = t.add('parent');
      const space = t.createSpace({ id: 'shared' });
      const branch = (b: number) =>
        traced(`branch ${b}`, async (n1) => {
          n1.info('level 1');
          return traced('level 2', async (n2) => {
            space.set(`b${b}`, 2);
            await tick();
            return traced('level 3', async (n3) => {
              n3.info('deep', { b });
              await tick();
              space.set(`b${b}`, 3);
              n2.info('still here');
              return b;
            });
          });
        });
      const branches = tracer.run(root, () => Array.from({ length: 10 }, (_, b) => branch(b)));
      await tick();
      await t.release();
      const results = await Promise.all(branches);
      assert.deepEqual(
        results,
        Array.from({ length: 10 }, (_, b) => b),
        'branches finish normally',
      );
      await assertConsistent(store, t);
      if (t.lateCalls > 0) assert.deepEqual(warnings, ['LT_WARN_LATE_CALL']);
      await tracer.close();
    }
  });
});
