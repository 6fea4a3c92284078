// The trace page's keyboard: move between nodes (arrows / h j k l, along the graph's edges
// and ranks or the timeline's rows), collapse, switch view, filter, zoom, follow, help, Esc.
import type { GraphModel, GraphNode } from './graph-model.js';
import { useShortcuts } from './hooks.js';
import type { GraphCamera } from './use-graph-camera.js';
import type { TraceSelection, View } from './use-trace-selection.js';
import type { VisibleGraph } from './use-visible-graph.js';

const MOVE_KEYS = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'h', 'j', 'k', 'l'];

/** The node a move key leads to from `selected` (the first node when none is selected). */
export function navigate(
  model: GraphModel,
  rows: readonly GraphNode[],
  view: View,
  selected: string | undefined,
  key: string,
): string | undefined {
  if (!selected || !model.byId.has(selected)) return model.nodes[0]?.node.id;
  const g = model.byId.get(selected)!;
  if (view === 'timeline') {
    const i = rows.findIndex((r) => r.node.id === selected);
    if (key === 'ArrowUp' || key === 'k') return rows[Math.max(0, i - 1)]?.node.id;
    if (key === 'ArrowDown' || key === 'j') return rows[Math.min(rows.length - 1, i + 1)]?.node.id;
    return selected;
  }
  if (key === 'ArrowUp' || key === 'k') return g.parents[0] ?? selected;
  if (key === 'ArrowDown' || key === 'j') {
    let best: GraphNode | undefined;
    for (const c of model.nodes)
      if (c.parents.includes(selected) && (!best || Math.abs(c.x - g.x) < Math.abs(best.x - g.x))) best = c;
    return best?.node.id ?? selected;
  }
  const row = model.ranks[g.rank] ?? [];
  const i = row.indexOf(selected);
  if (key === 'ArrowLeft' || key === 'h') return row[Math.max(0, i - 1)] ?? selected;
  if (key === 'ArrowRight' || key === 'l') return row[Math.min(row.length - 1, i + 1)] ?? selected;
  return selected;
}

export function useTraceShortcuts({
  selection: { view, switchView, selected, select },
  graph: { model, rows, toggle },
  camera,
  help,
  setHelp,
}: {
  selection: TraceSelection;
  graph: VisibleGraph;
  camera: GraphCamera;
  help: boolean;
  setHelp: (on: boolean) => void;
}): void {
  useShortcuts((e) => {
    const k = e.key;
    if (k === '/') {
      e.preventDefault();
      document.getElementById('node-search')?.focus();
    } else if (k === 'g') switchView('graph');
    else if (k === 't') switchView('timeline');
    else if (k === 'Escape') {
      if (help) setHelp(false);
      else if (selected) select(undefined);
      else location.hash = '#/';
    } else if (k === '?') setHelp(!help);
    else if (k === 'f') camera.setFollow(!camera.follow);
    else if (k === '+' || k === '=') camera.zoomIn();
    else if (k === '-') camera.zoomOut();
    else if (k === '0') camera.fit();
    else if ((k === 'Enter' || k === ' ' || k === 'c') && selected && model.byId.get(selected)?.hasChildren) {
      e.preventDefault();
      toggle(selected);
    } else if (MOVE_KEYS.includes(k)) {
      e.preventDefault();
      const next = navigate(model, rows, view, selected, k);
      if (next) select(next);
    }
  });
}
