// Value capture: turns anything JavaScript can hold into a JSON-safe copy at call time, so
// that later mutation of the caller's object changes nothing recorded and every store can
// serialize it. Non-JSON values become tagged objects (`{ $type: ... }`); see docs/events.md.
import type { ErrorData } from './types.js';

export interface CaptureLimits {
  /** Approximate size budget of one captured value, in characters of JSON. */
  maxValueSize: number;
  /** Maximum nesting depth. */
  maxDepth: number;
  /** Labels, icons, titles, agent names, error names, reasons. Default 1024 characters. */
  maxLabelLength?: number;
  /** Log messages, error messages, descriptions. Default 16384 characters. */
  maxMessageLength?: number;
  /** Object keys (metadata, values), space keys, created_by/team/tenant ids. Default 256 characters. */
  maxKeyLength?: number;
}

export const DEFAULT_STRING_LIMITS = { maxLabelLength: 1024, maxMessageLength: 16 * 1024, maxKeyLength: 256 } as const;

export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = {
  maxValueSize: 64 * 1024,
  maxDepth: 32,
  ...DEFAULT_STRING_LIMITS,
};

export const TRUNCATED = '…[truncated]';

// ---- caller-given strings ------------------------------------------------------------
// Every string a caller hands over (labels, messages, keys...) is bounded here, with the
// marker values use, so that what is stored stays proportional to bounded input.

/** `value` as bounded text: strings cut at `max` characters (+ the truncation marker). */
export function captureText(value: unknown, max: number): string {
  const s = typeof value === 'string' ? value : safeString(value);
  return s.length <= max ? s : truncateString(s, max);
}

/**
 * `key` bounded to about `max` characters. A longer key keeps its start, the marker and a
 * short hash of the whole key, so two long keys with a common prefix never merge.
 */
export function captureKey(key: string, max: number): string {
  if (key.length <= max) return key;
  const tag = `${TRUNCATED}#${shortHash(key)}`;
  return key.slice(0, Math.max(1, max - tag.length)) + tag;
}

/** 53-bit string hash (cyrb53) in base 36: stable, fast, no dependency (runs in browsers). */
export function shortHash(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

interface Ctx {
  budget: number;
  readonly maxDepth: number;
  readonly maxKey: number;
  readonly maxLabel: number;
  readonly maxMessage: number;
  /**
   * The objects being walked (the path from the root): a cycle is one of them met again.
   * A stack, not a Set: it is at most maxDepth long, and a Set per capture() call was the
   * largest allocation of capturing a small object (every node's metadata, every output).
   */
  readonly seen: object[];
  truncated: boolean;
}

function ctxOf(limits: CaptureLimits, seen: object[] = []): Ctx {
  return {
    budget: limits.maxValueSize,
    maxDepth: limits.maxDepth,
    maxKey: limits.maxKeyLength ?? DEFAULT_STRING_LIMITS.maxKeyLength,
    maxLabel: limits.maxLabelLength ?? DEFAULT_STRING_LIMITS.maxLabelLength,
    maxMessage: limits.maxMessageLength ?? DEFAULT_STRING_LIMITS.maxMessageLength,
    seen,
    truncated: false,
  };
}

/** JSON-safe deep copy of `value`. Never throws. Top-level `undefined` stays `undefined`. */
export function capture(value: unknown, limits: CaptureLimits = DEFAULT_CAPTURE_LIMITS): unknown {
  // Fast path: primitives that need no copy.
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { $type: 'number', value: String(value) };
    case 'string':
      return value.length <= limits.maxValueSize ? value : truncateString(value, limits.maxValueSize);
    default:
      break; // objects, null, bigints, symbols, functions: the walk below
  }
  if (value === null) return null;
  const ctx = ctxOf(limits);
  try {
    return walk(value, ctx, 0);
  } catch (err) {
    // A hostile getter or proxy: record that we could not read it rather than throw.
    return { $type: 'unserializable', error: safeString(err) };
  }
}

