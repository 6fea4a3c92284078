// Leak checks (run with --expose-gc, as `npm test` does): retained heap per iteration after
// warm-up, over 2,000 iterations, must stay under 1 KB (the seed's module allowed 20 KB),
// and nothing livetrace created may stay active afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { LocalHub } from '../src/hub/local-hub.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { traced } from '../src/tracer/traced.js';
import { Tracer } from '../src/tracer/tracer.js';

const ITERATIONS = 2000;
const WARMUP = 300;
const THRESHOLD = 1024;

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await tick();
  }
  return process.memoryUsage().heapUsed;
}

function resources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap')
    .sort();
}

async function measure(name: string, iteration: (tracer: Tracer, i: number) => Promise<void>): Promise<number> {
  await settle();
  const before = resources();
  const store = new MemoryStore();
  const hub = new LocalHub();
  const tracer = new Tracer({ store, hub, exitHook: false });
  for (let i = 0; i < WARMUP; i++) await iteration(tracer, i);
  const h0 = await settle();
  for (let i = 0; i < ITERATIONS; i++) await iteration(tracer, i);
  const h1 = await settle();
  assert.deepEqual(tracer.loaded(), []);
  assert.equal(hub.size, 0, 'no hub listener left');
  assert.deepEqual((await store.list({ limit: 10 })).traces, [], 'every trace removed');
  await tracer.close();
  await tick();
  const left = [...before];
  const extra = resources().filter((r) => {
    const i = left.indexOf(r);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
  assert.deepEqual(extra, [], 'no timer, handle or request left active');
  const perIteration = (h1 - h0) / ITERATIONS;
  console.log(`# ${name}: ${perIteration.toFixed(1)} bytes retained per iteration (threshold ${THRESHOLD})`);
  return perIteration;
}

describe('memory: retained heap per iteration', { skip: gc ? false : 'needs --expose-gc' }, () => {
  it('standard: create, add, log, complete, release', async () => {
    const per = await measure('standard', async (tracer) => {
      const t = await tracer.create();
      t.add({ q: 'question' }, { label: 'step' }).info('working', { n: 1 }).complete({ a: 'answer' });
      t.markComplete();
      await t.release();
      await tracer.remove(t.id);
    });
    assert.ok(per < THRESHOLD, `${per} bytes/iteration`);
  });

  it('business: fan-out of 5, spaces with 10 keys, a subscriber reading to the end', async () => {
    const per = await measure('business', async (tracer) => {
      const t = await tracer.create({ createdBy: 'ann', metadata: { kind: 'business' } });
      const reader = (async () => {
        let n = 0;
        for await (const _ of t.subscribe()) n++;
        return n;
      })();
      t.add({ plan: true }, { label: 'plan' });
      const branches = t.parallel(Array.from({ length: 5 }, (_, i) => ({ label: `tool ${i}`, input: { i } })));
      for (const b of branches) b.info('calling').complete({ ok: true });
      const space = t.createSpace({ label: 'context' });
      for (let k = 0; k < 10; k++) space.set(`key${k}`, { value: k });
      t.add(undefined, { label: 'answer' });
      t.markComplete();
      const n = await reader;
      assert.equal(n, t.events().length);
      await t.release();
      await tracer.remove(t.id);
    });
    assert.ok(per < THRESHOLD, `${per} bytes/iteration`);
  });

  it('nested: traced 5 levels deep', async () => {
    const per = await measure('nested', async (tracer) => {
      const t = await tracer.create();
      const root = t.add('root');
      const nest = (depth: number): Promise<number> =>
        traced(`level ${depth}`, async (n) => {
          n.info('in', { depth });
          return depth >= 5 ? depth : nest(depth + 1);
        });
      assert.equal(await tracer.run(root, () => nest(1)), 5);
      t.markComplete();
      await t.release();
      await tracer.remove(t.id);
    });
    assert.ok(per < THRESHOLD, `${per} bytes/iteration`);
  });

  it('nested-concurrent: 10 concurrent workers with nested traced calls and store writes', async () => {
    const per = await measure('nested-concurrent', async (tracer) => {
      const t = await tracer.create();
      const root = t.add('root');
      const space = t.createSpace({ id: 'results' });
      const worker = (w: number) =>
        traced(`worker ${w}`, async () =>
          traced('fetch', async (n) => {
            n.info('fetching');
            await tick();
            return traced('parse', async () => {
              space.set(`w${w}`, w);
              await t.flush();
              return w;
            });
          }),
        );
      await tracer.run(root, () => Promise.all(Array.from({ length: 10 }, (_, w) => worker(w))));
      t.markComplete();
      await t.release();
      await tracer.remove(t.id);
    });
    assert.ok(per < THRESHOLD, `${per} bytes/iteration`);
  });

  it('a released trace is garbage-collectable', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    let ref: WeakRef<object>;
    await (async () => {
      const t = await tracer.create();
      t.add('x').info('y');
      const sub = t.subscribe();
      t.markComplete();
      await t.release();
      for await (const _ of sub) {
        /* drain */
      }
      ref = new WeakRef(t);
    })();
    await settle();
    assert.equal(ref!.deref(), undefined, 'nothing holds the trace after release');
    await tracer.close();
  });
});
