// The trace page's side panel: tabs for the selected node's details, the trace's spaces and
// all its logs.
import { LogsView } from './logs-view.js';
import { NodeDetails } from './node-details.js';
import { SpacesView } from './spaces-view.js';
import type { LiveTrace } from './use-trace.js';
import type { Tab } from './use-trace-selection.js';

export function TraceSidePanel({
  live,
  now,
  tab,
  setTab,
  selected,
  select,
}: {
  live: LiveTrace;
  now: number;
  tab: Tab;
  setTab: (t: Tab) => void;
  selected: string | undefined;
  select: (nid: string | undefined) => void;
}) {
  const { state } = live;
  const node = selected ? state.nodes.get(selected) : undefined;
  return (
    <aside class="side">
      <div class="tabs" role="tablist">
        <button
          role="tab"
          aria-selected={tab === 'node'}
          class={tab === 'node' ? 'on' : ''}
          onClick={() => setTab('node')}
        >
          Node
        </button>
        <button
          role="tab"
          aria-selected={tab === 'spaces'}
          class={tab === 'spaces' ? 'on' : ''}
          onClick={() => setTab('spaces')}
        >
          Spaces <span class="count">{state.spaces.size}</span>
        </button>
        <button
          role="tab"
          aria-selected={tab === 'logs'}
          class={tab === 'logs' ? 'on' : ''}
          onClick={() => setTab('logs')}
        >
          Logs <span class="count">{state.logs.length.toLocaleString()}</span>
        </button>
      </div>
      <div class="tab-body">
        {tab === 'node' ? (
          node ? (
            <NodeDetails
              key={node.id}
              node={node}
              nodes={state.nodes}
              logs={live.logsOf(node.id)}
              now={now}
              onSelect={(nid) => select(nid)}
              onClose={() => select(undefined)}
            />
          ) : (
            <div class="empty">
              {selected
                ? `Node ${selected} is not in this trace (yet).`
                : 'Select a node to see its input, output, error, metadata and logs.'}
            </div>
          )
        ) : tab === 'spaces' ? (
          <SpacesView spaces={state.spaces} lastChange={live.lastChange} />
        ) : (
          <LogsView logs={live.allLogs()} nodes={state.nodes} onSelectNode={(nid) => select(nid)} />
        )}
      </div>
    </aside>
  );
}
