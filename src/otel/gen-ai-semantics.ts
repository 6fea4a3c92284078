// What an OTel span stands for (its node kind) and the usage of the model call it records,
// read from its attributes. Shared by the span processor and the OTLP receiver, so a span
// maps to the same node whichever way it arrives.
//
// Sources, read from the conventions and the packages:
// - OTel GenAI semantic conventions: gen_ai.operation.name (chat, text_completion,
//   generate_content, embeddings, execute_tool, invoke_agent, create_agent),
//   gen_ai.request.model / gen_ai.response.model, gen_ai.provider.name (older gen_ai.system),
//   gen_ai.usage.input_tokens / output_tokens (older prompt_tokens / completion_tokens),
//   gen_ai.usage.cache_read.input_tokens, gen_ai.usage.reasoning.output_tokens.
// - OpenInference: openinference.span.kind (LLM, TOOL, RETRIEVER, EMBEDDING, AGENT, CHAIN,
//   GUARDRAIL, RERANKER, EVALUATOR), llm.model_name, llm.provider / llm.system,
//   llm.token_count.prompt / completion / total, llm.token_count.prompt_details.cache_read,
//   llm.token_count.completion_details.reasoning.
// - Vercel AI SDK telemetry (ai 4-6): ai.operationId (ai.generateText.doGenerate ...),
//   ai.model.id / ai.model.provider, ai.usage.promptTokens / completionTokens (v4) or
//   inputTokens / outputTokens (v5+), ai.usage.cachedInputTokens, ai.usage.reasoningTokens,
//   ai.response.msToFirstChunk.
import { NODE_KIND_SET } from '../core/rollup.js';
import type { NodeKind } from '../core/types.js';
import type { UsageInput } from '../core/usage.js';
import type { AttributeValue, Attributes } from './gen-ai-attributes.js';

const GEN_AI_OPERATIONS: Record<string, NodeKind> = {
  chat: 'llm',
  text_completion: 'llm',
  generate_content: 'llm',
  embeddings: 'embedding',
  execute_tool: 'tool',
  invoke_agent: 'agent',
  create_agent: 'agent',
};

const OPENINFERENCE_KINDS: Record<string, NodeKind> = {
  LLM: 'llm',
  TOOL: 'tool',
  RETRIEVER: 'retriever',
  RERANKER: 'retriever',
  EMBEDDING: 'embedding',
  AGENT: 'agent',
  CHAIN: 'chain',
  GUARDRAIL: 'guardrail',
};

const AI_SDK_CALLS: Record<string, NodeKind> = {
  'ai.generateText.doGenerate': 'llm',
  'ai.streamText.doStream': 'llm',
  'ai.generateObject.doGenerate': 'llm',
  'ai.streamObject.doStream': 'llm',
  'ai.embed.doEmbed': 'embedding',
  'ai.embedMany.doEmbed': 'embedding',
  'ai.rerank.doRerank': 'retriever',
  'ai.toolCall': 'tool',
  'ai.generateText': 'agent',
  'ai.streamText': 'agent',
  'ai.generateObject': 'agent',
  'ai.streamObject': 'agent',
  'ai.embed': 'chain',
  'ai.embedMany': 'chain',
  'ai.rerank': 'chain',
};

/** The node kind of a span, or undefined when its attributes say nothing about it. */
export function spanNodeKind(attributes: Attributes): NodeKind | undefined {
  // A span livetrace exported itself (toOtlp) says it directly.
  const own = attributes['livetrace.kind'];
  if (typeof own === 'string' && NODE_KIND_SET.has(own)) return own as NodeKind;
  const op = attributes['gen_ai.operation.name'];
  if (typeof op === 'string' && Object.prototype.hasOwnProperty.call(GEN_AI_OPERATIONS, op))
    return GEN_AI_OPERATIONS[op];
  const oi = attributes['openinference.span.kind'];
  if (typeof oi === 'string') {
    const k = oi.toUpperCase();
    if (Object.prototype.hasOwnProperty.call(OPENINFERENCE_KINDS, k)) return OPENINFERENCE_KINDS[k];
  }
  const ai = attributes['ai.operationId'];
  if (typeof ai === 'string' && Object.prototype.hasOwnProperty.call(AI_SDK_CALLS, ai)) return AI_SDK_CALLS[ai];
  return undefined;
}

function first(attributes: Attributes, keys: readonly string[]): AttributeValue {
  for (const k of keys) {
    const v = attributes[k];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

function tokens(attributes: Attributes, keys: readonly string[]): number | undefined {
  const v = first(attributes, keys);
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function text(attributes: Attributes, keys: readonly string[]): string | undefined {
  const v = first(attributes, keys);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

const INPUT_TOKENS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.token_count.prompt',
  'ai.usage.inputTokens',
  'ai.usage.promptTokens',
];
const OUTPUT_TOKENS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.token_count.completion',
  'ai.usage.outputTokens',
  'ai.usage.completionTokens',
];

/**
 * The usage of the model call a span records, or undefined when it reports no tokens.
 * Only model calls (kind `llm` or `embedding`) carry usage: an agent or operation span
 * that sums its calls' tokens must not count them a second time.
 */
export function spanUsage(
  attributes: Attributes,
  kind: NodeKind | undefined = spanNodeKind(attributes),
): UsageInput | undefined {
  if (kind !== undefined && kind !== 'llm' && kind !== 'embedding') return undefined;
  const input = tokens(attributes, INPUT_TOKENS);
  const output = tokens(attributes, OUTPUT_TOKENS);
  if (input === undefined && output === undefined) return undefined;
  const usage: UsageInput = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  const model = text(attributes, [
    'gen_ai.response.model',
    'gen_ai.request.model',
    'llm.model_name',
    'ai.response.model',
    'ai.model.id',
  ]);
  if (model !== undefined) usage.model = model;
  const provider = text(attributes, [
    'gen_ai.provider.name',
    'gen_ai.system',
    'llm.provider',
    'llm.system',
    'ai.model.provider',
  ]);
  if (provider !== undefined) usage.provider = provider;
  const cached = tokens(attributes, [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read',
    'ai.usage.cachedInputTokens',
  ]);
  if (cached !== undefined) usage.cachedTokens = cached;
  const reasoning = tokens(attributes, [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning',
    'ai.usage.reasoningTokens',
  ]);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  const ttft = tokens(attributes, ['ai.response.msToFirstChunk']);
  if (ttft !== undefined) usage.timeToFirstTokenMs = ttft;
  return usage;
}
