// Id generation and validation. Random bytes come from a pooled buffer so that the hot
// path (one id per node) costs one table lookup per character.
import { InvalidIdError } from './errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
// 64 KiB: getRandomValues' own limit per call, and enough for about 5,000 ids per call
// (a 4 KiB pool, reallocated each time, made the refill 5% of the agent workload's profile).
const POOL_SIZE = 65536;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

function refill(): void {
  globalThis.crypto.getRandomValues(pool);
  offset = 0;
}

const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const idCodes: number[] = new Array<number>(12).fill(0);

/** 12 characters of [0-9a-z]: node and space ids. Built in one go: no string concatenation. */
export function newId(): string {
  let n = 0;
  // 252 = 36 * 7: rejecting bytes >= 252 keeps the distribution uniform.
  while (n < 12) {
    if (offset >= POOL_SIZE) refill();
    const b = pool[offset++]!;
    if (b < 252) idCodes[n++] = CODES[b % 36]!;
  }
  return String.fromCharCode.apply(null, idCodes);
}

/** `YYYYMMDD` + 12 random digits (UTC date): stores may partition by the date. */
export function newTraceId(now = new Date()): string {
  const y = now.getUTCFullYear();
  const m = String(now.getUTCMonth() + 1).padStart(2, '0');
  const d = String(now.getUTCDate()).padStart(2, '0');
  let digits = '';
  while (digits.length < 12) {
    if (offset >= POOL_SIZE) refill();
    const b = pool[offset++]!;
    if (b < 250) digits += String(b % 10);
  }
  return `${y}${m}${d}${digits}`;
}

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}

export function assertValidId(id: unknown, kind = 'trace'): asserts id is string {
  if (!isValidId(id)) throw new InvalidIdError(kind, id);
}

/** Date folder (`YYYY-MM-DD`) for a trace: from the id when it has the default format. */
export function traceDate(id: string, createdAt?: number): string {
  if (/^\d{20}$/.test(id)) return `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}`;
  const d = new Date(createdAt ?? Date.now());
  return d.toISOString().slice(0, 10);
}
