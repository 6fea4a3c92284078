// livetrace/ai-sdk: a native AI SDK 7 telemetry integration (`registerTelemetry(...)` or
// per call `telemetry: { integrations: [...] }`). No OpenTelemetry on this path: the SDK's
// own lifecycle events become live nodes as they start. The event shapes are declared
// structurally here so this module imports nothing from `ai` (an optional peer).
import { errorMessage } from '../core/errors.js';
import type { NodeKind } from '../core/types.js';
import { contextStorage, currentNode, currentTrace } from '../tracer/context.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { NodeOptions, Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import { intOption } from '../core/int-option.js';

export interface LivetraceTelemetryOptions {
  /** Creates a trace per operation when no livetrace node or trace is current (see `newTrace`). */
  tracer?: Tracer;
  /** Record every operation into this trace. */
  trace?: Trace;
  /** Hang every operation under this node. */
  parent?: NodeHandle;
  /** With no current node: create a trace per operation (`true`, default, needs `tracer`) or record nothing. */
  newTrace?: boolean;
  /** Options of the traces created per operation. */
  traceOptions?: Omit<CreateOptions, 'id'>;
  /** Streamed text: `"batch"` (default) one info log per `textFlushMs` or `textBatchSize` chunks; `"off"`. */
  text?: 'batch' | 'off';
  /** Chunks per log in batch mode. Default 32. */
  textBatchSize?: number;
  /** Longest wait of a chunk for its batch, ms. Default 100. */
  textFlushMs?: number;
  /** Where problems go (never thrown into the SDK). Default: process.emitWarning, code LT_WARN_AI_SDK. */
  onWarning?: (warning: { code: 'LT_WARN_AI_SDK'; message: string; cause?: unknown }) => void;
}

// ---- the slice of AI SDK 7's event shapes this integration reads ------------------------

interface Common {
  readonly callId: string;
  readonly functionId?: string;
  readonly recordInputs?: boolean;
  readonly recordOutputs?: boolean;
}
interface OperationStart extends Common {
  readonly operationId?: string;
  readonly provider?: string;
  readonly modelId?: string;
  readonly system?: unknown;
  readonly instructions?: unknown;
  readonly prompt?: unknown;
  readonly messages?: unknown;
}
interface StepStart extends Common {
  readonly stepNumber: number;
  readonly provider?: string;
  readonly modelId?: string;
}
interface Usage {
  readonly inputTokens?: number | undefined;
  readonly outputTokens?: number | undefined;
  readonly inputTokenDetails?: { readonly cacheReadTokens?: number | undefined };
  readonly outputTokenDetails?: { readonly reasoningTokens?: number | undefined };
}
interface StepEnd {
  readonly callId?: string;
  readonly stepNumber?: number;
  readonly text?: string;
  readonly finishReason?: unknown;
  readonly toolCalls?: readonly unknown[];
}
interface ModelCallStart extends Common {
  readonly provider: string;
  readonly modelId: string;
  readonly messages?: unknown;
  readonly prompt?: unknown;
  readonly system?: unknown;
  readonly instructions?: unknown;
}
interface ModelCallEnd extends Common {
  readonly provider: string;
  readonly modelId: string;
  readonly finishReason?: unknown;
  readonly usage?: Usage;
  readonly content?: readonly unknown[];
  readonly responseId?: string;
}
interface ToolCallInfo {
  readonly toolCallId: string;
  readonly toolName: string;
  readonly input?: unknown;
}
interface ToolStart extends Common {
  readonly toolCall: ToolCallInfo;
}
interface ToolEnd extends Common {
  readonly toolCall: ToolCallInfo;
  readonly toolExecutionMs?: number;
  /** `{ type: 'tool-result' | 'tool-error', output?, error? }` from ai 7; absent before. */
  readonly toolOutput?: unknown;
  readonly success?: boolean;
  readonly output?: unknown;
  readonly error?: unknown;
}
interface OperationEnd {
  readonly callId: string;
  readonly text?: string;
  readonly finishReason?: unknown;
  readonly totalUsage?: Usage;
}
interface AbortEvent {
  readonly callId: string;
  readonly reason?: unknown;
}

