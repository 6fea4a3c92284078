// livetrace/langchain: a LangChain.js callback handler that records runs as live nodes.
// Chain, LLM, chat model, tool and retriever runs become nodes under their parent run's
// node; inputs, outputs and errors are recorded; streamed tokens become logs, batched.
// @langchain/core is an optional peer dependency imported only by this entry point.
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { Serialized } from '@langchain/core/load/serializable';
import type { BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import type { DocumentInterface } from '@langchain/core/documents';
import type { ChainValues } from '@langchain/core/utils/types';
import { errorMessage } from '../core/errors.js';
import type { NodeContext, NodeKind } from '../core/types.js';
import type { UsageInput } from '../core/usage.js';
import { currentNode, currentTrace } from '../tracer/context.js';
import { NodeHandle } from '../tracer/node-handle.js';
import type { Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import { intOption } from '../core/int-option.js';

export interface LivetraceCallbackHandlerOptions {
  /** Where traces are created (one per top-level run) or loaded (for `parent` contexts). */
  tracer?: Tracer;
  /** Record every run into this trace (its cursor moves to each top-level run), never completing it. */
  trace?: Trace;
  /** Hang top-level runs under this node (a handle, or a context from another process with `tracer`). */
  parent?: NodeHandle | NodeContext;
  /** Options of the traces created per top-level run. Default agentName: the run's name. */
  traceOptions?: Omit<CreateOptions, 'id'>;
  /** `"batch"` (default): one log per `tokenBatchSize` tokens or per `tokenFlushMs`; `"each"`: one log per token; `"off"`. */
  tokens?: 'batch' | 'each' | 'off';
  /** Tokens per log line in batch mode. Default 32. */
  tokenBatchSize?: number;
  /** Longest time a token waits for its batch, in ms. Default 100. */
  tokenFlushMs?: number;
  /** Wait for the handler inside the run (LangChain's awaitHandlers) so nodes appear as runs start. Default true. */
  awaitHandlers?: boolean;
  /**
   * Runs LangChain tags `langsmith:hidden` (LangGraph's `__start__` input step, internal
   * writers): `"skip"` (default) records no node for them (their children hang under the
   * nearest recorded run); `"record"` records them like any run.
   */
  hiddenRuns?: 'skip' | 'record';
  /** Where problems go (never thrown into LangChain). Default: process.emitWarning, code LT_WARN_LANGCHAIN. */
  onWarning?: (warning: { code: 'LT_WARN_LANGCHAIN'; message: string; cause?: unknown }) => void;
}

type Kind = 'chain' | 'llm' | 'chat_model' | 'tool' | 'retriever';

/** One top-level run and the trace it writes to. */
interface Root {
  trace: Trace | undefined;
  ready: Promise<Trace | undefined>;
  /** Created by this handler: completed and released when the top-level run ends. */
  owned: boolean;
  /** Loaded by this handler from another process's context: released at the end. */
  loaded: boolean;
  anchor: NodeHandle | undefined;
}

/** The LangGraph coordinates LangGraph puts in a run's metadata (inherited by the runs inside a node). */
interface GraphStep {
  readonly node: string;
  readonly step: number;
  readonly ns: string;
  readonly triggers: readonly string[];
}

/** What a graph run (the parent of LangGraph node runs) remembers to draw its shape. */
interface GraphShape {
  /** Node runs by superstep. */
  readonly steps: Map<number, Run[]>;
  /** The latest run of each graph node, by node name. */
  readonly last: Map<string, Run>;
}

interface Run {
  readonly root: Root;
  readonly isRoot: boolean;
  node: NodeHandle | undefined;
  /** A hidden run: `node` is its parent's node, and ending it ends nothing. */
  hidden: boolean;
  lg: GraphStep | undefined;
  graph: GraphShape | undefined;
  /** Settles once the node exists (or could not be made). */
  started: Promise<void>;
  tokens: string[];
  tokenCount: number;
  tokenTimer: ReturnType<typeof setTimeout> | undefined;
  /** Model calls: when the run started and its first token arrived (time to first token). */
  startedAt: number;
  firstTokenAt: number | undefined;
  /** Model calls: model and provider from the invocation params / LangSmith metadata. */
  model: string | undefined;
  provider: string | undefined;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ICONS: Record<Kind, string> = {
  chain: 'chain',
  llm: 'llm',
  chat_model: 'llm',
  tool: 'tool',
  retriever: 'search',
};
/** LangChain run type -> livetrace node kind. */
const KINDS: Record<Kind, NodeKind> = {
  chain: 'chain',
  llm: 'llm',
  chat_model: 'llm',
  tool: 'tool',
  retriever: 'retriever',
};

export class LivetraceCallbackHandler extends BaseCallbackHandler {
  name = 'livetrace';
  readonly #opts: LivetraceCallbackHandlerOptions;
  readonly #tokens: 'batch' | 'each' | 'off';
  readonly #batch: number;
  readonly #flushMs: number;
  /** Open runs by run id: an entry leaves when its run ends. */
  readonly #runs = new Map<string, Run>();
  readonly #inflight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: LivetraceCallbackHandlerOptions) {
    super({ _awaitHandler: options?.awaitHandlers ?? true });
    if (
      !options ||
      typeof options !== 'object' ||
      (!options.tracer && !options.trace && !(options.parent instanceof NodeHandle))
    ) {
      throw new TypeError('new LivetraceCallbackHandler(options): give a tracer, a trace, or a parent node handle');
    }
    if (options.parent && !(options.parent instanceof NodeHandle) && !options.tracer) {
      throw new TypeError('LivetraceCallbackHandler: a parent node context needs the tracer that can load its trace');
    }
    this.#opts = options;
    this.#tokens = options.tokens ?? 'batch';
    if (!['batch', 'each', 'off'].includes(this.#tokens))
      throw new TypeError(
        `LivetraceCallbackHandler option tokens must be "batch", "each" or "off", got ${String(options.tokens)}`,
      );
    this.#batch = positive('tokenBatchSize', options.tokenBatchSize, 32);
    this.#flushMs = positive('tokenFlushMs', options.tokenFlushMs, 100);
  }

  /** LangChain copies handlers per call in places: one handler must keep one run table. */
  override copy(): this {
    return this;
  }

  // ---- LangChain callbacks ------------------------------------------------------------

  // @langchain/core's typings declare (runId, runType, tags, metadata, runName, parentRunId)
  // but its CallbackManager calls (runId, parentRunId, tags, metadata, runType, runName):
  // a run id (a UUID) or nothing in 4th place means the runtime order.
  override async handleChainStart(
    chain: Serialized,
    inputs: ChainValues,
    runId: string,
    arg4?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    arg7?: string,
    arg8?: string,
  ): Promise<void> {
    const runtimeOrder = arg4 === undefined || UUID_RE.test(arg4) || this.#runs.has(arg4);
    const parentRunId = runtimeOrder ? arg4 : arg8;
    const runType = runtimeOrder ? arg7 : arg4;
    const runName = runtimeOrder ? arg8 : arg7;
    await this.#start(
      'chain',
      runId,
      parentRunId,
      runName ?? lastId(chain) ?? 'chain',
      plain(inputs),
      tags,
      metadata,
      runType ? { 'langchain.chain_type': runType } : undefined,
    );
  }
  override async handleChainEnd(outputs: ChainValues, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.complete(plain(outputs)));
  }
  override async handleChainError(err: unknown, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.fail(err), err);
  }

  override async handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> {
    await this.#start(
      'llm',
      runId,
      parentRunId,
      runName ?? lastId(llm) ?? 'llm',
      { prompts },
      tags,
      metadata,
      invocation(extraParams),
    );
  }
  override async handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> {
    // The conversation convention: { messages: [{ role, content, tool_calls?, tool_call_id? }] }.
    const input =
      messages.length === 1
        ? { messages: messages[0]!.map(messageToPlain) }
        : { batches: messages.map((list) => ({ messages: list.map(messageToPlain) })) };
    await this.#start(
      'chat_model',
      runId,
      parentRunId,
      runName ?? lastId(llm) ?? 'chat model',
      input,
      tags,
      metadata,
      invocation(extraParams),
    );
  }
  override handleLLMNewToken(token: string, _idx: unknown, runId: string): void {
    try {
      const run = this.#runs.get(runId);
      if (!run) return;
      run.firstTokenAt ??= Date.now();
      if (this.#tokens === 'off') return;
      if (this.#tokens === 'each') {
        run.tokens.push(token);
        run.tokenCount++;
        this.#flushTokens(run);
        return;
      }
      run.tokens.push(token);
      run.tokenCount++;
      if (run.tokens.length >= this.#batch) this.#flushTokens(run);
      else if (run.tokenTimer === undefined) {
        run.tokenTimer = setTimeout(() => {
          run.tokenTimer = undefined;
          this.#flushTokens(run);
        }, this.#flushMs);
        run.tokenTimer.unref?.();
      }
    } catch (err) {
      this.#warn(`handleLLMNewToken: ${errorMessage(err)}`, err);
    }
  }
  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const run = this.#runs.get(runId);
    await this.#end(runId, (node) => {
      // One node_updated for the usage and the provider's report.
      const meta =
        output?.llmOutput && Object.keys(output.llmOutput).length > 0
          ? { 'langchain.llm_output': plain(output.llmOutput) }
          : undefined;
      const usage = run ? usageOf(output, run) : undefined;
      if (usage) node.setUsage(usage, meta);
      else if (meta) node.setMetadata(meta);
      node.complete(llmOutput(output));
    });
  }
  override async handleLLMError(err: unknown, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.fail(err), err);
  }

  override async handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): Promise<void> {
    await this.#start(
      'tool',
      runId,
      parentRunId,
      runName ?? lastId(tool) ?? 'tool',
      parseJson(input),
      tags,
      metadata,
      toolCallId ? { 'langchain.tool_call_id': toolCallId } : undefined,
    );
  }
  override async handleToolEnd(output: unknown, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.complete(toolOutput(output)));
  }
  override async handleToolError(err: unknown, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.fail(err), err);
  }

  override async handleRetrieverStart(
    retriever: Serialized,
    query: string,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    name?: string,
  ): Promise<void> {
    await this.#start(
      'retriever',
      runId,
      parentRunId,
      name ?? lastId(retriever) ?? 'retriever',
      { query },
      tags,
      metadata,
    );
  }
  override async handleRetrieverEnd(documents: DocumentInterface[], runId: string): Promise<void> {
    await this.#end(runId, (node) => node.complete(plain(documents)));
  }
  override async handleRetrieverError(err: unknown, runId: string): Promise<void> {
    await this.#end(runId, (node) => node.fail(err), err);
  }

  override async handleText(text: string, runId: string): Promise<void> {
    await this.#onNode(runId, (node) => node.info(text));
  }
  override async handleAgentAction(
    action: { tool: string; toolInput: unknown; log?: string },
    runId: string,
  ): Promise<void> {
    await this.#onNode(runId, (node) =>
      node.info(
        `agent action: ${action.tool}`,
        plain({ tool: action.tool, toolInput: action.toolInput, log: action.log }),
      ),
    );
  }
  override async handleAgentEnd(action: { returnValues: unknown; log?: string }, runId: string): Promise<void> {
    await this.#onNode(runId, (node) => node.info('agent finish', plain(action.returnValues)));
  }
  override async handleCustomEvent(eventName: string, data: unknown, runId: string): Promise<void> {
    await this.#onNode(runId, (node) => node.info(eventName, plain(data)));
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Writes buffered tokens and resolves when every trace written so far is stored. */
  async flush(): Promise<void> {
    for (const run of this.#runs.values()) this.#flushTokens(run);
    await this.#settle();
    const traces = new Set<Trace>();
    for (const run of this.#runs.values()) if (run.root.trace) traces.add(run.root.trace);
    await Promise.allSettled([...traces].map((t) => t.flush()));
  }

  /**
   * Ends the handler: runs still open are marked cancelled (traces it created are
   * completed as cancelled), timers are cleared and its traces released. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return this.#settle();
    this.#closed = true;
    await this.#settle();
    const roots = new Set<Root>();
    for (const run of this.#runs.values()) {
      this.#flushTokens(run);
      roots.add(run.root);
      if (!run.root.owned && !run.hidden) run.node?.setStatus('cancelled');
    }
    this.#runs.clear();
    for (const root of roots) {
      const trace = root.trace;
      if (!trace) continue;
      if (root.owned) {
        trace.markCancelled('LangChain handler closed before the run ended');
        this.#track(trace.release());
      } else if (root.loaded) this.#track(trace.release());
      else this.#track(trace.flush());
    }
    await this.#settle();
  }

  // ---- internals --------------------------------------------------------------------

  async #start(
    kind: Kind,
    runId: string,
    parentRunId: string | undefined,
    label: string,
    input: unknown,
    tags: string[] | undefined,
    metadata: Record<string, unknown> | undefined,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    if (this.#closed) return;
    try {
      const parent = parentRunId !== undefined ? this.#runs.get(parentRunId) : undefined;
      const root = parent ? parent.root : this.#openRoot(label);
      let resolveStarted!: () => void;
      const lg = graphStepOf(metadata);
      const run: Run = {
        root,
        isRoot: !parent,
        node: undefined,
        hidden: false,
        lg,
        graph: undefined,
        started: new Promise((r) => (resolveStarted = r)),
        tokens: [],
        tokenCount: 0,
        tokenTimer: undefined,
        startedAt: Date.now(),
        firstTokenAt: undefined,
        model: modelName(extra, metadata),
        provider: str(metadata?.['ls_provider']),
      };
      this.#runs.set(runId, run);
      // LangGraph: a node run (its parent is the graph run, whose LangGraph coordinates differ)
      // hangs under the node runs of the previous superstep, or joins the sources of a
      // `join:a+b:node` trigger, instead of nesting under the graph run.
      const hide =
        parent !== undefined &&
        (this.#opts.hiddenRuns ?? 'skip') === 'skip' &&
        tags?.includes('langsmith:hidden') === true;
      const graphParents =
        !hide && parent && lg && !sameStep(parent.lg, lg) ? this.#graphParents(parent, run, lg) : undefined;
      try {
        const trace = root.trace ?? (await root.ready);
        if (!trace) return;
        if (parent) await parent.started;
        if (hide) {
          run.hidden = true;
          run.node = parent.node;
          return;
        }
        const sources: NodeHandle[] = [];
        for (const p of graphParents ?? []) {
          await p.started;
          if (p.node && !sources.includes(p.node)) sources.push(p.node);
        }
        const meta: Record<string, unknown> = { 'langchain.run_type': kind, 'langchain.run_id': runId, ...extra };
        if (tags && tags.length > 0) meta['langchain.tags'] = tags;
        if (metadata && Object.keys(metadata).length > 0) meta['langchain.metadata'] = plain(metadata);
        const options = { label, kind: KINDS[kind], icon: ICONS[kind], metadata: meta, autoCompleteParent: false };
        let node: NodeHandle;
        if (sources.length > 1)
          node = sources[0]!.join(sources, input, options); // join(nodes): parents are exactly `nodes`
        else if (sources.length === 1) node = sources[0]!.add(input, options);
        else if (parent?.node) node = parent.node.add(input, options);
        else if (root.anchor) node = root.anchor.add(input, options);
        else node = trace.add(input, options);
        if (!node.isNoop) run.node = node;
      } finally {
        resolveStarted();
      }
    } catch (err) {
      this.#warn(`could not record the start of ${kind} run ${label}: ${errorMessage(err)}`, err);
    }
  }

  async #end(runId: string, finish: (node: NodeHandle) => void, error?: unknown): Promise<void> {
    const run = this.#runs.get(runId);
    if (!run) return;
    this.#runs.delete(runId);
    try {
      await run.started;
      this.#flushTokens(run);
      if (run.node && !run.hidden) finish(run.node);
      if (run.isRoot) this.#finishRoot(run.root, error);
    } catch (err) {
      this.#warn(`could not record the end of run ${runId}: ${errorMessage(err)}`, err);
    }
  }

  /** Records a LangGraph node run in its graph run's shape; returns the runs it hangs under. */
  #graphParents(graphRun: Run, run: Run, lg: GraphStep): Run[] {
    const shape = (graphRun.graph ??= { steps: new Map<number, Run[]>(), last: new Map<string, Run>() });
    let parents: Run[] = [];
    for (const t of lg.triggers) {
      const m = /^join:(.+):[^:]+$/.exec(t);
      if (!m) continue;
      for (const name of m[1]!.split('+')) {
        const src = shape.last.get(name);
        if (src && !parents.includes(src)) parents.push(src);
      }
    }
    if (parents.length === 0) {
      let prev = -Infinity;
      for (const s of shape.steps.keys()) if (s < lg.step && s > prev) prev = s;
      parents = prev === -Infinity ? [] : [...shape.steps.get(prev)!];
    }
    const same = shape.steps.get(lg.step);
    if (same) same.push(run);
    else shape.steps.set(lg.step, [run]);
    shape.last.set(lg.node, run);
    return parents;
  }

  async #onNode(runId: string, fn: (node: NodeHandle) => void): Promise<void> {
    const run = this.#runs.get(runId);
    if (!run) return;
    try {
      await run.started;
      if (run.node) fn(run.node);
    } catch (err) {
      this.#warn(`could not record an event of run ${runId}: ${errorMessage(err)}`, err);
    }
  }

  /** Where a top-level run goes: the given trace or parent, the current livetrace node, or a new trace. */
  #openRoot(label: string): Root {
    const { trace, parent, tracer } = this.#opts;
    const root: Root = {
      trace: undefined,
      ready: Promise.resolve(undefined),
      owned: false,
      loaded: false,
      anchor: undefined,
    };
    const fixed = (t: Trace, anchor?: NodeHandle): Root => {
      root.trace = t;
      root.anchor = anchor;
      root.ready = Promise.resolve(t);
      return root;
    };
    if (parent instanceof NodeHandle) {
      if (parent.trace) return fixed(parent.trace, parent);
    } else if (parent && tracer) {
      const loaded = tracer.get(parent.trace_id);
      if (loaded) return fixed(loaded, parent.node_id ? loaded.node(parent.node_id) : undefined);
      root.loaded = true;
      root.ready = this.#guard(
        tracer.load(parent.trace_id).then((t) => {
          root.trace = t;
          root.anchor = parent.node_id ? t.node(parent.node_id) : undefined;
          return t;
        }),
        `could not load trace ${parent.trace_id}`,
      );
      return root;
    }
    if (trace) return fixed(trace);
    const active = currentNode();
    if (active?.trace) return fixed(active.trace, active);
    const activeTrace = currentTrace();
    if (activeTrace) return fixed(activeTrace);
    if (!tracer) return root;
    root.owned = true;
    const options = this.#opts.traceOptions ?? {};
    root.ready = this.#guard(
      tracer.create({ agentName: label, ...options }).then((t) => (root.trace = t)),
      'could not create a trace',
    );
    return root;
  }

  #finishRoot(root: Root, error: unknown): void {
    const trace = root.trace;
    if (!trace) return;
    if (root.owned) {
      if (error !== undefined) trace.markFailed(error);
      else trace.markComplete();
      this.#track(trace.release());
    } else if (root.loaded) this.#track(trace.release());
  }

  #flushTokens(run: Run): void {
    if (run.tokenTimer !== undefined) {
      clearTimeout(run.tokenTimer);
      run.tokenTimer = undefined;
    }
    if (run.tokens.length === 0 || !run.node) return;
    const text = run.tokens.join('');
    const count = run.tokens.length;
    run.tokens = [];
    try {
      run.node.info(text, { delta: true, tokens: count, total: run.tokenCount });
    } catch (err) {
      this.#warn(`could not record tokens: ${errorMessage(err)}`, err);
    }
  }

  #guard<T>(p: Promise<T>, what: string): Promise<T | undefined> {
    const guarded = p.catch((err: unknown) => {
      this.#warn(`${what}: ${errorMessage(err)}; its runs are not recorded`, err);
      return undefined;
    });
    this.#track(guarded);
    return guarded;
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.#warn(errorMessage(err), err));
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
  }

  async #settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #warn(message: string, cause?: unknown): void {
    const w = { code: 'LT_WARN_LANGCHAIN' as const, message: `livetrace LangChain handler: ${message}`, cause };
    try {
      if (this.#opts.onWarning) this.#opts.onWarning(w);
      else process.emitWarning(w.message, { code: w.code });
    } catch {
      /* never reaches LangChain */
    }
  }
}

