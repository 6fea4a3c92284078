// The node graph: layered DAG (see graph-model.ts) drawn as HTML cards over an SVG of
// edges. Only cards and edges near the viewport are rendered, so a 5,000-node graph
// stays responsive.
import type { CSSProperties, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LAYOUT, type GraphModel, type GraphNode } from './graph-model.js';
import { STATUS_ICON, formatDuration, nodeDuration } from './format.js';
import { useSize } from './hooks.js';
import type { UsageRollup } from '../../src/core/types.js';
import { KIND_LABEL, KindIcon, UsageChips, formatCost, formatTokens, kindOf, usageOf } from './ai.js';

const MARGIN = 400;
const { nodeW: W, nodeH: H } = LAYOUT;

export interface GraphViewProps {
  model: GraphModel;
  selected?: string | undefined;
  now: number;
  scale: number;
  /** Scroll this node into view when it changes. */
  reveal?: { id: string; tick: number } | undefined;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
  onUserScroll?: (() => void) | undefined;
  /** The rollup of a node's subtree (shown on cards that have children but no usage of their own). */
  subtreeUsage?: ((id: string) => UsageRollup | undefined) | undefined;
}

function curve(x1: number, y1: number, x2: number, y2: number): string {
  const my = Math.min(y1 + LAYOUT.gapY, (y1 + y2) / 2 + 8);
  return `M${x1},${y1} C${x1},${my} ${x2},${y2 - LAYOUT.gapY / 1.6} ${x2},${y2}`;
}

function edgePath(p: GraphNode, c: GraphNode): string {
  return curve(p.x + W / 2, p.y + H, c.x + W / 2, c.y);
}

function Card({
  g,
  selected,
  now,
  sub: subtree,
  onSelect,
  onToggle,
}: {
  g: GraphNode;
  selected: boolean;
  now: number;
  sub?: UsageRollup | undefined;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}) {
  const n = g.node;
  const dur = nodeDuration(n, now);
  const kind = kindOf(n);
  const usage = usageOf(n);
  const failed = n.status === 'failed' && n.error;
  const sub = failed ? `${n.error!.name}: ${n.error!.message}` : (n.description ?? '');
  const chips = !failed && (usage || (subtree && subtree.total_tokens > 0));
  const usageTitle = usage
    ? `\n${usage.model} · ${formatTokens(usage.input_tokens)} in / ${formatTokens(usage.output_tokens)} out${usage.cost ? ` · ${formatCost(usage.cost)}` : ''}`
    : '';
  const style: CSSProperties = { transform: `translate(${g.x}px, ${g.y}px)`, width: `${W}px`, height: `${H}px` };
  return (
    <div
      class={`card st-${n.status} ${selected ? 'selected' : ''} ${g.isJoin ? 'join' : ''}`}
      style={style}
      data-node-id={n.id}
      data-status={n.status}
      data-kind={kind}
      role="treeitem"
      aria-selected={selected}
      aria-label={`${n.label ?? n.id}, ${n.status}`}
      onClick={() => onSelect(n.id)}
      title={`${n.label ?? n.id}\n${kind === 'step' ? '' : `${KIND_LABEL[kind]} · `}${n.status} · ${formatDuration(dur)}${usageTitle}${sub ? `\n${sub}` : ''}`}
    >
      <div class="card-top">
        <span class="st-icon" aria-hidden="true">
          {STATUS_ICON[n.status]}
        </span>
        <KindIcon kind={kind} />
        {n.icon && n.icon !== kind ? <span class="node-icon">{n.icon}</span> : null}
        <span class="card-label">{n.label ?? n.id}</span>
        <span class="card-dur">{formatDuration(dur)}</span>
      </div>
      <div class="card-sub">
        {g.isJoin ? (
          <span class="join-badge" title={`Joins ${n.parent_ids.length} branches`}>
            ⋈ {n.parent_ids.length}
          </span>
        ) : null}
        {chips ? (
          <UsageChips usage={usage} subtree={usage ? undefined : subtree} />
        ) : (
          <span class={`card-desc ${n.status === 'failed' ? 'err' : ''}`}>{sub || n.id}</span>
        )}
        {g.hasChildren ? (
          <button
            class={`fold ${g.collapsed ? 'folded' : ''}`}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(n.id);
            }}
            title={g.collapsed ? `Expand (${g.hiddenBelow} hidden)` : 'Collapse subtree'}
            aria-label={g.collapsed ? 'Expand' : 'Collapse'}
          >
            {g.collapsed ? `▸ +${g.hiddenBelow}` : `▾ ${n.children.length}`}
          </button>
        ) : null}
      </div>
    </div>
  );
}

