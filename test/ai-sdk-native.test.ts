// AI SDK 7 (installed as the `ai7` alias; `ai` stays 6 for the OTel-path test) with its own
// MockLanguageModelV4 and our native telemetry integration: nodes appear as operations,
// steps, model calls and tools start; usage sits on model-call nodes only; streamed text
// is visible while the stream is still being fed; an aborted stream ends `cancelled`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, stepCountIs, tool, registerTelemetry } from 'ai7';
import { MockLanguageModelV4 } from 'ai7/test';
import { z } from 'zod';
import { Tracer } from '../src/tracer/tracer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { livetraceTelemetry } from '../src/integrations/ai-sdk.js';
import { traced } from '../src/tracer/traced.js';
import type { LogEntry, NodeData } from '../src/core/types.js';

function usage(input: number, output: number) {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function setup() {
  const tracer = new Tracer({ store: new MemoryStore() });
  const warnings: unknown[] = [];
  const telemetry = livetraceTelemetry({ tracer, onWarning: (w) => warnings.push(w) });
  return { tracer, telemetry, warnings };
}

function usageOf(
  n: NodeData,
): { input_tokens?: number; inputTokens?: number; output_tokens?: number; outputTokens?: number } | undefined {
  const u = (n as { usage?: unknown }).usage ?? n.metadata?.['usage'];
  return u as ReturnType<typeof usageOf>;
}
const inTok = (n: NodeData) => usageOf(n)?.input_tokens ?? usageOf(n)?.inputTokens ?? 0;
const outTok = (n: NodeData) => usageOf(n)?.output_tokens ?? usageOf(n)?.outputTokens ?? 0;

async function onlyTrace(tracer: Tracer) {
  const { traces } = await tracer.list();
  assert.equal(traces.length, 1, `one trace, got ${traces.length}`);
  const snap = await tracer.read(traces[0]!.id);
  assert.ok(snap);
  return snap;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('multi-step tool loop with parallel tool calls and a failing tool (generateText, per-call integration)', async () => {
  const { tracer, telemetry, warnings } = setup();
  const model = new MockLanguageModelV4({
    doGenerate: [
      {
        content: [
          { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: JSON.stringify({ city: 'Paris' }) },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'add', input: JSON.stringify({ a: 2, b: 3 }) },
          { type: 'tool-call', toolCallId: 'c3', toolName: 'broken', input: JSON.stringify({}) },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: usage(10, 7),
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'Sunny in Paris; 2 + 3 = 5.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(30, 9),
        warnings: [],
      },
    ],
  });
  const result = await generateText({
    model,
    prompt: 'Weather in Paris and 2+3?',
    stopWhen: stepCountIs(3),
    tools: {
      weather: tool({
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, sky: 'sunny' }),
      }),
      add: tool({ inputSchema: z.object({ a: z.number(), b: z.number() }), execute: async ({ a, b }) => a + b }),
      broken: tool({
        inputSchema: z.object({}),
        execute: async (): Promise<string> => {
          throw new Error('tool exploded');
        },
      }),
    },
    telemetry: { integrations: [telemetry], functionId: 'weather-agent' },
  });
  await telemetry.flush();
  const trace = await onlyTrace(tracer);
  const nodes = trace.nodes;
  const op = nodes.find((n) => n.label === 'weather-agent');
  assert.ok(op, 'operation node');
  assert.equal(op.status, 'completed');
  const steps = nodes.filter((n) => n.parent_ids.includes(op.id));
  assert.deepEqual(
    steps.map((s) => s.label),
    ['step 0', 'step 1'],
  );
  const llms = nodes.filter((n) => n.icon === 'llm');
  assert.equal(llms.length, 2);
  assert.deepEqual(
    llms.map((l) => l.parent_ids[0]),
    steps.map((s) => s.id),
  );
  const tools = nodes.filter((n) => n.icon === 'tool');
  assert.deepEqual(tools.map((t) => t.label).sort(), ['add', 'broken', 'weather']);
  for (const t of tools) assert.deepEqual(t.parent_ids, [steps[0]!.id], `${t.label} under step 0`);
  assert.deepEqual(tools.find((t) => t.label === 'weather')!.input, { city: 'Paris' });
  assert.deepEqual(tools.find((t) => t.label === 'weather')!.output, { city: 'Paris', sky: 'sunny' });
  assert.equal(tools.find((t) => t.label === 'add')!.output, 5);
  const broken = tools.find((t) => t.label === 'broken')!;
  assert.equal(broken.status, 'failed');
  assert.match(JSON.stringify(broken.error), /tool exploded/);
  assert.ok(typeof tools[0]!.metadata?.['ai.tool_execution_ms'] === 'number');
  // Usage on model-call nodes only, totals as the SDK reported.
  assert.equal(
    llms.reduce((s, n) => s + inTok(n), 0),
    result.totalUsage.inputTokens,
  );
  assert.equal(
    llms.reduce((s, n) => s + outTok(n), 0),
    result.totalUsage.outputTokens,
  );
  for (const n of [op, ...steps, ...tools]) assert.equal(usageOf(n), undefined, `no usage on ${n.label}`);
  assert.deepEqual(
    [op.kind, ...steps.map((s) => s.kind), ...llms.map((l) => l.kind), ...tools.map((t) => t.kind)],
    ['agent', 'step', 'step', 'llm', 'llm', 'tool', 'tool', 'tool'],
  );
  assert.equal(trace.info.usage!.llm_calls, 2);
  assert.equal(trace.info.usage!.input_tokens, result.totalUsage.inputTokens);
  assert.equal(trace.info.usage!.failed_nodes, 1);
  assert.equal(llms[1]!.metadata?.['ai.finish_reason'], 'stop');
  assert.equal(llms[1]!.output, 'Sunny in Paris; 2 + 3 = 5.');
  assert.deepEqual(warnings, []);
});

