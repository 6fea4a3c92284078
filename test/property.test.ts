// Property: for any sequence of API calls, the live state, the state rebuilt by the reducer
// from the stored events, and snapshot() agree, and seq is gapless.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { reduceEvents, toSnapshot } from '../src/core/reducer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { NodeHandle } from '../src/tracer/node-handle.js';
import type { TraceEvent } from '../src/core/types.js';

type Op =
  | { k: 'add'; auto: boolean }
  | { k: 'parallel'; n: number }
  | { k: 'childAdd'; i: number }
  | { k: 'join'; i: number; j: number }
  | { k: 'log'; i: number; level: 'info' | 'warn' | 'error' | 'debug' }
  | { k: 'space' }
  | { k: 'set'; s: number; key: string; v: unknown }
  | { k: 'del'; s: number; key: string }
  | { k: 'clear'; s: number }
  | { k: 'complete'; i: number }
  | { k: 'fail'; i: number }
  | { k: 'output'; i: number; v: unknown }
  | { k: 'markComplete' }
  | { k: 'markFailed' }
  | { k: 'markCancelled' }
  | { k: 'flush' }
  | { k: 'release' };

const value = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 3 }),
);
const key = fc.constantFrom('a', 'b', 'c', '__proto__');
const idx = fc.nat(50);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), auto: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('parallel' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('childAdd' as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('join' as const), i: idx, j: idx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('log' as const),
      i: idx,
      level: fc.constantFrom('info' as const, 'warn' as const, 'error' as const, 'debug' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('space' as const) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), s: idx, key, v: value }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), s: idx, key }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('clear' as const), s: idx }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('complete' as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fail' as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('output' as const), i: idx, v: value }) },
  { weight: 1, arbitrary: fc.constant({ k: 'markComplete' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'markFailed' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'markCancelled' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'release' as const }) },
);

it('live state, reducer-rebuilt state and snapshot agree for random call sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const store = new MemoryStore();
      const tracer = new Tracer({ store, exitHook: false });
      tracer.on('warning', () => {});
      const t = await tracer.create();
      const nodes: NodeHandle[] = [];
      const spaces: string[] = [];
      const pick = <T>(list: T[], i: number) => (list.length ? list[i % list.length] : undefined);
      for (const o of ops) {
        switch (o.k) {
          case 'add':
            nodes.push(t.add({ n: nodes.length }, { autoCompleteParent: o.auto }));
            break;
          case 'parallel':
            if (t.root || t.isReleased || t.isComplete)
              nodes.push(...t.parallel(Array.from({ length: o.n }, (_, i) => ({ label: `p${i}` }))));
            break;
          case 'childAdd': {
            const n = pick(nodes, o.i);
            if (n) nodes.push(n.add('child'));
            break;
          }
          case 'join': {
            const a = pick(nodes, o.i);
            const b = pick(nodes, o.j);
            if (a && b && !a.isNoop && !b.isNoop) nodes.push(a.join([b]));
            break;
          }
          case 'log':
            (pick(nodes, o.i) ?? t)[o.level]('msg', { i: o.i });
            break;
          case 'space':
            spaces.push(t.createSpace({ label: `s${spaces.length}` }).id);
            break;
          case 'set': {
            const s = pick(spaces, o.s);
            if (s) t.setSpaceValue(s, o.key, o.v);
            break;
          }
          case 'del': {
            const s = pick(spaces, o.s);
            if (s) t.deleteSpaceValue(s, o.key);
            break;
          }
          case 'clear': {
            const s = pick(spaces, o.s);
            if (s) t.clearSpaceValues(s);
            break;
          }
          case 'complete':
            pick(nodes, o.i)?.complete({ done: o.i });
            break;
          case 'fail':
            pick(nodes, o.i)?.fail(new Error(`f${o.i}`));
            break;
          case 'output':
            pick(nodes, o.i)?.setOutput(o.v);
            break;
          case 'markComplete':
            t.markComplete();
            break;
          case 'markFailed':
            t.markFailed('failed');
            break;
          case 'markCancelled':
            t.markCancelled('stop');
            break;
          case 'flush':
            await t.flush();
            break;
          case 'release':
            await t.release();
            break;
        }
      }
      await t.flush();
      const live = t.snapshot();
      const events = t.events();
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i + 1),
      );
      const stored = await store.read(t.id);
      assert.deepEqual(stored, events);
      const rebuilt = toSnapshot(reduceEvents(t.id, stored));
      rebuilt.info.archived = false;
      assert.deepEqual(live, rebuilt);
      // the live node objects agree with the snapshot too
      assert.deepEqual(
        t.nodes().map((n) => ({ ...n })),
        live.nodes,
      );
      // JSON round trip (what every persistent store does) changes nothing
      assert.deepEqual(
        toSnapshot(reduceEvents(t.id, JSON.parse(JSON.stringify(stored)) as TraceEvent[])).nodes,
        live.nodes,
      );
      await tracer.close();
    }),
    { numRuns: 300 },
  );
});
