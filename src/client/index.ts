// livetrace/client: follow a trace live from a browser or Node.js, with the same reducer as
// the server and viewer. Framework-free; depends on fetch (and EventSource when present).
export { openTrace } from './live-trace.js';
export type { LiveTrace, LiveListener, LiveStats, LiveStatus, OpenTraceOptions } from './live-trace.js';
export { listTraces, ClientError } from './http.js';
export type { Endpoint, FetchLike, ListTracesOptions } from './http.js';
export type { EventSourceCtor, EventSourceLike } from './sse.js';
export type { TraceState } from '../core/reducer.js';
export type { TraceEvent, TraceInfo, NodeData, LogEntry, SpaceData, ListResult } from '../core/types.js';
