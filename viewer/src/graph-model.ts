// Which nodes the trace page shows, and where: the view model of the node graph and the
// timeline. Pure and DOM-free (unit-tested in test/viewer-graph-model.test.ts).
//
// Visibility rules (docs/viewer.md):
// - Collapsing a node hides the nodes reachable only through it, up to the next join: a
//   node with one parent is hidden when that parent is collapsed or hidden; a join (several
//   parents) stays visible and is drawn joining from the collapsed node. Fan-outs wider than
//   `fanoutLimit` are collapsed until the user expands them.
// - A text or status filter shows only matching nodes (plus the root), ignoring collapse so
//   that a match is never buried; `minDuration` hides finished nodes faster than it.
// - A hidden node passes its edges through: a visible node is linked to its nearest visible
//   ancestors, so the graph stays connected whatever is hidden.
// Layout: layered DAG. rank = longest path from the root over visible edges; each rank is
// a row; a node wants to sit at the mean x of its parents, and overlaps in a row are
// resolved by merging blocks (least-squares placement), so chains stay straight, fan-outs
// spread side by side and joins center under their branches. A wide fan-out whose
// branches end (or only join) is packed into a grid under its parent, in one frame.
import type { NodeData, NodeStatus } from '../../src/core/types.js';

export interface ViewOptions {
  /** User overrides: true = collapsed, false = expanded. Others follow `fanoutLimit`. */
  collapsed: ReadonlyMap<string, boolean>;
  fanoutLimit: number;
  /** Statuses to show; empty = all. */
  statuses: ReadonlySet<NodeStatus>;
  /** Case-insensitive match on label, id, description and icon. */
  text: string;
  /** Hide finished nodes that took less than this many ms (0 = off). */
  minDuration: number;
  /** Node kinds to show; empty or absent = all. */
  kinds?: ReadonlySet<string>;
  /** Models to show (nodes whose usage has one of them); empty or absent = all. */
  models?: ReadonlySet<string>;
}

export interface GraphNode {
  node: NodeData;
  /** Creation order. */
  index: number;
  rank: number;
  x: number;
  y: number;
  /** Nearest visible ancestors: the edges drawn into this node. */
  parents: string[];
  /** Nodes hidden under this collapsed node. */
  hiddenBelow: number;
  collapsed: boolean;
  hasChildren: boolean;
  /** Several parents in the trace: drawn as a join. */
  isJoin: boolean;
}

export interface GraphModel {
  nodes: GraphNode[];
  byId: Map<string, GraphNode>;
  /** Visible node ids per rank, left to right. */
  ranks: string[][];
  width: number;
  height: number;
  /** Nodes hidden by the filters (not by collapse). */
  filteredOut: number;
  collapsedHidden: number;
  /** Wide fan-outs drawn as grids. */
  groups: FanoutGroup[];
  /** Node id -> index in `groups`. */
  groupIndex: Map<string, number>;
}

/** A fan-out of at least GRID_MIN children is packed GRID_COLS per row. */
export const GRID_MIN = 9;
export const GRID_COLS = 6;
const GRID_PAD = 12;
const GRID_GAP_Y = 14;

export const LAYOUT = { nodeW: 216, nodeH: 54, gapX: 20, gapY: 46, margin: 24 } as const;

export const DEFAULT_VIEW: ViewOptions = {
  collapsed: new Map(),
  fanoutLimit: 24,
  statuses: new Set(),
  text: '',
  minDuration: 0,
};

export function isCollapsed(n: NodeData, opts: ViewOptions): boolean {
  if (n.children.length === 0) return false;
  const o = opts.collapsed.get(n.id);
  return o ?? n.children.length > opts.fanoutLimit;
}

export function matchesText(n: NodeData, needle: string): boolean {
  if (!needle) return true;
  const q = needle.toLowerCase();
  return (
    n.id.toLowerCase().includes(q) ||
    (n.label?.toLowerCase().includes(q) ?? false) ||
    (n.description?.toLowerCase().includes(q) ?? false) ||
    (n.icon?.toLowerCase().includes(q) ?? false)
  );
}

const EMPTY: readonly string[] = [];

