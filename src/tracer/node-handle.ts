// A handle on one node: what add()/parallel()/join() return. It holds only the trace and
// the node id, so handles are cheap and never keep state of their own.
import type { NodeContext, NodeData, NodeStatus } from '../core/types.js';
import { guardRead, readItems, readOptions } from '../core/read-options.js';
import type { NodeOptions, Trace } from './trace.js';
import type { UsageInput } from '../core/usage.js';
import { kAdd, kEnd, kJoin, kLog, kSetStatus, kSpawn, kUpdate, kUsage } from './symbols.js';

export class NodeHandle {
  readonly id: string;
  readonly #trace: Trace | undefined;

  /** @internal use trace.add()/node.add() */
  constructor(trace: Trace | undefined, id: string) {
    this.#trace = trace;
    this.id = id;
  }

  /** The trace this node belongs to (undefined for the no-op handle). */
  get trace(): Trace | undefined {
    return this.#trace;
  }

  /** The node's current data (read-only view), or undefined for a no-op handle. */
  get data(): Readonly<NodeData> | undefined {
    return this.#trace?.getNode(this.id);
  }

  /** True for the inert handle returned by calls on a closed trace. */
  get isNoop(): boolean {
    return this.#trace === undefined || this.id === '';
  }

  debug(message: unknown, ...args: unknown[]): this {
    this.#trace?.[kLog](this.id, 'debug', message, args);
    return this;
  }
  info(message: unknown, ...args: unknown[]): this {
    this.#trace?.[kLog](this.id, 'info', message, args);
    return this;
  }
  warn(message: unknown, ...args: unknown[]): this {
    this.#trace?.[kLog](this.id, 'warn', message, args);
    return this;
  }
  error(message: unknown, ...args: unknown[]): this {
    this.#trace?.[kLog](this.id, 'error', message, args);
    return this;
  }

  /** A child node. Does not move the trace cursor; does not complete this node unless `autoCompleteParent: true`. */
  add(input?: unknown, options?: NodeOptions): NodeHandle {
    if (!this.#trace) return this;
    const o = readOptions('add()', options);
    return this.#trace[kAdd]('add', [this.id], input, o, {
      moveCursor: false,
      completeParents: o.autoCompleteParent ?? false,
    });
  }

  /** Children running in parallel under this node. */
  parallel(items: readonly (NodeOptions & { input?: unknown })[]): NodeHandle[] {
    if (!this.#trace) return [];
    const list = readItems('parallel()', items);
    return this.#trace[kSpawn]('parallel', [this.id], list, {
      moveCursor: false,
      completeParents: list?.some?.((i) => i?.autoCompleteParent === true) ?? false,
      fanOut: true,
    });
  }

  /**
   * One node whose parents are exactly `nodes` (a join; this node is a parent only if it is
   * listed). Open parents are completed unless `autoCompleteParent: false`; joined nodes
   * that were current are replaced by the join in the trace cursor.
   */
  join(nodes: readonly (NodeHandle | NodeData | string)[], input?: unknown, options?: NodeOptions): NodeHandle {
    if (!this.#trace) return this;
    const list = guardRead('join()', () => (Array.isArray(nodes) ? Array.from(nodes) : nodes));
    return this.#trace[kJoin](list, input, readOptions('join()', options));
  }

  setOutput(output: unknown): this {
    this.#trace?.[kUpdate](this.id, 'output', output);
    return this;
  }

  /** One key, or several keys in one `node_updated` event: `setMetadata({ a: 1, b: 2 })`. */
  setMetadata(key: string, value: unknown): this;
  setMetadata(entries: Record<string, unknown>): this;
  setMetadata(key: string | Record<string, unknown>, value?: unknown): this {
    if (!this.#trace) return this;
    if (key !== null && typeof key === 'object') this.#trace[kUpdate](this.id, 'metadataEntries', key);
    else this.#trace[kUpdate](this.id, 'metadata', value, key);
    return this;
  }

  /**
   * Records the usage of the model call this node stands for (tokens, model, time to first
   * token); the cost is estimated from the tracer's `prices`. A later call replaces it.
   * Emits one `node_updated` (with `metadata` entries merged in the same event, if given).
   * A node of kind `step` becomes `llm`.
   */
  setUsage(usage: UsageInput, metadata?: Record<string, unknown>): this {
    this.#trace?.[kUsage](this.id, usage, metadata);
    return this;
  }

  setStatus(status: NodeStatus): this {
    this.#trace?.[kSetStatus](this.id, status);
    return this;
  }

  complete(output?: unknown): this {
    this.#trace?.[kEnd](this.id, 'completed', output, arguments.length > 0);
    return this;
  }

  fail(error: unknown): this {
    this.#trace?.[kEnd](this.id, 'failed', error, true);
    return this;
  }

  /** Serializable reference for another process: pass it to `tracer.run(ctx, fn)` there. */
  context(): NodeContext {
    return { trace_id: this.#trace?.id ?? '', node_id: this.id };
  }

  toJSON(): NodeContext {
    return this.context();
  }
}
