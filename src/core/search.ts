// Trace search: the ONE tokenizer every store indexes with, the text a batch of events
// contributes to its trace's index, and the validated form of a ListQuery's search part.
// Depends on nothing but errors.ts and types, so the browser and every store can import it.
//
// What a word is (docs/stores.md "Search"): a maximal run of Unicode letters (\p{L}),
// combining marks (\p{M}) and digits (\p{N}), lowercased with String.prototype.toLowerCase
// (locale-independent), at most MAX_TOKEN_CODE_POINTS code points (longer words are cut).
// Everything else separates words: spaces, punctuation, apostrophes ("don't" is "don" and
// "t"), underscores ("snake_case" is "snake" and "case"), symbols and emoji. Han, Hiragana
// and Katakana characters are one word each (those scripts write no spaces between words,
// so "東京タワー" is 東, 京, タ, ワ and ー... see tokenize()). No stemming, no stop words.
import { InvalidArgumentError } from './errors.js';
import type { TraceEvent } from './events.js';
import type { ListQuery, ListSort, NodeKind, TraceInfo } from './types.js';
import { NODE_KINDS } from './types.js';

/** Longest indexed word, in code points; longer words are cut to it (the query's too). */
export const MAX_TOKEN_CODE_POINTS = 64;
/** Most words a `q` may have. */
export const MAX_QUERY_TERMS = 32;
/** Longest `q`, in characters. */
export const MAX_QUERY_LENGTH = 1024;
/** JSON values are walked this deep for strings and numbers. */
const MAX_DEPTH = 32;

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}';
/** A run of letters, marks and digits (then split further if it holds CJK characters). */
const RUN_RE = /[\p{L}\p{M}\p{N}]+/gu;
const HAS_CJK_RE = new RegExp(`[${CJK}]`, 'u');
const WORD_RE = new RegExp(`[${CJK}]|(?:(?![${CJK}])[\\p{L}\\p{M}\\p{N}])+`, 'gu');

function cut(word: string): string {
  if (word.length <= MAX_TOKEN_CODE_POINTS) return word;
  const points = Array.from(word);
  return points.length <= MAX_TOKEN_CODE_POINTS ? word : points.slice(0, MAX_TOKEN_CODE_POINTS).join('');
}

/** Any character outside ASCII (the range includes the control characters: they are ASCII too). */
// eslint-disable-next-line no-control-regex -- the range starts at NUL on purpose
const NON_ASCII_RE = /[^\x00-\x7f]/;

/**
 * The ASCII fast path of eachWord (most of what agents log): there, letters, marks and
 * digits are exactly [A-Za-z0-9], and a code point is a UTF-16 unit. Same words as the
 * Unicode path, found without a regex match object per word.
 */
function eachAsciiWord(text: string, fn: (word: string) => void): void {
  let start = -1;
  for (let i = 0, n = text.length; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0;
    const lower = c | 0x20; // A-Z to a-z
    const word = (lower >= 0x61 && lower <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      fn(text.slice(start, Math.min(i, start + MAX_TOKEN_CODE_POINTS)).toLowerCase());
      start = -1;
    }
  }
}

function eachWord(text: string, fn: (word: string) => void): void {
  if (!NON_ASCII_RE.test(text)) return eachAsciiWord(text, fn);
  RUN_RE.lastIndex = 0;
  for (let m = RUN_RE.exec(text); m !== null; m = RUN_RE.exec(text)) {
    const run = m[0];
    if (!HAS_CJK_RE.test(run)) fn(cut(run.toLowerCase()));
    else for (const w of run.matchAll(WORD_RE)) fn(cut(w[0].toLowerCase()));
  }
}

/** The words of `text`, lowercased, in order, duplicates kept. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  eachWord(text, (w) => out.push(w));
  return out;
}

/** Strings up to this length are tokenized once per batch (labels and log lines repeat). */
const MEMO_MAX_LENGTH = 256;