// ---- value shaping ------------------------------------------------------------------

function graphStepOf(metadata: Record<string, unknown> | undefined): GraphStep | undefined {
  const node = metadata?.['langgraph_node'];
  const step = metadata?.['langgraph_step'];
  if (typeof node !== 'string' || typeof step !== 'number') return undefined;
  const triggers = metadata?.['langgraph_triggers'];
  const ns = metadata?.['langgraph_checkpoint_ns'];
  return {
    node,
    step,
    ns: typeof ns === 'string' ? ns : '',
    triggers: Array.isArray(triggers) ? triggers.filter((t): t is string => typeof t === 'string') : [],
  };
}

function sameStep(a: GraphStep | undefined, b: GraphStep): boolean {
  return a !== undefined && a.node === b.node && a.step === b.step && a.ns === b.ns;
}

function positive(name: string, value: number | undefined, def: number): number {
  return intOption(`LivetraceCallbackHandler option ${name}`, value, def, { error: TypeError });
}

function lastId(s: Serialized | undefined): string | undefined {
  const id = (s as { id?: unknown } | undefined)?.id;
  return Array.isArray(id) && id.length > 0 ? String(id[id.length - 1]) : undefined;
}

function invocation(extra: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const params = extra?.['invocation_params'];
  return params && typeof params === 'object' ? { 'langchain.invocation_params': plain(params) } : undefined;
}

