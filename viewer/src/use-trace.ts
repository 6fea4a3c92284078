// Live state of one trace: history over JSON, then the SSE stream from the last seq, all
// folded with the shared reducer. The reducer updates its state object in place, so the
// component re-renders on a version counter (at most once per animation frame).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { applyEvent, initialState, type TraceState } from '../../src/core/reducer.js';
import { EVENT_TYPES, type LogEntry, type TraceEvent } from '../../src/core/types.js';
import { ApiError, streamUrl, traceEvents } from './api.js';
import { isTerminal } from './format.js';

/** The latest memory event of a space: the key it set, or what it removed. */
export interface SpaceChange {
  key: string | undefined;
  seq: number;
  removed?: 'deleted' | 'cleared';
}

export type Connection = 'loading' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface LiveTrace {
  state: TraceState;
  version: number;
  connection: Connection;
  error?: string;
  /** Per space id, the key of the latest memory event (the change to highlight). */
  lastChange: ReadonlyMap<string, SpaceChange>;
  /** Logs per node id (append-only index over state.logs). */
  logsOf(nodeId: string): readonly LogEntry[];
}

const NO_LOGS: readonly LogEntry[] = [];

export function useTrace(id: string): LiveTrace {
  const [version, setVersion] = useState(0);
  const [connection, setConnection] = useState<Connection>('loading');
  const [error, setError] = useState<string | undefined>();
  const stateRef = useRef<TraceState>(initialState(id));
  const lastChangeRef = useRef(new Map<string, SpaceChange>());
  const indexRef = useRef<{ upTo: number; byNode: Map<string, LogEntry[]> }>({ upTo: 0, byNode: new Map() });

  useEffect(() => {
    const state = initialState(id);
    stateRef.current = state;
    const lastChange = new Map<string, SpaceChange>();
    lastChangeRef.current = lastChange;
    indexRef.current = { upTo: 0, byNode: new Map() };
    setConnection('loading');
    setError(undefined);
    setVersion((v) => v + 1);

    const abort = new AbortController();
    let es: EventSource | undefined;
    let raf = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let backoff = 500;
    let done = false;

    const render = () => {
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        setVersion((v) => v + 1);
      });
    };
    const finish = () => {
      done = true;
      es?.close();
      es = undefined;
      setConnection('ended');
      render();
    };
    /** Applies one event; false when it reveals a gap (the stream must resume). */
    const apply = (ev: TraceEvent): boolean => {
      if (typeof ev?.seq !== 'number' || ev.seq <= state.last_seq) return true; // duplicate after a resume
      if (ev.seq !== state.last_seq + 1) return false;
      applyEvent(state, ev);
      // Not state, only what to highlight: which key the latest memory event touched.
      if (ev.type === 'memory_add' || ev.type === 'memory_update') lastChange.set(ev.data?.type, { key: ev.data?.item?.id, seq: ev.seq });
      else if (ev.type === 'memory_delete') lastChange.set(ev.data?.space_id, { key: ev.data?.key, seq: ev.seq, removed: ev.data?.cleared ? 'cleared' : 'deleted' });
      return true;
    };
    const reopen = (delay: number) => {
      es?.close();
      es = undefined;
      if (done || abort.signal.aborted) return;
      clearTimeout(retry);
      retry = setTimeout(open, delay);
    };
    const onEvent = (e: MessageEvent<string>) => {
      if (e.data === '[DONE]') return finish();
      let ev: TraceEvent;
      try {
        ev = JSON.parse(e.data) as TraceEvent;
      } catch {
        return;
      }
      if (!apply(ev)) return reopen(0);
      backoff = 500;
      render();
      if (ev.type === 'complete') finish();
    };
    const open = () => {
      if (done || abort.signal.aborted) return;
      const source = new EventSource(streamUrl(id, state.last_seq));
      es = source;
      for (const t of EVENT_TYPES) source.addEventListener(t, onEvent as EventListener);
      source.addEventListener('done', finish);
      source.onmessage = onEvent;
      source.onopen = () => setConnection('live');
      source.onerror = () => {
        if (done) return;
        setConnection('reconnecting');
        // The browser retries by itself (sending Last-Event-ID) unless it gave up.
        if (source.readyState === EventSource.CLOSED) {
          reopen(backoff);
          backoff = Math.min(backoff * 2, 10_000);
        }
      };
    };

    traceEvents(id, abort.signal, (events) => {
      for (const ev of events) if (!apply(ev)) break;
      render();
    })
      .then(() => {
        if (isTerminal(state.info.status)) finish();
        else {
          setConnection('live');
          open();
        }
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        setConnection('error');
        setError(err instanceof ApiError && err.status === 404 ? `Trace ${id} not found.` : String((err as Error)?.message ?? err));
      });

    return () => {
      abort.abort();
      done = true;
      clearTimeout(retry);
      if (raf) cancelAnimationFrame(raf);
      es?.close();
    };
  }, [id]);

  const logsOf = useMemo(() => {
    const idx = indexRef.current;
    const logs = stateRef.current.logs;
    for (; idx.upTo < logs.length; idx.upTo++) {
      const l = logs[idx.upTo]!;
      if (l.node_id === undefined) continue;
      let arr = idx.byNode.get(l.node_id);
      if (!arr) idx.byNode.set(l.node_id, (arr = []));
      arr.push(l);
    }
    // A new function per version so memoized children see the change.
    return (nodeId: string) => idx.byNode.get(nodeId)?.slice() ?? NO_LOGS;
  }, [version]);

  return { state: stateRef.current, version, connection, error, logsOf, lastChange: lastChangeRef.current };
}
