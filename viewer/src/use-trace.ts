// Live state of one trace, followed by livetrace/client and folded with the shared reducer.
// The reducer updates its state object in place, so the component re-renders on a version counter (at most once per animation frame).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { LogIndex } from '../../src/client/log-index.js';
import { openTrace } from '../../src/client/live-trace.js';
import { initialState, type TraceState } from '../../src/core/reducer.js';
import type { LogEntry } from '../../src/core/types.js';
import { apiBase, getToken, noteAuthFailure } from './api.js';

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

export function useTrace(id: string): LiveTrace {
  const [version, setVersion] = useState(0);
  const [connection, setConnection] = useState<Connection>('loading');
  const [error, setError] = useState<string | undefined>();
  const stateRef = useRef<TraceState>(initialState(id));
  const lastChangeRef = useRef(new Map<string, SpaceChange>());
  const indexRef = useRef(new LogIndex());

  useEffect(() => {
    const lastChange = new Map<string, SpaceChange>();
    lastChangeRef.current = lastChange;
    indexRef.current = new LogIndex();
    setError(undefined);
    // One implementation of the browser side of the protocol: livetrace/client (history, SSE,
    // resume by last seq, gaps, duplicates, [DONE]). This hook only adds rendering.
    const base = new URL(apiBase());
    const live = openTrace({ server: base.origin, apiPath: base.pathname, traceId: id, token: getToken });
    stateRef.current = live.state;
    setConnection('loading');
    setVersion((v) => v + 1);

    let raf = 0;
    const render = () => {
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        setVersion((v) => v + 1);
      });
    };
    const off = live.subscribe((_state, ev) => {
      if (ev) {
        // Not state, only what to highlight: which key the latest memory event touched.
        if (ev.type === 'memory_add' || ev.type === 'memory_update')
          lastChange.set(ev.data?.type, { key: ev.data?.item?.id, seq: ev.seq });
        else if (ev.type === 'memory_delete')
          lastChange.set(ev.data?.space_id, {
            key: ev.data?.key,
            seq: ev.seq,
            removed: ev.data?.cleared ? 'cleared' : 'deleted',
          });
      } else {
        setConnection(live.status === 'connecting' ? 'loading' : live.status);
        if (live.status === 'error') {
          const err = live.error;
          if (err && (err.status === 401 || err.status === 403)) noteAuthFailure();
          setError(err?.status === 404 ? `Trace ${id} not found.` : (err?.message ?? 'error'));
        }
      }
      render();
    });

    return () => {
      off();
      live.close();
      if (raf) cancelAnimationFrame(raf);
    };
  }, [id]);

  const logsOf = useMemo(() => {
    const idx = indexRef.current;
    const logs = stateRef.current.logs;
    // A new function per version (and a copy) so memoized children see the change.
    return (nodeId: string): readonly LogEntry[] => idx.of(logs, nodeId).slice();
  }, [version]);

  return { state: stateRef.current, version, connection, error, logsOf, lastChange: lastChangeRef.current };
}
