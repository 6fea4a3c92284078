// Which span attributes hold the prompt and the completion. AI frameworks put them in
// attributes (JSON strings mostly); livetrace shows them as the node's input and output.
//
// Sources, read from the packages themselves:
// - Vercel AI SDK (`ai` 4-6, experimental_telemetry): ai.prompt, ai.prompt.messages,
//   ai.toolCall.args / ai.toolCall.result, ai.response.text / .toolCalls / .object /
//   .reasoning, ai.value(s) / ai.embedding(s) (embed), ai.documents (rerank).
// - OTel GenAI semantic conventions: gen_ai.input.messages, gen_ai.output.messages,
//   gen_ai.system_instructions, gen_ai.tool.call.arguments / .result; older
//   gen_ai.prompt / gen_ai.completion, and the indexed form gen_ai.prompt.0.role ...
//   (OpenLLMetry).
// - OpenInference: input.value / output.value.

export type AttributeValue =
  string | number | boolean | Array<string | number | boolean | null | undefined> | null | undefined;
export type Attributes = Record<string, AttributeValue>;

/** attribute -> field name in the node's input (or output) when several are present. */
const INPUT_KEYS: Record<string, string> = {
  'ai.prompt': 'prompt',
  'ai.prompt.messages': 'messages',
  'ai.toolCall.args': 'args',
  'ai.value': 'value',
  'ai.values': 'values',
  'ai.documents': 'documents',
  'gen_ai.input.messages': 'messages',
  'gen_ai.system_instructions': 'system',
  'gen_ai.tool.call.arguments': 'args',
  'gen_ai.prompt': 'prompt',
  'input.value': 'input',
};

const OUTPUT_KEYS: Record<string, string> = {
  'ai.response.text': 'text',
  'ai.response.toolCalls': 'toolCalls',
  'ai.response.object': 'object',
  'ai.response.reasoning': 'reasoning',
  'ai.toolCall.result': 'result',
  'ai.embedding': 'embedding',
  'ai.embeddings': 'embeddings',
  'ai.ranking': 'ranking',
  'gen_ai.output.messages': 'messages',
  'gen_ai.tool.call.result': 'result',
  'gen_ai.completion': 'completion',
  'output.value': 'output',
};

/** Attributes the AI SDK always writes with JSON.stringify (so "5" is the number 5). */
const ALWAYS_JSON = new Set([
  'ai.prompt',
  'ai.prompt.messages',
  'ai.toolCall.args',
  'ai.toolCall.result',
  'ai.response.toolCalls',
  'ai.response.object',
  'ai.value',
  'ai.embedding',
]);

const INDEXED_RE = /^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$/;

/** JSON strings (what frameworks store) become values again; other strings stay strings. */
export function parseAttributeValue(value: AttributeValue, alwaysJson = false): unknown {
  if (typeof value === 'string') {
    const c = value.trimStart()[0];
    if (alwaysJson || c === '{' || c === '[' || c === '"') {
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? parseAttributeValue(v) : v));
  return value;
}

export interface SplitAttributes {
  /** Attributes that are neither prompt nor completion. */
  metadata: Record<string, AttributeValue>;
  /** Undefined when no input attribute is present. */
  input: unknown;
  output: unknown;
  hasInput: boolean;
  hasOutput: boolean;
}

function collect(fields: Map<string, unknown>): unknown {
  if (fields.size === 1) return fields.values().next().value;
  return Object.fromEntries(fields);
}

/** Splits span attributes into metadata, input (prompt) and output (completion). */
export function splitAttributes(attributes: Attributes, mapInputOutput = true): SplitAttributes {
  const metadata: Record<string, AttributeValue> = {};
  if (!mapInputOutput)
    return { metadata: { ...attributes }, input: undefined, output: undefined, hasInput: false, hasOutput: false };
  const input = new Map<string, unknown>();
  const output = new Map<string, unknown>();
  const indexed = { prompt: [] as Record<string, unknown>[], completion: [] as Record<string, unknown>[] };
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    const inField = INPUT_KEYS[key];
    if (inField !== undefined) {
      input.set(inField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
      continue;
    }
    const outField = OUTPUT_KEYS[key];
    if (outField !== undefined) {
      output.set(outField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
      continue;
    }
    const m = INDEXED_RE.exec(key);
    if (m) {
      const list = indexed[m[1] as 'prompt' | 'completion'];
      const i = Number(m[2]);
      if (i < 10_000) {
        list[i] ??= {};
        list[i][m[3]!] = parseAttributeValue(value);
        continue;
      }
    }
    metadata[key] = value;
  }
  if (indexed.prompt.length > 0 && !input.has('prompt')) input.set('prompt', indexed.prompt.filter(Boolean));
  if (indexed.completion.length > 0 && !output.has('completion'))
    output.set('completion', indexed.completion.filter(Boolean));
  return {
    metadata,
    input: input.size > 0 ? collect(input) : undefined,
    output: output.size > 0 ? collect(output) : undefined,
    hasInput: input.size > 0,
    hasOutput: output.size > 0,
  };
}
