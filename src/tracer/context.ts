// Context propagation: which trace and node the running code belongs to. The one
// AsyncLocalStorage here is the process-level state the spec names (currentNode,
// currentTrace, traced).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NodeHandle } from './node-handle.js';
import type { Trace } from './trace.js';

export interface ActiveContext {
  readonly trace: Trace;
  readonly node: NodeHandle | undefined;
}

export const contextStorage = new AsyncLocalStorage<ActiveContext>();

/** The node the current async call runs under, if any. */
export function currentNode(): NodeHandle | undefined {
  return contextStorage.getStore()?.node;
}

/** The trace the current async call runs under, if any. */
export function currentTrace(): Trace | undefined {
  return contextStorage.getStore()?.trace;
}
