// What the trace page looks at: graph or timeline, the selected node, the side panel's tab and
// the node to scroll into view; kept in step with the URL (`?node=…&view=timeline`) both ways.
import { useEffect, useRef, useState } from 'preact/hooks';
import { traceHref } from './hooks.js';

export type View = 'graph' | 'timeline';
export type Tab = 'node' | 'spaces' | 'logs';
/** A node to scroll into view; a new `tick` asks again for the same node. */
export type Reveal = { id: string; tick: number };

export interface TraceSelection {
  view: View;
  switchView: (v: View) => void;
  selected: string | undefined;
  /** Selects a node (or none), opens its tab, and scrolls to it unless `scroll` is false. */
  select: (nid: string | undefined, scroll?: boolean) => void;
  tab: Tab;
  setTab: (t: Tab) => void;
  reveal: Reveal | undefined;
  setReveal: (r: Reveal | undefined | ((prev: Reveal | undefined) => Reveal | undefined)) => void;
}

export function useTraceSelection(id: string, params: URLSearchParams): TraceSelection {
  const [view, setView] = useState<View>(params.get('view') === 'timeline' ? 'timeline' : 'graph');
  const [selected, setSelected] = useState<string | undefined>(params.get('node') ?? undefined);
  const [tab, setTab] = useState<Tab>(params.get('node') ? 'node' : 'spaces');
  const [reveal, setReveal] = useState<Reveal | undefined>(selected ? { id: selected, tick: 0 } : undefined);

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
  return { view, switchView, selected, select, tab, setTab, reveal, setReveal };
}
