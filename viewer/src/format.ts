// Small formatting helpers shared by the list and the trace page. Pure, no DOM.
import type { NodeData, NodeStatus, TraceStatus } from '../../src/core/types.js';
import { jsonText } from '../../src/core/json-text.js';

/** Human duration: 850 ms, 12.4 s, 3 m 05 s, 2 h 10 m. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/** Elapsed time of a node; running nodes count up to `now`. */
export function nodeDuration(n: NodeData, now: number): number | undefined {
  const start = n.start_time ?? n.created_at;
  if (n.end_time !== undefined) return n.end_time - start;
  if (n.status === 'running') return now - start;
  return undefined;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '–';
  const d = new Date(ms);
  const pad = (v: number, w = 2) => String(v).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDateTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '–';
  const d = new Date(ms);
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "12 s ago", "3 min ago", "yesterday"... */
export function formatAgo(ms: number | undefined, now: number): string {
  if (ms === undefined || ms <= 0) return '–';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const days = Math.floor(s / 86_400);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

export const STATUS_ICON: Record<NodeStatus | TraceStatus, string> = {
  pending: '○',
  running: '◐',
  completed: '✓',
  failed: '✕',
  skipped: '↷',
  cancelled: '⊘',
};

export const NODE_STATUSES: readonly NodeStatus[] = [
  'pending',
  'running',
  'completed',
  'failed',
  'skipped',
  'cancelled',
];
export const TRACE_STATUSES: readonly TraceStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

export function isTerminal(status: TraceStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** One-line preview of any JSON value, for tables and tooltips. */
export function preview(value: unknown, max = 120): string {
  const s = jsonText(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
