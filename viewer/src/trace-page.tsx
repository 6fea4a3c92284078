// One trace, live: header, toolbar (view, filters, collapse, zoom, follow), the graph or
// the timeline, and a side panel with the selected node, the spaces and all logs.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { NodeStatus } from '../../src/core/types.js';
import { NODE_STATUSES, STATUS_ICON, formatDateTime, formatDuration, isTerminal } from './format.js';
import {
  DEFAULT_VIEW,
  ancestorsToExpand,
  buildGraph,
  timelineOrder,
  type GraphModel,
  type GraphNode,
  type ViewOptions,
} from './graph-model.js';
import { GraphView } from './graph-view.js';
import { traceHref, useNow, useShortcuts } from './hooks.js';
import { LogsView } from './logs-view.js';
import { NodeDetails } from './node-details.js';
import { SpacesView } from './spaces-view.js';
import { TimelineView } from './timeline-view.js';
import { useTrace, type Connection } from './use-trace.js';
import { KIND_LABEL, KINDS, KindIcon, formatCost, formatTokens, kindOf, traceUsage, usageOf } from './ai.js';
import { subtreeRollup } from '../../src/core/rollup.js';
import { sessionHref } from './hooks.js';
import type { NodeKind, UsageRollup } from '../../src/core/types.js';

type View = 'graph' | 'timeline';
type Tab = 'node' | 'spaces' | 'logs';

const THRESHOLDS = [0, 1, 10, 100, 1000, 10_000];
const SCALES = [0.25, 0.4, 0.55, 0.7, 0.85, 1, 1.2];

const CONNECTION_TEXT: Record<Connection, string> = {
  loading: 'loading…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
  error: 'error',
};