/** What `livetraceTelemetry` returns: an AI SDK 7 `Telemetry` integration. */
export interface LivetraceTelemetry {
  onStart(event: OperationStart): void;
  onStepStart(event: StepStart): void;
  onLanguageModelCallStart(event: ModelCallStart): void;
  onLanguageModelCallEnd(event: ModelCallEnd): void;
  onToolExecutionStart(event: ToolStart): void;
  onToolExecutionEnd(event: ToolEnd): void;
  onStepEnd(event: StepEnd): void;
  onStepError(event: StepStart & { readonly error: unknown }): void;
  onEnd(event: OperationEnd): void;
  onAbort(event: AbortEvent): void;
  onError(error: unknown): void;
  executeLanguageModelCall<T>(options: { callId: string; execute: () => PromiseLike<T> }): PromiseLike<T>;
  executeTool<T>(options: { callId: string; toolCallId: string; execute: () => PromiseLike<T> }): PromiseLike<T>;
  /** Resolves when every trace written so far is stored. */
  flush(): Promise<void>;
}

type Kind = Extract<NodeKind, 'llm' | 'tool' | 'agent' | 'step'>;

interface ModelCall {
  node: NodeHandle;
  started: number;
  firstChunk: number | undefined;
  chunks: string[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Operation {
  trace: Trace | undefined;
  owned: boolean;
  node: NodeHandle | undefined;
  step: NodeHandle | undefined;
  model: ModelCall | undefined;
  tools: Map<string, NodeHandle>;
  recordInputs: boolean;
  recordOutputs: boolean;
  /** Events that arrived while the trace was being created. */
  pending: (() => void)[];
  ready: boolean;
}

/** A livetrace integration for the AI SDK 7 telemetry registry. */
export function livetraceTelemetry(options: LivetraceTelemetryOptions): LivetraceTelemetry {
  if (!options || typeof options !== 'object' || (!options.tracer && !options.trace && !options.parent)) {
    throw new TypeError('livetraceTelemetry(options): give a tracer, a trace, or a parent node handle');
  }
  const textMode = options.text ?? 'batch';
  if (textMode !== 'batch' && textMode !== 'off')
    throw new TypeError(`livetraceTelemetry option text must be "batch" or "off", got ${String(options.text)}`);
  const batchSize = positive('textBatchSize', options.textBatchSize, 32);
  const flushMs = positive('textFlushMs', options.textFlushMs, 100);
  const ops = new Map<string, Operation>();
  const inflight = new Set<Promise<unknown>>();

  const warn = (message: string, cause?: unknown): void => {
    const w = { code: 'LT_WARN_AI_SDK' as const, message: `livetrace AI SDK telemetry: ${message}`, cause };
    try {
      if (options.onWarning) options.onWarning(w);
      else process.emitWarning(w.message, { code: w.code });
    } catch {
      /* never reaches the SDK */
    }
  };
  const track = (p: Promise<unknown>): void => {
    const t = p.catch((err: unknown) => warn(errorMessage(err), err));
    inflight.add(t);
    void t.finally(() => inflight.delete(t));
  };
  /** Runs fn on the operation once its trace exists; never throws. */
  const on = (callId: string, what: string, fn: (op: Operation) => void): void => {
    const op = ops.get(callId);
    if (!op) return;
    const run = (): void => {
      try {
        fn(op);
      } catch (err) {
        warn(`${what}: ${errorMessage(err)}`, err);
      }
    };
    if (op.ready) run();
    else op.pending.push(run);
  };
  const child = (
    parent: NodeHandle | undefined,
    op: Operation,
    input: unknown,
    label: string,
    kind: Kind,
    metadata?: Record<string, unknown>,
  ): NodeHandle | undefined => {
    const opts: NodeOptions = { label, icon: kind, kind, metadata, autoCompleteParent: false };
    const node = parent ? parent.add(input, opts) : op.trace?.add(input, opts);
    return node && !node.isNoop ? node : undefined;
  };
  const flushText = (call: ModelCall): void => {
    if (call.timer !== undefined) {
      clearTimeout(call.timer);
      call.timer = undefined;
    }
    if (call.chunks.length === 0) return;
    const text = call.chunks.join('');
    const chunks = call.chunks.length;
    call.chunks = [];
    try {
      call.node.info(text, { delta: true, stream: 'text', chunks });
    } catch (err) {
      warn(`could not record streamed text: ${errorMessage(err)}`, err);
    }
  };
  const onText = (call: ModelCall, delta: string): void => {
    call.firstChunk ??= Date.now();
    if (textMode === 'off' || delta === '') return;
    call.chunks.push(delta);
    if (call.chunks.length >= batchSize) flushText(call);
    else if (call.timer === undefined) {
      call.timer = setTimeout(() => {
        call.timer = undefined;
        flushText(call);
      }, flushMs);
      call.timer.unref?.();
    }
  };
  /** Ends every open node of an operation with one status (abort, error). */
  const endOpen = (op: Operation, end: (n: NodeHandle) => void, withOperation = true): void => {
    if (op.model) flushText(op.model);
    for (const n of op.tools.values()) end(n);
    op.tools.clear();
    if (op.model) end(op.model.node);
    op.model = undefined;
    if (op.step) end(op.step);
    op.step = undefined;
    if (withOperation && op.node) end(op.node);
  };
  const finish = (callId: string, status: 'completed' | 'failed' | 'cancelled', error?: unknown): void => {
    const op = ops.get(callId);
    if (!op) return;
    const done = (): void => {
      ops.delete(callId);
      if (op.owned && op.trace) {
        if (status === 'failed') op.trace.markFailed(error);
        else if (status === 'cancelled') op.trace.markCancelled('AI SDK operation aborted');
        else op.trace.markComplete();
        track(op.trace.release());
      }
    };
    if (op.ready) done();
    else op.pending.push(done);
  };

  const integration: LivetraceTelemetry = {
    onStart(event) {
      try {
        if (ops.has(event.callId)) return;
        const op: Operation = {
          trace: undefined,
          owned: false,
          node: undefined,
          step: undefined,
          model: undefined,
          tools: new Map(),
          recordInputs: event.recordInputs !== false,
          recordOutputs: event.recordOutputs !== false,
          pending: [],
          ready: false,
        };
        ops.set(event.callId, op);
        const label = event.functionId ?? event.operationId ?? 'ai';
        const input = op.recordInputs ? promptOf(event) : undefined;
        const meta = { 'ai.operation': event.operationId, 'ai.model': event.modelId, 'ai.provider': event.provider };
        const begin = (trace: Trace, anchor: NodeHandle | undefined): void => {
          op.trace = trace;
          op.node = child(anchor, op, input, label, 'agent', meta);
          op.ready = true;
          for (const fn of op.pending.splice(0)) fn();
        };
        const anchor = options.parent ?? currentNode();
        if (anchor?.trace) return begin(anchor.trace, anchor);
        const fixed = options.trace ?? currentTrace();
        if (fixed) return begin(fixed, undefined);
        if (!options.tracer || options.newTrace === false) {
          ops.delete(event.callId);
          return;
        }
        op.owned = true;
        track(
          options.tracer.create({ agentName: label, ...(options.traceOptions ?? {}) }).then(
            (t) => begin(t, undefined),
            (err: unknown) => {
              ops.delete(event.callId);
              warn(`could not create a trace: ${errorMessage(err)}; this operation is not recorded`, err);
            },
          ),
        );
      } catch (err) {
        warn(`onStart: ${errorMessage(err)}`, err);
      }
    },
    onStepStart(event) {
      on(event.callId, 'onStepStart', (op) => {
        op.step = child(op.node, op, undefined, `step ${event.stepNumber}`, 'step', { 'ai.step': event.stepNumber });
      });
    },
    onLanguageModelCallStart(event) {
      on(event.callId, 'onLanguageModelCallStart', (op) => {
        const input = op.recordInputs ? promptOf(event) : undefined;
        const node = child(op.step ?? op.node, op, input, event.modelId, 'llm', {
          'ai.model': event.modelId,
          'ai.provider': event.provider,
        });
        op.model = node
          ? { node, started: Date.now(), firstChunk: undefined, chunks: [], timer: undefined }
          : undefined;
      });
    },
    onLanguageModelCallEnd(event) {
      on(event.callId, 'onLanguageModelCallEnd', (op) => {
        const call = op.model;
        op.model = undefined;
        if (!call) return;
        flushText(call);
        const u = event.usage;
        const usage = {
          model: event.modelId,
          provider: event.provider,
          inputTokens: u?.inputTokens ?? 0,
          outputTokens: u?.outputTokens ?? 0,
          cachedTokens: u?.inputTokenDetails?.cacheReadTokens,
          reasoningTokens: u?.outputTokenDetails?.reasoningTokens,
          timeToFirstTokenMs: call.firstChunk !== undefined ? call.firstChunk - call.started : undefined,
        };
        setUsage(call.node, usage);
        call.node.setMetadata({ 'ai.finish_reason': event.finishReason, 'ai.response_id': event.responseId });
        call.node.complete(op.recordOutputs ? outputOf(event.content) : undefined);
      });
    },
    onToolExecutionStart(event) {
      on(event.callId, 'onToolExecutionStart', (op) => {
        const tc = event.toolCall;
        const node = child(op.step ?? op.node, op, op.recordInputs ? tc.input : undefined, tc.toolName, 'tool', {
          'ai.tool_call_id': tc.toolCallId,
        });
        if (node) op.tools.set(tc.toolCallId, node);
      });
    },
    onToolExecutionEnd(event) {
      on(event.callId, 'onToolExecutionEnd', (op) => {
        const node = op.tools.get(event.toolCall.toolCallId);
        if (!node) return;
        op.tools.delete(event.toolCall.toolCallId);
        if (event.toolExecutionMs !== undefined) node.setMetadata('ai.tool_execution_ms', event.toolExecutionMs);
        const out = toolResult(event);
        if (out.failed) node.fail(out.error);
        else node.complete(op.recordOutputs ? out.output : undefined);
      });
    },
    onStepEnd(event) {
      if (event.callId === undefined) return;
      on(event.callId, 'onStepEnd', (op) => {
        const step = op.step;
        op.step = undefined;
        if (!step) return;
        step.setMetadata('ai.finish_reason', event.finishReason);
        step.complete(op.recordOutputs ? { text: event.text, tool_calls: event.toolCalls } : undefined);
      });
    },
    onStepError(event) {
      on(event.callId, 'onStepError', (op) => {
        if (op.model) {
          flushText(op.model);
          op.model.node.fail(event.error);
          op.model = undefined;
        }
        op.step?.fail(event.error);
        op.step = undefined;
      });
    },
    onEnd(event) {
      on(event.callId, 'onEnd', (op) => {
        endOpen(op, (n) => n.setStatus('cancelled'), false);
        op.node?.setMetadata('ai.finish_reason', event.finishReason);
        // Usage lives on the model-call nodes only: the reducer rolls it up.
        op.node?.complete(op.recordOutputs && event.text !== undefined ? { text: event.text } : undefined);
      });
      finish(event.callId, 'completed');
    },
    onAbort(event) {
      on(event.callId, 'onAbort', (op) => {
        op.node?.warn('aborted', { reason: event.reason !== undefined ? errorMessage(event.reason) : undefined });
        endOpen(op, (n) => n.setStatus('cancelled'));
      });
      finish(event.callId, 'cancelled');
    },
    onError(error) {
      // The SDK passes { callId, error } here; a bare error cannot be placed.
      const callId = (error as { callId?: unknown } | null)?.callId;
      const cause = (error as { error?: unknown } | null)?.error ?? error;
      if (typeof callId !== 'string') return;
      on(callId, 'onError', (op) => endOpen(op, (n) => n.fail(cause)));
      finish(callId, 'failed', cause);
    },
    executeLanguageModelCall<T>({
      callId,
      execute,
    }: {
      callId: string;
      execute: () => PromiseLike<T>;
    }): PromiseLike<T> {
      return Promise.resolve(execute()).then((result) => {
        // streamText: observe the provider stream's text deltas as they pass.
        const stream = (result as { stream?: unknown } | null)?.stream;
        const op = ops.get(callId);
        const call = op?.model;
        if (!call || !(stream instanceof ReadableStream)) return result;
        const observed = stream.pipeThrough(
          new TransformStream<unknown, unknown>({
            transform(part, controller) {
              try {
                const p = part as { type?: string; delta?: unknown };
                if (p.type === 'text-delta' && typeof p.delta === 'string') onText(call, p.delta);
                else if (p.type === 'tool-call' || p.type === 'reasoning-delta') call.firstChunk ??= Date.now();
              } catch (err) {
                warn(`stream: ${errorMessage(err)}`, err);
              }
              controller.enqueue(part);
            },
          }),
        );
        return { ...(result as object), stream: observed } as T;
      });
    },
    executeTool<T>({
      callId,
      toolCallId,
      execute,
    }: {
      callId: string;
      toolCallId: string;
      execute: () => PromiseLike<T>;
    }): PromiseLike<T> {
      // Nested AI SDK calls inside a tool hang under the tool's node.
      const op = ops.get(callId);
      const node = op?.tools.get(toolCallId);
      if (!node?.trace) return execute();
      return contextStorage.run({ trace: node.trace, node }, () => Promise.resolve(execute()));
    },
    async flush() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      const traces = new Set<Trace>();
      for (const op of ops.values()) {
        if (op.model) flushText(op.model);
        if (op.trace) traces.add(op.trace);
      }
      await Promise.allSettled([...traces].map((t) => t.flush()));
    },
  };
  return integration;
}

// ---- value shaping ------------------------------------------------------------------

/** Records what the framework reported; figures that are not counts (NaN, negative) are left out. */
function setUsage(node: NodeHandle, usage: Record<string, unknown>): void {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(usage)) {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v) && v >= 0)) clean[k] = v;
  }
  node.setUsage(clean);
}

