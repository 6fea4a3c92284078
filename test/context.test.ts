import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../src/store/memory-store.js';
import { currentNode, currentTrace } from '../src/tracer/context.js';
import { traced } from '../src/tracer/traced.js';
import { Tracer } from '../src/tracer/tracer.js';

describe('context propagation', () => {
  it('traced() nests under the current node across awaits, concurrently', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    const root = t.add('root', { label: 'root' });
    const leafParents = new Map<string, string>();
    const work = (name: string, delay: number) =>
      traced(name, async (outer) => {
        await sleep(delay);
        return traced(`${name}/inner`, async (inner) => {
          assert.equal(currentNode()?.id, inner.id);
          assert.equal(currentTrace(), t);
          await sleep(delay);
          leafParents.set(name, inner.data!.parent_ids[0]!);
          assert.deepEqual(inner.data?.parent_ids, [outer.id]);
          return `${name} done`;
        });
      });
    const results = await tracer.run(root, () => Promise.all([work('a', 5), work('b', 1), work('c', 3)]));
    assert.deepEqual(results, ['a done', 'b done', 'c done']);
    const byLabel = new Map(t.nodes().map((n) => [n.label, n]));
    for (const name of ['a', 'b', 'c']) {
      const outer = byLabel.get(name)!;
      assert.deepEqual(outer.parent_ids, [root.id]);
      assert.equal(outer.status, 'completed');
      assert.equal(outer.output, `${name} done`);
      assert.equal(leafParents.get(name), outer.id);
    }
    assert.equal(root.data?.status, 'running', 'traced children do not end their parent');
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [root.id],
      'traced does not move the cursor',
    );
    await tracer.close();
  });

  it('a thrown error fails the node and is rethrown unchanged (sync and async)', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    const root = t.add('root');
    const boom = new RangeError('boom');
    await assert.rejects(
      tracer.run(root, () =>
        traced('async fail', async () => {
          throw boom;
        }),
      ),
      (err) => err === boom,
    );
    assert.throws(
      () =>
        tracer.run(root, () =>
          traced({ name: 'sync fail', input: { x: 1 } }, () => {
            throw boom;
          }),
        ),
      (err) => err === boom,
    );
    const failed = t.nodes().filter((n) => n.status === 'failed');
    assert.deepEqual(
      failed.map((n) => n.label),
      ['async fail', 'sync fail'],
    );
    assert.equal(failed[0]!.error?.name, 'RangeError');
    assert.deepEqual(failed[1]!.input, { x: 1 });
    assert.equal(
      tracer.run(root, () => traced('sync ok', () => 42)),
      42,
    );
    await tracer.close();
  });

  it('outside any trace, traced() just runs the function', async () => {
    assert.equal(currentNode(), undefined);
    assert.equal(await traced('free', async (n) => (n.isNoop ? 'noop' : 'traced')), 'noop');
  });

  it('run(trace) attaches traced() to the cursor without moving it; run(context) resolves a node reference', async () => {
    const store = new MemoryStore();
    const tracer = new Tracer({ store, exitHook: false });
    const t = await tracer.create();
    const [a, b] = (t.add('r'), t.parallel([{ label: 'a' }, { label: 'b' }]));
    const n = tracer.run(t, () => traced('on cursor', (node) => node));
    assert.deepEqual(n.data?.parent_ids, [a!.id, b!.id]);
    const ctx: unknown = JSON.parse(JSON.stringify(a!.context()));
    assert.deepEqual(ctx, { trace_id: t.id, node_id: a!.id });
    const child = tracer.run(ctx, () => traced('via context', (node) => node));
    assert.ok(!(child instanceof Promise), 'the trace is loaded here: fn runs at once');
    assert.deepEqual(child.data?.parent_ids, [a!.id]);
    await t.release();
    // Another tracer on the same store (as another process would be) loads the trace.
    const other = new Tracer({ store, exitHook: false });
    const remote = await other.run(ctx, () => traced('remote', async (node) => node.data?.parent_ids));
    assert.deepEqual(remote, [a!.id]);
    await other.close();
    await tracer.close();
  });
});
