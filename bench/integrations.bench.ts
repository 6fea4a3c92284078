// Framework integrations' overhead: the same agent runs with the framework's telemetry off
// (1.00x) and with livetrace's integration recording every run live into a memory store.
// Models are in-process fakes (no network), so the ratio is the whole cost livetrace adds
// to the framework's own work — the worst case: with a real model the calls dominate.
// Unit: one agent run (see each workload). Each figure: median of ROUNDS rounds.
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { rate as rateOf, sized, SMOKE } from './support/measure.js';

const RUNS = sized(200, 3);
const ROUNDS = sized(5, 1);
const rate = (units: number, run: () => Promise<void>): Promise<number> => rateOf(units, run, ROUNDS);

interface Row {
  framework: string;
  config: string;
  rate: number;
  base: number;
}
const rows: Row[] = [];

// ---- OpenAI Agents SDK: two tool calls then an answer (3 model calls, 2 tools, 1 agent) ----

async function openaiAgents(): Promise<void> {
  const agents = await import('@openai/agents');
  const { z } = await import('zod');
  const { LivetraceAgentsProcessor } = await import('../src/integrations/openai-agents.js');
  const { Agent, run, tool, Usage, withGenerationSpan, setTraceProcessors, setTracingDisabled } = agents;
  const message = (text: string) => [
    {
      type: 'message' as const,
      role: 'assistant' as const,
      status: 'completed' as const,
      content: [{ type: 'output_text' as const, text }],
    },
  ];
  const call = (name: string, args: unknown, id: string) => [
    { type: 'function_call' as const, callId: id, name, arguments: JSON.stringify(args), status: 'completed' as const },
  ];
  const makeAgent = () => {
    let n = 0;
    const model = {
      async getResponse() {
        const step = n++ % 3;
        return withGenerationSpan(async (span) => {
          span.spanData.model = 'bench-model';
          const output =
            step === 0
              ? call('lookup', { q: 'x' }, `c${n}`)
              : step === 1
                ? call('add', { a: 1, b: 2 }, `c${n}`)
                : message('done');
          span.spanData.output = output as Record<string, unknown>[];
          span.spanData.usage = { input_tokens: 10, output_tokens: 5 };
          return { output, usage: new Usage({ requests: 1, inputTokens: 10, outputTokens: 5, totalTokens: 15 }) };
        });
      },
      getStreamedResponse(): AsyncIterable<never> {
        throw new Error('unused');
      },
    };
    return new Agent({
      name: 'bench-agent',
      instructions: 'x',
      model,
      tools: [
        tool({
          name: 'lookup',
          description: 'lookup',
          parameters: z.object({ q: z.string() }),
          execute: async ({ q }) => ({ q, hits: 3 }),
        }),
        tool({
          name: 'add',
          description: 'add',
          parameters: z.object({ a: z.number(), b: z.number() }),
          execute: async ({ a, b }) => a + b,
        }),
      ],
    });
  };
  const runs = async (): Promise<void> => {
    for (let i = 0; i < RUNS; i++) {
      const r = await run(makeAgent(), 'go');
      if (r.finalOutput !== 'done') throw new Error('bench agent did not finish');
    }
  };
  setTracingDisabled(true);
  const base = await rate(RUNS, runs);
  rows.push({ framework: '@openai/agents', config: 'tracing disabled', rate: base, base });
  setTracingDisabled(false);
  setTraceProcessors([
    {
      async onTraceStart() {},
      async onTraceEnd() {},
      async onSpanStart() {},
      async onSpanEnd() {},
      async shutdown() {},
      async forceFlush() {},
    },
  ]);
  rows.push({ framework: '@openai/agents', config: 'tracing on, no-op processor', rate: await rate(RUNS, runs), base });
  const tracer = new Tracer({ store: new MemoryStore() });
  const processor = new LivetraceAgentsProcessor({ tracer });
  setTraceProcessors([processor]);
  const traced = await rate(RUNS, async () => {
    await runs();
    await processor.forceFlush();
  });
  rows.push({
    framework: '@openai/agents',
    config: 'LivetraceAgentsProcessor (live nodes, memory store)',
    rate: traced,
    base,
  });
  const { traces } = await tracer.list({ limit: 1 });
  const snap = traces[0] ? await tracer.read(traces[0].id) : undefined;
  if (!snap || snap.nodes.filter((n) => n.icon === 'tool').length !== 2 || snap.info.status !== 'completed')
    throw new Error('livetrace did not record the agent run');
  await processor.shutdown();
  setTraceProcessors([]);
  await tracer.close();
}

// ---- LangGraph.js: plan -> (search | ask model) -> merge, through the LangChain handler ----

