// The demo agent shows the AI data model: kinds, a streamed LLM call with its conversation,
// tokens and cost, and a session of several turns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newDemoSession, runDemoAgent } from '../src/demo/agent.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';

test('two turns of one session: kinds, conversation, streamed deltas, usage and cost', async () => {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const session = newDemoSession('alex');
  const first = await runDemoAgent(tracer, { timeScale: 0, session });
  const second = await runDemoAgent(tracer, { timeScale: 0, session });
  assert.equal(session.turns, 2);
  const [a, b] = [(await tracer.read(first))!, (await tracer.read(second))!];
  for (const snap of [a, b]) {
    assert.equal(snap.info.status, 'completed');
    assert.equal(snap.info.session_id, session.id);
    assert.equal(snap.info.user_id, 'alex');
    assert.deepEqual(snap.info.kinds, ['agent', 'embedding', 'guardrail', 'llm', 'retriever', 'step', 'tool']);
    const u = snap.info.usage!;
    assert.equal(u.llm_calls, 2);
    assert.equal(u.tool_calls, 3);
    assert.equal(u.failed_nodes, 1, 'the timed-out weather attempt');
    assert.equal(u.cost?.currency, 'USD');
    assert.ok(u.cost.amount > 0);
    const llm = snap.nodes.find((n) => n.label === 'LLM: synthesize answer')!;
    assert.equal(llm.kind, 'llm');
    assert.equal(llm.usage!.model, 'gpt-4o');
    assert.ok(llm.usage!.cost!.estimated);
    const roles = (llm.input as { messages: { role: string }[] }).messages.map((m) => m.role);
    assert.equal(roles[0], 'system');
    assert.ok(roles.includes('tool'));
    const deltas = snap.logs.filter(
      (l) => l.node_id === llm.id && (l.data as { delta?: boolean } | undefined)?.delta === true,
    );
    assert.ok(deltas.length > 3);
    assert.equal(
      deltas.map((l) => l.message).join(''),
      (llm.output as { content: string }).content,
      'the deltas add up to the answer',
    );
  }
  const secondRoles = (
    b.nodes.find((n) => n.label === 'LLM: synthesize answer')!.input as {
      messages: { role: string; content: string }[];
    }
  ).messages;
  assert.equal(secondRoles.filter((m) => m.role === 'user').length, 2, 'the second turn carries the first one');
  const listed = await tracer.list({});
  assert.equal(listed.traces.filter((t) => t.session_id === session.id).length, 2);
  await tracer.close();
});