export function GraphView({
  model,
  selected,
  now,
  scale,
  reveal,
  onSelect,
  onToggle,
  onUserScroll,
  subtreeUsage,
}: GraphViewProps) {
  const ref = useRef<HTMLDivElement | null>(null);
  const size = useSize(ref);
  const [scroll, setScroll] = useState({ left: 0, top: 0 });
  const drag = useRef<{ x: number; y: number; left: number; top: number } | undefined>(undefined);

  useEffect(() => {
    const el = ref.current;
    const g = reveal && model.byId.get(reveal.id);
    if (!el || !g) return;
    const cx = (g.x + W / 2) * scale;
    const cy = (g.y + H / 2) * scale;
    const inView =
      cx > el.scrollLeft + 40 &&
      cx < el.scrollLeft + el.clientWidth - 40 &&
      cy > el.scrollTop + 40 &&
      cy < el.scrollTop + el.clientHeight - 40;
    if (!inView) el.scrollTo({ left: cx - el.clientWidth / 2, top: cy - el.clientHeight / 2 });
  }, [reveal, model, scale]);

  const vx0 = scroll.left / scale - MARGIN;
  const vy0 = scroll.top / scale - MARGIN;
  const vx1 = (scroll.left + (size.width || 1600)) / scale + MARGIN;
  const vy1 = (scroll.top + (size.height || 1000)) / scale + MARGIN;
  const cards: JSX.Element[] = [];
  const edges: JSX.Element[] = [];
  const frames: JSX.Element[] = [];
  const inBox = (x0: number, y0: number, x1: number, y1: number) => x1 >= vx0 && x0 <= vx1 && y1 >= vy0 && y0 <= vy1;
  model.groups.forEach((grp, i) => {
    const p = model.byId.get(grp.parent);
    if (inBox(grp.x, grp.y, grp.x + grp.w, grp.y + grp.h)) {
      frames.push(
        <div
          key={`frame${i}`}
          class="fanout"
          style={{ transform: `translate(${grp.x}px, ${grp.y}px)`, width: `${grp.w}px`, height: `${grp.h}px` }}
        >
          <span class="fanout-count">{grp.ids.length} branches</span>
        </div>,
      );
    }
    if (p && inBox(Math.min(p.x, grp.x), p.y, Math.max(p.x + W, grp.x + grp.w), grp.y)) {
      const hot = grp.parent === selected || (selected !== undefined && model.groupIndex.get(selected) === i);
      edges.push(
        <path
          key={`${grp.parent}>frame${i}`}
          d={curve(p.x + W / 2, p.y + H, grp.x + grp.w / 2, grp.y)}
          class={`edge ${hot ? 'hot' : ''}`}
        />,
      );
    }
  });
  const drawn = new Set<string>();
  for (const g of model.nodes) {
    if (inBox(g.x, g.y, g.x + W, g.y + H))
      cards.push(
        <Card
          key={g.node.id}
          g={g}
          selected={g.node.id === selected}
          now={now}
          sub={g.hasChildren && !g.node.usage ? subtreeUsage?.(g.node.id) : undefined}
          onSelect={onSelect}
          onToggle={onToggle}
        />,
      );
    const gi = model.groupIndex.get(g.node.id);
    for (const pid of g.parents) {
      if (gi !== undefined && model.groups[gi]!.parent === pid) continue; // the frame's edge stands for it
      const p = model.byId.get(pid);
      if (!p) continue;
      const pgi = model.groupIndex.get(pid);
      const running = g.node.status === 'running';
      const cls = `${running ? 'flow' : ''} est-${g.node.status}`;
      if (pgi !== undefined) {
        // Out of a grid: one edge from the frame to each node its branches join into.
        const key = `frame${pgi}>${g.node.id}`;
        if (drawn.has(key)) continue;
        drawn.add(key);
        const f = model.groups[pgi]!;
        if (!inBox(Math.min(f.x, g.x), f.y + f.h, Math.max(f.x + f.w, g.x + W), g.y)) continue;
        const hot = g.node.id === selected;
        edges.push(
          <path
            key={key}
            d={curve(f.x + f.w / 2, f.y + f.h, g.x + W / 2, g.y)}
            class={`edge ${hot ? 'hot' : ''} ${cls}`}
          />,
        );
        continue;
      }
      if (!inBox(Math.min(p.x, g.x), p.y, Math.max(p.x, g.x) + W, g.y)) continue;
      const direct = g.node.parent_ids.includes(pid);
      const isHot = pid === selected || g.node.id === selected;
      edges.push(
        <path
          key={`${pid}>${g.node.id}`}
          d={edgePath(p, g)}
          class={`edge ${direct ? '' : 'indirect'} ${isHot ? 'hot' : ''} ${cls}`}
        />,
      );
    }
  }
  return (
    <div
      ref={ref}
      class="graph"
      role="tree"
      aria-label="Node graph"
      onScroll={(e) => setScroll({ left: e.currentTarget.scrollLeft, top: e.currentTarget.scrollTop })}
      onWheel={onUserScroll}
      onPointerDown={(e) => {
        onUserScroll?.();
        // Drag the background to pan.
        const el = e.currentTarget;
        if (e.button !== 0 || (e.target as HTMLElement).closest('.card')) return;
        drag.current = { x: e.clientX, y: e.clientY, left: el.scrollLeft, top: el.scrollTop };
        el.setPointerCapture(e.pointerId);
        el.classList.add('panning');
      }}
      onPointerMove={(e) => {
        const d = drag.current;
        if (!d) return;
        e.currentTarget.scrollLeft = d.left - (e.clientX - d.x);
        e.currentTarget.scrollTop = d.top - (e.clientY - d.y);
      }}
      onPointerUp={(e) => {
        drag.current = undefined;
        e.currentTarget.classList.remove('panning');
      }}
      onPointerCancel={(e) => {
        drag.current = undefined;
        e.currentTarget.classList.remove('panning');
      }}
    >
      <div class="graph-size" style={{ width: `${model.width * scale}px`, height: `${model.height * scale}px` }}>
        <div
          class="graph-canvas"
          style={{ width: `${model.width}px`, height: `${model.height}px`, transform: `scale(${scale})` }}
        >
          <svg class="edges" width={model.width} height={model.height} aria-hidden="true">
            {edges}
          </svg>
          {frames}
          {cards}
        </div>
      </div>
    </div>
  );
}
