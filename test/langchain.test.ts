// LangChain.js (@langchain/core) with its fake chat model, a tool and a retriever in
// runnable sequences: runs become live nodes with parents, inputs, outputs, token logs
// and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeListChatModel, FakeRetriever } from '@langchain/core/utils/testing';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { JsonOutputParser, StringOutputParser } from '@langchain/core/output_parsers';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { Document } from '@langchain/core/documents';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { z } from 'zod';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { LivetraceCallbackHandler } from '../src/integrations/langchain.js';
import type { NodeData, TraceSnapshot } from '../src/core/types.js';

function setup(options: Partial<ConstructorParameters<typeof LivetraceCallbackHandler>[0]> = {}) {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: string[] = [];
  const handler = new LivetraceCallbackHandler({ tracer, onWarning: (w) => warnings.push(w.message), ...options });
  return { tracer, handler, warnings };
}

function byLabel(nodes: readonly NodeData[], label: string): NodeData {
  const n = nodes.find((x) => x.label === label);
  assert.ok(n, `node ${label} exists (have ${nodes.map((x) => x.label).join(', ')})`);
  return n;
}

async function onlyTrace(tracer: Tracer): Promise<TraceSnapshot> {
  const { traces } = await tracer.list();
  assert.equal(traces.length, 1);
  return (await tracer.read(traces[0]!.id))!;
}

test('a prompt -> chat model -> parser -> tool sequence becomes a live tree', async () => {
  const { tracer, handler, warnings } = setup();
  let seenWhileRunning: NodeData[] = [];
  const add = tool(
    async ({ a, b }: { a: number; b: number }) => {
      // Inside the tool the run is live: its chain and its own node are running.
      const [id] = tracer.loaded();
      seenWhileRunning = structuredClone(tracer.get(id!)!.nodes());
      return String(a + b);
    },
    { name: 'add', description: 'adds two numbers', schema: z.object({ a: z.number(), b: z.number() }) },
  );
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'You turn questions into JSON arguments for the add tool.'],
    ['human', '{question}'],
  ]);
  const model = new FakeListChatModel({ responses: ['{"a": 2, "b": 3}'] });
  const chain = RunnableSequence.from([prompt, model, new JsonOutputParser(), add]);
  const out = await chain.invoke({ question: 'what is 2 + 3?' }, { callbacks: [handler], runName: 'calculator' });
  assert.equal(out, '5');
  await handler.flush();

  const live = byLabel(seenWhileRunning, 'calculator');
  assert.equal(live.status, 'running');
  assert.equal(byLabel(seenWhileRunning, 'add').status, 'running');
  assert.equal(byLabel(seenWhileRunning, 'FakeListChatModel').status, 'completed');

  assert.deepEqual(tracer.loaded(), [], 'the trace is completed and released when the top-level run ends');
  const snap = await onlyTrace(tracer);
  assert.equal(snap.info.status, 'completed');
  assert.equal(snap.info.agent_name, 'calculator');
  const root = byLabel(snap.nodes, 'calculator');
  assert.deepEqual(root.parent_ids, []);
  assert.deepEqual(root.input, { question: 'what is 2 + 3?' });
  assert.deepEqual(root.output, { output: '5' }, 'LangChain reports non-object chain outputs as { output }');
  assert.equal(root.metadata['langchain.run_type'], 'chain');

  const steps = ['ChatPromptTemplate', 'FakeListChatModel', 'JsonOutputParser', 'add'].map((l) =>
    byLabel(snap.nodes, l),
  );
  for (const s of steps) {
    assert.deepEqual(s.parent_ids, [root.id], `${s.label} hangs under the sequence`);
    assert.equal(s.status, 'completed');
  }
  assert.deepEqual(
    root.children,
    steps.map((s) => s.id),
    'in execution order',
  );
  const [, chat, parser, addNode] = steps;
  assert.equal(chat!.metadata['langchain.run_type'], 'chat_model');
  assert.deepEqual(chat!.input, {
    messages: [
      { role: 'system', content: 'You turn questions into JSON arguments for the add tool.' },
      { role: 'user', content: 'what is 2 + 3?' },
    ],
  });
  assert.deepEqual(chat!.output, { role: 'assistant', content: '{"a": 2, "b": 3}' });
  assert.deepEqual(
    [root, ...steps].map((n) => n.kind),
    ['chain', 'chain', 'llm', 'chain', 'tool'],
    'run types become node kinds',
  );
  assert.equal(snap.info.usage!.llm_calls, 1);
  assert.equal(snap.info.usage!.tool_calls, 1);
  assert.deepEqual(parser!.output, { a: 2, b: 3 });
  assert.equal(addNode!.metadata['langchain.run_type'], 'tool');
  assert.deepEqual(addNode!.input, { a: 2, b: 3 });
  assert.equal(addNode!.output, '5', 'what the tool returned');
  assert.deepEqual(warnings, []);
  await handler.close();
  await tracer.close();
});

