// The AI SDK 7 traced live by livetrace's native telemetry, offline (MockLanguageModelV4,
// no API key). Run: `npm run build && node examples/ai-sdk.mjs`. This repository installs
// AI SDK 7 under the alias `ai7` (its `ai` is 6, for the OTel-path tests): in your app,
// import from 'ai' and 'ai/test'. Pass `--dir .livetrace` to keep the trace for `livetrace serve`.
import { generateText, registerTelemetry, stepCountIs, tool } from 'ai7';
import { MockLanguageModelV4 } from 'ai7/test';
import { z } from 'zod';
import { Tracer, MemoryStore, FileStore } from 'livetrace';
import { livetraceTelemetry } from 'livetrace/ai-sdk';

const dirArg = process.argv.indexOf('--dir');
const tracer = new Tracer({ store: dirArg > 0 ? new FileStore({ dir: process.argv[dirArg + 1] }) : new MemoryStore() });
const telemetry = livetraceTelemetry({ tracer });
registerTelemetry(telemetry); // every AI SDK call; or per call: telemetry: { integrations: [telemetry] }

const usage = (input, output) => ({
  inputTokens: { total: input, noCache: input },
  outputTokens: { total: output, text: output },
});
const model = new MockLanguageModelV4({
  doGenerate: [
    {
      content: [
        { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: JSON.stringify({ city: 'Paris' }) },
        { type: 'tool-call', toolCallId: 'c2', toolName: 'add', input: JSON.stringify({ a: 2, b: 3 }) },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage: usage(120, 30),
      warnings: [],
    },
    {
      content: [{ type: 'text', text: 'Paris is sunny (21°C); 2 + 3 = 5.' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: usage(180, 20),
      warnings: [],
    },
  ],
});

const result = await generateText({
  model,
  prompt: 'Weather in Paris, and what is 2 + 3?',
  stopWhen: stepCountIs(3),
  tools: {
    weather: tool({
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, sky: 'sunny', celsius: 21 }),
    }),
    add: tool({ inputSchema: z.object({ a: z.number(), b: z.number() }), execute: async ({ a, b }) => a + b }),
  },
  telemetry: { functionId: 'weather-agent' },
});
console.log('text:', result.text);
await telemetry.flush();
registerTelemetry();

const { traces } = await tracer.list();
const snap = await tracer.read(traces[0].id);
const depth = (n) => (n.parent_ids.length ? 1 + depth(snap.nodes.find((p) => p.id === n.parent_ids[0])) : 0);
for (const n of snap.nodes)
  console.log(
    `${'  '.repeat(depth(n))}${n.label} [${n.kind}] ${n.status}${n.usage ? ` ${n.usage.input_tokens}/${n.usage.output_tokens} tokens` : ''}`,
  );
console.log(`trace ${snap.info.id}: ${snap.info.status}, ${snap.info.usage?.total_tokens} tokens`);
await tracer.close();
