// Rollups: token, cost and call totals over a set of nodes. The reducer keeps one for the
// whole trace incrementally (a node's old contribution is taken out before its new one is
// added, so a usage that changes is replaced, never counted twice); the viewer asks for one
// per subtree with `subtreeRollup`. Depends on nothing, so the browser can import it.
import { NODE_KINDS, type NodeData, type NodeKind, type UsageRollup } from './types.js';

export const NODE_KIND_SET: ReadonlySet<string> = new Set<NodeKind>(NODE_KINDS);

/** A valid kind, or `step` for anything else (old writers, forged events). */
export function toKind(kind: unknown): NodeKind {
  return typeof kind === 'string' && NODE_KIND_SET.has(kind) ? (kind as NodeKind) : 'step';
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * An exact running total: costs are summed as integers of 1e-9 currency units per
 * currency, so adding and removing the same node leaves no floating-point residue and the
 * live and the reloaded trace agree to the last digit.
 */
export class RollupAccumulator {
  input = 0;
  output = 0;
  total = 0;
  llm = 0;
  tool = 0;
  failed = 0;
  /** currency -> [nano-units, nodes with a cost in it] */
  readonly costs = new Map<string, [number, number]>();
  readonly kinds = new Map<string, number>();
  readonly models = new Map<string, number>();
  /** Set when the set of kinds or models changed since the flag was last cleared. */
  membershipChanged = false;

  /** Adds (`sign` 1) or removes (`sign` -1) the contribution of one node. */
  apply(node: NodeData, sign: 1 | -1): void {
    const kind = toKind(node.kind);
    if (kind === 'llm') this.llm += sign;
    else if (kind === 'tool') this.tool += sign;
    if (node.status === 'failed') this.failed += sign;
    this.#bump(this.kinds, kind, sign);
    const u = node.usage;
    if (u === null || typeof u !== 'object') return;
    const input = count(u.input_tokens);
    const output = count(u.output_tokens);
    this.input += sign * input;
    this.output += sign * output;
    this.total += sign * (u.total_tokens === undefined ? input + output : count(u.total_tokens));
    if (typeof u.model === 'string') this.#bump(this.models, u.model, sign);
    const c = u.cost;
    if (
      c !== null &&
      typeof c === 'object' &&
      typeof c.currency === 'string' &&
      typeof c.amount === 'number' &&
      Number.isFinite(c.amount)
    ) {
      const slot = this.costs.get(c.currency) ?? [0, 0];
      slot[0] += sign * Math.round(c.amount * 1e9);
      slot[1] += sign;
      if (slot[1] === 0) this.costs.delete(c.currency);
      else this.costs.set(c.currency, slot);
    }
  }

  #bump(map: Map<string, number>, key: string, sign: 1 | -1): void {
    const n = (map.get(key) ?? 0) + sign;
    if (n <= 0) {
      if (map.delete(key)) this.membershipChanged = true;
    } else {
      if (n === 1 && sign === 1) this.membershipChanged = true;
      map.set(key, n);
    }
  }

  toRollup(): UsageRollup {
    const r: UsageRollup = {
      input_tokens: this.input,
      output_tokens: this.output,
      total_tokens: this.total,
      llm_calls: this.llm,
      tool_calls: this.tool,
      failed_nodes: this.failed,
    };
    if (this.costs.size === 1) {
      const [currency, [nanos]] = this.costs.entries().next().value as [string, [number, number]];
      r.cost = { amount: nanos / 1e9, currency };
    }
    return r;
  }

  kindList(): NodeKind[] {
    return [...this.kinds.keys()].sort() as NodeKind[];
  }

  modelList(): string[] {
    return [...this.models.keys()].sort();
  }
}

/** An empty rollup. */
export function emptyRollup(): UsageRollup {
  return { input_tokens: 0, output_tokens: 0, total_tokens: 0, llm_calls: 0, tool_calls: 0, failed_nodes: 0 };
}

/** The rollup of a set of nodes (each counted once). */
export function rollupNodes(nodes: Iterable<NodeData>): UsageRollup {
  const acc = new RollupAccumulator();
  for (const n of nodes) acc.apply(n, 1);
  return acc.toRollup();
}

/**
 * The rollup of the subtree under `rootId` (the node itself and every descendant; a node
 * reachable by several paths, a join, counts once). Unknown root: an empty rollup.
 */
export function subtreeRollup(nodes: ReadonlyMap<string, NodeData> | Iterable<NodeData>, rootId: string): UsageRollup {
  const byId =
    nodes instanceof Map
      ? (nodes as ReadonlyMap<string, NodeData>)
      : new Map([...(nodes as Iterable<NodeData>)].map((n) => [n.id, n]));
  const acc = new RollupAccumulator();
  const seen = new Set<string>();
  const stack = [rootId];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    const node = byId.get(id);
    if (!node) continue;
    seen.add(id);
    acc.apply(node, 1);
    for (const child of node.children ?? []) if (!seen.has(child)) stack.push(child);
  }
  return acc.toRollup();
}
