// Which part of a live trace is drawn, and where: the node filters and collapsed subtrees
// the user chose, the laid-out graph (and timeline rows) built from them, the counts behind
// the filter chips, and per-card subtree totals. Opens collapsed ancestors of a deep-linked
// node so it can be shown.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { NodeStatus, UsageRollup } from '../../src/core/types.js';
import { subtreeRollup } from '../../src/core/rollup.js';
import {
  DEFAULT_VIEW,
  ancestorsToExpand,
  buildGraph,
  timelineOrder,
  type GraphModel,
  type GraphNode,
  type ViewOptions,
} from './graph-model.js';
import { countNodes, type NodeCounts } from './node-counts.js';
import type { LiveTrace } from './use-trace.js';
import type { Reveal, View } from './use-trace-selection.js';

/** The toolbar's node filters (each empty value means "no filter"). */
export interface NodeFilterValues {
  text: string;
  statuses: ReadonlySet<NodeStatus>;
  minDuration: number;
  kinds: ReadonlySet<string>;
  models: ReadonlySet<string>;
}

const NO_FILTERS: NodeFilterValues = {
  text: '',
  statuses: new Set(),
  minDuration: 0,
  kinds: new Set(),
  models: new Set(),
};

export interface VisibleGraph {
  filters: NodeFilterValues;
  setFilters: (patch: Partial<NodeFilterValues>) => void;
  model: GraphModel;
  /** Timeline rows (empty in the graph view). */
  rows: readonly GraphNode[];
  counts: NodeCounts;
  /** Usage totals of a node's subtree, when the trace has any model usage. */
  subtree: ((nid: string) => UsageRollup) | undefined;
  /** Collapses or expands one subtree, keeping it in view. */
  toggle: (nid: string) => void;
  /** Collapses (true) or expands (false) every subtree; undefined restores the defaults. */
  setAll: (value: boolean | undefined) => void;
}

export function useVisibleGraph(
  live: LiveTrace,
  view: View,
  selected: string | undefined,
  setReveal: (r: Reveal) => void,
): VisibleGraph {
  const { state } = live;
  const [collapsed, setCollapsed] = useState<ReadonlyMap<string, boolean>>(new Map());
  const [filters, setFilterValues] = useState<NodeFilterValues>(NO_FILTERS);
  const setFilters = (patch: Partial<NodeFilterValues>) => setFilterValues((f) => ({ ...f, ...patch }));

  // `live` is a new object each frame; memos below depend on it (see use-trace.ts).
  const opts: ViewOptions = useMemo(() => ({ ...DEFAULT_VIEW, collapsed, ...filters }), [collapsed, filters]);
  const model = useMemo(() => buildGraph(live.state.nodes, opts, live.state.root), [live, opts]);
  const rows = useMemo(() => (view === 'timeline' ? timelineOrder(model) : []), [model, view]);
  const counts = useMemo(() => countNodes(live.state.nodes), [live]);
  // Subtree totals for the cards drawn (computed on demand, once per frame).
  const subtree = useMemo(() => {
    if (!counts.model.size) return undefined;
    const cache = new Map<string, UsageRollup>();
    return (nid: string) => {
      let r = cache.get(nid);
      if (!r) cache.set(nid, (r = subtreeRollup(live.state.nodes, nid)));
      return r;
    };
  }, [live, counts]);

  // A deep-linked node inside a collapsed fan-out: open the way to it once it exists.
  useEffect(() => {
    if (!selected || model.byId.has(selected) || !live.state.nodes.has(selected)) return;
    const open = ancestorsToExpand(live.state.nodes, selected, opts);
    if (open.length) {
      setCollapsed((prev) => {
        const next = new Map(prev);
        for (const p of open) next.set(p, false);
        return next;
      });
      setReveal({ id: selected, tick: Date.now() });
    }
  }, [selected, model, live, opts, setReveal]);

  const toggle = (nid: string) => {
    const g = model.byId.get(nid);
    const next = new Map(collapsed);
    next.set(nid, !(g?.collapsed ?? false));
    setCollapsed(next);
    // Keep the toggled node where the user is looking while the layout changes.
    setReveal({ id: nid, tick: Date.now() });
  };
  const setAll = (value: boolean | undefined) => {
    if (value === undefined) return setCollapsed(new Map());
    const next = new Map<string, boolean>();
    // Collapsing everything keeps the root open, so the first level stays in view.
    for (const n of state.nodes.values()) if (n.children.length) next.set(n.id, value && n.id !== state.root);
    setCollapsed(next);
  };
  return { filters, setFilters, model, rows, counts, subtree, toggle, setAll };
}
