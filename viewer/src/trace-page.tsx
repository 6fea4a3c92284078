// One trace, live: header, toolbar (view, filters, collapse, zoom, follow), the graph or
// the timeline, and a side panel with the selected node, the spaces and all logs. This file
// only composes them; the state lives in the use-* hooks it calls.
import { useRef, useState } from 'preact/hooks';
import { isTerminal } from './format.js';
import { GraphView } from './graph-view.js';
import { useNow } from './hooks.js';
import { ShortcutHelp } from './shortcut-help.js';
import { TimelineView } from './timeline-view.js';
import { TraceHeader } from './trace-header.js';
import { TraceSidePanel } from './trace-side-panel.js';
import { traceTimes } from './trace-times.js';
import { TraceToolbar } from './trace-toolbar.js';
import { useGraphCamera } from './use-graph-camera.js';
import { useTrace } from './use-trace.js';
import { useTraceSelection } from './use-trace-selection.js';
import { useTraceShortcuts } from './use-trace-shortcuts.js';
import { useVisibleGraph } from './use-visible-graph.js';

export function TracePage({ id, params }: { id: string; params: URLSearchParams }) {
  const live = useTrace(id);
  const { state } = live;
  const running = !isTerminal(state.info.status) && live.connection !== 'error';
  const now = useNow(running, 500);
  const selection = useTraceSelection(id, params);
  const { view, selected, select, reveal, setReveal } = selection;
  const [help, setHelp] = useState(false);
  const pane = useRef<HTMLDivElement | null>(null);
  const graph = useVisibleGraph(live, view, selected, setReveal);
  const { model } = graph;
  const camera = useGraphCamera({ pane, model, view, root: state.root, selected, running, setReveal });
  useTraceShortcuts({ selection, graph, camera, help, setHelp });

  const { start, end, duration } = traceTimes(state.info, state.nodes, model.nodes[0]?.node.created_at, running, now);

  if (live.connection === 'error') {
    return (
      <main class="page center">
        <div class="notice error">
          <h2>Cannot open this trace</h2>
          <p>{live.error}</p>
          <a class="btn" href="#/">
            ← Back to traces
          </a>
        </div>
      </main>
    );
  }

  return (
    <main class="trace-page">
      <TraceHeader
        id={id}
        info={state.info}
        connection={live.connection}
        duration={duration}
        nodeCount={state.nodes.size}
        logCount={state.logs.length}
      />
      <TraceToolbar
        view={view}
        switchView={selection.switchView}
        graph={graph}
        camera={camera}
        running={running}
        onHelp={() => setHelp(!help)}
      />
      {model.filteredOut || model.collapsedHidden ? (
        <div class="hidden-note">
          Showing {model.nodes.length.toLocaleString()} of {state.nodes.size.toLocaleString()} nodes
          {model.collapsedHidden ? ` · ${model.collapsedHidden.toLocaleString()} inside collapsed subtrees` : ''}
          {model.filteredOut ? ` · ${model.filteredOut.toLocaleString()} filtered out` : ''}
        </div>
      ) : null}
      <div class="trace-body">
        <div class="main-pane" ref={pane}>
          {state.nodes.size === 0 ? (
            <div class="empty">{live.connection === 'loading' ? 'Loading…' : 'Waiting for the first node…'}</div>
          ) : view === 'graph' ? (
            <GraphView
              model={model}
              selected={selected}
              now={now}
              scale={camera.scale}
              reveal={reveal}
              onSelect={(nid) => select(nid, false)}
              onToggle={graph.toggle}
              onUserScroll={() => camera.follow && camera.setFollow(false)}
              subtreeUsage={graph.subtree}
            />
          ) : (
            <TimelineView
              rows={graph.rows}
              selected={selected}
              now={now}
              t0={start}
              t1={Math.max(end, start + 1)}
              onSelect={(nid) => select(nid, false)}
              onToggle={graph.toggle}
            />
          )}
        </div>
        <TraceSidePanel
          live={live}
          now={now}
          tab={selection.tab}
          setTab={selection.setTab}
          selected={selected}
          select={select}
        />
      </div>
      {help ? <ShortcutHelp onClose={() => setHelp(false)} /> : null}
    </main>
  );
}
