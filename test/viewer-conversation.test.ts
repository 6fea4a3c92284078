// The viewer's conversation model (viewer/src/conversation.ts) and run comparison
// (viewer/src/compare-model.ts), on states built by the shared reducer from events recorded
// by a real Tracer. The rendering (markdown made safe) is covered in Chromium by
// test/viewer-ai-e2e.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reduceEvents } from '../src/core/reducer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { Trace } from '../src/tracer/trace.js';
import { buildConversation, hasConversation, toolNodesByCallId } from '../viewer/src/conversation.js';
import { compareTraces } from '../viewer/src/compare-model.js';

async function record(build: (trace: Trace) => void) {
  const tracer = new Tracer({ store: new MemoryStore() });
  const trace = await tracer.create({ agentName: 'conversation-model' });
  build(trace);
  trace.markComplete();
  const state = reduceEvents(trace.id, trace.events());
  await trace.release();
  await tracer.close();
  return state;
}

describe('viewer conversation model', () => {
  it('messages in order, tool calls paired with tool messages and with tool nodes by call id', async () => {
    const ids: Record<string, string> = {};
    const state = await record((trace) => {
      const agent = trace.add(undefined, { label: 'agent', kind: 'agent' });
      const llm = agent.add(
        {
          messages: [
            { role: 'system', content: 'be brief' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'weather?' },
                { type: 'image_url', image_url: { url: 'https://x/y.png' } },
              ],
            },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              ],
            },
            { role: 'tool', tool_call_id: 'c1', content: '21 C' },
          ],
        },
        { label: 'chat', kind: 'llm', autoCompleteParent: false },
      );
      ids.llm = llm.id;
      llm.complete({
        role: 'assistant',
        content: 'Let me check the news too.',
        tool_calls: [{ id: 'c2', name: 'news', arguments: { topic: 'Paris' } }],
      });
      const tool = agent.add(
        { topic: 'Paris' },
        { label: 'news', kind: 'tool', metadata: { tool_call_id: 'c2' }, autoCompleteParent: false },
      );
      ids.tool = tool.id;
      tool.fail(new Error('news feed down'));
    });
    const node = state.nodes.get(ids.llm!)!;
    assert.equal(hasConversation(node), true);
    const conv = buildConversation(node, [], toolNodesByCallId(state.nodes));
    assert.deepEqual(
      conv.messages.map((m) => `${m.from}:${m.role}`),
      ['input:system', 'input:user', 'input:assistant', 'input:tool', 'output:assistant'],
    );
    assert.deepEqual(conv.messages[1]!.parts, [
      { type: 'text', text: 'weather?' },
      { type: 'media', label: '[image_url]' },
    ]);
    const c1 = conv.messages[2]!.toolCalls[0]!;
    assert.deepEqual(c1.arguments, { city: 'Paris' });
    assert.deepEqual(c1.result, { value: '21 C' });
    assert.equal(conv.messages[3]!.toolName, 'weather');
    const c2 = conv.messages[4]!.toolCalls[0]!;
    assert.equal(c2.name, 'news');
    assert.deepEqual(c2.result, { value: 'Error: news feed down', failed: true, nodeId: ids.tool });
  });

  it('streamed text: delta logs concatenated while the call runs, the output once it ends; AI SDK parts', async () => {
    const ids: Record<string, string> = {};
    let logsWhileRunning: ReturnType<Trace['logs']> = [];
    let runningNode: ReturnType<Trace['nodes']>[number] | undefined;
    const state = await record((trace) => {
      const llm = trace.add(
        [
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
          {
            role: 'assistant',
            content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'lookup', input: { q: 'x' } }],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 't1',
                toolName: 'lookup',
                output: { type: 'json', value: { found: 1 } },
              },
            ],
          },
        ],
        { label: 'stream', kind: 'llm' },
      );
      ids.llm = llm.id;
      llm.info('Hel', { delta: true });
      llm.info('not text', { other: true });
      llm.info('lo **you**', { delta: true });
      logsWhileRunning = trace.logs(llm.id);
      runningNode = structuredClone(trace.getNode(llm.id)!);
      llm.complete('Hello **you**');
    });
    const live = buildConversation(runningNode!, logsWhileRunning);
    const last = live.messages[live.messages.length - 1]!;
    assert.equal(last.from, 'stream');
    assert.equal(last.streaming, true);
    assert.deepEqual(last.parts, [{ type: 'text', text: 'Hello **you**' }]);
    const call = live.messages[1]!.toolCalls[0]!;
    assert.deepEqual(call, { id: 't1', name: 'lookup', arguments: { q: 'x' }, result: { value: { found: 1 } } });

    const done = buildConversation(state.nodes.get(ids.llm!)!, []);
    const out = done.messages[done.messages.length - 1]!;
    assert.equal(out.from, 'output');
    assert.equal(out.streaming, undefined);
    assert.deepEqual(out.parts, [{ type: 'text', text: 'Hello **you**' }]);
  });

  it('a plain step has no conversation', async () => {
    const state = await record((trace) => {
      trace.add({ a: 1 }, { label: 'plain' });
    });
    assert.equal(hasConversation([...state.nodes.values()][0]!), false);
  });
});

describe('viewer run comparison model', () => {
  it('aligns by path and label (numbered repeats), reports added, removed, status and output changes', async () => {
    const run = (variant: 'a' | 'b') =>
      record((trace) => {
        const root = trace.add(undefined, { label: 'root', kind: 'agent' });
        root.add(undefined, { label: 'plan', autoCompleteParent: false }).complete('same');
        const s = root.add(undefined, { label: 'search', kind: 'tool', autoCompleteParent: false });
        if (variant === 'a') s.complete({ hits: 1 });
        else s.fail(new Error('boom'));
        if (variant === 'b')
          root.add(undefined, { label: 'search', kind: 'tool', autoCompleteParent: false }).complete({ hits: 2 });
        if (variant === 'a') root.add(undefined, { label: 'cache', autoCompleteParent: false }).complete();
        root
          .add(undefined, { label: 'answer', autoCompleteParent: false })
          .complete(variant === 'a' ? 'is 41' : 'is 42');
      });
    const a = await run('a');
    const b = await run('b');
    const r = compareTraces(a, b);
    assert.deepEqual(
      r.rows.map((x) => `${x.depth} ${x.key} ${x.change}`),
      // A-only rows sit after their preceding sibling in A.
      [
        '0 root same',
        '1 root › plan same',
        '1 root › search changed',
        '1 root › cache removed',
        '1 root › search #2 added',
        '1 root › answer changed',
      ],
    );
    assert.deepEqual(r.summary, { added: 1, removed: 1, statusChanged: 1, outputChanged: 2, same: 2 });
    const search = r.rows.find((x) => x.key === 'root › search')!;
    assert.equal(search.statusChanged, true);
    assert.equal(search.errorChanged, true);
  });
});
