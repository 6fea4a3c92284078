// Terminal output: colors only on a TTY (and never with NO_COLOR), a small table printer
// and human formats for durations and times.
import pc from 'picocolors';
import type { NodeStatus, TraceStatus } from '../core/types.js';
import { jsonText } from '../core/json-text.js';

export type Colors = ReturnType<typeof pc.createColors>;

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  colors: Colors;
}

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  const forced = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0';
  const enabled = forced || (stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb');
  return pc.createColors(enabled);
}

export function defaultIo(): Io {
  return { out: process.stdout, err: process.stderr, colors: colorsFor(process.stdout) };
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

const SYMBOLS: Record<string, string> = {
  pending: '○',
  running: '◌',
  completed: '✔',
  failed: '✖',
  cancelled: '⊘',
  skipped: '↷',
};

export function statusSymbol(status: NodeStatus | TraceStatus): string {
  return SYMBOLS[status] ?? '?';
}

export function paintStatus(c: Colors, status: NodeStatus | TraceStatus, text: string = status): string {
  switch (status) {
    case 'completed':
      return c.green(text);
    case 'failed':
      return c.red(text);
    case 'cancelled':
    case 'skipped':
      return c.yellow(text);
    case 'running':
      return c.cyan(text);
    default:
      return c.dim(text);
  }
}

/** Visible width (colors stripped; wide characters counted as one, good enough for ids and labels). */
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

/** A left-aligned table; `paint` colors cells after the widths are measured. */
export function table(headers: string[], rows: string[][], c: Colors): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  return [c.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

// ---- terminal safety -------------------------------------------------------------
// Everything the CLI prints from trace content (labels, messages, errors, keys, values)
// comes from the traced program, an LLM or a user: a C0/C1 control character in it could
// retitle the terminal, clear the screen, move the cursor or forge lines (CR, LF). This is
// the one place such characters are escaped; commands pass trace content through
// `terminalSafe` (deep) before rendering, and JSON output through `jsonForTerminal`.

/** C0 controls, DEL, C1 controls, line/paragraph separators and bidi overrides/isolates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character shown as a visible escape (`\e`, `\n`, `\x07`, `\u202e`). */
export function escapeTerminal(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** A deep copy of trace content in which every string (and object key) is terminal-safe. */
export function terminalSafe<T>(value: T): T {
  return safeValue(value, 0) as T;
}

function safeValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return escapeTerminal(value);
  if (value === null || typeof value !== 'object' || depth > 200) return value;
  if (Array.isArray(value)) return value.map((v) => safeValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = escapeTerminal(k);
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: safeValue(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = safeValue(v, depth + 1);
  }
  return out;
}

/**
 * JSON text safe to print on a terminal: JSON.stringify escapes C0 controls but leaves DEL,
 * C1 controls, U+2028/2029 and bidi controls raw; they only occur inside strings, where
 * `\uXXXX` is the same value, so the output parses to the same data.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}

export function oneLine(value: unknown, max = 80): string {
  const s = jsonText(value);
  return truncate(escapeTerminal(jsonForTerminal(s).replace(/\s+/g, ' ')), max);
}

/** `7d`, `12h`, `30m`, `45s`, `500ms` -> milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'ms'];
  return Math.round(Number(m[1]) * unit);
}
