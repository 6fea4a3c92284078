// Comparing two runs: nodes of trace A and trace B aligned by path and label, what was
// added, removed, changed status, changed output, and the token/cost/duration deltas.
// Pure and DOM-free (unit-tested in test/viewer-compare-model.test.ts).
//
// Alignment: a node's path is the labels from the root down to it along first parents
// (the parent a node was added under), each label numbered among same-label siblings in
// creation order ("search #2"), so the third retry of a step in A meets the third in B and
// a fourth one in B shows as added. Nodes without a label use their kind.
import type { NodeData, NodeUsage } from '../../src/core/types.js';
import { jsonText } from '../../src/core/json-text.js';

export interface TraceSide {
  nodes: ReadonlyMap<string, NodeData>;
  root?: string | undefined;
}

export type RowChange = 'added' | 'removed' | 'changed' | 'same';

export interface CompareRow {
  key: string;
  /** Last segment of the path (what the row shows). */
  name: string;
  depth: number;
  a?: NodeData;
  b?: NodeData;
  change: RowChange;
  statusChanged: boolean;
  outputChanged: boolean;
  errorChanged: boolean;
  inputChanged: boolean;
}

export interface CompareSummary {
  added: number;
  removed: number;
  statusChanged: number;
  outputChanged: number;
  same: number;
}

export interface CompareResult {
  rows: CompareRow[];
  summary: CompareSummary;
}

const SEP = ' › ';

function nameOf(n: NodeData): string {
  return n.label ?? n.kind ?? 'step';
}

interface Indexed {
  byKey: Map<string, NodeData>;
  /** Parent key ('' for roots) -> child keys in creation order. */
  children: Map<string, string[]>;
  name: Map<string, string>;
}

function index(side: TraceSide): Indexed {
  const byKey = new Map<string, NodeData>();
  const keyOf = new Map<string, string>();
  const children = new Map<string, string[]>();
  const name = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const n of side.nodes.values()) {
    const p = n.parent_ids.find((id) => keyOf.has(id));
    const parentKey = p === undefined ? '' : keyOf.get(p)!;
    const base = nameOf(n);
    const slot = `${parentKey}\u0000${base}`;
    const k = (seen.get(slot) ?? 0) + 1;
    seen.set(slot, k);
    const seg = k === 1 ? base : `${base} #${k}`;
    const key = parentKey ? `${parentKey}${SEP}${seg}` : seg;
    keyOf.set(n.id, key);
    byKey.set(key, n);
    name.set(key, seg);
    let list = children.get(parentKey);
    if (!list) children.set(parentKey, (list = []));
    list.push(key);
  }
  return { byKey, children, name };
}

/** B's order, with A-only keys inserted after the nearest preceding sibling they share. */
function mergeOrder(a: readonly string[], b: readonly string[]): string[] {
  const out = [...b];
  const inB = new Set(b);
  let prev: string | undefined;
  for (const k of a) {
    if (inB.has(k)) {
      prev = k;
      continue;
    }
    const at = prev === undefined ? 0 : out.indexOf(prev) + 1;
    out.splice(at, 0, k);
    prev = k;
  }
  return out;
}

/** A JSON value as comparable, diffable text (strings as they are). */
export function asText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return jsonText(v, 2);
}

export function compareTraces(a: TraceSide, b: TraceSide): CompareResult {
  const ia = index(a);
  const ib = index(b);
  const rows: CompareRow[] = [];
  const summary: CompareSummary = { added: 0, removed: 0, statusChanged: 0, outputChanged: 0, same: 0 };
  const visit = (parentKey: string, depth: number) => {
    const keys = mergeOrder(ia.children.get(parentKey) ?? [], ib.children.get(parentKey) ?? []);
    for (const key of keys) {
      const na = ia.byKey.get(key);
      const nb = ib.byKey.get(key);
      const statusChanged = !!na && !!nb && na.status !== nb.status;
      const outputChanged = !!na && !!nb && asText(na.output) !== asText(nb.output);
      const errorChanged = !!na && !!nb && asText(na.error?.message) !== asText(nb.error?.message);
      const inputChanged = !!na && !!nb && asText(na.input) !== asText(nb.input);
      const change: RowChange = !na
        ? 'added'
        : !nb
          ? 'removed'
          : statusChanged || outputChanged || errorChanged
            ? 'changed'
            : 'same';
      if (change === 'added') summary.added++;
      else if (change === 'removed') summary.removed++;
      else if (change === 'same') summary.same++;
      if (statusChanged) summary.statusChanged++;
      if (outputChanged) summary.outputChanged++;
      const row: CompareRow = {
        key,
        name: (ib.name.get(key) ?? ia.name.get(key))!,
        depth,
        change,
        statusChanged,
        outputChanged,
        errorChanged,
        inputChanged,
      };
      if (na) row.a = na;
      if (nb) row.b = nb;
      rows.push(row);
      visit(key, depth + 1);
    }
  };
  visit('', 0);
  return { rows, summary };
}

/** Duration of a finished (or failed) node; undefined while it runs. */
export function durationOf(n: NodeData | undefined): number | undefined {
  if (!n || n.end_time === undefined) return undefined;
  return n.end_time - (n.start_time ?? n.created_at);
}

export function usageDelta(
  a: NodeUsage | undefined,
  b: NodeUsage | undefined,
): { tokens?: number; cost?: number; currency?: string } {
  const out: { tokens?: number; cost?: number; currency?: string } = {};
  if (a || b) out.tokens = (b?.total_tokens ?? 0) - (a?.total_tokens ?? 0);
  const ca = a?.cost;
  const cb = b?.cost;
  if ((ca || cb) && (!ca || !cb || ca.currency === cb.currency)) {
    out.cost = (cb?.amount ?? 0) - (ca?.amount ?? 0);
    out.currency = (cb ?? ca)!.currency;
  }
  return out;
}