function truncateString(s: string, max: number): string {
  return s.slice(0, Math.max(0, max)) + `${TRUNCATED} (${s.length} chars)`;
}

function walk(value: unknown, ctx: Ctx, depth: number): unknown {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'boolean':
      ctx.budget -= 5;
      return value;
    case 'number':
      ctx.budget -= 8;
      return Number.isFinite(value) ? value : { $type: 'number', value: String(value) };
    case 'string': {
      if (value.length > ctx.budget) {
        ctx.truncated = true;
        const s = truncateString(value, ctx.budget);
        ctx.budget = 0;
        return s;
      }
      ctx.budget -= value.length + 2;
      return value;
    }
    case 'bigint':
      ctx.budget -= 20;
      return { $type: 'bigint', value: value.toString() };
    case 'symbol':
      ctx.budget -= 20;
      return { $type: 'symbol', description: value.description ?? '' };
    case 'function':
      ctx.budget -= 20;
      return { $type: 'function', name: value.name || '(anonymous)' };
    case 'object':
      break;
  }
  if (value === null) {
    ctx.budget -= 4;
    return null;
  }
  const obj = value;
  if (ctx.seen.includes(obj)) return { $type: 'circular' };
  if (depth >= ctx.maxDepth) {
    ctx.truncated = true;
    return { $type: 'truncated', reason: 'depth' };
  }
  if (ctx.budget <= 0) {
    ctx.truncated = true;
    return { $type: 'truncated', reason: 'size' };
  }
  ctx.seen.push(obj);
  try {
    return walkObject(obj, ctx, depth);
  } finally {
    ctx.seen.pop();
  }
}

function walkObject(obj: object, ctx: Ctx, depth: number): unknown {
  if (Array.isArray(obj)) return walkList(obj, ctx, depth);
  if (obj instanceof Date) {
    ctx.budget -= 26;
    return Number.isNaN(obj.getTime()) ? { $type: 'date', value: 'Invalid Date' } : obj.toISOString();
  }
  if (obj instanceof Error) return captureErrorIn(obj, ctx, depth);
  if (obj instanceof Map) {
    const entries: unknown[] = [];
    for (const [k, v] of obj) {
      if (ctx.budget <= 0) {
        entries.push(`${TRUNCATED} (${obj.size - entries.length} more entries)`);
        ctx.truncated = true;
        break;
      }
      entries.push([walk(k, ctx, depth + 1), walk(v, ctx, depth + 1) ?? null]);
    }
    return { $type: 'map', entries };
  }
  if (obj instanceof Set) return { $type: 'set', values: walkList([...obj], ctx, depth) };
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    const view = obj instanceof ArrayBuffer ? new Uint8Array(obj) : obj;
    const name = obj.constructor?.name ?? 'ArrayBuffer';
    const length = 'length' in view ? (view as unknown as { length: number }).length : view.byteLength;
    const shown = Math.max(0, Math.min(length, 256, Math.floor(ctx.budget / 4)));
    const values: unknown[] = [];
    if (!(view instanceof DataView)) {
      const arr = view as unknown as ArrayLike<number | bigint>;
      for (let i = 0; i < shown; i++) {
        const v = arr[i];
        values.push(typeof v === 'bigint' ? v.toString() : v);
      }
    }
    ctx.budget -= shown * 4 + 40;
    const out: Record<string, unknown> = { $type: name, length, values };
    if (shown < length && !(view instanceof DataView)) out['truncated'] = true;
    return out;
  }
  if (obj instanceof RegExp) {
    ctx.budget -= obj.source.length + 10;
    return { $type: 'regexp', value: String(obj) };
  }
  if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef) {
    return { $type: obj.constructor.name };
  }
  if (typeof (obj as { then?: unknown }).then === 'function') return { $type: 'promise' };
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const json = (toJSON as () => unknown).call(obj);
    if (json !== obj) return walk(json, ctx, depth + 1);
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj);
  ctx.budget -= 2;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (ctx.budget <= 0) {
      out['$truncated'] = `${keys.length - i} more keys`;
      ctx.truncated = true;
      break;
    }
    let v: unknown;
    try {
      v = walk((obj as Record<string, unknown>)[k], ctx, depth + 1);
    } catch (err) {
      // A throwing getter loses its own value only.
      v = { $type: 'unserializable', error: safeString(err) };
    }
    if (v !== undefined) {
      const key = captureKey(k, ctx.maxKey);
      ctx.budget -= key.length + 3;
      setOwn(out, key, v);
    }
  }
  return out;
}

