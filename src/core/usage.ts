// Usage of a model call: what `node.setUsage()` / `add(input, { usage })` accept, and its
// normalized wire form (`NodeUsage`, snake_case, with the cost computed at call time).
import { InvalidArgumentError, shownValue } from './errors.js';
import { computeCost, roundCost, type PriceTable } from './prices.js';
import { rollupNodes } from './rollup.js';
import type { Cost, NodeUsage, TraceSnapshot } from './types.js';

export interface UsageInput {
  /** Model name as the provider reports it (looked up in the price table). Default `unknown`. */
  model?: string;
  provider?: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  timeToFirstTokenMs?: number;
  /**
   * A cost the framework reported (not estimated): a number in USD or `{ amount, currency }`.
   * Default: estimated from the tracer's price table.
   */
  cost?: number | { amount: number; currency: string };
}

function count(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`setUsage(): ${name} must be a finite number >= 0, got ${shownValue(value)}`);
  }
  return value;
}

/** Validates `input` (InvalidArgumentError naming the field) and builds the stored usage. */
export function normalizeUsage(input: UsageInput, prices: PriceTable): NodeUsage {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError(
      `setUsage() needs an object { model, inputTokens, outputTokens, ... }, got ${Array.isArray(input) ? 'an array' : input === null ? 'null' : typeof input}`,
    );
  }
  if (input.model !== undefined && typeof input.model !== 'string')
    throw new InvalidArgumentError(`setUsage(): model must be a string, got ${typeof input.model}`);
  if (input.provider !== undefined && typeof input.provider !== 'string')
    throw new InvalidArgumentError(`setUsage(): provider must be a string, got ${typeof input.provider}`);
  const inputTokens = count('inputTokens', input.inputTokens) ?? 0;
  const outputTokens = count('outputTokens', input.outputTokens) ?? 0;
  const usage: NodeUsage = {
    model: input.model === undefined || input.model === '' ? 'unknown' : input.model.slice(0, 256),
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
  };
  if (input.provider !== undefined && input.provider !== '') usage.provider = input.provider.slice(0, 256);
  const cached = count('cachedTokens', input.cachedTokens);
  if (cached !== undefined) usage.cached_tokens = cached;
  const reasoning = count('reasoningTokens', input.reasoningTokens);
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  const ttft = count('timeToFirstTokenMs', input.timeToFirstTokenMs);
  if (ttft !== undefined) usage.ttft_ms = ttft;
  const cost = input.cost === undefined ? computeCost(prices, usage.model, usage) : reportedCost(input.cost);
  if (cost) usage.cost = cost;
  return usage;
}

function reportedCost(cost: unknown): Cost {
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0)
    return { amount: roundCost(cost), currency: 'USD', estimated: false };
  if (cost !== null && typeof cost === 'object') {
    const c = cost as Record<string, unknown>;
    if (
      typeof c['amount'] === 'number' &&
      Number.isFinite(c['amount']) &&
      c['amount'] >= 0 &&
      typeof c['currency'] === 'string' &&
      /^[A-Za-z]{3}$/.test(c['currency'])
    ) {
      return { amount: roundCost(c['amount']), currency: c['currency'].toUpperCase(), estimated: false };
    }
  }
  throw new InvalidArgumentError(
    `setUsage(): cost must be a number >= 0 (USD) or { amount, currency }, got ${JSON.stringify(cost) ?? typeof cost}`,
  );
}

/**
 * Fills in the cost of usage that has none (ingested traces, `serve --prices`). Returns
 * the same object when nothing changes.
 */
export function withCost(usage: NodeUsage, prices: PriceTable): NodeUsage {
  if (usage.cost !== undefined || typeof usage.model !== 'string') return usage;
  const cost = computeCost(prices, usage.model, {
    input_tokens: finite(usage.input_tokens),
    output_tokens: finite(usage.output_tokens),
    cached_tokens: finite(usage.cached_tokens),
  });
  return cost ? { ...usage, cost } : usage;
}

function finite(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Fills in the missing costs of a snapshot's nodes from `prices` (in place) and, when one
 * changed, its `info.usage` rollup. Idempotent. Returns true if anything changed.
 */
export function fillMissingCosts(snapshot: TraceSnapshot, prices: PriceTable): boolean {
  let changed = false;
  for (const node of snapshot.nodes) {
    const u = node.usage;
    if (u === null || typeof u !== 'object' || u.cost !== undefined) continue;
    const next = withCost(u, prices);
    if (next !== u) {
      node.usage = next;
      changed = true;
    }
  }
  if (changed) snapshot.info.usage = rollupNodes(snapshot.nodes);
  return changed;
}
