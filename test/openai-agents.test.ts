// The OpenAI Agents SDK (@openai/agents) driven by a Model implemented here (the SDK takes
// any `Model`), traced by LivetraceAgentsProcessor registered with setTraceProcessors:
// an agent with two tools and a handoff, a guardrail that trips, a streamed run. Nodes are
// asserted while the run is still going (live at span start) and after it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Agent,
  InputGuardrailTripwireTriggered,
  run,
  setTraceProcessors,
  setTracingDisabled,
  tool,
  Usage,
  createGenerationSpan,
  withGenerationSpan,
  withCustomSpan,
  withTrace,
  type Model,
  type ModelRequest,
  type ModelResponse,
  type StreamEvent,
  type AgentOutputItem,
} from '@openai/agents';
import { z } from 'zod';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { traced } from '../src/tracer/traced.js';
import { LivetraceAgentsProcessor } from '../src/integrations/openai-agents.js';
import type { NodeData, TraceSnapshot } from '../src/core/types.js';

// ---- a scripted Model ------------------------------------------------------------------

type Turn = { text: string } | { calls: { name: string; args: unknown }[] };

let callSeq = 0;
function outputOf(turn: Turn): AgentOutputItem[] {
  if ('text' in turn)
    return [
      { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text }] },
    ];
  return turn.calls.map((c) => ({
    type: 'function_call',
    callId: `call_${++callSeq}`,
    name: c.name,
    arguments: JSON.stringify(c.args),
    status: 'completed',
  }));
}

/** Answers each request with the next scripted turn and records a generation span, as model adapters do. */
class ScriptedModel implements Model {
  readonly turns: Turn[];
  constructor(
    turns: Turn[],
    readonly name = 'scripted-1',
  ) {
    this.turns = [...turns];
  }
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const turn = this.turns.shift();
    if (!turn) throw new Error('ScriptedModel: no turn left');
    return withGenerationSpan(async (span) => {
      span.spanData.model = this.name;
      span.spanData.input = messagesOf(request);
      const output = outputOf(turn);
      span.spanData.output = output as Record<string, unknown>[];
      span.spanData.usage = { input_tokens: 11, output_tokens: 'text' in turn ? turn.text.length : 3 };
      return {
        output,
        usage: new Usage({
          requests: 1,
          inputTokens: 11,
          outputTokens: 'text' in turn ? turn.text.length : 3,
          totalTokens: 0,
        }),
        responseId: `resp_${callSeq}`,
      };
    });
  }
  getStreamedResponse(): AsyncIterable<StreamEvent> {
    throw new Error('not streamed');
  }
}

function messagesOf(request: ModelRequest): Record<string, unknown>[] {
  const input =
    typeof request.input === 'string'
      ? [{ role: 'user', content: request.input }]
      : (request.input as unknown as Record<string, unknown>[]);
  return request.systemInstructions ? [{ role: 'system', content: request.systemInstructions }, ...input] : input;
}

// ---- setup --------------------------------------------------------------------------------

const warnings: unknown[] = [];
let tracer: Tracer;
let processor: LivetraceAgentsProcessor;

before(() => {
  tracer = new Tracer({ store: new MemoryStore() });
  processor = new LivetraceAgentsProcessor({ tracer, onWarning: (w) => warnings.push(w) });
  setTracingDisabled(false);
  setTraceProcessors([processor]);
});
after(async () => {
  await processor.shutdown();
  setTraceProcessors([]);
});

async function traceWhere(pred: (t: TraceSnapshot) => boolean): Promise<TraceSnapshot> {
  await processor.forceFlush();
  const { traces } = await tracer.list({ limit: 100 });
  for (const info of traces) {
    const snap = await tracer.read(info.id);
    if (snap && pred(snap)) return snap;
  }
  throw new Error('no matching trace');
}
const byLabel = (nodes: NodeData[], label: string): NodeData => {
  const n = nodes.find((x) => x.label === label);
  assert.ok(n, `node ${label} in ${nodes.map((x) => x.label).join(', ')}`);
  return n;
};
const kindOf = (n: NodeData): string | undefined => (n as { kind?: string }).kind ?? n.icon;
const usageOf = (n: NodeData) =>
  ((n as { usage?: unknown }).usage ?? n.metadata?.['usage']) as Record<string, number | string> | undefined;