/** The words of a batch, and the short strings already tokenized for it. */
class Words {
  readonly set = new Set<string>();
  readonly #texts = new Set<string>();
  readonly #add = (w: string): void => {
    this.set.add(w);
  };

  text(text: string): void {
    if (text.length <= MEMO_MAX_LENGTH) {
      if (this.#texts.has(text)) return;
      this.#texts.add(text);
    }
    eachWord(text, this.#add);
  }
}

/** String leaves and finite number leaves of a JSON value (object keys are not text). */
function addValue(v: unknown, into: Words, depth: number): void {
  if (typeof v === 'string') into.text(v);
  else if (typeof v === 'number') {
    if (Number.isFinite(v)) into.text(String(v));
  } else if (v !== null && typeof v === 'object' && depth < MAX_DEPTH) {
    if (Array.isArray(v)) for (const x of v) addValue(x, into, depth + 1);
    else for (const k of Object.keys(v)) addValue((v as Record<string, unknown>)[k], into, depth + 1);
  }
}

/** An error's name, message and code (not its stack: file paths are noise). */
function addError(e: unknown, into: Words): void {
  if (e === null || typeof e !== 'object') return;
  const err = e as Record<string, unknown>;
  for (const f of ['name', 'message', 'code']) {
    const v = err[f];
    if (typeof v === 'string' || typeof v === 'number') addValue(v, into, 0);
  }
}

function addNode(n: unknown, into: Words): void {
  if (n === null || typeof n !== 'object') return;
  const node = n as Record<string, unknown>;
  addValue(node['label'], into, 0);
  addValue(node['input'], into, 0);
  addValue(node['output'], into, 0);
  addError(node['error'], into);
}

/**
 * Adds the searchable words of one event: node labels, inputs and outputs (string and
 * number leaves of their JSON), log messages, and errors (name, message, code). The index
 * is cumulative: a word that was in any event of a trace keeps matching it, even after a
 * later update replaced the value that held it.
 */
function addEventWords(ev: TraceEvent, into: Words): void {
  const data = ev.data as unknown;
  if (data === null || typeof data !== 'object') return;
  const d = data as Record<string, unknown>;
  switch (ev.type) {
    case 'node_start':
      addNode(d['node'], into);
      if (Array.isArray(d['nodes'])) for (const n of d['nodes']) addNode(n, into);
      break;
    case 'node_updated':
      addNode(d['node'], into);
      break;
    case 'node_complete':
      addValue(d['output'], into, 0);
      break;
    case 'node_failed':
    case 'complete':
      addError(d['error'], into);
      break;
    case 'log_added':
      addValue(d['message'], into, 0);
      break;
    default:
      break;
  }
}

/** The distinct searchable words of a batch of events. */
export function batchTokens(events: readonly TraceEvent[]): Set<string> {
  const words = new Words();
  for (const ev of events) {
    if (ev !== null && typeof ev === 'object') addEventWords(ev, words);
  }
  return words.set;
}

// ---- facets: what the kind/model/meta filters match ------------------------------------

/** Metadata keys a `meta.<key>` filter may name. */
export const META_KEY_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Longest metadata value a filter can match. */
export const MAX_META_VALUE = 256;

/** `[key, value]` of a metadata filter, as one string (the form stores index). */
export function metaFacet(key: string, value: string): string {
  return JSON.stringify([key, value]);
}

/**
 * The metadata pairs of `info` a `meta.<key>=<value>` filter matches: top-level keys
 * matching META_KEY_RE whose value is a string (itself), a finite number or a boolean
 * (its JavaScript string form: `2`, `1.5`, `true`), at most MAX_META_VALUE characters.
 */
export function metaFacets(info: TraceInfo): string[] {
  const out: string[] = [];
  const m = info.metadata;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return out;
  for (const k of Object.keys(m)) {
    if (!META_KEY_RE.test(k)) continue;
    const v = m[k];
    let s: string | undefined;
    if (typeof v === 'string') s = v;
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') s = String(v);
    if (s !== undefined && s.length <= MAX_META_VALUE) out.push(metaFacet(k, s));
  }
  return out.sort();
}

/**
 * Every facet of `info` as one sorted list of strings: `k:<kind>`, `m:<model>`,
 * `meta:<JSON [key, value]>`. The SQL stores index this list.
 */
export function facetsOf(info: TraceInfo): string[] {
  const out: string[] = [];
  if (Array.isArray(info.kinds)) for (const k of info.kinds) if (typeof k === 'string') out.push(`k:${k}`);
  if (Array.isArray(info.models)) for (const m of info.models) if (typeof m === 'string') out.push(`m:${m}`);
  for (const f of metaFacets(info)) out.push(`meta:${f}`);
  return [...new Set(out)].sort();
}

// ---- sort keys ----------------------------------------------------------------------------

export const SORTS: readonly ListSort[] = [
  '-created_at',
  'created_at',
  '-duration',
  'duration',
  '-tokens',
  'tokens',
  '-cost',
  'cost',
];
const SORT_SET: ReadonlySet<string> = new Set(SORTS);

/** The sort value a trace lacks (a running trace's duration, a cost never computed). */
export const MISSING = -1;

export type SortField = 'created_at' | 'duration' | 'tokens' | 'cost';

function finiteOr(v: unknown, missing: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : missing;
}

/** Duration in ms, or MISSING while the trace runs. */
export function durationOf(info: TraceInfo): number {
  return finiteOr(info.duration, MISSING);
}
/** Total tokens (0 without usage). */
export function tokensOf(info: TraceInfo): number {
  return finiteOr(info.usage?.total_tokens, 0);
}
/** Cost amount (whatever its currency), or MISSING. */
export function costOf(info: TraceInfo): number {
  return finiteOr(info.usage?.cost?.amount, MISSING);
}

export function sortValue(info: TraceInfo, field: SortField): number {
  switch (field) {
    case 'created_at':
      return info.created_at;
    case 'duration':
      return durationOf(info);
    case 'tokens':
      return tokensOf(info);
    case 'cost':
      return costOf(info);
  }
}

// ---- the validated query ------------------------------------------------------------------

export interface Range {
  min?: number;
  max?: number;
}

/** A ListQuery's search part, validated: what every store answers. */
export interface SearchPlan {
  /** Distinct words of `q` (every one must occur); empty: no text condition. */
  terms: string[];
  sessionId?: string;
  userId?: string;
  kind?: NodeKind;
  model?: string;
  /** metaFacet() strings, every one required. */
  meta: string[];
  duration: Range;
  tokens: Range;
  cost: Range;
  sort: ListSort;
  field: SortField;
  descending: boolean;
  /** True when the plan is the plain newest-first listing (no search condition). */
  plain: boolean;
}

function bad(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}

function optString(name: string, v: unknown, max = 256): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw bad(`list query ${name} must be a string of 1-${max} characters, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  try {
    const s = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
    return s.slice(0, 60);
  } catch {
    return typeof v;
  }
}

function range(nameMin: string, nameMax: string, min: unknown, max: unknown): Range {
  const r: Range = {};
  for (const [name, v, slot] of [
    [nameMin, min, 'min'],
    [nameMax, max, 'max'],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw bad(`list query ${name} must be a finite number >= 0, got ${describe(v)}`);
    r[slot] = v;
  }
  if (r.min !== undefined && r.max !== undefined && r.min > r.max)
    throw bad(`list query ${nameMin} (${r.min}) is greater than ${nameMax} (${r.max})`);
  return r;
}

/** Validates the search part of a query (an InvalidArgumentError names the bad field). */
export function searchPlan(q: ListQuery): SearchPlan {
  let terms: string[] = [];
  if (q.q !== undefined) {
    if (typeof q.q !== 'string') throw bad(`list query q must be a string, got ${describe(q.q)}`);
    if (q.q.length > MAX_QUERY_LENGTH) throw bad(`list query q is longer than ${MAX_QUERY_LENGTH} characters`);
    terms = [...new Set(tokenize(q.q))];
    if (terms.length > MAX_QUERY_TERMS) throw bad(`list query q has more than ${MAX_QUERY_TERMS} words`);
  }
  const sort = q.sort ?? '-created_at';
  if (typeof sort !== 'string' || !SORT_SET.has(sort))
    throw bad(`list query sort must be one of ${SORTS.join(', ')}, got ${describe(sort)}`);
  const descending = sort.startsWith('-');
  const field = (descending ? sort.slice(1) : sort) as SortField;
  let kind: NodeKind | undefined;
  if (q.kind !== undefined) {
    if (typeof q.kind !== 'string' || !(NODE_KINDS as readonly string[]).includes(q.kind))
      throw bad(`list query kind must be one of ${NODE_KINDS.join(', ')}, got ${describe(q.kind)}`);
    kind = q.kind;
  }
  const meta: string[] = [];
  if (q.meta !== undefined) {
    if (q.meta === null || typeof q.meta !== 'object' || Array.isArray(q.meta))
      throw bad(`list query meta must be an object of key -> string value, got ${describe(q.meta)}`);
    for (const k of Object.keys(q.meta)) {
      if (!META_KEY_RE.test(k)) throw bad(`list query meta key must match ${String(META_KEY_RE)}, got ${describe(k)}`);
      const v = optString(`meta.${k}`, (q.meta as Record<string, unknown>)[k], MAX_META_VALUE)!;
      if (v === undefined) throw bad(`list query meta.${k} must be a string`);
      meta.push(metaFacet(k, v));
    }
    meta.sort();
  }
  const plan: SearchPlan = {
    terms,
    meta,
    duration: range('minDurationMs', 'maxDurationMs', q.minDurationMs, q.maxDurationMs),
    tokens: range('minTokens', 'maxTokens', q.minTokens, q.maxTokens),
    cost: range('minCost', 'maxCost', q.minCost, q.maxCost),
    sort,
    field,
    descending,
    plain: false,
  };
  const sessionId = optString('sessionId', q.sessionId);
  if (sessionId !== undefined) plan.sessionId = sessionId;
  const userId = optString('userId', q.userId);
  if (userId !== undefined) plan.userId = userId;
  if (kind !== undefined) plan.kind = kind;
  const model = optString('model', q.model);
  if (model !== undefined) plan.model = model;
  plan.plain =
    terms.length === 0 &&
    sort === '-created_at' &&
    sessionId === undefined &&
    userId === undefined &&
    kind === undefined &&
    model === undefined &&
    meta.length === 0 &&
    !hasRange(plan.duration) &&
    !hasRange(plan.tokens) &&
    !hasRange(plan.cost);
  return plan;
}

export function hasRange(r: Range): boolean {
  return r.min !== undefined || r.max !== undefined;
}

/** A value in a range; a negative value (MISSING) never is, when the range says anything. */
export function inRange(v: number, r: Range): boolean {
  if (!hasRange(r)) return true;
  if (v < 0) return false; // MISSING, or a forged negative value
  return (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);
}

/** True if `info` passes every non-text condition of the plan. */
export function matchesPlan(info: TraceInfo, p: SearchPlan): boolean {
  if (p.sessionId !== undefined && info.session_id !== p.sessionId) return false;
  if (p.userId !== undefined && info.user_id !== p.userId) return false;
  if (p.kind !== undefined && !(Array.isArray(info.kinds) && info.kinds.includes(p.kind))) return false;
  if (p.model !== undefined && !(Array.isArray(info.models) && info.models.includes(p.model))) return false;
  if (p.meta.length > 0) {
    const have = new Set(metaFacets(info));
    for (const m of p.meta) if (!have.has(m)) return false;
  }
  return inRange(durationOf(info), p.duration) && inRange(tokensOf(info), p.tokens) && inRange(costOf(info), p.cost);
}
