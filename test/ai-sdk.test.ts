// The Vercel AI SDK (`ai`) with its own mock language model and experimental_telemetry
// pointed at an OTel tracer whose processor is LivetraceSpanProcessor: the run becomes a
// livetrace trace with the right nodes, parents, inputs and outputs, visible while it runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { context as otelContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { generateText, streamText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { z } from 'zod';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { LivetraceSpanProcessor, contextFor, type ProcessorWarning } from '../src/otel/index.js';
import type { NodeData } from '../src/core/types.js';

// What NodeSDK registers in an application: OTel context follows async calls.
const contextManager = new AsyncLocalStorageContextManager();
before(() => {
  otelContext.setGlobalContextManager(contextManager.enable());
});
after(() => {
  otelContext.disable();
});

function setup() {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: ProcessorWarning[] = [];
  const processor = new LivetraceSpanProcessor({ tracer, onWarning: (w) => warnings.push(w) });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { tracer, processor, provider, warnings, otelTracer: provider.getTracer('ai') };
}

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

function only(nodes: NodeData[], label: string): NodeData[] {
  return nodes.filter((n) => n.label === label);
}

test('generateText with two tools: nodes, parents, inputs and outputs', async () => {
  const { tracer, processor, provider, warnings, otelTracer } = setup();
  const model = new MockLanguageModelV3({
    doGenerate: [
      {
        content: [
          { type: 'tool-call', toolCallId: 'call-1', toolName: 'weather', input: JSON.stringify({ city: 'Paris' }) },
          { type: 'tool-call', toolCallId: 'call-2', toolName: 'add', input: JSON.stringify({ a: 2, b: 3 }) },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'It is sunny in Paris and 2 + 3 = 5.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      },
    ],
  });
  const result = await generateText({
    model,
    prompt: 'Weather in Paris? And 2 + 3?',
    tools: {
      weather: tool({
        description: 'weather of a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, sky: 'sunny' }),
      }),
      add: tool({
        description: 'adds two numbers',
        inputSchema: z.object({ a: z.number(), b: z.number() }),
        execute: async ({ a, b }) => a + b,
      }),
    },
    stopWhen: stepCountIs(3),
    experimental_telemetry: { isEnabled: true, tracer: otelTracer, functionId: 'weather-agent' },
  });
  assert.equal(result.text, 'It is sunny in Paris and 2 + 3 = 5.');
  await processor.forceFlush();
  assert.deepEqual(warnings, []);

  const ids = tracer.loaded();
  assert.deepEqual(ids, [], 'the trace is complete and released once the root span ended');
  const list = await tracer.list();
  assert.equal(list.traces.length, 1);
  const snap = (await tracer.read(list.traces[0]!.id))!;
  assert.equal(snap.info.status, 'completed');
  assert.match(snap.info.id, /^[0-9a-f]{32}$/, 'the livetrace trace id is the OTel trace id');
  const nodes = snap.nodes;

  const [root] = only(nodes, 'ai.generateText');
  assert.ok(root);
  assert.deepEqual(root.parent_ids, []);
  assert.deepEqual(root.input, { prompt: 'Weather in Paris? And 2 + 3?' });
  assert.deepEqual(root.output, 'It is sunny in Paris and 2 + 3 = 5.');
  assert.equal(root.metadata['ai.telemetry.functionId'], 'weather-agent');
  assert.equal(root.status, 'completed');

  const calls = only(nodes, 'ai.generateText.doGenerate');
  assert.equal(calls.length, 2, 'one model call per step');
  for (const c of calls) {
    assert.deepEqual(c.parent_ids, [root.id]);
    assert.equal(c.metadata['gen_ai.request.model'], 'mock-model-id');
    // One input attribute (ai.prompt.messages): the input is its parsed value.
    const messages = c.input as Array<{ role: string }>;
    assert.equal(messages[0]!.role, 'user', 'the prompt messages are the input');
  }
  const firstOut = calls[0]!.output as Array<{ toolName: string; input: unknown }>;
  assert.deepEqual(
    firstOut.map((t) => t.toolName),
    ['weather', 'add'],
    'the tool calls are the output',
  );
  assert.equal(
    calls[1]!.input && (calls[1]!.input as unknown[]).length,
    3,
    'step 2 sees the prompt, the tool calls and their results',
  );
  assert.equal(calls[1]!.output, 'It is sunny in Paris and 2 + 3 = 5.');
  assert.equal(calls[1]!.metadata['gen_ai.usage.output_tokens'], 5, 'attributes set at the end become metadata');

  const tools = only(nodes, 'ai.toolCall');
  assert.equal(tools.length, 2);
  const weather = tools.find((t) => t.metadata['ai.toolCall.name'] === 'weather')!;
  const add = tools.find((t) => t.metadata['ai.toolCall.name'] === 'add')!;
  assert.deepEqual(weather.parent_ids, [root.id]);
  assert.deepEqual(weather.input, { city: 'Paris' });
  assert.deepEqual(weather.output, { city: 'Paris', sky: 'sunny' });
  assert.deepEqual(add.input, { a: 2, b: 3 });
  assert.equal(add.output, 5);
  // Tool calls happen between the two model calls.
  assert.ok(weather.start_time! >= calls[0]!.start_time!);
  assert.ok(calls[1]!.start_time! >= add.start_time!);
  await provider.shutdown();
  await tracer.close();
});

test('a failing tool fails its node with the tool error', async () => {
  const { tracer, processor, provider, otelTracer } = setup();
  const model = new MockLanguageModelV3({
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'boom', input: '{}' }],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'sorry' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      },
    ],
  });
  await generateText({
    model,
    prompt: 'x',
    tools: {
      boom: tool({
        inputSchema: z.object({}),
        execute: async (): Promise<string> => {
          throw new Error('tool exploded');
        },
      }),
    },
    stopWhen: stepCountIs(2),
    experimental_telemetry: { isEnabled: true, tracer: otelTracer },
  });
  await processor.forceFlush();
  const snap = (await tracer.read((await tracer.list()).traces[0]!.id))!;
  const [boom] = only(snap.nodes, 'ai.toolCall');
  assert.equal(boom!.status, 'failed');
  assert.equal(boom!.error?.message, 'tool exploded');
  await provider.shutdown();
  await tracer.close();
});