const inTok = (n: NodeData) => Number(usageOf(n)?.['input_tokens'] ?? usageOf(n)?.['inputTokens'] ?? 0);
const outTok = (n: NodeData) => Number(usageOf(n)?.['output_tokens'] ?? usageOf(n)?.['outputTokens'] ?? 0);

/** The live (in-process) trace holding a node with this label, and that node. */
function liveNode(label: string): { trace: string; node: NodeData } | undefined {
  for (const id of tracer.loaded()) {
    const node = tracer
      .get(id)
      ?.nodes()
      .find((n) => n.label === label);
    if (node) return { trace: id, node };
  }
  return undefined;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

// ---- tests --------------------------------------------------------------------------------

test('agent with two tools and a handoff: live nodes, parents, inputs, outputs, usage', async () => {
  const seenLive: Record<string, { status: string; parentLabel: string | undefined; generationDone: boolean }> = {};
  const observe = (label: string) => {
    const live = liveNode(label);
    assert.ok(live, `${label} node exists while the tool runs`);
    const tr = tracer.get(live.trace)!;
    const parent = tr.getNode(live.node.parent_ids[0]!);
    const gens = tr.nodes().filter((n) => n.label === 'scripted-1');
    seenLive[label] = {
      status: live.node.status,
      parentLabel: parent?.label,
      generationDone: gens.length === 1 && gens[0]!.status === 'completed',
    };
  };
  const writer = new Agent({
    name: 'writer',
    instructions: 'Write the answer.',
    model: new ScriptedModel([{ text: 'Sunny in Paris, and 2 + 3 = 5.' }], 'scripted-2'),
  });
  const triage = new Agent({
    name: 'triage',
    instructions: 'Use tools, then hand off.',
    model: new ScriptedModel([
      {
        calls: [
          { name: 'weather', args: { city: 'Paris' } },
          { name: 'add', args: { a: 2, b: 3 } },
        ],
      },
      { calls: [{ name: 'transfer_to_writer', args: {} }] },
    ]),
    tools: [
      tool({
        name: 'weather',
        description: 'weather of a city',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          observe('weather');
          return { city, sky: 'sunny' };
        },
      }),
      tool({
        name: 'add',
        description: 'adds',
        parameters: z.object({ a: z.number(), b: z.number() }),
        execute: async ({ a, b }) => {
          observe('add');
          return a + b;
        },
      }),
    ],
    handoffs: [writer],
  });
  const result = await run(triage, 'Weather in Paris and 2+3?');
  assert.equal(result.finalOutput, 'Sunny in Paris, and 2 + 3 = 5.');

  // Live: each tool node existed, running, under triage's agent (or turn) node, while its execute ran.
  for (const label of ['weather', 'add']) {
    assert.equal(seenLive[label]?.status, 'running', `${label} running while executing`);
    assert.ok(seenLive[label]?.generationDone, 'the first generation was already completed');
  }

  const snap = await traceWhere((t) => t.nodes.some((n) => n.label === 'writer'));
  const nodes = snap.nodes;
  assert.equal(snap.info.status, 'completed');
  for (const n of nodes) assert.notEqual(n.status, 'running', `${n.label} left running`);
  const workflow = nodes.find((n) => n.parent_ids.length === 0)!;
  assert.equal(kindOf(workflow), 'agent');
  const triageNode = byLabel(nodes, 'triage');
  const writerNode = byLabel(nodes, 'writer');
  assert.equal(kindOf(triageNode), 'agent');
  assert.deepEqual(triageNode.metadata?.['agents.tools'], ['weather', 'add']);
  const ancestors = (n: NodeData): string[] => {
    const out: string[] = [];
    for (let p: string | undefined = n.parent_ids[0]; p; p = nodes.find((x) => x.id === p)?.parent_ids[0]) out.push(p);
    return out;
  };
  // Tools, generations and the handoff sit under the triage agent; the writer's generation under writer.
  const weather = byLabel(nodes, 'weather');
  const add = byLabel(nodes, 'add');
  for (const t of [weather, add]) {
    assert.equal(kindOf(t), 'tool');
    assert.ok(ancestors(t).includes(triageNode.id), `${t.label} under triage`);
    assert.equal(t.status, 'completed');
  }
  assert.deepEqual(weather.input, { city: 'Paris' });
  assert.deepEqual(weather.output, { city: 'Paris', sky: 'sunny' });
  assert.deepEqual(add.input, { a: 2, b: 3 });
  assert.equal(add.output, '5', 'the SDK reports tool outputs as strings');
  const handoff = byLabel(nodes, 'handoff triage → writer');
  assert.ok(ancestors(handoff).includes(triageNode.id));
  assert.deepEqual(handoff.output, { from_agent: 'triage', to_agent: 'writer' });
  const gens = nodes.filter((n) => kindOf(n) === 'llm');
  assert.equal(gens.length, 3, 'three model calls');
  const triageGens = gens.filter((g) => ancestors(g).includes(triageNode.id));
  const writerGens = gens.filter((g) => ancestors(g).includes(writerNode.id));
  assert.equal(triageGens.length, 2);
  assert.equal(writerGens.length, 1);
  assert.deepEqual(writerGens[0]!.output, { role: 'assistant', content: 'Sunny in Paris, and 2 + 3 = 5.' });
  const firstOut = triageGens[0]!.output as { tool_calls: { name: string; arguments: unknown }[] };
  assert.deepEqual(
    firstOut.tool_calls.map((c) => [c.name, c.arguments]),
    [
      ['weather', { city: 'Paris' }],
      ['add', { a: 2, b: 3 }],
    ],
  );
  const writerInput = writerGens[0]!.input as { role?: string; content?: unknown }[];
  assert.deepEqual(writerInput[0], { role: 'system', content: 'Write the answer.' });
  // Usage on model calls only; totals equal what the SDK counted.
  assert.equal(
    gens.reduce((s, g) => s + inTok(g), 0),
    result.state.usage.inputTokens,
  );
  assert.equal(
    gens.reduce((s, g) => s + outTok(g), 0),
    result.state.usage.outputTokens,
  );
  assert.equal(usageOf(gens[0]!)?.['model'], 'scripted-1');
  for (const n of nodes.filter((x) => kindOf(x) !== 'llm'))
    assert.equal(usageOf(n), undefined, `no usage on ${n.label}`);
  // Rollups (reducer): three model calls, two tool calls, nothing failed.
  const rollup = (
    snap.info as { usage?: { llm_calls?: number; tool_calls?: number; failed_nodes?: number; input_tokens?: number } }
  ).usage;
  assert.equal(rollup?.llm_calls, 3);
  assert.equal(rollup?.tool_calls, 2);
  assert.equal(rollup?.failed_nodes, 0);
  assert.equal(rollup?.input_tokens, result.state.usage.inputTokens);
  assert.deepEqual(warnings, []);
});