test('streamed tokens become batched logs; "each" makes one log per token', async () => {
  const text = 'The quick brown fox jumps.'; // FakeListChatModel streams it one character at a time
  for (const [mode, size, expected] of [
    ['batch', 5, Math.ceil(text.length / 5)],
    ['each', 1, text.length],
  ] as const) {
    const { tracer, handler } = setup({ tokens: mode, tokenBatchSize: size, tokenFlushMs: 60_000 });
    const chain = RunnableSequence.from([
      ChatPromptTemplate.fromTemplate('{q}'),
      new FakeListChatModel({ responses: [text] }),
      new StringOutputParser(),
    ]);
    let streamed = '';
    for await (const chunk of await chain.stream({ q: 'go' }, { callbacks: [handler], runName: 'story' }))
      streamed += chunk;
    assert.equal(streamed, text);
    await handler.flush();
    const snap = await onlyTrace(tracer);
    const chat = byLabel(snap.nodes, 'FakeListChatModel');
    const logs = snap.logs.filter((l) => l.node_id === chat.id);
    assert.equal(logs.length, expected, `${mode}: ${logs.length} token logs`);
    assert.equal(logs.map((l) => l.message).join(''), text);
    assert.deepEqual(logs.at(-1)!.data, {
      delta: true,
      tokens: mode === 'each' ? 1 : text.length % 5 || 5,
      total: text.length,
    });
    await handler.close();
    await tracer.close();
  }
});

test('retriever runs record the query and the documents', async () => {
  const { tracer, handler } = setup();
  const retriever = new FakeRetriever({
    output: [new Document({ pageContent: 'Paris is in France.', metadata: { src: 'wiki' } })],
  });
  const chain = RunnableSequence.from([
    RunnableLambda.from((x: { q: string }) => x.q).withConfig({ runName: 'pick question' }),
    retriever,
  ]);
  const docs = await chain.invoke({ q: 'where is Paris?' }, { callbacks: [handler], runName: 'rag' });
  assert.equal(docs.length, 1);
  await handler.flush();
  const snap = await onlyTrace(tracer);
  const r = byLabel(snap.nodes, 'FakeRetriever');
  assert.equal(r.metadata['langchain.run_type'], 'retriever');
  assert.deepEqual(r.input, { query: 'where is Paris?' });
  assert.deepEqual(r.output, [{ pageContent: 'Paris is in France.', metadata: { src: 'wiki' } }]);
  assert.deepEqual(r.parent_ids, [byLabel(snap.nodes, 'rag').id]);
  await handler.close();
  await tracer.close();
});

test('a failing tool fails its node, the chain and the trace', async () => {
  const { tracer, handler } = setup();
  const broken = tool(
    async (): Promise<string> => {
      throw new Error('database is down');
    },
    { name: 'lookup', description: 'fails', schema: z.object({}) },
  );
  const chain = RunnableSequence.from([RunnableLambda.from(() => ({})).withConfig({ runName: 'prepare' }), broken]);
  await assert.rejects(chain.invoke({}, { callbacks: [handler], runName: 'agent' }), /database is down/);
  await handler.flush();
  const snap = await onlyTrace(tracer);
  assert.equal(snap.info.status, 'failed');
  const lookup = byLabel(snap.nodes, 'lookup');
  assert.equal(lookup.status, 'failed');
  assert.equal(lookup.error?.message, 'database is down');
  assert.equal(byLabel(snap.nodes, 'agent').status, 'failed');
  assert.equal(byLabel(snap.nodes, 'prepare').status, 'completed');
  await handler.close();
  await tracer.close();
});

test('runs hang under a given parent node; the handler does not complete that trace', async () => {
  const tracer = new Tracer({ store: new MemoryStore() });
  const trace = await tracer.create({ agentName: 'host' });
  const step = trace.add({ task: 'answer' }, { label: 'my step' });
  const handler = new LivetraceCallbackHandler({ parent: step });
  const chain = RunnableSequence.from([
    ChatPromptTemplate.fromTemplate('{q}'),
    new FakeListChatModel({ responses: ['ok'] }),
  ]);
  await chain.invoke({ q: 'hi' }, { callbacks: [handler], runName: 'inner chain' });
  await handler.flush();
  const inner = byLabel(trace.nodes(), 'inner chain');
  assert.deepEqual(inner.parent_ids, [step.id]);
  assert.equal(inner.status, 'completed');
  assert.equal(trace.status, 'running');
  assert.equal(tracer.isLoaded(trace.id), true);
  await handler.close();
  trace.markComplete();
  await tracer.close();
});