test('streamText via registerTelemetry: nodes and partial text while the stream is fed, then usage and completion', async () => {
  const { tracer, telemetry, warnings } = setup();
  registerTelemetry(telemetry);
  try {
    let feed!: ReadableStreamDefaultController<unknown>;
    const model = new MockLanguageModelV4({
      doStream: async () => ({ stream: new ReadableStream({ start: (c) => void (feed = c) }) }),
    });
    const result = streamText({ model, prompt: 'Count', telemetry: { functionId: 'counter' } });
    const consumed = result.text;
    await waitFor('model call started', () => feed);
    feed.enqueue({ type: 'stream-start', warnings: [] });
    feed.enqueue({ type: 'text-start', id: 't' });
    feed.enqueue({ type: 'text-delta', id: 't', delta: 'one, ' });
    feed.enqueue({ type: 'text-delta', id: 't', delta: 'two, ' });
    // The trace is live in this process: poll the store list until the llm node has text.
    const partial = await waitFor('partial text', () => {
      for (const id of liveIds(tracer)) {
        const tr = tracer.get(id);
        const llm = tr?.nodes().find((n) => n.icon === 'llm');
        const text = llm ? streamed(tr!.logs(llm.id)) : '';
        if (llm && text.length > 0) return { llm, text };
      }
      return undefined;
    });
    assert.equal(partial.llm.status, 'running');
    assert.equal(partial.text, 'one, two, ');
    feed.enqueue({ type: 'text-delta', id: 't', delta: 'three' });
    feed.enqueue({ type: 'text-end', id: 't' });
    feed.enqueue({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(4, 3) });
    feed.close();
    assert.equal(await consumed, 'one, two, three');
    await telemetry.flush();
    const trace = await onlyTrace(tracer);
    const llm = trace.nodes.find((n) => n.icon === 'llm')!;
    assert.equal(llm.status, 'completed');
    assert.equal(inTok(llm), 4);
    assert.equal(outTok(llm), 3);
    const u = usageOf(llm) as { ttft_ms?: number; timeToFirstTokenMs?: number };
    assert.ok(typeof (u.ttft_ms ?? u.timeToFirstTokenMs) === 'number', 'time to first token recorded');
    const text = streamed(trace.logs.filter((l) => l.node_id === llm.id));
    assert.equal(text, 'one, two, three');
    assert.equal(trace.nodes.find((n) => n.label === 'counter')?.status, 'completed');
    assert.deepEqual(warnings, []);
  } finally {
    registerTelemetry();
  }
});

