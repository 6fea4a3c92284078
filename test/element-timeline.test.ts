// The element's timeline model over states produced by a real Tracer: chains stay a list,
// overlapping siblings become parallel branches (with their own sub-steps), joins close
// the group, sequential siblings stay apart, and the final answer follows the run's shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reduceEvents } from '../src/core/reducer.js';
import { finalAnswer, previewText, timelineOf, type Row } from '../src/element/timeline.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { Trace } from '../src/tracer/trace.js';

const shape = (rows: Row[]) =>
  rows.map((r) => (r.type === 'step' ? r.node.label : r.branches.map((b) => b.map((n) => n.label))));

async function stateOf(build: (t: Trace) => void | Promise<void>) {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create();
  await build(t);
  await t.flush();
  const state = reduceEvents(t.id, await tracer.events(t.id));
  await tracer.close();
  return state;
}

describe('element timeline model', () => {
  it("groups a parallel fan-out with each branch's sub-steps, then the join", async () => {
    const state = await stateOf((t) => {
      t.add({}, { label: 'plan' }).complete();
      const [a, b, c] = t.parallel([{ label: 'a' }, { label: 'b' }, { label: 'c' }]);
      const retry = a!.add({}, { label: 'a retry' });
      retry.complete();
      a!.complete();
      b!.complete();
      c!.fail(new Error('no'));
      t.add({}, { label: 'join' }).complete({ answer: 'done' });
      t.markComplete();
    });
    assert.deepEqual(shape(timelineOf(state).rows), ['plan', [['a', 'a retry'], ['b'], ['c']], 'join']);
    assert.deepEqual(finalAnswer(state), { found: true, value: { answer: 'done' } });
  });

  it('keeps siblings that ran one after the other as separate steps', async () => {
    const state = await stateOf(async (t) => {
      const root = t.add({}, { label: 'root' });
      const one = root.add({}, { label: 'one' });
      await new Promise((r) => setTimeout(r, 5));
      one.complete();
      await new Promise((r) => setTimeout(r, 5));
      root.add({}, { label: 'two' }).complete();
      await new Promise((r) => setTimeout(r, 5));
      root.complete({ text: 'root answer' });
      t.markComplete();
    });
    assert.deepEqual(shape(timelineOf(state).rows), ['root', 'one', 'two']);
    // The root contains the run and ended last: its output is the answer.
    assert.deepEqual(finalAnswer(state), { found: true, value: { text: 'root answer' } });
  });

  it('groups siblings that overlap in time even when started by separate calls', async () => {
    const state = await stateOf(async (t) => {
      const root = t.add({}, { label: 'llm' });
      const x = root.add({}, { label: 'tool x' });
      const y = root.add({}, { label: 'tool y' });
      // Times are in milliseconds: both tools must still run when a tick has passed, or a
      // clock tick between y's start and x's end would make them look sequential.
      await new Promise((r) => setTimeout(r, 5));
      x.complete();
      y.complete();
      root.complete();
    });
    assert.deepEqual(shape(timelineOf(state).rows), ['llm', [['tool x'], ['tool y']]]);
    assert.equal(finalAnswer(state).found, false, 'no answer before the trace completed');
  });

  it('previews values as one short line', () => {
    assert.equal(previewText('  a\n b  '), 'a b');
    assert.equal(previewText({ answer: 'yes', other: 1 }), 'yes');
    assert.equal(previewText({ n: 1 }), '{"n":1}');
    assert.equal(previewText('x'.repeat(500), 10), 'xxxxxxxxx…');
    assert.equal(previewText(undefined), '');
  });
});

describe('element packaging', () => {
  it('declares the element module as having side effects, so bundlers keep `import "livetrace/element"`', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      sideEffects: unknown;
      exports: Record<string, { import: string }>;
    };
    assert.ok(Array.isArray(pkg.sideEffects));
    assert.ok((pkg.sideEffects as string[]).includes(pkg.exports['./element']!.import));
  });
});