async function langgraph(): Promise<void> {
  const { Annotation, END, START, StateGraph } = await import('@langchain/langgraph');
  const { FakeListChatModel } = await import('@langchain/core/utils/testing');
  const { LivetraceCallbackHandler } = await import('../src/integrations/langchain.js');
  const State = Annotation.Root({ notes: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });
  const model = new FakeListChatModel({ responses: ['ok'] });
  const graph = new StateGraph(State)
    .addNode('plan', () => ({ notes: ['plan'] }))
    .addNode('search', async () => ({ notes: ['search'] }))
    .addNode('ask', async () => ({ notes: [(await model.invoke('q')).text] }))
    .addNode('merge', () => ({ notes: ['merge'] }))
    .addEdge(START, 'plan')
    .addEdge('plan', 'search')
    .addEdge('plan', 'ask')
    .addEdge(['search', 'ask'], 'merge')
    .addEdge('merge', END)
    .compile();
  const runs = async (callbacks: unknown[] | undefined): Promise<void> => {
    for (let i = 0; i < RUNS; i++) {
      const out = await graph.invoke({ notes: [] }, callbacks ? { callbacks: callbacks as never } : {});
      if (out.notes.length !== 4) throw new Error('bench graph did not finish');
    }
  };
  const base = await rate(RUNS, () => runs(undefined));
  rows.push({ framework: '@langchain/langgraph', config: 'no callbacks', rate: base, base });
  const tracer = new Tracer({ store: new MemoryStore() });
  const handler = new LivetraceCallbackHandler({ tracer });
  const traced = await rate(RUNS, async () => {
    await runs([handler]);
    await handler.flush();
  });
  rows.push({
    framework: '@langchain/langgraph',
    config: 'LivetraceCallbackHandler (graph shape, memory store)',
    rate: traced,
    base,
  });
  const { traces } = await tracer.list({ limit: 1 });
  const snap = traces[0] ? await tracer.read(traces[0].id) : undefined;
  if (!snap || snap.nodes.find((n) => n.label === 'merge')?.parent_ids.length !== 2)
    throw new Error('livetrace did not record the graph shape');
  await handler.close();
  await tracer.close();
}

// ---- AI SDK 7: generateText with one tool call then an answer (2 model calls, 1 tool) ----

async function aiSdk(): Promise<void> {
  const { generateText, stepCountIs, tool } = await import('ai7');
  const { MockLanguageModelV4 } = await import('ai7/test');
  const { z } = await import('zod');
  const { livetraceTelemetry } = await import('../src/integrations/ai-sdk.js');
  const usage = {
    inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 5, text: 5, reasoning: undefined },
  };
  const makeModel = () =>
    new MockLanguageModelV4({
      doGenerate: [
        {
          content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'lookup', input: JSON.stringify({ q: 'x' }) }],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage,
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'done' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        },
      ],
    });
  const tools = {
    lookup: tool({ inputSchema: z.object({ q: z.string() }), execute: async ({ q }) => ({ q, hits: 3 }) }),
  };
  const runs = async (integrations: unknown[] | undefined): Promise<void> => {
    for (let i = 0; i < RUNS; i++) {
      const r = await generateText({
        model: makeModel(),
        prompt: 'go',
        tools,
        stopWhen: stepCountIs(3),
        ...(integrations ? { telemetry: { integrations: integrations as never, functionId: 'bench' } } : {}),
      });
      if (r.text !== 'done') throw new Error('bench generateText did not finish');
    }
  };
  const base = await rate(RUNS, () => runs(undefined));
  rows.push({ framework: 'ai (AI SDK 7)', config: 'no telemetry', rate: base, base });
  const tracer = new Tracer({ store: new MemoryStore() });
  const telemetry = livetraceTelemetry({ tracer });
  const traced = await rate(RUNS, async () => {
    await runs([telemetry]);
    await telemetry.flush();
  });
  rows.push({
    framework: 'ai (AI SDK 7)',
    config: 'livetraceTelemetry (live nodes, memory store)',
    rate: traced,
    base,
  });
  const { traces } = await tracer.list({ limit: 1 });
  const snap = traces[0] ? await tracer.read(traces[0].id) : undefined;
  if (!snap || !snap.nodes.some((n) => n.label === 'lookup' && n.status === 'completed'))
    throw new Error('livetrace did not record the AI SDK run');
  await tracer.close();
}

await openaiAgents();
await langgraph();
await aiSdk();

console.log(
  `${RUNS} agent runs per round, median of ${ROUNDS} round(s)${SMOKE ? ' (smoke: figures meaningless)' : ''}\n`,
);
console.log('| framework | configuration | runs/s | ratio |');
console.log('| --- | --- | ---: | ---: |');
for (const r of rows)
  console.log(
    `| ${r.framework} | ${r.config} | ${Math.round(r.rate).toLocaleString('en-US')} | ${(r.rate / r.base).toFixed(2)}x |`,
  );
