// Option parsers for commander: bad values are usage errors (exit 2) that name the option.
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../output.js';

export function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

export function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

export function parseNonNegativeInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected an integer >= 0');
  return Number(v);
}

export function parsePositiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

export function parseDurationOption(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration like 500ms, 30s, 15m, 12h, 7d or 2w');
  return ms;
}

/** Epoch ms, an ISO date, or a duration ago ("2h" = two hours ago). */
export function parseTimeOption(v: string): number {
  if (/^\d{10,16}$/.test(v)) return Number(v);
  const ago = parseDuration(v);
  if (ago !== undefined) return Date.now() - ago;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new InvalidArgumentError('expected epoch milliseconds, an ISO date, or a duration ago like 2h or 7d');
  return t;
}
