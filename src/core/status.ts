// What a status says about a trace or a node.
import type { NodeStatus, TraceStatus } from './types.js';

/** True while a trace or node has not ended: `pending` or `running`. */
export function isActive(status: TraceStatus | NodeStatus): status is 'pending' | 'running' {
  return status === 'pending' || status === 'running';
}