test('close() cancels runs that never ended and clears token timers', async () => {
  const { tracer, handler } = setup({ tokenFlushMs: 60_000 });
  // Drive the callbacks by hand: a run that starts, streams and never ends.
  await handler.handleChainStart({ lc: 1, type: 'not_implemented', id: ['x', 'Agent'] }, { q: 1 }, 'run-1');
  await handler.handleLLMStart({ lc: 1, type: 'not_implemented', id: ['x', 'LLM'] }, ['p'], 'run-2', 'run-1');
  handler.handleLLMNewToken('partial', { prompt: 0, completion: 0 }, 'run-2');
  const [id] = tracer.loaded();
  await handler.close();
  const snap = (await tracer.read(id!))!;
  assert.equal(snap.info.status, 'cancelled');
  assert.equal(byLabel(snap.nodes, 'LLM').status, 'cancelled');
  assert.deepEqual(
    snap.logs.map((l) => l.message),
    ['partial'],
    'buffered tokens are written before closing',
  );
  assert.equal(tracer.loaded().length, 0);
  await tracer.close();
});

test('constructor validates its options', () => {
  assert.throws(() => new LivetraceCallbackHandler({}), /give a tracer, a trace, or a parent node handle/);
  const tracer = new Tracer({ store: new MemoryStore() });
  assert.throws(() => new LivetraceCallbackHandler({ tracer, tokens: 'some' as never }), /tokens must be/);
  assert.throws(
    () => new LivetraceCallbackHandler({ tracer, tokenBatchSize: 0 }),
    /tokenBatchSize must be an integer >= 1, got 0/,
  );
  return tracer.close();
});

// A chat model that reports usage the way provider packages do (usage_metadata on the
// AIMessage, the model name in response_metadata) and calls a tool.
class ReportingChatModel extends BaseChatModel {
  _llmType(): string {
    return 'reporting';
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message = new AIMessage({
      content: `seen ${messages.length} messages`,
      tool_calls: [{ id: 'call_1', name: 'add', args: { a: 1, b: 2 } }],
      response_metadata: { model_name: 'gpt-4o-mini-2024-07-18' },
    });
    // Set after construction: with exactOptionalPropertyTypes, @langchain/core 1.x types
    // `usage_metadata` of the default MessageStructure as `never` (CONTRIBUTING.md).
    Object.assign(message, {
      usage_metadata: {
        input_tokens: 1200,
        output_tokens: 300,
        total_tokens: 1500,
        input_token_details: { cache_read: 200 },
        output_token_details: { reasoning: 50 },
      },
    });
    return { generations: [{ text: message.text, message }] };
  }
}

test('chat model usage becomes node usage with a cost; the trace rolls it up', async () => {
  const { tracer, handler, warnings } = setup();
  const chain = RunnableSequence.from([
    ChatPromptTemplate.fromMessages([
      ['system', 'be brief'],
      ['human', '{q}'],
    ]),
    new ReportingChatModel({}),
  ]);
  await chain.invoke({ q: 'hi' }, { callbacks: [handler], runName: 'ask' });
  await handler.flush();
  const snap = await onlyTrace(tracer);
  const chat = byLabel(snap.nodes, 'ReportingChatModel');
  assert.equal(chat.kind, 'llm');
  const u = chat.usage!;
  assert.equal(u.model, 'gpt-4o-mini-2024-07-18');
  assert.deepEqual(
    [u.input_tokens, u.output_tokens, u.total_tokens, u.cached_tokens, u.reasoning_tokens],
    [1200, 300, 1500, 200, 50],
  );
  // gpt-4o-mini defaults: 0.15 in, 0.075 cached, 0.6 out per million.
  assert.deepEqual(u.cost, { amount: (1000 * 0.15 + 200 * 0.075 + 300 * 0.6) / 1e6, currency: 'USD', estimated: true });
  assert.deepEqual(chat.output, {
    role: 'assistant',
    content: 'seen 2 messages',
    tool_calls: [{ id: 'call_1', name: 'add', arguments: { a: 1, b: 2 } }],
  });
  assert.equal(snap.info.usage!.total_tokens, 1500);
  assert.deepEqual(snap.info.models, ['gpt-4o-mini-2024-07-18']);
  assert.equal(byLabel(snap.nodes, 'ask').usage, undefined, 'the chain does not repeat the usage');
  assert.deepEqual(warnings, []);
  await handler.close();
  await tracer.close();
});
