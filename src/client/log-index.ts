// Logs per node over the reducer's append-only `state.logs`, indexed incrementally: each
// call indexes only the lines added since the last one. Shared by the viewer and the element.
import type { LogEntry } from '../core/types.js';

const NONE: readonly LogEntry[] = [];

export class LogIndex {
  #upTo = 0;
  readonly #byNode = new Map<string, LogEntry[]>();

  /** The logs of `nodeId` in `logs` (the same array each call, growing). */
  of(logs: readonly LogEntry[], nodeId: string): readonly LogEntry[] {
    for (; this.#upTo < logs.length; this.#upTo++) {
      const l = logs[this.#upTo]!;
      if (l.node_id === undefined) continue;
      let arr = this.#byNode.get(l.node_id);
      if (!arr) this.#byNode.set(l.node_id, (arr = []));
      arr.push(l);
    }
    return this.#byNode.get(nodeId) ?? NONE;
  }
}