test('an input guardrail that trips: guardrail node failed with triggered, run fails, nothing left running', async () => {
  const agent = new Agent({
    name: 'guarded',
    instructions: 'Answer.',
    model: new ScriptedModel([{ text: 'should not matter' }]),
    inputGuardrails: [
      {
        name: 'no-secrets',
        execute: async ({ input }) => ({
          tripwireTriggered: JSON.stringify(input).includes('password'),
          outputInfo: { reason: 'asks for a password' },
        }),
      },
    ],
  });
  await assert.rejects(run(agent, 'tell me the admin password'), InputGuardrailTripwireTriggered);
  const snap = await traceWhere((t) => t.nodes.some((n) => n.label === 'guarded'));
  const guard = byLabel(snap.nodes, 'no-secrets');
  assert.equal(kindOf(guard), 'guardrail');
  assert.equal(guard.status, 'failed');
  assert.equal(guard.metadata?.['agents.triggered'], true);
  assert.match(String(guard.error?.message), /no-secrets tripped/);
  assert.ok(guard.parent_ids.includes(byLabel(snap.nodes, 'guarded').id), 'guardrail under its agent');
  for (const n of snap.nodes) assert.notEqual(n.status, 'running', `${n.label} left running`);
  assert.notEqual(snap.info.status, 'running');
  assert.equal(snap.info.status, 'failed');
});

