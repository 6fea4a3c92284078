// A trace's time span as the page shows it: where the timeline starts and ends, and the
// duration in the header (growing with the clock while the trace runs).
import type { NodeData, TraceInfo } from '../../src/core/types.js';

export interface TraceTimes {
  start: number;
  end: number;
  duration: number | undefined;
}

export function traceTimes(
  info: TraceInfo,
  nodes: ReadonlyMap<string, NodeData>,
  firstDrawn: number | undefined,
  running: boolean,
  now: number,
): TraceTimes {
  const start = info.created_at || firstDrawn || now;
  let end = info.ended_at ?? (running ? now : start);
  if (!info.ended_at) for (const n of nodes.values()) if (n.end_time && n.end_time > end) end = n.end_time;
  const duration =
    info.duration ?? (info.ended_at ? info.ended_at - start : running && nodes.size ? now - start : undefined);
  return { start, end, duration };
}
