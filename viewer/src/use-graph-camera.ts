// Where the graph is looked at from: the zoom step, zoom to fit, and "follow" (keep the
// newest node in view while the run grows). Also starts centered on the root and opens a
// slightly too wide graph zoomed out to fit.
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { GraphModel, GraphNode } from './graph-model.js';
import type { Reveal, View } from './use-trace-selection.js';

const SCALES = [0.25, 0.4, 0.55, 0.7, 0.85, 1, 1.2];

/** Largest zoom step at which the whole graph fits the pane (never above 100%). */
function fitScale(pane: HTMLElement | null, model: GraphModel): number {
  if (!pane || !model.width) return 1;
  const f = Math.min(1, pane.clientWidth / model.width, pane.clientHeight / model.height);
  return [...SCALES].reverse().find((s) => s <= f) ?? SCALES[0]!;
}

export interface GraphCamera {
  scale: number;
  zoomIn: () => void;
  zoomOut: () => void;
  /** Zooms so the whole graph fits and scrolls to the root. */
  fit: () => void;
  follow: boolean;
  setFollow: (on: boolean) => void;
}

export function useGraphCamera({
  pane,
  model,
  view,
  root,
  selected,
  running,
  setReveal,
}: {
  pane: RefObject<HTMLDivElement | null>;
  model: GraphModel;
  view: View;
  root: string | undefined;
  selected: string | undefined;
  running: boolean;
  setReveal: (r: Reveal | ((prev: Reveal | undefined) => Reveal | undefined)) => void;
}): GraphCamera {
  const [scale, setScale] = useState(1);
  const [follow, setFollow] = useState(true);

  // Start centered on the root (wide graphs overflow on both sides): once, when the first
  // nodes are drawn, unless a node is selected.
  const hasNodes = model.nodes.length > 0;
  const centered = useRef(false);
  useEffect(() => {
    if (centered.current || !hasNodes) return;
    centered.current = true;
    if (!selected && root) setReveal({ id: root, tick: -1 });
  }, [hasNodes, selected, root, setReveal]);

  // Follow the run: keep the newest visible node in view while it grows.
  useEffect(() => {
    if (!follow || !running || selected) return;
    let newest: GraphNode | undefined;
    for (const g of model.nodes) if (!newest || g.index > newest.index) newest = g;
    if (!newest) return;
    const target = { id: newest.node.id, tick: newest.index };
    setReveal((r) => (r?.id === target.id && r.tick === target.tick ? r : target));
  }, [model, follow, running, selected, setReveal]);

  const fit = () => {
    setScale(fitScale(pane.current, model));
    if (root) setReveal({ id: root, tick: Date.now() });
  };
  // Open a graph a bit too wide for the pane zoomed out to fit, if it stays readable.
  const fitted = useRef(false);
  useEffect(() => {
    if (fitted.current || !hasNodes || view !== 'graph') return;
    fitted.current = true;
    const f = fitScale(pane.current, model);
    if (f < 1 && f >= 0.7) setScale(f);
  }, [hasNodes, view, model, pane]);

  return {
    scale,
    zoomIn: () => setScale(SCALES[Math.min(SCALES.length - 1, SCALES.indexOf(scale) + 1)]!),
    zoomOut: () => setScale(SCALES[Math.max(0, SCALES.indexOf(scale) - 1)]!),
    fit,
    follow,
    setFollow,
  };
}
