// A real @langchain/langgraph StateGraph (pure function nodes plus a FakeListChatModel node)
// traced through LivetraceCallbackHandler: parallel branches are siblings, the fan-in node
// is a join whose parents are the branches, conditional edges and a subgraph keep the
// graph's shape, a node that throws fails its node and the trace. Asserted live (while a
// branch is blocked) and after the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { LivetraceCallbackHandler } from '../src/integrations/langchain.js';
import type { NodeData } from '../src/core/types.js';

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function setup() {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: unknown[] = [];
  const handler = new LivetraceCallbackHandler({ tracer, onWarning: (w) => warnings.push(w) });
  return { tracer, handler, warnings };
}

const byLabel = (nodes: readonly NodeData[], label: string): NodeData => {
  const found = nodes.filter((n) => n.label === label);
  assert.equal(found.length, 1, `one node ${label} in ${nodes.map((n) => n.label).join(', ')}`);
  return found[0]!;
};
const labelsOf = (nodes: readonly NodeData[], ids: readonly string[]): string[] =>
  ids.map((id) => nodes.find((n) => n.id === id)?.label ?? '?').sort();

async function waitFor<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('fan-out/fan-in graph: branches side by side, the fan-in node a join of the branches, live; conditional edge into a subgraph', async () => {
  const { tracer, handler, warnings } = setup();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const model = new FakeListChatModel({ responses: ['summary from the model'] });
  const sub = new StateGraph(State)
    .addNode('inner', () => ({ log: ['inner'] }))
    .addEdge(START, 'inner')
    .addEdge('inner', END)
    .compile();
  const graph = new StateGraph(State)
    .addNode('plan', () => ({ log: ['plan'] }))
    .addNode('search', async () => {
      await gate;
      return { log: ['search'] };
    })
    .addNode('summarize', async () => {
      const r = await model.invoke('summarize');
      return { log: [`summarize:${r.text}`] };
    })
    .addNode('merge', () => ({ log: ['merge'] }))
    .addNode('deep', sub)
    .addNode('skipped', () => ({ log: ['skipped'] }))
    .addEdge(START, 'plan')
    .addEdge('plan', 'search')
    .addEdge('plan', 'summarize')
    .addEdge(['search', 'summarize'], 'merge')
    .addConditionalEdges('merge', (s: typeof State.State) => (s.log.includes('merge') ? 'deep' : 'skipped'), [
      'deep',
      'skipped',
    ])
    .addEdge('deep', END)
    .addEdge('skipped', END)
    .compile();

  const done = graph.invoke({ log: [] }, { callbacks: [handler], runName: 'research-graph' });

  // Live: while `search` is blocked, both branches exist as siblings under `plan`,
  // `summarize` (and its model call) may finish, `merge` does not exist yet.
  const live = await waitFor('both branches live', () => {
    const id = tracer.loaded()[0];
    const tr = id ? tracer.get(id) : undefined;
    const nodes = tr?.nodes() ?? [];
    const s = nodes.find((n) => n.label === 'search');
    const z = nodes.find((n) => n.label === 'summarize');
    return s && z && z.status === 'completed' ? { nodes, s, z } : undefined;
  });
  const planLive = byLabel(live.nodes, 'plan');
  assert.equal(live.s.status, 'running');
  assert.deepEqual(live.s.parent_ids, [planLive.id]);
  assert.deepEqual(live.z.parent_ids, [planLive.id]);
  assert.equal(
    live.nodes.some((n) => n.label === 'merge'),
    false,
    'the fan-in has not started',
  );
  release();
  const out = await done;
  assert.ok(out.log.includes('inner'));
  await handler.flush();

  const { traces } = await tracer.list();
  assert.equal(traces.length, 1);
  const snap = (await tracer.read(traces[0]!.id))!;
  const nodes = snap.nodes;
  assert.equal(snap.info.status, 'completed');
  const root = byLabel(nodes, 'research-graph');
  assert.deepEqual(root.parent_ids, []);
  const plan = byLabel(nodes, 'plan');
  assert.deepEqual(plan.parent_ids, [root.id], 'the first node hangs under the graph run');
  const search = byLabel(nodes, 'search');
  const summarize = byLabel(nodes, 'summarize');
  assert.deepEqual(search.parent_ids, [plan.id]);
  assert.deepEqual(summarize.parent_ids, [plan.id]);
  const merge = byLabel(nodes, 'merge');
  assert.deepEqual(labelsOf(nodes, merge.parent_ids), ['search', 'summarize'], 'merge joins both branches');
  // The model call inside a node is a child of that node.
  const llm = nodes.find((n) => n.parent_ids[0] === summarize.id && n.icon === 'llm');
  assert.ok(llm, 'model call under summarize');
  assert.match(JSON.stringify(llm.output), /summary from the model/);
  // Conditional edge: the routing function is recorded under merge with its decision, and
  // the chosen node follows merge; the other branch never ran.
  const route = nodes.find(
    (n) => n.parent_ids[0] === merge.id && (n.output as { output?: unknown } | undefined)?.output === 'deep',
  );
  assert.ok(
    route,
    `routing decision under merge: ${JSON.stringify(nodes.filter((n) => n.parent_ids[0] === merge.id).map((n) => [n.label, n.output]))}`,
  );
  const deep = byLabel(nodes, 'deep');
  assert.deepEqual(deep.parent_ids, [merge.id]);
  assert.equal(
    nodes.some((n) => n.label === 'skipped'),
    false,
  );
  // Subgraph: its nodes are inside the subgraph node's subtree.
  const inner = byLabel(nodes, 'inner');
  const ancestors = (n: NodeData): string[] => {
    const out: string[] = [];
    for (let p: string | undefined = n.parent_ids[0]; p; p = nodes.find((x) => x.id === p)?.parent_ids[0]) out.push(p);
    return out;
  };
  assert.ok(ancestors(inner).includes(deep.id), 'subgraph node inside the deep node');
  // LangGraph's hidden __start__ steps are not recorded.
  assert.equal(
    nodes.some((n) => n.label === '__start__'),
    false,
  );
  for (const n of nodes) assert.equal(n.status, 'completed', `${n.label} completed`);
  assert.deepEqual(warnings, []);
});

