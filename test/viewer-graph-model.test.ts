// The viewer's graph view model (viewer/src/graph-model.ts): visibility (collapse, filters,
// pass-through edges) and the layered layout, on states built by the shared reducer from
// events recorded by a real Tracer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reduceEvents } from '../src/core/reducer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { Trace } from '../src/tracer/trace.js';
import {
  DEFAULT_VIEW,
  LAYOUT,
  ancestorsToExpand,
  buildGraph,
  timelineOrder,
  type ViewOptions,
} from '../viewer/src/graph-model.js';

async function record(build: (trace: Trace) => void) {
  const tracer = new Tracer({ store: new MemoryStore() });
  const trace = await tracer.create({ agentName: 'graph-model' });
  build(trace);
  trace.markComplete();
  const state = reduceEvents(trace.id, trace.events());
  await trace.release();
  await tracer.close();
  return state;
}

const view = (o: Partial<ViewOptions> = {}): ViewOptions => ({ ...DEFAULT_VIEW, ...o });

describe('viewer graph model', () => {
  it('lays out a sequence straight down, a fan-out side by side and the join centered under it', async () => {
    const ids: Record<string, string> = {};
    const state = await record((t) => {
      ids.root = t.add(undefined, { label: 'root' }).id;
      const [a, b, c] = t.parallel([{ label: 'a' }, { label: 'b' }, { label: 'c' }]);
      Object.assign(ids, { a: a!.id, b: b!.id, c: c!.id });
      ids.join = t.add(undefined, { label: 'join' }).id;
      ids.after = t.add(undefined, { label: 'after' }).id;
    });
    const m = buildGraph(state.nodes, view(), state.root);
    const g = (k: string) => m.byId.get(ids[k]!)!;
    assert.deepEqual([g('root').rank, g('a').rank, g('join').rank, g('after').rank], [0, 1, 2, 3]);
    // Branches in one row, in creation order, without overlap.
    assert.equal(g('a').y, g('b').y);
    assert.ok(g('b').x - g('a').x >= LAYOUT.nodeW && g('c').x - g('b').x >= LAYOUT.nodeW);
    // The fan-out is centered under its parent; the join under its branches; the chain stays straight.
    assert.equal(g('b').x, g('root').x);
    assert.equal(g('join').x, g('root').x);
    assert.equal(g('after').x, g('join').x);
    assert.equal(g('join').isJoin, true);
    assert.deepEqual(new Set(g('join').parents), new Set([ids.a, ids.b, ids.c]));
    assert.deepEqual(m.ranks[1], [ids.a, ids.b, ids.c]);
    assert.ok(m.width >= 3 * LAYOUT.nodeW && m.height >= 4 * LAYOUT.nodeH);
  });

  it('collapses fan-outs wider than the limit by default and keeps the join, linked to the collapsed node', async () => {
    const ids: Record<string, string> = {};
    const state = await record((t) => {
      ids.root = t.add(undefined, { label: 'root' }).id;
      const branches = t.parallel(Array.from({ length: 40 }, (_, i) => ({ label: `b${i}` })));
      for (const b of branches) b.add(undefined, { label: 'leaf' }).complete();
      ids.b0 = branches[0]!.id;
      ids.join = t.add(undefined, { label: 'join' }).id;
    });
    const m = buildGraph(state.nodes, view({ fanoutLimit: 24 }), state.root);
    assert.deepEqual(
      m.nodes.map((g) => g.node.label),
      ['root', 'join'],
    );
    const root = m.byId.get(ids.root!)!;
    assert.equal(root.collapsed, true);
    assert.equal(root.hiddenBelow, 80);
    assert.equal(m.collapsedHidden, 80);
    assert.deepEqual(m.byId.get(ids.join!)!.parents, [ids.root]);
    // Expanding it shows the branches (their own one-child subtrees stay open).
    const open = buildGraph(
      state.nodes,
      view({ fanoutLimit: 24, collapsed: new Map([[ids.root!, false]]) }),
      state.root,
    );
    assert.equal(open.nodes.length, 1 + 40 + 40 + 1);
    // A deep link to a hidden leaf names what must be expanded.
    const leaf = state.nodes.get(ids.b0!)!.children[0]!;
    assert.deepEqual(ancestorsToExpand(state.nodes, leaf, view({ fanoutLimit: 24 })), [ids.root]);
  });

  it('packs a wide fan-out whose branches end into a grid frame', async () => {
    let root = '';
    const state = await record((t) => {
      root = t.add(undefined, { label: 'root' }).id;
      t.parallel(Array.from({ length: 20 }, (_, i) => ({ label: `b${i}` })));
      t.add(undefined, { label: 'join' });
    });
    const m = buildGraph(state.nodes, view(), state.root);
    assert.equal(m.groups.length, 1);
    const grp = m.groups[0]!;
    assert.equal(grp.parent, root);
    assert.equal(grp.ids.length, 20);
    const members = grp.ids.map((id) => m.byId.get(id)!);
    // Several rows inside the frame, no two cards on the same spot, all inside the frame.
    assert.ok(new Set(members.map((g) => g.y)).size > 1);
    assert.equal(new Set(members.map((g) => `${g.x},${g.y}`)).size, 20);
    for (const g of members)
      assert.ok(
        g.x >= grp.x && g.x + LAYOUT.nodeW <= grp.x + grp.w && g.y >= grp.y && g.y + LAYOUT.nodeH <= grp.y + grp.h,
      );
    const join = m.nodes.find((g) => g.node.label === 'join')!;
    assert.ok(join.y >= grp.y + grp.h, 'the join sits below the grid');
  });

  it('orders timeline rows depth-first, a join after all its branches', async () => {
    const state = await record((t) => {
      t.add(undefined, { label: 'root' });
      const [a] = t.parallel([{ label: 'a' }, { label: 'b' }]);
      a!.add(undefined, { label: 'a1' }).add(undefined, { label: 'a2' });
      t.add(undefined, { label: 'join' });
      t.add(undefined, { label: 'after' });
    });
    const m = buildGraph(state.nodes, view(), state.root);
    assert.deepEqual(
      timelineOrder(m).map((g) => g.node.label),
      ['root', 'a', 'a1', 'a2', 'b', 'join', 'after'],
    );
  });

  it('filters by text and status, hides fast nodes, and passes edges through hidden nodes', async () => {
    const ids: Record<string, string> = {};
    const state = await record((t) => {
      ids.root = t.add(undefined, { label: 'root' }).id;
      const mid = t.add(undefined, { label: 'middle step' });
      ids.mid = mid.id;
      const leaf = t.add(undefined, { label: 'Needle leaf' });
      ids.leaf = leaf.id;
      leaf.fail(new Error('boom'));
    });
    const byText = buildGraph(state.nodes, view({ text: 'needle' }), state.root);
    assert.deepEqual(
      byText.nodes.map((g) => g.node.id),
      [ids.root, ids.leaf],
    );
    assert.deepEqual(byText.byId.get(ids.leaf!)!.parents, [ids.root], 'edge passes through the hidden middle');
    assert.equal(byText.byId.get(ids.leaf!)!.rank, 1);
    assert.equal(byText.filteredOut, 1);
    const byStatus = buildGraph(state.nodes, view({ statuses: new Set(['failed']) }), state.root);
    assert.deepEqual(
      byStatus.nodes.map((g) => g.node.id),
      [ids.root, ids.leaf],
    );
    // Every node here ended within a few ms: a 1 s threshold hides all but the root.
    const fast = buildGraph(state.nodes, view({ minDuration: 1000 }), state.root);
    assert.deepEqual(
      fast.nodes.map((g) => g.node.id),
      [ids.root],
    );
  });

  it('lays out 5,000 nodes, fully expanded, without two cards overlapping', async () => {
    const state = await record((t) => {
      t.add(undefined, { label: 'root' });
      const ws = t.parallel(Array.from({ length: 50 }, (_, i) => ({ label: `w${i}` })));
      for (const w of ws) w.parallel(Array.from({ length: 99 }, (_, j) => ({ label: `t${j}` })));
      t.add(undefined, { label: 'join' });
    });
    assert.ok(state.nodes.size >= 5000);
    const all = new Map(
      [...state.nodes.values()].filter((n) => n.children.length).map((n) => [n.id, false] as [string, boolean]),
    );
    const m = buildGraph(state.nodes, view({ collapsed: all }), state.root);
    assert.equal(m.nodes.length, state.nodes.size);
    assert.equal(m.groups.length, 50);
    const seen = new Set(m.nodes.map((g) => `${g.x},${g.y}`));
    assert.equal(seen.size, m.nodes.length, 'no two cards overlap');
  });
});
