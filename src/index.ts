// livetrace: live execution traces for AI-agent and workflow runs.
export { Tracer, type CreateOptions, type TracerStats } from './tracer/tracer.js';
export { Trace, type NodeOptions, type ParallelItem, type SpaceOptions, type EventsOptions } from './tracer/trace.js';
export { NodeHandle } from './tracer/node-handle.js';
export { SpaceHandle } from './tracer/space-handle.js';
export { currentNode, currentTrace } from './tracer/context.js';
export { traced, type TracedOptions } from './tracer/traced.js';
export type { TracerOptions, Limits, FlushOptions, SharedOptions } from './tracer/options.js';
export { MemoryStore } from './store/memory-store.js';
export { FileStore, type FileStoreOptions } from './store/file-store.js';
// The SQL stores and the Redis hub load their drivers (optional peer dependencies) on first use.
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite-store.js';
export { PostgresStore, type PostgresStoreOptions } from './store/postgres-store.js';
export type { TraceStore, ReadOptions } from './store/store.js';
export { LocalHub } from './hub/local-hub.js';
export { RedisHub, type RedisHubOptions } from './hub/redis-hub.js';
export type { EventHub, HubListener } from './hub/hub.js';
export type { Subscription, SubscribeOptions } from './hub/subscription.js';
export { applyEvent, reduceEvents, initialState, toSnapshot, type TraceState } from './core/reducer.js';
export { capture, captureError } from './core/capture.js';
export {
  DEFAULT_PRICES,
  DEFAULT_PRICES_DATE,
  resolvePrices,
  findPrice,
  computeCost,
  type ModelPrice,
  type PriceTable,
} from './core/prices.js';
export { normalizeUsage, withCost, type UsageInput } from './core/usage.js';
export { subtreeRollup, rollupNodes, emptyRollup } from './core/rollup.js';
export { tokenize } from './core/search.js';
export { newId, newTraceId, isValidId } from './core/ids.js';
export * from './core/errors.js';
export type * from './core/types.js';
export { EVENT_TYPES, NODE_KINDS } from './core/types.js';
