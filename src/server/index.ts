// livetrace/server: the HTTP API (Fastify plugin or stand-alone server) with live SSE.
export { livetracePlugin, DEFAULT_BASE_PATH } from './plugin.js';
export {
  createServer,
  normalizeBasePath,
  type CreateServerOptions,
  type LivetraceServer,
  type ServerState,
} from './create-server.js';
export { startServer, type StartServerOptions, type RunningServer } from './start-server.js';
export type { LivetraceApiOptions } from './options.js';
export { TokenAuth, validateTokens, isLoopbackHost, type TokenEntry, type Principal } from './auth.js';
export { SseRegistry, type SseOptions } from './sse-stream.js';
export { sseFrame } from './sse-frame.js';
export { SnapshotCache, type SnapshotCacheOptions } from './snapshot-cache.js';
export { HeavyWork, type HeavyWorkOptions } from './heavy-work.js';
export {
  exportChunks,
  exportTrace,
  toExport,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type TraceExport,
  type ExportFormat,
} from './export-trace.js';
export { openTracer, type OpenTracerOptions, type OpenedTracer } from './open-tracer.js';
export { findViewerDir } from './viewer.js';