function walkList(list: readonly unknown[], ctx: Ctx, depth: number): unknown[] {
  const out: unknown[] = [];
  ctx.budget -= 2;
  for (let i = 0; i < list.length; i++) {
    if (ctx.budget <= 0) {
      out.push(`${TRUNCATED} (${list.length - i} more items)`);
      ctx.truncated = true;
      break;
    }
    const v = walk(list[i], ctx, depth + 1);
    out.push(v === undefined ? null : v);
    ctx.budget -= 1;
  }
  return out;
}

function captureErrorIn(err: Error, ctx: Ctx, depth: number): ErrorData {
  const out: ErrorData = {
    $type: 'error',
    name: captureText(err.name, ctx.maxLabel) || 'Error',
    message: captureText(err.message, ctx.maxMessage),
  };
  const stack: unknown = err.stack;
  if (typeof stack === 'string') out.stack = captureText(stack, 8192);
  ctx.budget -= out.message.length + (out.stack?.length ?? 0) + 20;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err.cause !== undefined) out.cause = walk(err.cause, ctx, depth + 1);
  for (const k of Object.keys(err)) {
    if (k === 'code' || k === 'cause' || k in out) continue;
    const v = walk((err as unknown as Record<string, unknown>)[k], ctx, depth + 1);
    if (v !== undefined) setOwn(out, captureKey(k, ctx.maxKey), v);
  }
  return out;
}

/**
 * What `fail(error)` records: always a fresh ErrorData with name and message, copied and
 * bounded like any value (an error-like object of the caller is never kept: mutating it
 * later changes nothing recorded). Never throws.
 */
export function captureError(error: unknown, limits: CaptureLimits = DEFAULT_CAPTURE_LIMITS): ErrorData {
  const maxLabel = limits.maxLabelLength ?? DEFAULT_STRING_LIMITS.maxLabelLength;
  const maxMessage = limits.maxMessageLength ?? DEFAULT_STRING_LIMITS.maxMessageLength;
  try {
    if (error instanceof Error) {
      const data = captureErrorIn(error, ctxOf(limits, [error]), 0);
      delete data['$type'];
      return data;
    }
    if (typeof error === 'string') return { name: 'Error', message: captureText(error, maxMessage) };
    if (error !== null && typeof error === 'object') {
      const v = capture(error, limits);
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return { name: 'Error', message: captureText(safeJson(v), maxMessage) };
      const o = v as Record<string, unknown>;
      const message = captureText(typeof o['message'] === 'string' ? o['message'] : safeJson(o), maxMessage);
      const name = typeof o['name'] === 'string' && o['name'] !== '' ? captureText(o['name'], maxLabel) : 'Error';
      const out: ErrorData = { name, message };
      for (const k of Object.keys(o)) if (k !== 'name' && k !== 'message') setOwn(out, k, o[k]);
      return out;
    }
    return { name: 'Error', message: captureText(safeString(error), maxMessage) };
  } catch (e) {
    return { name: 'Error', message: `[unreadable error: ${captureText(safeString(e), 200)}]` };
  }
}

/** Assigns without tripping the `__proto__` setter. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return '[unprintable]';
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '[unprintable]';
  }
}
