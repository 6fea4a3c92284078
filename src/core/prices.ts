// Model prices and the cost of one model call. A price table is plain JSON keyed by model
// name, the same format for `new Tracer({ prices })` and `livetrace serve --prices file.json`.
// The default table is small, dated and only an estimate: pass your own to override it.
// Depends on nothing but the core errors, so the viewer can import it.
import { InvalidArgumentError, shownValue } from './errors.js';
import type { Cost } from './types.js';

export interface ModelPrice {
  /** Price of one million input (prompt) tokens. */
  input_per_million: number;
  /** Price of one million output (completion) tokens. */
  output_per_million: number;
  /** ISO 4217 code, e.g. `USD`. */
  currency: string;
  /** Price of one million cached input tokens; default: the input price. */
  cached_input_per_million?: number;
}

export type PriceTable = Record<string, ModelPrice>;

/** Date the default table was read from the providers' public price pages. */
export const DEFAULT_PRICES_DATE = '2025-06-01';

/**
 * List prices (USD per million tokens, standard tier, no batch discount) as published on
 * DEFAULT_PRICES_DATE. Estimates only: providers change prices; override with `prices`.
 */
export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  'gpt-4o': { input_per_million: 2.5, output_per_million: 10, cached_input_per_million: 1.25, currency: 'USD' },
  'gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6, cached_input_per_million: 0.075, currency: 'USD' },
  'gpt-4.1': { input_per_million: 2, output_per_million: 8, cached_input_per_million: 0.5, currency: 'USD' },
  'gpt-4.1-mini': { input_per_million: 0.4, output_per_million: 1.6, cached_input_per_million: 0.1, currency: 'USD' },
  'gpt-4.1-nano': { input_per_million: 0.1, output_per_million: 0.4, cached_input_per_million: 0.025, currency: 'USD' },
  o3: { input_per_million: 2, output_per_million: 8, cached_input_per_million: 0.5, currency: 'USD' },
  'o4-mini': { input_per_million: 1.1, output_per_million: 4.4, cached_input_per_million: 0.275, currency: 'USD' },
  'text-embedding-3-small': { input_per_million: 0.02, output_per_million: 0, currency: 'USD' },
  'text-embedding-3-large': { input_per_million: 0.13, output_per_million: 0, currency: 'USD' },
  'claude-opus-4': { input_per_million: 15, output_per_million: 75, cached_input_per_million: 1.5, currency: 'USD' },
  'claude-sonnet-4': { input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, currency: 'USD' },
  'claude-3-7-sonnet': { input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, currency: 'USD' },
  'claude-3-5-sonnet': { input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, currency: 'USD' },
  'claude-3-5-haiku': {
    input_per_million: 0.8,
    output_per_million: 4,
    cached_input_per_million: 0.08,
    currency: 'USD',
  },
  'gemini-2.5-pro': { input_per_million: 1.25, output_per_million: 10, currency: 'USD' },
  'gemini-2.5-flash': { input_per_million: 0.3, output_per_million: 2.5, currency: 'USD' },
  'gemini-2.0-flash': { input_per_million: 0.1, output_per_million: 0.4, currency: 'USD' },
} satisfies PriceTable);

function price(name: string, key: string, value: unknown, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name}: ${key} of a price must be a finite number >= 0, got ${shownValue(value)}`);
  }
}

/**
 * Validates a price table (throws InvalidArgumentError naming the model and field) and
 * returns it merged over the defaults (`defaults: false` to use it alone).
 */
export function resolvePrices(table: unknown, name = 'prices', defaults = true): PriceTable {
  const out: PriceTable = Object.create(null) as PriceTable;
  if (defaults) Object.assign(out, DEFAULT_PRICES);
  if (table === undefined) return out;
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw new InvalidArgumentError(
      `${name} must be an object keyed by model name, got ${Array.isArray(table) ? 'an array' : table === null ? 'null' : typeof table}`,
    );
  }
  for (const [model, raw] of Object.entries(table as Record<string, unknown>)) {
    const where = `${name}[${JSON.stringify(model)}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new InvalidArgumentError(`${where} must be { input_per_million, output_per_million, currency }`);
    const p = raw as Record<string, unknown>;
    price(where, 'input_per_million', p['input_per_million'], false);
    price(where, 'output_per_million', p['output_per_million'], false);
    price(where, 'cached_input_per_million', p['cached_input_per_million'], true);
    if (typeof p['currency'] !== 'string' || !/^[A-Za-z]{3}$/.test(p['currency'])) {
      throw new InvalidArgumentError(
        `${where}: currency must be a 3-letter code such as "USD", got ${String(p['currency'])}`,
      );
    }
    const entry: ModelPrice = {
      input_per_million: p['input_per_million'] as number,
      output_per_million: p['output_per_million'] as number,
      currency: p['currency'].toUpperCase(),
    };
    if (p['cached_input_per_million'] !== undefined)
      entry.cached_input_per_million = p['cached_input_per_million'] as number;
    out[model] = entry;
  }
  return out;
}

/**
 * The price of `model`: an exact key, else the key with the provider prefix removed
 * (`openai/gpt-4o`, `models/gemini-2.5-pro`), else the longest key that the model name
 * extends with `-` (`gpt-4o-2024-08-06` -> `gpt-4o`, never `gpt-4o-mini` -> `gpt-4o`).
 */
export function findPrice(table: PriceTable, model: string): ModelPrice | undefined {
  if (typeof model !== 'string' || model === '') return undefined;
  const own = (k: string): ModelPrice | undefined =>
    Object.prototype.hasOwnProperty.call(table, k) ? table[k] : undefined;
  const exact = own(model);
  if (exact) return exact;
  const slash = model.lastIndexOf('/');
  const bare = (slash >= 0 ? model.slice(slash + 1) : model).toLowerCase();
  const hit = own(bare);
  if (hit) return hit;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    const k = key.toLowerCase();
    if (bare.startsWith(k + '-') && (best === undefined || key.length > best.length) && !isSiblingModel(bare, k))
      best = key;
  }
  return best === undefined ? undefined : table[best];
}

// `gpt-4o-mini-2024` must not fall back to `gpt-4o` when the table lacks `gpt-4o-mini`:
// a dated suffix starts with a digit; a sibling model (`mini`, `nano`, `turbo`) does not.
function isSiblingModel(model: string, key: string): boolean {
  const rest = model.slice(key.length + 1);
  return !/^\d/.test(rest) && !/^(latest|preview|exp)/.test(rest);
}

export interface TokenCounts {
  input_tokens: number;
  output_tokens: number;
  cached_tokens?: number;
}

/** Estimated cost of one call, or undefined when the model has no price. */
export function computeCost(table: PriceTable, model: string, tokens: TokenCounts): Cost | undefined {
  const p = findPrice(table, model);
  if (!p) return undefined;
  const cached = Math.min(tokens.cached_tokens ?? 0, tokens.input_tokens);
  const cachedRate = p.cached_input_per_million ?? p.input_per_million;
  const amount =
    ((tokens.input_tokens - cached) * p.input_per_million +
      cached * cachedRate +
      tokens.output_tokens * p.output_per_million) /
    1_000_000;
  return { amount: roundCost(amount), currency: p.currency, estimated: true };
}

/** Costs are kept to 1e-9 of a currency unit (so sums are exact integers of nano-units). */
export function roundCost(amount: number): number {
  return Math.round(amount * 1e9) / 1e9;
}
