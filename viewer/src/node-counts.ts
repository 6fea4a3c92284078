// How many nodes of a trace have each status, kind and model: the numbers on the toolbar's
// filter chips, and whether there is any model usage at all (then cards show subtree totals).
import type { NodeData, NodeKind, NodeStatus } from '../../src/core/types.js';
import { kindOf, usageOf } from './ai.js';

export interface NodeCounts {
  status: Map<NodeStatus, number>;
  kind: Map<NodeKind, number>;
  model: Map<string, number>;
}

export function countNodes(nodes: ReadonlyMap<string, NodeData>): NodeCounts {
  const c = new Map<NodeStatus, number>();
  const k = new Map<NodeKind, number>();
  const m = new Map<string, number>();
  for (const n of nodes.values()) {
    c.set(n.status, (c.get(n.status) ?? 0) + 1);
    const kind = kindOf(n);
    k.set(kind, (k.get(kind) ?? 0) + 1);
    const model = usageOf(n)?.model;
    if (model !== undefined) m.set(model, (m.get(model) ?? 0) + 1);
  }
  return { status: c, kind: k, model: m };
}