function promptOf(e: { system?: unknown; instructions?: unknown; prompt?: unknown; messages?: unknown }): unknown {
  const system = e.instructions ?? e.system;
  if (Array.isArray(e.messages)) {
    const messages: readonly unknown[] = e.messages;
    return typeof system === 'string' && system !== '' ? [{ role: 'system', content: system }, ...messages] : messages;
  }
  return e.prompt;
}

/** The model's content parts as `{ text, tool_calls }` (the conversation convention). */
function outputOf(content: readonly unknown[] | undefined): unknown {
  if (!content) return undefined;
  let text = '';
  const calls: { id?: string | undefined; name: string; arguments: unknown }[] = [];
  for (const part of content) {
    const p = part as { type?: string; text?: string; toolCallId?: string; toolName?: string; input?: unknown };
    if (p.type === 'text' && typeof p.text === 'string') text += p.text;
    else if (p.type === 'tool-call' && typeof p.toolName === 'string')
      calls.push({ id: p.toolCallId, name: p.toolName, arguments: p.input });
  }
  return calls.length > 0 ? { text: text || undefined, tool_calls: calls } : text;
}

function toolResult(e: ToolEnd): { failed: boolean; output?: unknown; error?: unknown } {
  const to = e.toolOutput;
  if (typeof to === 'object' && to !== null && 'type' in to && typeof to.type === 'string') {
    if (to.type === 'tool-error') return { failed: true, error: 'error' in to ? to.error : undefined };
    return { failed: false, output: 'output' in to ? to.output : undefined };
  }
  if (e.success === false) return { failed: true, error: e.error };
  return { failed: false, output: e.output };
}

function positive(name: string, value: number | undefined, def: number): number {
  return intOption(`livetraceTelemetry option ${name}`, value, def, { error: TypeError });
}