export function buildGraph(nodes: ReadonlyMap<string, NodeData>, opts: ViewOptions, root?: string): GraphModel {
  const kinds = opts.kinds?.size ? opts.kinds : undefined;
  const models = opts.models?.size ? opts.models : undefined;
  const search = opts.text.trim() !== '' || opts.statuses.size > 0 || kinds !== undefined || models !== undefined;
  const needle = opts.text.trim();
  // Per node, in creation order (parents always precede children).
  const index = new Map<string, number>();
  const collapseHidden = new Map<string, boolean>();
  const collapsedAt = new Map<string, boolean>();
  /** Visible node that stands for a collapse-hidden node. */
  const rep = new Map<string, string>();
  const visible = new Map<string, boolean>();
  const visAnc = new Map<string, readonly string[]>();
  const hiddenBelow = new Map<string, number>();
  const rank = new Map<string, number>();
  const out: GraphNode[] = [];
  let filteredOut = 0;
  let collapsedHidden = 0;
  let i = 0;
  for (const n of nodes.values()) {
    index.set(n.id, i++);
    const parents = n.parent_ids.filter((p) => nodes.has(p));
    const collapsed = isCollapsed(n, opts);
    collapsedAt.set(n.id, collapsed);
    let hiddenByCollapse = false;
    if (parents.length === 1) {
      const p = parents[0]!;
      if (collapseHidden.get(p)) {
        hiddenByCollapse = true;
        rep.set(n.id, rep.get(p)!);
      } else if (collapsedAt.get(p)) {
        hiddenByCollapse = true;
        rep.set(n.id, p);
      }
    }
    collapseHidden.set(n.id, hiddenByCollapse);

    const isRoot = n.id === root || parents.length === 0;
    let show: boolean;
    if (isRoot) show = true;
    else if (search)
      show =
        matchesText(n, needle) &&
        (opts.statuses.size === 0 || opts.statuses.has(n.status)) &&
        (!kinds || kinds.has(n.kind ?? 'step')) &&
        (!models || (n.usage?.model !== undefined && models.has(n.usage.model)));
    else show = !hiddenByCollapse;
    if (show && !isRoot && opts.minDuration > 0 && n.end_time !== undefined) {
      const d = n.end_time - (n.start_time ?? n.created_at);
      if (d < opts.minDuration) show = false;
    }
    visible.set(n.id, show);
    if (!show) {
      if (hiddenByCollapse && !search) {
        collapsedHidden++;
        const r = rep.get(n.id)!;
        hiddenBelow.set(r, (hiddenBelow.get(r) ?? 0) + 1);
      } else filteredOut++;
    }

    // Nearest visible ancestors; shared arrays keep long hidden chains O(1) each.
    let anc: readonly string[];
    if (parents.length === 0) anc = EMPTY;
    else if (parents.length === 1) {
      const p = parents[0]!;
      anc = visible.get(p) ? [p] : (visAnc.get(p) ?? EMPTY);
    } else {
      const set = new Set<string>();
      for (const p of parents) {
        if (visible.get(p)) set.add(p);
        else for (const a of visAnc.get(p) ?? EMPTY) set.add(a);
      }
      anc = [...set];
    }
    visAnc.set(n.id, anc);
    if (!show) continue;
    let r = 0;
    for (const a of anc) r = Math.max(r, (rank.get(a) ?? 0) + 1);
    rank.set(n.id, r);
    out.push({
      node: n,
      index: i - 1,
      rank: r,
      x: 0,
      y: 0,
      parents: anc as string[],
      hiddenBelow: 0,
      collapsed: !search && collapsed,
      hasChildren: n.children.length > 0,
      isJoin: parents.length > 1,
    });
  }
  for (const g of out) g.hiddenBelow = hiddenBelow.get(g.node.id) ?? 0;
  return layout(out, filteredOut, collapsedHidden);
}