test('a streamed run: agent and model-call nodes are live while the stream is fed, then completed with usage', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const streaming: Model = {
    async getResponse() {
      throw new Error('streamed only');
    },
    async *getStreamedResponse(request) {
      const span = createGenerationSpan({ data: { model: 'stream-1', input: messagesOf(request) } });
      span.start();
      try {
        yield { type: 'response_started' };
        yield { type: 'output_text_delta', delta: 'Hel' };
        await gate;
        yield { type: 'output_text_delta', delta: 'lo' };
        const output = outputOf({ text: 'Hello' });
        span.spanData.output = output as Record<string, unknown>[];
        span.spanData.usage = { input_tokens: 7, output_tokens: 2 };
        yield {
          type: 'response_done',
          response: { id: 'r1', usage: { requests: 1, inputTokens: 7, outputTokens: 2, totalTokens: 9 }, output },
        } as StreamEvent;
      } finally {
        span.end();
      }
    },
  };
  const agent = new Agent({ name: 'streamer', instructions: 'Greet.', model: streaming });
  const result = await run(agent, 'hi', { stream: true });
  const chunks: string[] = [];
  const reading = (async () => {
    for await (const ev of result) {
      if (ev.type === 'raw_model_stream_event' && ev.data.type === 'output_text_delta') chunks.push(ev.data.delta);
    }
  })();
  // While the model is blocked mid-stream the nodes are there and running.
  const live = await waitFor('live generation node', () => liveNode('stream-1'));
  assert.equal(live.node.status, 'running');
  const agentNode = liveNode('streamer');
  assert.equal(agentNode?.node.status, 'running');
  assert.ok(live.node.parent_ids.length === 1);
  release();
  await reading;
  await result.completed;
  assert.equal(result.finalOutput, 'Hello');
  assert.deepEqual(chunks, ['Hel', 'lo']);
  const snap = await traceWhere((t) => t.nodes.some((n) => n.label === 'streamer'));
  const gen = byLabel(snap.nodes, 'stream-1');
  assert.equal(gen.status, 'completed');
  assert.equal(inTok(gen), 7);
  assert.equal(outTok(gen), 2);
  assert.deepEqual(gen.output, { role: 'assistant', content: 'Hello' });
  assert.equal(byLabel(snap.nodes, 'streamer').status, 'completed');
  for (const n of snap.nodes) assert.notEqual(n.status, 'running', `${n.label} left running`);
  assert.equal(snap.info.status, 'completed');
});

test('inside traced(): the SDK trace hangs under the current livetrace node; custom spans are nodes', async () => {
  const agent = new Agent({ name: 'inner', instructions: 'x', model: new ScriptedModel([{ text: 'ok' }]) });
  const outerTrace = await tracer.create({ agentName: 'outer' });
  await tracer.run(outerTrace, () =>
    traced('pipeline', async () => {
      await withTrace('nested workflow', async () => {
        await withCustomSpan(
          async (span) => {
            span.spanData.data = { done: true };
          },
          { data: { name: 'prepare', data: { step: 1 } } },
        );
        await run(agent, 'go');
      });
    }),
  );
  await processor.forceFlush();
  const nodes = outerTrace.nodes();
  const pipeline = byLabel(nodes, 'pipeline');
  const workflow = byLabel(nodes, 'nested workflow');
  assert.deepEqual(workflow.parent_ids, [pipeline.id]);
  assert.equal(workflow.status, 'completed');
  const custom = byLabel(nodes, 'prepare');
  assert.deepEqual(custom.parent_ids, [workflow.id]);
  assert.deepEqual(custom.input, { step: 1 });
  assert.deepEqual(custom.output, { done: true });
  assert.ok(
    nodes.some((n) => n.label === 'inner'),
    'the agent run recorded in the same trace',
  );
  assert.equal(processor.stats.openSpans, 0);
  await outerTrace.release();
});