function navigate(
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

/** Largest zoom step at which the whole graph fits the pane (never above 100%). */
function fitScale(pane: HTMLElement | null, model: GraphModel): number {
  if (!pane || !model.width) return 1;
  const f = Math.min(1, pane.clientWidth / model.width, pane.clientHeight / model.height);
  return [...SCALES].reverse().find((s) => s <= f) ?? SCALES[0]!;
}

export function TracePage({ id, params }: { id: string; params: URLSearchParams }) {
  // `live` is a new object each frame; memos below depend on it (see use-trace.ts).
  const live = useTrace(id);
  const { state } = live;
  const running = !isTerminal(state.info.status) && live.connection !== 'error';
  const now = useNow(running, 500);
  const [view, setView] = useState<View>(params.get('view') === 'timeline' ? 'timeline' : 'graph');
  const [selected, setSelected] = useState<string | undefined>(params.get('node') ?? undefined);
  const [tab, setTab] = useState<Tab>(params.get('node') ? 'node' : 'spaces');
  const [collapsed, setCollapsed] = useState<ReadonlyMap<string, boolean>>(new Map());
  const [text, setText] = useState('');
  const [statuses, setStatuses] = useState<ReadonlySet<NodeStatus>>(new Set());
  const [minDuration, setMinDuration] = useState(0);
  const [kinds, setKinds] = useState<ReadonlySet<string>>(new Set());
  const [models, setModels] = useState<ReadonlySet<string>>(new Set());
  const [scale, setScale] = useState(1);
  const [follow, setFollow] = useState(true);
  const [reveal, setReveal] = useState<{ id: string; tick: number } | undefined>(
    selected ? { id: selected, tick: 0 } : undefined,
  );
  const [help, setHelp] = useState(false);
  const pane = useRef<HTMLDivElement | null>(null);

  // Follow the URL when the user edits it (deep links). The page's own changes go through
  // history.replaceState, which changes neither the route nor these values.
  const urlNode = params.get('node') ?? undefined;
  const urlView = params.get('view');
  const lastUrlNode = useRef(urlNode); // the state was initialized from it
  useEffect(() => {
    if (urlNode === lastUrlNode.current) return;
    lastUrlNode.current = urlNode;
    if (!urlNode) return;
    setSelected(urlNode);
    setTab('node');
    setReveal({ id: urlNode, tick: Date.now() });
  }, [urlNode]);
  useEffect(() => {
    if (urlView === 'timeline' || urlView === 'graph') setView(urlView);
  }, [urlView]);

  const opts: ViewOptions = useMemo(
    () => ({ ...DEFAULT_VIEW, collapsed, text, statuses, minDuration, kinds, models }),
    [collapsed, text, statuses, minDuration, kinds, models],
  );
  const model = useMemo(() => buildGraph(live.state.nodes, opts, live.state.root), [live, opts]);
  const rows = useMemo(() => (view === 'timeline' ? timelineOrder(model) : []), [model, view]);
  const counts = useMemo(() => {
    const c = new Map<NodeStatus, number>();
    const k = new Map<NodeKind, number>();
    const m = new Map<string, number>();
    for (const n of live.state.nodes.values()) {
      c.set(n.status, (c.get(n.status) ?? 0) + 1);
      const kind = kindOf(n);
      k.set(kind, (k.get(kind) ?? 0) + 1);
      const model = usageOf(n)?.model;
      if (model !== undefined) m.set(model, (m.get(model) ?? 0) + 1);
    }
    return { status: c, kind: k, model: m };
  }, [live]);
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
  }, [selected, model, live, opts]);

  // Start centered on the root (wide graphs overflow on both sides): once, when the first
  // nodes are drawn, unless a node is selected.
  const hasNodes = model.nodes.length > 0;
  const root = state.root;
  const centered = useRef(false);
  useEffect(() => {
    if (centered.current || !hasNodes) return;
    centered.current = true;
    if (!selected && root) setReveal({ id: root, tick: -1 });
  }, [hasNodes, selected, root]);

  // Follow the run: keep the newest visible node in view while it grows.
  useEffect(() => {
    if (!follow || !running || selected) return;
    let newest: GraphNode | undefined;
    for (const g of model.nodes) if (!newest || g.index > newest.index) newest = g;
    if (!newest) return;
    const target = { id: newest.node.id, tick: newest.index };
    setReveal((r) => (r?.id === target.id && r.tick === target.tick ? r : target));
  }, [model, follow, running, selected]);

  const fit = () => {
    setScale(fitScale(pane.current, model));
    if (state.root) setReveal({ id: state.root, tick: Date.now() });
  };
  // Open a graph a bit too wide for the pane zoomed out to fit, if it stays readable.
  const fitted = useRef(false);
  useEffect(() => {
    if (fitted.current || !hasNodes || view !== 'graph') return;
    fitted.current = true;
    const f = fitScale(pane.current, model);
    if (f < 1 && f >= 0.7) setScale(f);
  }, [hasNodes, view, model]);

  const select = (nid: string | undefined, scroll = true) => {
    setSelected(nid);
    if (nid) {
      setTab('node');
      if (scroll) setReveal({ id: nid, tick: Date.now() });
    }
    history.replaceState(null, '', traceHref(id, { node: nid, view: view === 'timeline' ? 'timeline' : undefined }));
  };
  const switchView = (v: View) => {
    setView(v);
    history.replaceState(null, '', traceHref(id, { node: selected, view: v === 'timeline' ? 'timeline' : undefined }));
  };
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
    else if (k === 'f') setFollow(!follow);
    else if (k === '+' || k === '=') setScale(SCALES[Math.min(SCALES.length - 1, SCALES.indexOf(scale) + 1)]!);
    else if (k === '-') setScale(SCALES[Math.max(0, SCALES.indexOf(scale) - 1)]!);
    else if (k === '0') fit();
    else if ((k === 'Enter' || k === ' ' || k === 'c') && selected && model.byId.get(selected)?.hasChildren) {
      e.preventDefault();
      toggle(selected);
    } else if (['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'h', 'j', 'k', 'l'].includes(k)) {
      e.preventDefault();
      const next = navigate(model, rows, view, selected, k);
      if (next) select(next);
    }
  });

  const info = state.info;
  const node = selected ? state.nodes.get(selected) : undefined;
  const start = info.created_at || model.nodes[0]?.node.created_at || now;
  let end = info.ended_at ?? (running ? now : start);
  if (!info.ended_at) for (const n of state.nodes.values()) if (n.end_time && n.end_time > end) end = n.end_time;
  const duration =
    info.duration ?? (info.ended_at ? info.ended_at - start : running && state.nodes.size ? now - start : undefined);
  const title = info.label ?? info.agent_name ?? id;
  const totals = traceUsage(info);

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
      <header class="trace-head">
        <div class="trace-title-row">
          <a class="back" href="#/" title="All traces (Esc)">
            ←
          </a>
          <span class={`badge big st-${info.status}`} data-testid="trace-status">
            <span class="st-icon">{STATUS_ICON[info.status]}</span> {info.status}
          </span>
          <h1 class="trace-title">{title}</h1>
          <span class={`conn conn-${live.connection}`} data-testid="connection">
            <span class="dot" /> {CONNECTION_TEXT[live.connection]}
          </span>
        </div>
        <dl class="trace-facts">
          <div>
            <dt>Trace</dt>
            <dd class="mono">{id}</dd>
          </div>
          {info.agent_name ? (
            <div>
              <dt>Agent</dt>
              <dd>{info.agent_name}</dd>
            </div>
          ) : null}
          {info.created_by ? (
            <div>
              <dt>By</dt>
              <dd>{info.created_by}</dd>
            </div>
          ) : null}
          <div>
            <dt>Started</dt>
            <dd>{formatDateTime(info.created_at)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="trace-duration">{formatDuration(duration)}</dd>
          </div>
          <div>
            <dt>Nodes</dt>
            <dd data-testid="node-count">{state.nodes.size.toLocaleString()}</dd>
          </div>
          <div>
            <dt>Logs</dt>
            <dd>{state.logs.length.toLocaleString()}</dd>
          </div>
          {info.session_id ? (
            <div>
              <dt>Session</dt>
              <dd>
                <a href={sessionHref(info.session_id)} data-testid="session-link">
                  {info.session_id}
                </a>
              </dd>
            </div>
          ) : null}
          {info.user_id ? (
            <div>
              <dt>User</dt>
              <dd>{info.user_id}</dd>
            </div>
          ) : null}
          {totals.llm_calls || totals.total_tokens ? (
            <>
              <div>
                <dt>Tokens</dt>
                <dd
                  data-testid="trace-tokens"
                  title={`${totals.input_tokens.toLocaleString()} input + ${totals.output_tokens.toLocaleString()} output`}
                >
                  {formatTokens(totals.total_tokens)}{' '}
                  <span class="muted small">
                    ({formatTokens(totals.input_tokens)} in · {formatTokens(totals.output_tokens)} out)
                  </span>
                </dd>
              </div>
              <div>
                <dt>Cost</dt>
                <dd data-testid="trace-cost" title="estimated from the price table">
                  {formatCost(totals.cost)}
                </dd>
              </div>
              <div>
                <dt>LLM calls</dt>
                <dd data-testid="trace-llm-calls">{totals.llm_calls}</dd>
              </div>
            </>
          ) : null}
          {totals.tool_calls ? (
            <div>
              <dt>Tool calls</dt>
              <dd data-testid="trace-tool-calls">{totals.tool_calls}</dd>
            </div>
          ) : null}
          {totals.failed_nodes ? (
            <div>
              <dt>Failed</dt>
              <dd data-testid="trace-failed-nodes" class="err">
                {totals.failed_nodes}
              </dd>
            </div>
          ) : null}
          {info.reason ? (
            <div>
              <dt>Reason</dt>
              <dd>{info.reason}</dd>
            </div>
          ) : null}
        </dl>
      </header>
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
        <input
          id="node-search"
          class="input"
          type="search"
          placeholder="Filter nodes by label or id  ( / )"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-label="Filter nodes"
        />
        <div class="chips" aria-label="Filter by status">
          {NODE_STATUSES.filter((s) => counts.status.get(s)).map((s) => (
            <button
              key={s}
              class={`chip st-${s} ${statuses.has(s) ? 'on' : ''}`}
              aria-pressed={statuses.has(s)}
              onClick={() => {
                const next = new Set(statuses);
                if (next.has(s)) next.delete(s);
                else next.add(s);
                setStatuses(next);
              }}
            >
              <span class="st-icon">{STATUS_ICON[s]}</span> {s} <span class="count">{counts.status.get(s)}</span>
            </button>
          ))}
        </div>
        {counts.kind.size > 1 || (counts.kind.size === 1 && !counts.kind.has('step')) ? (
          <div class="chips" aria-label="Filter by kind">
            {KINDS.filter((k) => counts.kind.get(k)).map((k) => (
              <button
                key={k}
                class={`chip kind-chip ${kinds.has(k) ? 'on' : ''}`}
                aria-pressed={kinds.has(k)}
                data-kind={k}
                title={KIND_LABEL[k]}
                onClick={() => {
                  const next = new Set(kinds);
                  if (next.has(k)) next.delete(k);
                  else next.add(k);
                  setKinds(next);
                }}
              >
                <KindIcon kind={k} /> {k} <span class="count">{counts.kind.get(k)}</span>
              </button>
            ))}
          </div>
        ) : null}
        {counts.model.size ? (
          <select
            class="input small"
            aria-label="Filter by model"
            value={models.size ? [...models][0] : ''}
            onChange={(e) => {
              const v = e.currentTarget.value;
              setModels(v ? new Set([v]) : new Set());
            }}
          >
            <option value="">All models</option>
            {[...counts.model.keys()].sort().map((m) => (
              <option key={m} value={m}>
                {m} ({counts.model.get(m)})
              </option>
            ))}
          </select>
        ) : null}
        <label class="field small" title="Hide finished nodes that took less than this">
          hide &lt;
          <select
            class="input small"
            value={String(minDuration)}
            onChange={(e) => setMinDuration(Number(e.currentTarget.value))}
            aria-label="Hide nodes faster than"
          >
            {THRESHOLDS.map((t) => (
              <option key={t} value={String(t)}>
                {t === 0 ? 'off' : formatDuration(t)}
              </option>
            ))}
          </select>
        </label>
        <div class="spacer" />
        <div class="btn-group">
          <button class="btn small" onClick={() => setAll(true)} title="Collapse every subtree">
            Collapse all
          </button>
          <button class="btn small" onClick={() => setAll(false)} title="Expand every subtree">
            Expand all
          </button>
        </div>
        {view === 'graph' ? (
          <div class="btn-group">
            <button
              class="btn small"
              onClick={() => setScale(SCALES[Math.max(0, SCALES.indexOf(scale) - 1)]!)}
              title="Zoom out (-)"
              aria-label="Zoom out"
            >
              −
            </button>
            <span class="zoom">{Math.round(scale * 100)}%</span>
            <button
              class="btn small"
              onClick={() => setScale(SCALES[Math.min(SCALES.length - 1, SCALES.indexOf(scale) + 1)]!)}
              title="Zoom in (+)"
              aria-label="Zoom in"
            >
              +
            </button>
            <button class="btn small" onClick={fit} title="Zoom to fit (0)">
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
        <button
          class="btn small"
          onClick={() => setHelp(!help)}
          title="Keyboard shortcuts (?)"
          aria-label="Keyboard shortcuts"
        >
          ?
        </button>
      </div>
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
              scale={scale}
              reveal={reveal}
              onSelect={(nid) => select(nid, false)}
              onToggle={toggle}
              onUserScroll={() => follow && setFollow(false)}
              subtreeUsage={subtree}
            />
          ) : (
            <TimelineView
              rows={rows}
              selected={selected}
              now={now}
              t0={start}
              t1={Math.max(end, start + 1)}
              onSelect={(nid) => select(nid, false)}
              onToggle={toggle}
            />
          )}
        </div>
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
      </div>
      {help ? (
        <div class="overlay" onClick={() => setHelp(false)}>
          <div class="dialog" onClick={(e) => e.stopPropagation()} role="dialog" aria-label="Keyboard shortcuts">
            <h2>Keyboard</h2>
            <dl class="keys">
              <dt>← ↑ → ↓ / h j k l</dt>
              <dd>move between nodes (parent, child, neighbours)</dd>
              <dt>Enter / c</dt>
              <dd>collapse or expand the selected subtree</dd>
              <dt>g / t</dt>
              <dd>graph / timeline</dd>
              <dt>/</dt>
              <dd>filter nodes</dd>
              <dt>+ / − / 0</dt>
              <dd>zoom the graph in, out, to fit</dd>
              <dt>f</dt>
              <dd>follow the newest node</dd>
              <dt>Esc</dt>
              <dd>close details, then back to the list</dd>
            </dl>
          </div>
        </div>
      ) : null}
    </main>
  );
}