/** Children of one node laid out as a grid (a wide fan-out), drawn inside one frame. */
export interface FanoutGroup {
  parent: string;
  ids: string[];
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Item {
  /** One node, or a fan-out grid. */
  node?: GraphNode;
  group?: FanoutGroup & { members: GraphNode[]; cols: number };
  desired: number;
  width: number;
  order: number;
}

function layout(out: GraphNode[], filteredOut: number, collapsedHidden: number): GraphModel {
  const { nodeW: W, nodeH: H, gapX, gapY, margin } = LAYOUT;
  const S = W + gapX;
  const byId = new Map<string, GraphNode>();
  for (const g of out) byId.set(g.node.id, g);

  // Wide fan-outs become grids: the single-parent children of a node that continue only
  // into joins (or nowhere) are packed GRID_COLS to a row under their parent.
  const kids = new Map<string, GraphNode[]>();
  const continues = new Set<string>();
  for (const g of out) {
    if (g.parents.length !== 1) continue;
    const p = g.parents[0]!;
    (kids.get(p) ?? kids.set(p, []).get(p)!).push(g);
    continues.add(p);
  }
  const groupOf = new Map<GraphNode, Item['group']>();
  for (const [p, list] of kids) {
    const members = list.filter((c) => !continues.has(c.node.id));
    if (members.length < GRID_MIN) continue;
    const cols = Math.min(GRID_COLS, members.length);
    const group = {
      parent: p,
      ids: members.map((m) => m.node.id),
      x: 0,
      y: 0,
      w: cols * S - gapX + 2 * GRID_PAD,
      h: Math.ceil(members.length / cols) * (H + GRID_GAP_Y) - GRID_GAP_Y + 2 * GRID_PAD,
      members,
      cols,
    };
    for (const m of members) groupOf.set(m, group);
  }

  const rows: GraphNode[][] = [];
  for (const g of out) (rows[g.rank] ??= []).push(g);
  const ranks: string[][] = [];
  const groups: FanoutGroup[] = [];
  let minX = 0;
  let maxX = 0;
  let top = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] ?? [];
    const items: Item[] = [];
    const seen = new Set<Item['group']>();
    for (const g of row) {
      const grp = groupOf.get(g);
      if (grp) {
        if (seen.has(grp)) continue;
        seen.add(grp);
        const p = byId.get(grp.parent)!;
        items.push({
          group: grp,
          desired: p.x + W / 2 - (grp.w - 2 * GRID_PAD) / 2 - GRID_PAD,
          width: grp.w + gapX,
          order: g.index,
        });
        continue;
      }
      let sum = 0;
      let cnt = 0;
      for (const p of g.parents) {
        const pg = byId.get(p);
        if (pg && pg.rank < r) {
          sum += pg.x;
          cnt++;
        }
      }
      items.push({ node: g, desired: cnt ? sum / cnt : 0, width: S, order: g.index });
    }
    items.sort((a, b) => a.desired - b.desired || a.order - b.order);
    // Least-squares placement without overlap: merge blocks of items that would collide.
    // A block's position is the mean of (desired - offset in block) of its items.
    const blocks: { first: number; n: number; sum: number; width: number }[] = [];
    for (let k = 0; k < items.length; k++) {
      blocks.push({ first: k, n: 1, sum: items[k]!.desired, width: items[k]!.width });
      while (blocks.length > 1) {
        const cur = blocks[blocks.length - 1]!;
        const prev = blocks[blocks.length - 2]!;
        if (prev.sum / prev.n + prev.width <= cur.sum / cur.n) break;
        prev.sum += cur.sum - cur.n * prev.width;
        prev.n += cur.n;
        prev.width += cur.width;
        blocks.pop();
      }
    }
    let rowH: number = H;
    for (const b of blocks) {
      let x = b.sum / b.n;
      for (let k = 0; k < b.n; k++) {
        const it = items[b.first + k]!;
        if (it.node) {
          it.node.x = x;
          it.node.y = top;
        } else {
          const grp = it.group!;
          grp.x = x;
          grp.y = top - GRID_PAD;
          grp.members.forEach((m, i) => {
            m.x = x + GRID_PAD + (i % grp.cols) * S;
            m.y = top + Math.floor(i / grp.cols) * (H + GRID_GAP_Y);
          });
          rowH = Math.max(rowH, grp.h - 2 * GRID_PAD);
          groups.push({ parent: grp.parent, ids: grp.ids, x: grp.x, y: grp.y, w: grp.w, h: grp.h });
        }
        if (x < minX) minX = x;
        if (x + it.width - gapX > maxX) maxX = x + it.width - gapX;
        x += it.width;
      }
    }
    // Row order for keyboard navigation: left to right, grids row by row.
    ranks.push([...row].sort((a, b) => a.y - b.y || a.x - b.x).map((g) => g.node.id));
    top += rowH + gapY;
  }
  const shift = margin - minX;
  for (const g of out) {
    g.x += shift;
    g.y += margin;
  }
  for (const grp of groups) {
    grp.x += shift;
    grp.y += margin;
  }
  const groupIndex = new Map<string, number>();
  groups.forEach((grp, i) => grp.ids.forEach((id) => groupIndex.set(id, i)));
  return {
    nodes: out,
    byId,
    ranks,
    groups,
    groupIndex,
    width: maxX - minX + 2 * margin,
    height: Math.max(top - gapY, 0) + 2 * margin,
    filteredOut,
    collapsedHidden,
  };
}

/** Ids to expand so that `id` becomes visible (its collapsed single-parent ancestors). */
export function ancestorsToExpand(nodes: ReadonlyMap<string, NodeData>, id: string, opts: ViewOptions): string[] {
  const outIds: string[] = [];
  let cur = nodes.get(id);
  const seen = new Set<string>();
  while (cur && cur.parent_ids.length === 1 && !seen.has(cur.id)) {
    seen.add(cur.id);
    const p = nodes.get(cur.parent_ids[0]!);
    if (!p) break;
    if (isCollapsed(p, opts)) outIds.push(p.id);
    cur = p;
  }
  return outIds;
}

/**
 * Rows of the timeline: depth-first, each node followed by its subtree (children in start
 * order), a join placed once all its visible parents are placed. Linear in nodes + edges.
 */
export function timelineOrder(model: GraphModel): GraphNode[] {
  const start = (g: GraphNode) => g.node.start_time ?? g.node.created_at;
  const kids = new Map<string, GraphNode[]>();
  const pending = new Map<GraphNode, number>();
  const roots: GraphNode[] = [];
  for (const g of model.nodes) {
    const ps = g.parents.filter((p) => model.byId.has(p));
    pending.set(g, ps.length);
    if (ps.length === 0) roots.push(g);
    for (const p of ps) (kids.get(p) ?? kids.set(p, []).get(p)!).push(g);
  }
  const byStart = (a: GraphNode, b: GraphNode) => start(a) - start(b) || a.index - b.index;
  const out: GraphNode[] = [];
  const stack = roots.sort(byStart).reverse();
  while (stack.length) {
    const g = stack.pop()!;
    out.push(g);
    const ready: GraphNode[] = [];
    for (const c of kids.get(g.node.id) ?? []) {
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
    ready.sort(byStart);
    for (let i = ready.length - 1; i >= 0; i--) stack.push(ready[i]!);
  }
  return out;
}
