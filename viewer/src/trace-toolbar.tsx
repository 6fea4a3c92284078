// The trace page's toolbar: graph or timeline, the node filters, collapse or expand all,
// zoom (graph only), follow (while running) and the keyboard help button.
import { NodeFilters } from './node-filters.js';
import type { GraphCamera } from './use-graph-camera.js';
import type { View } from './use-trace-selection.js';
import type { VisibleGraph } from './use-visible-graph.js';

export function TraceToolbar({
  view,
  switchView,
  graph,
  camera,
  running,
  onHelp,
}: {
  view: View;
  switchView: (v: View) => void;
  graph: VisibleGraph;
  camera: GraphCamera;
  running: boolean;
  onHelp: () => void;
}) {
  const { scale, follow, setFollow } = camera;
  return (
    <div class="toolbar">
      <div class="seg" role="tablist" aria-label="View">
        <button
          role="tab"
          aria-selected={view === 'graph'}
          class={view === 'graph' ? 'on' : ''}
          onClick={() => switchView('graph')}
          title="Graph (g)"
        >
          Graph
        </button>
        <button
          role="tab"
          aria-selected={view === 'timeline'}
          class={view === 'timeline' ? 'on' : ''}
          onClick={() => switchView('timeline')}
          title="Timeline (t)"
        >
          Timeline
        </button>
      </div>
      <NodeFilters filters={graph.filters} setFilters={graph.setFilters} counts={graph.counts} />
      <div class="spacer" />
      <div class="btn-group">
        <button class="btn small" onClick={() => graph.setAll(true)} title="Collapse every subtree">
          Collapse all
        </button>
        <button class="btn small" onClick={() => graph.setAll(false)} title="Expand every subtree">
          Expand all
        </button>
      </div>
      {view === 'graph' ? (
        <div class="btn-group">
          <button class="btn small" onClick={camera.zoomOut} title="Zoom out (-)" aria-label="Zoom out">
            −
          </button>
          <span class="zoom">{Math.round(scale * 100)}%</span>
          <button class="btn small" onClick={camera.zoomIn} title="Zoom in (+)" aria-label="Zoom in">
            +
          </button>
          <button class="btn small" onClick={camera.fit} title="Zoom to fit (0)">
            Fit
          </button>
        </div>
      ) : null}
      {running ? (
        <button
          class={`btn small ${follow ? 'on' : ''}`}
          aria-pressed={follow}
          onClick={() => setFollow(!follow)}
          title="Keep the newest node in view (f)"
        >
          Follow
        </button>
      ) : null}
      <button class="btn small" onClick={onHelp} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">
        ?
      </button>
    </div>
  );
}
