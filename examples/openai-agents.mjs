// The OpenAI Agents SDK traced live by livetrace, offline: the model is a scripted `Model`
// (no API key, no network). Run: `npm run build && node examples/openai-agents.mjs`
// (needs the dev dependency `@openai/agents`). Pass `--dir .livetrace` to keep the trace
// for `livetrace serve`.
import { Agent, run, setTraceProcessors, setTracingDisabled, tool, Usage, withGenerationSpan } from '@openai/agents';
import { z } from 'zod';
import { Tracer, MemoryStore, FileStore } from 'livetrace';
import { LivetraceAgentsProcessor } from 'livetrace/openai-agents';

const dirArg = process.argv.indexOf('--dir');
const tracer = new Tracer({ store: dirArg > 0 ? new FileStore({ dir: process.argv[dirArg + 1] }) : new MemoryStore() });
const processor = new LivetraceAgentsProcessor({ tracer });
setTracingDisabled(false);
setTraceProcessors([processor]); // or addTraceProcessor(processor) to keep OpenAI's exporter

/** A model that plays back turns and records a generation span like real adapters do. */
function scripted(name, turns) {
  let n = 0;
  return {
    async getResponse(request) {
      const turn = turns[n++];
      return withGenerationSpan(async (span) => {
        span.spanData.model = name;
        span.spanData.input =
          typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input;
        const output = turn.text
          ? [
              {
                type: 'message',
                role: 'assistant',
                status: 'completed',
                content: [{ type: 'output_text', text: turn.text }],
              },
            ]
          : turn.calls.map((c, i) => ({
              type: 'function_call',
              callId: `call_${n}_${i}`,
              name: c.name,
              arguments: JSON.stringify(c.args),
              status: 'completed',
            }));
        span.spanData.output = output;
        span.spanData.usage = { input_tokens: 120, output_tokens: 30 };
        return { output, usage: new Usage({ requests: 1, inputTokens: 120, outputTokens: 30, totalTokens: 150 }) };
      });
    },
    getStreamedResponse() {
      throw new Error('not used here');
    },
  };
}

const writer = new Agent({
  name: 'writer',
  instructions: 'Write a short answer.',
  model: scripted('writer-model', [{ text: 'Paris is sunny (21°C); 2 + 3 = 5.' }]),
});
const triage = new Agent({
  name: 'triage',
  instructions: 'Use the tools, then hand off to the writer.',
  model: scripted('triage-model', [
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
      description: 'Weather of a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, sky: 'sunny', celsius: 21 }),
    }),
    tool({
      name: 'add',
      description: 'Adds two numbers',
      parameters: z.object({ a: z.number(), b: z.number() }),
      execute: async ({ a, b }) => a + b,
    }),
  ],
  handoffs: [writer],
});

const result = await run(triage, 'Weather in Paris, and what is 2 + 3?');
console.log('final output:', result.finalOutput);
await processor.forceFlush();

const { traces } = await tracer.list();
const snap = await tracer.read(traces[0].id);
const depth = (n) => (n.parent_ids.length ? 1 + depth(snap.nodes.find((p) => p.id === n.parent_ids[0])) : 0);
for (const n of snap.nodes) console.log(`${'  '.repeat(depth(n))}${n.label} [${n.kind ?? n.icon}] ${n.status}`);
console.log(`trace ${snap.info.id}: ${snap.info.status}`);
await processor.shutdown();
await tracer.close();