test('an aborted stream ends its nodes cancelled, not running', async () => {
  const { tracer, telemetry } = setup();
  let feed!: ReadableStreamDefaultController<unknown>;
  const model = new MockLanguageModelV4({
    doStream: async () => ({ stream: new ReadableStream({ start: (c) => void (feed = c) }) }),
  });
  const ac = new AbortController();
  const result = streamText({
    model,
    prompt: 'Go',
    abortSignal: ac.signal,
    telemetry: { integrations: [telemetry], functionId: 'aborted' },
  });
  const consumed = result.consumeStream();
  await waitFor('model call started', () => feed);
  feed.enqueue({ type: 'stream-start', warnings: [] });
  feed.enqueue({ type: 'text-start', id: 't' });
  feed.enqueue({ type: 'text-delta', id: 't', delta: 'partial' });
  await waitFor('llm node', () =>
    liveIds(tracer).some((id) =>
      tracer
        .get(id)
        ?.nodes()
        .some((n) => n.icon === 'llm'),
    ),
  );
  ac.abort(new Error('user stopped'));
  await Promise.resolve(consumed).catch(() => undefined);
  await waitFor('operation settled', () => liveIds(tracer).length === 0 || undefined);
  await telemetry.flush();
  const trace = await onlyTrace(tracer);
  assert.equal(trace.info.status, 'cancelled');
  for (const n of trace.nodes) assert.notEqual(n.status, 'running', `${n.label} still running`);
  assert.equal(trace.nodes.find((n) => n.icon === 'llm')?.status, 'cancelled');
});

// ---- helpers over the tracer's live traces -------------------------------------------

function liveIds(tracer: Tracer): string[] {
  return tracer.loaded();
}
function streamed(logs: LogEntry[]): string {
  return logs
    .filter((l) => (l.data as { stream?: string } | undefined)?.stream === 'text')
    .map((l) => l.message)
    .join('');
}

test('inside traced(): the operation hangs under the current livetrace node; a tool node is live (running) while it executes', async () => {
  const { tracer, telemetry, warnings } = setup();
  const trace = await tracer.create({ agentName: 'outer' });
  let seen: { status: string; parent: string | undefined } | undefined;
  const model = new MockLanguageModelV4({
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'k1', toolName: 'probe', input: JSON.stringify({ x: 1 }) }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: usage(3, 2),
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'done' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(5, 1),
        warnings: [],
      },
    ],
  });
  await tracer.run(trace, () =>
    traced('pipeline', () =>
      generateText({
        model,
        prompt: 'probe',
        stopWhen: stepCountIs(3),
        tools: {
          probe: tool({
            inputSchema: z.object({ x: z.number() }),
            execute: async () => {
              const node = trace.nodes().find((n) => n.label === 'probe');
              seen = node && { status: node.status, parent: trace.getNode(node.parent_ids[0]!)?.label };
              return 'ok';
            },
          }),
        },
        telemetry: { integrations: [telemetry], functionId: 'inner-op' },
      }),
    ),
  );
  await telemetry.flush();
  assert.deepEqual(seen, { status: 'running', parent: 'step 0' }, 'tool node existed and was running during execute');
  const nodes = trace.nodes();
  const pipeline = nodes.find((n) => n.label === 'pipeline')!;
  const op = nodes.find((n) => n.label === 'inner-op')!;
  assert.deepEqual(op.parent_ids, [pipeline.id]);
  assert.equal(op.status, 'completed');
  assert.equal(nodes.find((n) => n.label === 'probe')?.status, 'completed');
  assert.deepEqual(tracer.loaded(), [trace.id], 'no extra trace was created');
  assert.deepEqual(warnings, []);
  await trace.release();
});