test('streamText: the nodes are live while the stream is still running', async () => {
  const { tracer, processor, provider, warnings, otelTracer } = setup();
  // A stream this test feeds by hand, so it can look at the trace between chunks.
  let feed!: ReadableStreamDefaultController<LanguageModelV3StreamPart>;
  const stream = new ReadableStream<LanguageModelV3StreamPart>({
    start: (c) => {
      feed = c;
    },
  });
  const model = new MockLanguageModelV3({ doStream: { stream } });
  const result = streamText({
    model,
    prompt: 'Tell me a story',
    experimental_telemetry: { isEnabled: true, tracer: otelTracer },
  });
  const reader = result.textStream[Symbol.asyncIterator]();
  feed.enqueue({ type: 'stream-start', warnings: [] });
  feed.enqueue({ type: 'text-start', id: 't1' });
  feed.enqueue({ type: 'text-delta', id: 't1', delta: 'Once ' });
  const first = await reader.next();
  assert.equal(first.value, 'Once ');

  await processor.forceFlush();
  const [traceId] = tracer.loaded();
  assert.ok(traceId, 'the trace is loaded while the stream runs');
  const live = tracer.get(traceId)!;
  const liveNodes = live.nodes();
  const [root] = only(liveNodes, 'ai.streamText');
  const [call] = only(liveNodes, 'ai.streamText.doStream');
  assert.ok(root && call, `live nodes: ${liveNodes.map((n) => n.label).join(', ')}`);
  assert.equal(root.status, 'running');
  assert.equal(call.status, 'running');
  assert.deepEqual(call.parent_ids, [root.id]);
  assert.deepEqual(root.input, { prompt: 'Tell me a story' });
  assert.equal(live.status, 'running');
  // A subscriber sees the nodes too, from the store and the hub.
  const seen: string[] = [];
  const sub = tracer.subscribe(traceId, { since: 0 });
  const collecting = (async () => {
    for await (const ev of sub) if (ev.type === 'node_start') seen.push(ev.data.node!.label!);
  })();

  feed.enqueue({ type: 'text-delta', id: 't1', delta: 'upon a time.' });
  feed.enqueue({ type: 'text-end', id: 't1' });
  feed.enqueue({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage });
  feed.close();
  let text = first.value as string;
  for (let r = await reader.next(); !r.done; r = await reader.next()) text += r.value;
  assert.equal(text, 'Once upon a time.');
  await result.consumeStream();
  await processor.forceFlush();
  await collecting; // ends after `complete`
  assert.deepEqual(seen, ['ai.streamText', 'ai.streamText.doStream']);

  const snap = (await tracer.read(traceId))!;
  assert.equal(snap.info.status, 'completed');
  const done = only(snap.nodes, 'ai.streamText.doStream')[0]!;
  assert.equal(done.status, 'completed');
  assert.equal(done.output, 'Once upon a time.');
  assert.deepEqual(
    snap.logs
      .filter((l) => l.node_id === done.id)
      .map((l) => l.message)
      .slice(0, 1),
    ['ai.stream.firstChunk'],
  );
  assert.deepEqual(warnings, []);
  await provider.shutdown();
  await tracer.close();
});

test("an AI SDK call inside context.with(contextFor(node)) hangs under that node of the caller's trace", async () => {
  const { tracer, processor, provider, warnings, otelTracer } = setup();
  const trace = await tracer.create({ agentName: 'my agent' });
  const step = trace.add({ goal: 'summarize' }, { label: 'summarize step' });
  const model = new MockLanguageModelV3({
    doGenerate: {
      content: [{ type: 'text', text: 'short summary' }],
      finishReason: { unified: 'stop', raw: undefined },
      usage,
      warnings: [],
    },
  });
  const result = await otelContext.with(contextFor(step), () =>
    generateText({ model, prompt: 'summarize this', experimental_telemetry: { isEnabled: true, tracer: otelTracer } }),
  );
  assert.equal(result.text, 'short summary');
  await processor.forceFlush();
  const [call] = only(trace.nodes(), 'ai.generateText');
  assert.ok(call);
  assert.deepEqual(call.parent_ids, [step.id]);
  assert.equal(call.output, 'short summary');
  assert.deepEqual(only(trace.nodes(), 'ai.generateText.doGenerate')[0]!.parent_ids, [call.id]);
  assert.equal(trace.status, 'running', 'the caller owns its trace');
  assert.deepEqual(tracer.loaded(), [trace.id], 'no second trace was created');
  step.complete(result.text);
  trace.markComplete();
  assert.deepEqual(warnings, []);
  await provider.shutdown();
  await tracer.close();
});
