// `livetrace show`: the node graph as a terminal tree. The graph is a DAG; a join (a node
// with several parents) is drawn once, as the last child of its parents' nearest common
// ancestor, and marked with the parents it joins.
import type { LogEntry, NodeData, TraceSnapshot } from '../core/types.js';
import { formatDuration, formatTime, oneLine, paintStatus, statusSymbol, type Colors } from './output.js';
import { isActive } from '../core/status.js';

export interface TreeOptions {
  logs?: boolean;
  /** "Now" for the duration of running nodes. */
  now?: number;
}

export function renderTrace(snap: TraceSnapshot, c: Colors, options: TreeOptions = {}): string {
  const { info } = snap;
  const now = options.now ?? Date.now();
  const lines: string[] = [];
  const duration = info.duration ?? (info.status === 'running' ? now - info.created_at : undefined);
  lines.push(
    `${c.bold('trace')} ${info.id}  ${paintStatus(c, info.status, `${statusSymbol(info.status)} ${info.status}`)}  ${formatDuration(duration)}` +
      c.dim(
        `  ${info.agent_name ?? ''}${info.agent_name ? '  ' : ''}${snap.nodes.length} nodes  ${snap.events_count} events  ${formatTime(info.created_at)}${info.archived ? '  archived' : ''}`,
      ),
  );
  if (info.reason) lines.push(c.dim(`reason: ${info.reason}`));
  lines.push('');
  lines.push(...renderTree(snap.nodes, snap.logs, c, { ...options, now }));
  if (snap.spaces.length > 0) {
    lines.push('', c.bold('spaces'));
    for (const s of snap.spaces) {
      const keys = Object.keys(s.data);
      lines.push(
        `  ${s.icon ? s.icon + ' ' : ''}${s.label ?? s.id} ${c.dim(`(${s.id})`)}  ${keys.length} key${keys.length === 1 ? '' : 's'}`,
      );
      for (const k of keys) lines.push(`    ${c.cyan(k)} = ${oneLine(s.data[k], 70)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function renderTree(
  nodes: readonly NodeData[],
  logs: readonly LogEntry[],
  c: Colors,
  options: TreeOptions = {},
): string[] {
  const now = options.now ?? Date.now();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const placement = new Map<string, string | undefined>();
  const chain = (id: string): string[] => {
    const out: string[] = [];
    let cur: string | undefined = id;
    while (cur !== undefined && out.length <= nodes.length) {
      out.push(cur);
      cur = placement.get(cur);
    }
    return out;
  };
  // Nodes come in creation order, so a node's parents are placed before it.
  for (const n of nodes) {
    const parents = n.parent_ids.filter((p) => byId.has(p));
    if (parents.length <= 1) {
      placement.set(n.id, parents[0]);
      continue;
    }
    const chains = parents.map((p) => new Set(chain(p)));
    const common = chain(parents[0]!).find((a) => chains.every((s) => s.has(a)) && !parents.includes(a));
    const self = parents.find((p) => chains.every((s) => s.has(p)));
    placement.set(n.id, self ?? common ?? parents[parents.length - 1]);
  }
  const children = new Map<string | undefined, NodeData[]>();
  for (const n of nodes) {
    const p = placement.get(n.id);
    let list = children.get(p);
    if (!list) children.set(p, (list = []));
    list.push(n);
  }
  const logsOf = new Map<string, LogEntry[]>();
  if (options.logs) {
    for (const l of logs) {
      if (l.node_id === undefined) continue;
      let list = logsOf.get(l.node_id);
      if (!list) logsOf.set(l.node_id, (list = []));
      list.push(l);
    }
  }

  const out: string[] = [];
  const label = (n: NodeData): string => `${n.icon ? n.icon + ' ' : ''}${n.label ?? n.id}`;
  const walk = (n: NodeData, prefix: string, branch: string, childPrefix: string): void => {
    const start = n.start_time ?? n.created_at;
    const end = n.end_time ?? (isActive(n.status) ? now : undefined);
    const dur = end !== undefined ? formatDuration(end - start) : '-';
    let line = `${prefix}${branch}${paintStatus(c, n.status, statusSymbol(n.status))} ${label(n)}  ${c.dim(dur)}`;
    if (n.status !== 'completed') line += `  ${paintStatus(c, n.status)}`;
    if (n.parent_ids.length > 1) {
      const names = n.parent_ids.map((p) => byId.get(p)).map((p) => (p ? (p.label ?? p.id) : '?'));
      line += `  ${c.magenta(`⋈ joins ${names.join(', ')}`)}`;
    }
    line += c.dim(`  #${n.id}`);
    out.push(line);
    if (n.error) out.push(`${prefix}${childPrefix}${c.red(`  ${n.error.name}: ${n.error.message}`)}`);
    for (const l of logsOf.get(n.id) ?? []) {
      const lvl = l.level === 'error' ? c.red(l.level) : l.level === 'warn' ? c.yellow(l.level) : c.dim(l.level);
      out.push(
        `${prefix}${childPrefix}${c.dim('  · ')}${lvl} ${l.message}${l.data !== undefined ? c.dim(' ' + oneLine(l.data, 60)) : ''}`,
      );
    }
    const kids = children.get(n.id) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      walk(k, prefix + childPrefix, last ? '└─ ' : '├─ ', last ? '   ' : '│  ');
    });
  };
  for (const root of children.get(undefined) ?? []) walk(root, '', '', '');
  if (nodes.length === 0) out.push(c.dim('(no nodes yet)'));
  return out;
}
