// traced(): run a function as a child node of the current node.
import { InvalidArgumentError } from '../core/errors.js';
import { contextStorage } from './context.js';
import { NodeHandle } from './node-handle.js';
import type { AttachOptions, NodeOptions } from './trace.js';
import { kAdd } from './symbols.js';

/** traced() nodes hang under the current node(s) and move nothing. */
const TRACED_ATTACH: AttachOptions = { moveCursor: false, completeParents: false };

export interface TracedOptions extends NodeOptions {
  /** Label of the node (same as `label`). */
  name?: string;
  input?: unknown;
}

const NOOP_NODE = new NodeHandle(undefined, '');

/**
 * Runs `fn(node)` as a child node of the current node (or of the current trace's cursor
 * nodes, without moving the cursor). The node completes with fn's return value, or fails
 * with its thrown error, which is rethrown unchanged. Outside any trace, fn just runs.
 */
export function traced<T>(nameOrOptions: string | TracedOptions, fn: (node: NodeHandle) => T): T {
  if (typeof fn !== 'function') throw new InvalidArgumentError('traced(name, fn): fn must be a function');
  const options: TracedOptions = typeof nameOrOptions === 'string' ? { label: nameOrOptions } : { ...nameOrOptions };
  if (options.name !== undefined && options.label === undefined) options.label = options.name;
  const ctx = contextStorage.getStore();
  if (!ctx) return fn(NOOP_NODE);
  const { input, name: _name, ...nodeOptions } = options;
  const parents = ctx.node ? [ctx.node.id] : ctx.trace.currentNodes.map((n) => n.id);
  const node = ctx.trace[kAdd]('traced', parents, input, nodeOptions, TRACED_ATTACH);
  return contextStorage.run({ trace: ctx.trace, node: node.id === '' ? undefined : node }, () => {
    let result: T;
    try {
      result = fn(node);
    } catch (err) {
      node.fail(err);
      throw err;
    }
    if (isThenable(result)) {
      return result.then(
        (value: unknown) => {
          node.complete(value);
          return value;
        },
        (err: unknown) => {
          node.fail(err);
          throw err;
        },
      ) as T;
    }
    node.complete(result);
    return result;
  });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