test('a node that throws: its node fails, later nodes never start, the graph and trace fail', async () => {
  const { tracer, handler } = setup();
  const graph = new StateGraph(State)
    .addNode('first', () => ({ log: ['first'] }))
    .addNode('left', () => ({ log: ['left'] }))
    .addNode('boom', () => {
      throw new Error('node exploded');
    })
    .addNode('after', () => ({ log: ['after'] }))
    .addEdge(START, 'first')
    .addEdge('first', 'left')
    .addEdge('first', 'boom')
    .addEdge(['left', 'boom'], 'after')
    .addEdge('after', END)
    .compile();
  await assert.rejects(graph.invoke({ log: [] }, { callbacks: [handler], runName: 'fragile' }), /node exploded/);
  await handler.flush();
  const { traces } = await tracer.list();
  const snap = (await tracer.read(traces[0]!.id))!;
  const boom = byLabel(snap.nodes, 'boom');
  assert.equal(boom.status, 'failed');
  assert.match(String(boom.error?.message), /node exploded/);
  assert.deepEqual(boom.parent_ids, [byLabel(snap.nodes, 'first').id]);
  assert.equal(
    snap.nodes.some((n) => n.label === 'after'),
    false,
  );
  assert.equal(byLabel(snap.nodes, 'fragile').status, 'failed');
  assert.equal(snap.info.status, 'failed');
  for (const n of snap.nodes) assert.notEqual(n.status, 'running', `${n.label} left running`);
});

test('a loop (agent <-> tools until done): each step hangs under the previous one', async () => {
  const { tracer, handler } = setup();
  let turns = 0;
  const graph = new StateGraph(State)
    .addNode('agent', () => ({ log: [`agent${++turns}`] }))
    .addNode('tools', () => ({ log: ['tools'] }))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', () => (turns < 3 ? 'tools' : END), ['tools', END])
    .addEdge('tools', 'agent')
    .compile();
  await graph.invoke({ log: [] }, { callbacks: [handler], runName: 'loop' });
  await handler.flush();
  const { traces } = await tracer.list();
  const nodes = (await tracer.read(traces[0]!.id))!.nodes.filter((n) => n.label === 'agent' || n.label === 'tools');
  assert.deepEqual(
    nodes.map((n) => n.label),
    ['agent', 'tools', 'agent', 'tools', 'agent'],
  );
  for (let i = 1; i < nodes.length; i++)
    assert.deepEqual(nodes[i]!.parent_ids, [nodes[i - 1]!.id], `${nodes[i]!.label} #${i} follows the previous step`);
});
