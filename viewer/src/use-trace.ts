// Live state of one trace, followed by livetrace/client and folded with the shared reducer.
// The reducer updates its state object in place, so its identity never changes: what changes
// is the frame. Each time the trace changed (at most once per animation frame) the hook
// returns a new LiveTrace object, and memos and effects depend on that frame, never on
// `frame.state` alone.
import { useEffect, useState } from 'preact/hooks';
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

/** One frame of a live trace: a new object each time anything in it changed. */
export interface LiveTrace {
  /** The reducer's state (updated in place: depend on the frame, not on this object). */
  state: TraceState;
  /** Counts the frames of this trace. */
  version: number;
  connection: Connection;
  error: string | undefined;
  /** Per space id, the key of the latest memory event (the change to highlight). */
  lastChange: ReadonlyMap<string, SpaceChange>;
  /** The logs of one node, as of this frame (the same array for the whole frame). */
  logsOf(nodeId: string): readonly LogEntry[];
  /** All logs of the trace, as of this frame (the same array for the whole frame). */
  allLogs(): readonly LogEntry[];
}

interface Source {
  readonly state: TraceState;
  readonly lastChange: ReadonlyMap<string, SpaceChange>;
  readonly index: LogIndex;
}

function frame(src: Source, version: number, connection: Connection, error: string | undefined): LiveTrace {
  const { state, index } = src;
  const byNode = new Map<string, readonly LogEntry[]>();
  let all: readonly LogEntry[] | undefined;
  return {
    state,
    version,
    connection,
    error,
    lastChange: src.lastChange,
    logsOf(nodeId) {
      let logs = byNode.get(nodeId);
      // A copy: the index's arrays grow in place, and this frame's must not.
      if (!logs) byNode.set(nodeId, (logs = index.of(state.logs, nodeId).slice()));
      return logs;
    },
    allLogs() {
      return (all ??= state.logs.slice());
    },
  };
}

export function useTrace(id: string): LiveTrace {
  const [current, setCurrent] = useState<LiveTrace>(() =>
    frame({ state: initialState(id), lastChange: new Map(), index: new LogIndex() }, 0, 'loading', undefined),
  );

  useEffect(() => {
    const lastChange = new Map<string, SpaceChange>();
    // One implementation of the browser side of the protocol: livetrace/client (history, SSE,
    // resume by last seq, gaps, duplicates, [DONE]). This hook only adds rendering.
    const base = new URL(apiBase());
    const live = openTrace({ server: base.origin, apiPath: base.pathname, traceId: id, token: getToken });
    const src: Source = { state: live.state, lastChange, index: new LogIndex() };
    let version = 0;
    let connection: Connection = 'loading';
    let error: string | undefined;
    const publish = () => setCurrent(frame(src, ++version, connection, error));
    publish();

    let raf = 0;
    const render = () => {
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        publish();
      });
    };
    const off = live.subscribe((_state, ev) => {
      if (ev) {
        // Not state, only what to highlight: which key the latest memory event touched.
        if (ev.type === 'memory_add' || ev.type === 'memory_update')
          lastChange.set(ev.data.type, { key: ev.data.item.id, seq: ev.seq });
        else if (ev.type === 'memory_delete')
          lastChange.set(ev.data.space_id, {
            key: ev.data.key,
            seq: ev.seq,
            removed: ev.data.cleared ? 'cleared' : 'deleted',
          });
      } else {
        connection = live.status === 'connecting' ? 'loading' : live.status;
        if (live.status === 'error') {
          const err = live.error;
          if (err && (err.status === 401 || err.status === 403)) noteAuthFailure();
          error = err?.status === 404 ? `Trace ${id} not found.` : (err?.message ?? 'error');
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

  return current;
}