function parseJson(s: string): unknown {
  const c = typeof s === 'string' ? s.trimStart()[0] : undefined;
  if (c !== '{' && c !== '[') return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

interface MessageLike {
  content: unknown;
  getType?: () => string;
  _getType?: () => string;
  type?: string;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
}

/** LangChain message types -> conversation roles. */
const ROLES: Record<string, string> = {
  human: 'user',
  ai: 'assistant',
  system: 'system',
  tool: 'tool',
  developer: 'system',
  function: 'tool',
  generic: 'user',
};

/** LangChain `{ id, name, args }` -> the conversation convention's `{ id, name, arguments }`. */
function toolCall(tc: unknown): unknown {
  if (tc === null || typeof tc !== 'object') return plain(tc);
  const t = tc as { id?: unknown; name?: unknown; args?: unknown };
  const out: Record<string, unknown> = { name: t.name, arguments: plain(t.args) };
  if (t.id !== undefined) out['id'] = t.id;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The model a run calls: LangSmith metadata (`ls_model_name`), else the invocation params. */
function modelName(
  extra: Record<string, unknown> | undefined,
  metadata: Record<string, unknown> | undefined,
): string | undefined {
  const params = extra?.['langchain.invocation_params'] as Record<string, unknown> | undefined;
  return (
    str(metadata?.['ls_model_name']) ??
    str(params?.['model']) ??
    str(params?.['model_name']) ??
    str(params?.['modelName'])
  );
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Usage of a model call from what LangChain reports: the message's `usage_metadata`
 * (every modern chat model), else `llmOutput.tokenUsage` / `estimatedTokenUsage`.
 */
function usageOf(result: LLMResult | undefined, run: Run): UsageInput | undefined {
  const gens = result?.generations ?? [];
  let input: number | undefined;
  let output: number | undefined;
  let cached: number | undefined;
  let reasoning: number | undefined;
  let model = run.model;
  for (const list of gens) {
    for (const g of list ?? []) {
      const msg = (
        g as { message?: { usage_metadata?: Record<string, unknown>; response_metadata?: Record<string, unknown> } }
      ).message;
      const um = msg?.usage_metadata;
      if (um && typeof um === 'object') {
        input = (input ?? 0) + (count(um['input_tokens']) ?? 0);
        output = (output ?? 0) + (count(um['output_tokens']) ?? 0);
        const inDetails = um['input_token_details'] as Record<string, unknown> | undefined;
        const outDetails = um['output_token_details'] as Record<string, unknown> | undefined;
        const c = count(inDetails?.['cache_read']);
        if (c !== undefined) cached = (cached ?? 0) + c;
        const r = count(outDetails?.['reasoning']);
        if (r !== undefined) reasoning = (reasoning ?? 0) + r;
      }
      const rm = msg?.response_metadata;
      model = str(rm?.['model_name']) ?? str(rm?.['model']) ?? model;
    }
  }
  if (input === undefined && output === undefined) {
    const lo = result?.llmOutput as Record<string, unknown> | undefined;
    const tu = (lo?.['tokenUsage'] ?? lo?.['estimatedTokenUsage'] ?? lo?.['usage']) as
      Record<string, unknown> | undefined;
    if (tu && typeof tu === 'object') {
      input = count(tu['promptTokens']) ?? count(tu['prompt_tokens']) ?? count(tu['input_tokens']);
      output = count(tu['completionTokens']) ?? count(tu['completion_tokens']) ?? count(tu['output_tokens']);
    }
    model = str(lo?.['model_name']) ?? str(lo?.['model']) ?? model;
  }
  if (input === undefined && output === undefined) return undefined;
  const usage: UsageInput = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  if (model !== undefined) usage.model = model;
  if (run.provider !== undefined) usage.provider = run.provider;
  if (cached !== undefined) usage.cachedTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  if (run.firstTokenAt !== undefined) usage.timeToFirstTokenMs = run.firstTokenAt - run.startedAt;
  return usage;
}

function isMessage(v: unknown): v is MessageLike {
  return (
    v !== null &&
    typeof v === 'object' &&
    'content' in v &&
    (typeof (v as MessageLike).getType === 'function' || typeof (v as MessageLike)._getType === 'function')
  );
}

/** A message as the viewer wants it: role, content, tool calls. */
function messageToPlain(m: unknown): unknown {
  if (!isMessage(m)) return plain(m);
  const type = m.getType?.() ?? m._getType?.() ?? m.type;
  const role = typeof type === 'string' && Object.prototype.hasOwnProperty.call(ROLES, type) ? ROLES[type] : type;
  const out: Record<string, unknown> = { role, content: plain(m.content) };
  if (m.name) out['name'] = m.name;
  if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) out['tool_calls'] = m.tool_calls.map(toolCall);
  if (m.tool_call_id) out['tool_call_id'] = m.tool_call_id;
  return out;
}

/** LangChain objects (messages, documents) as plain data; the tracer's capture does the rest. */
function plain(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > 16) return v;
  if (isMessage(v)) return messageToPlain(v);
  if ('pageContent' in v && typeof v.pageContent === 'string') {
    const metadata = plain('metadata' in v ? v.metadata : undefined, depth + 1);
    const id = 'id' in v ? v.id : undefined;
    return id !== undefined ? { pageContent: v.pageContent, metadata, id } : { pageContent: v.pageContent, metadata };
  }
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x, depth + 1);
  return out;
}

function llmOutput(result: LLMResult | undefined): unknown {
  const gens = result?.generations ?? [];
  const shaped = gens.map((list) =>
    list.map((g) => {
      const msg = (g as { message?: unknown }).message;
      return msg !== undefined ? messageToPlain(msg) : g.text;
    }),
  );
  if (shaped.length === 1 && shaped[0]!.length === 1) return shaped[0]![0];
  return shaped;
}

function toolOutput(output: unknown): unknown {
  // Tools return a ToolMessage when called with a tool call; the content is the result.
  if (isMessage(output)) return parseJsonish(output.content);
  return plain(output);
}

function parseJsonish(v: unknown): unknown {
  return typeof v === 'string' ? parseJson(v) : plain(v);
}
