// The waterfall: one row per visible node, each followed by its subtree, a bar from its start to its end
// (to now while running) on a shared time axis. Rows are virtualized.
import { useRef } from 'preact/hooks';
import type { GraphNode } from './graph-model.js';
import { STATUS_ICON, formatDuration, nodeDuration } from './format.js';
import { useSize } from './hooks.js';
import { VirtualList } from './virtual-list.js';
import { KindIcon, formatTokens, kindOf, usageOf } from './ai.js';

const ROW = 28;
const LABEL_W = 300;

export interface TimelineViewProps {
  rows: readonly GraphNode[];
  selected?: string | undefined;
  now: number;
  t0: number;
  t1: number;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}

function ticks(span: number): number[] {
  const steps = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    1_800_000, 3_600_000,
  ];
  const step = steps.find((s) => span / s <= 8) ?? 3_600_000;
  const out: number[] = [];
  for (let t = 0; t <= span; t += step) out.push(t);
  return out;
}

export function TimelineView({ rows, selected, now, t0, t1, onSelect, onToggle }: TimelineViewProps) {
  const wrap = useRef<HTMLDivElement | null>(null);
  const { width } = useSize(wrap);
  const barW = Math.max(100, width - LABEL_W - 24);
  const span = Math.max(1, t1 - t0);
  const px = (t: number) => ((t - t0) / span) * barW;
  const selIndex = selected ? rows.findIndex((r) => r.node.id === selected) : -1;
  const header = (
    <div class="tl-axis" style={{ paddingLeft: `${LABEL_W}px` }}>
      {ticks(span).map((t) => (
        <span key={t} class="tl-tick" style={{ left: `${LABEL_W + (t / span) * barW}px` }}>
          {formatDuration(t)}
        </span>
      ))}
    </div>
  );
  return (
    <div class="timeline" ref={wrap}>
      <VirtualList
        count={rows.length}
        rowHeight={ROW}
        header={header}
        scrollToIndex={selIndex}
        ariaLabel="Timeline"
        class="tl-list"
        renderRow={(i) => {
          const g = rows[i]!;
          const n = g.node;
          const start = n.start_time ?? n.created_at;
          const end = n.end_time ?? (n.status === 'running' ? now : start);
          const left = px(start);
          const w = Math.max(2, px(end) - left);
          return (
            <div
              class={`tl-row st-${n.status} ${n.id === selected ? 'selected' : ''}`}
              data-node-id={n.id}
              data-status={n.status}
              data-kind={kindOf(n)}
              onClick={() => onSelect(n.id)}
            >
              <div
                class="tl-label"
                style={{ width: `${LABEL_W}px`, paddingLeft: `${8 + Math.min(g.rank, 16) * 12}px` }}
              >
                {g.hasChildren ? (
                  <button
                    class="fold inline"
                    onClick={(e) => {
                      e.stopPropagation();
                      onToggle(n.id);
                    }}
                    aria-label={g.collapsed ? 'Expand' : 'Collapse'}
                    title={g.collapsed ? `Expand (${g.hiddenBelow} hidden)` : 'Collapse subtree'}
                  >
                    {g.collapsed ? '▸' : '▾'}
                  </button>
                ) : (
                  <span class="fold-space" />
                )}
                <span class="st-icon">{STATUS_ICON[n.status]}</span>
                <KindIcon kind={kindOf(n)} />
                <span class="tl-name">{n.label ?? n.id}</span>
                {usageOf(n) ? <span class="uchip tok">{formatTokens(usageOf(n)!.total_tokens)}</span> : null}
                {g.collapsed && g.hiddenBelow ? <span class="muted small"> +{g.hiddenBelow}</span> : null}
              </div>
              <div class="tl-track" style={{ width: `${barW}px` }}>
                <div class="tl-bar" style={{ left: `${left}px`, width: `${w}px` }} />
                <span
                  class={`tl-dur ${left + w + 70 > barW ? 'before' : ''}`}
                  style={{ left: `${left + w + 70 > barW ? left - 6 : left + w + 6}px` }}
                >
                  {formatDuration(nodeDuration(n, now))}
                </span>
              </div>
            </div>
          );
        }}
      />
    </div>
  );
}
