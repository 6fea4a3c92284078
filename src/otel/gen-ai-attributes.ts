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

/**
 * The fields of an input or an output, in the order met: one field is the value itself,
 * several an object. Plain objects: a Map per span side was 5.6% of the OTel processor's
 * allocations; the field names are the fixed ones of INPUT_KEYS/OUTPUT_KEYS.
 */
interface Fields {
  values: Record<string, unknown>;
  count: number;
}

function put(fields: Fields | undefined, field: string, value: unknown): Fields {
  if (fields === undefined) return { values: { [field]: value }, count: 1 };
  if (!hasOwn(fields.values, field)) fields.count++;
  fields.values[field] = value;
  return fields;
}

function collect(fields: Fields): unknown {
  if (fields.count === 1) for (const k in fields.values) return fields.values[k];
  return fields.values;
}

/**
 * Splits span attributes into metadata, input (prompt) and output (completion). Called twice
 * per span by the processor (start, end): the objects and lists are made only when an
 * attribute needs them, and the indexed-key pattern runs only on `gen_ai.` keys.
 */
export function splitAttributes(attributes: Attributes, mapInputOutput = true): SplitAttributes {
  const metadata: Record<string, AttributeValue> = {};
  if (!mapInputOutput)
    return { metadata: { ...attributes }, input: undefined, output: undefined, hasInput: false, hasOutput: false };
  let input: Fields | undefined;
  let output: Fields | undefined;
  let indexed: { prompt: Record<string, unknown>[]; completion: Record<string, unknown>[] } | undefined;
  for (const key in attributes) {
    if (!hasOwn(attributes, key)) continue;
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    // Own keys only: an attribute named `constructor` or `toString` is metadata like any other.
    const inField = hasOwn(INPUT_KEYS, key) ? INPUT_KEYS[key] : undefined;
    if (inField !== undefined) {
      input = put(input, inField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
      continue;
    }
    const outField = hasOwn(OUTPUT_KEYS, key) ? OUTPUT_KEYS[key] : undefined;
    if (outField !== undefined) {
      output = put(output, outField, parseAttributeValue(value, ALWAYS_JSON.has(key)));
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
  if (indexed && indexed.prompt.length > 0 && !(input && hasOwn(input.values, 'prompt')))
    input = put(input, 'prompt', indexed.prompt.filter(Boolean));
  if (indexed && indexed.completion.length > 0 && !(output && hasOwn(output.values, 'completion')))
    output = put(output, 'completion', indexed.completion.filter(Boolean));
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
