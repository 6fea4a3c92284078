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

/**
 * Splits span attributes into metadata, input (prompt) and output (completion). Called twice
 * per span by the processor (start, end): the maps and lists are made only when an attribute
 * needs them, and the indexed-key pattern runs only on `gen_ai.` keys.
 */
export function splitAttributes(attributes: Attributes, mapInputOutput = true): SplitAttributes {
  const metadata: Record<string, AttributeValue> = {};
  if (!mapInputOutput)
    return { metadata: { ...attributes }, input: undefined, output: undefined, hasInput: false, hasOutput: false };
  let input: Map<string, unknown> | undefined;
  let output: Map<string, unknown> | undefined;
  let indexed: { prompt: Record<string, unknown>[]; completion: Record<string, unknown>[] } | undefined;
  for (const key in attributes) {
    if (!hasOwn(attributes, key)) continue;
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    // Own keys only: an attribute named `constructor` or `toString` is metadata like any other.
    const inField = hasOwn(INPUT_KEYS, key) ? INPUT_KEYS[key] : undefined;
    if (inField !== undefined) {
      (input ??= new Map()).set(inField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
      continue;
    }
    const outField = hasOwn(OUTPUT_KEYS, key) ? OUTPUT_KEYS[key] : undefined;
    if (outField !== undefined) {
      (output ??= new Map()).set(outField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
      continue;
    }
    const m = key.startsWith('gen_ai.') ? INDEXED_RE.exec(key) : null;
    if (m) {
      const i = Number(m[2]);
      if (i < 10_000) {
        indexed ??= { prompt: [], completion: [] };
        const list = indexed[m[1] as 'prompt' | 'completion'];
        list[i] ??= {};
        list[i][m[3]!] = parseAttributeValue(value);
        continue;
      }
    }
    if (key === '__proto__')
      Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    else metadata[key] = value;
  }
  if (indexed && indexed.prompt.length > 0 && !input?.has('prompt'))
    (input ??= new Map()).set('prompt', indexed.prompt.filter(Boolean));
  if (indexed && indexed.completion.length > 0 && !output?.has('completion'))
    (output ??= new Map()).set('completion', indexed.completion.filter(Boolean));
  return {
    metadata,
    input: input ? collect(input) : undefined,
    output: output ? collect(output) : undefined,
    hasInput: input !== undefined,
    hasOutput: output !== undefined,
  };
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}
