// livetrace/openai-agents: a TracingProcessor for the OpenAI Agents SDK (`@openai/agents`).
// Register it with `addTraceProcessor(...)` or `setTraceProcessors([...])`: agent runs,
// turns, handoffs, function (tool) calls, generations/responses, guardrails and custom
// spans become live nodes when the span starts and are completed or failed when it ends.
// The SDK's span shapes are declared structurally here, so this module imports nothing
// from `@openai/agents` (an optional peer).
import { errorMessage } from '../core/errors.js';
import { currentNode, currentTrace } from '../tracer/context.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { NodeOptions, Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import { type IntegrationKind, patchNode, setUsage, warner } from './shared.js';

export interface LivetraceAgentsProcessorOptions {
  /** Creates a livetrace trace per Agents SDK trace when no livetrace node or trace is current. */
  tracer?: Tracer;
  /** Record every Agents SDK trace into this livetrace trace. */
  trace?: Trace;
  /** Hang every Agents SDK trace under this node. */
  parent?: NodeHandle;
  /** With no current livetrace node: create a trace per Agents SDK trace (`true`, default; needs `tracer`) or record nothing. */
  newTrace?: boolean;
  /** Options of the traces created (default agentName: the SDK trace's name). */
  traceOptions?: Omit<CreateOptions, 'id'>;
  /** Where problems go (never thrown into the SDK). Default: process.emitWarning, code LT_WARN_OPENAI_AGENTS. */
  onWarning?: (warning: { code: 'LT_WARN_OPENAI_AGENTS'; message: string; cause?: unknown }) => void;
}

// ---- the slice of @openai/agents-core's tracing types this processor reads ---------------

/** An Agents SDK trace (`Trace` in @openai/agents-core). */
export interface AgentsTraceLike {
  readonly traceId: string;
  readonly name?: string;
  readonly groupId?: string | null;
  readonly metadata?: Record<string, unknown> | undefined;
}
/** An Agents SDK span (`Span` in @openai/agents-core). */
export interface AgentsSpanLike {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | null;
  readonly spanData: { readonly type: string; readonly [key: string]: unknown };
  readonly error: { readonly message: string; readonly data?: Record<string, unknown> } | null;
}

interface Root {
  readonly id: string;
  trace: Trace | undefined;
  owned: boolean;
  /** The node of the SDK trace itself (the workflow): parentless spans hang under it. */
  node: NodeHandle | undefined;
  ready: boolean;
  pending: (() => void)[];
  /** Spans started and not yet ended. */
  open: number;
  ended: boolean;
  error: unknown;
}

interface SpanEntry {
  readonly root: Root;
  node: NodeHandle | undefined;
}

/** A livetrace `TracingProcessor` for `@openai/agents` (`addTraceProcessor(new LivetraceAgentsProcessor({ tracer }))`). */
export class LivetraceAgentsProcessor {
  readonly #opts: LivetraceAgentsProcessorOptions;
  readonly #roots = new Map<string, Root>();
  readonly #spans = new Map<string, SpanEntry>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #warn: (message: string, cause?: unknown) => void;
  #shut = false;

  constructor(options: LivetraceAgentsProcessorOptions) {
    if (!options || typeof options !== 'object' || (!options.tracer && !options.trace && !options.parent)) {
      throw new TypeError('new LivetraceAgentsProcessor(options): give a tracer, a trace, or a parent node handle');
    }
    this.#opts = options;
    this.#warn = warner('LT_WARN_OPENAI_AGENTS', 'livetrace OpenAI Agents processor', options.onWarning);
  }

  /** Spans and traces currently followed (for tests and leak checks). */
  get stats(): { openTraces: number; openSpans: number } {
    return { openTraces: this.#roots.size, openSpans: this.#spans.size };
  }

  start(): void {}

  async onTraceStart(trace: AgentsTraceLike): Promise<void> {
    try {
      if (this.#shut) return;
      this.#openRoot(trace);
    } catch (err) {
      this.#warn(`onTraceStart: ${errorMessage(err)}`, err);
    }
  }

  async onTraceEnd(trace: AgentsTraceLike): Promise<void> {
    const root = this.#roots.get(trace?.traceId);
    if (!root) return;
    this.#when(root, 'onTraceEnd', () => {
      root.ended = true;
      this.#maybeFinish(root);
    });
  }

  async onSpanStart(span: AgentsSpanLike): Promise<void> {
    try {
      if (this.#shut || !span || typeof span.spanId !== 'string') return;
      if (this.#spans.has(span.spanId)) return;
      // A span of a trace that started before this processor was registered: open it now.
      const root = this.#roots.get(span.traceId) ?? this.#openRoot({ traceId: span.traceId, name: 'agents' });
      if (!root) return;
      const entry: SpanEntry = { root, node: undefined };
      this.#spans.set(span.spanId, entry);
      root.open++;
      this.#when(root, 'onSpanStart', () => {
        const parent = (span.parentId !== null && this.#spans.get(span.parentId)?.node) || root.node;
        const d = describeStart(span);
        const opts: NodeOptions & { kind: IntegrationKind } = {
          label: d.label,
          icon: d.icon ?? d.kind,
          kind: d.kind,
          metadata: d.metadata,
          autoCompleteParent: false,
        };
        const node = parent ? parent.add(d.input, opts) : root.trace?.add(d.input, opts);
        entry.node = node && !node.isNoop ? node : undefined;
      });
    } catch (err) {
      this.#warn(`onSpanStart: ${errorMessage(err)}`, err);
    }
  }

  async onSpanEnd(span: AgentsSpanLike): Promise<void> {
    try {
      const entry = span ? this.#spans.get(span.spanId) : undefined;
      if (!entry) return;
      this.#spans.delete(span.spanId);
      const root = entry.root;
      this.#when(root, 'onSpanEnd', () => {
        root.open--;
        const node = entry.node;
        if (node) {
          const d = describeEnd(span);
          if (d.patch) patchNode(node, d.patch);
          if (d.metadata && Object.keys(d.metadata).length > 0) node.setMetadata(d.metadata);
          if (d.usage) setUsage(node, d.usage);
          if (span.error) {
            const error = {
              name: 'AgentsSpanError',
              message: span.error.message,
              ...(span.error.data !== undefined ? { data: span.error.data } : {}),
            };
            node.fail(error);
            if (span.parentId === null) {
              root.error ??= error;
              // The SDK does not end a run's trace when the run throws (0.20): the failed
              // top-level span with nothing open under it ends the trace here.
              if (root.open === 0) root.ended = true;
            }
          } else if (d.failure) {
            node.fail(d.failure);
            node.setOutput(d.output);
          } else node.complete(d.output);
        }
        this.#maybeFinish(root);
      });
    } catch (err) {
      this.#warn(`onSpanEnd: ${errorMessage(err)}`, err);
    }
  }

  /** Resolves when every trace written so far is stored. */
  async forceFlush(): Promise<void> {
    await this.#settle();
    const traces = new Set<Trace>();
    for (const root of this.#roots.values()) if (root.trace) traces.add(root.trace);
    await Promise.allSettled([...traces].map((t) => t.flush()));
  }

  /** Marks spans still open as cancelled, ends the traces it created and releases them. Idempotent. */
  async shutdown(_timeout?: number): Promise<void> {
    if (this.#shut) return this.#settle();
    this.#shut = true;
    await this.#settle();
    for (const entry of this.#spans.values()) entry.node?.setStatus('cancelled');
    this.#spans.clear();
    for (const root of [...this.#roots.values()]) {
      if (!root.ready) continue;
      root.node?.setStatus('cancelled');
      this.#roots.delete(root.id);
      if (root.owned && root.trace) {
        root.trace.markCancelled('OpenAI Agents processor shut down before the trace ended');
        this.#track(root.trace.release());
      }
    }
    await this.#settle();
  }

  // ---- internals ----------------------------------------------------------------------

  #openRoot(t: AgentsTraceLike): Root | undefined {
    if (typeof t?.traceId !== 'string') return undefined;
    const existing = this.#roots.get(t.traceId);
    if (existing) return existing;
    const root: Root = {
      id: t.traceId,
      trace: undefined,
      owned: false,
      node: undefined,
      ready: false,
      pending: [],
      open: 0,
      ended: false,
      error: undefined,
    };
    const label = typeof t.name === 'string' && t.name !== '' ? t.name : 'agents';
    const metadata: Record<string, unknown> = { 'agents.trace_id': t.traceId };
    if (t.groupId) metadata['agents.group_id'] = t.groupId;
    if (t.metadata && Object.keys(t.metadata).length > 0) metadata['agents.metadata'] = t.metadata;
    const begin = (trace: Trace, anchor: NodeHandle | undefined): void => {
      root.trace = trace;
      const opts: NodeOptions & { kind: IntegrationKind } = {
        label,
        icon: 'agent',
        kind: 'agent',
        metadata,
        autoCompleteParent: false,
      };
      const node = anchor ? anchor.add(undefined, opts) : trace.add(undefined, opts);
      root.node = node.isNoop ? undefined : node;
      root.ready = true;
      for (const fn of root.pending.splice(0)) fn();
    };
    this.#roots.set(t.traceId, root);
    const anchor = this.#opts.parent ?? currentNode();
    if (anchor?.trace) {
      begin(anchor.trace, anchor);
      return root;
    }
    const fixed = this.#opts.trace ?? currentTrace();
    if (fixed) {
      begin(fixed, undefined);
      return root;
    }
    const tracer = this.#opts.tracer;
    if (!tracer || this.#opts.newTrace === false) {
      this.#roots.delete(t.traceId);
      return undefined;
    }
    root.owned = true;
    this.#track(
      tracer.create({ agentName: label, ...(this.#opts.traceOptions ?? {}) }).then(
        (trace) => begin(trace, undefined),
        (err: unknown) => {
          this.#roots.delete(t.traceId);
          for (const [id, e] of this.#spans) if (e.root === root) this.#spans.delete(id);
          this.#warn(
            `could not create a trace: ${errorMessage(err)}; Agents SDK trace ${t.traceId} is not recorded`,
            err,
          );
        },
      ),
    );
    return root;
  }

  /** Runs fn once the root's trace exists (in order); never throws. */
  #when(root: Root, what: string, fn: () => void): void {
    const run = (): void => {
      try {
        fn();
      } catch (err) {
        this.#warn(`${what}: ${errorMessage(err)}`, err);
      }
    };
    if (root.ready) run();
    else root.pending.push(run);
  }

  /** The SDK trace ended and none of its spans is open: end the workflow node (and an owned trace). */
  #maybeFinish(root: Root): void {
    if (!root.ended || root.open > 0 || this.#roots.get(root.id) !== root) return;
    this.#roots.delete(root.id);
    if (root.error !== undefined) root.node?.fail(root.error);
    else root.node?.complete();
    if (root.owned && root.trace) {
      if (root.error !== undefined) root.trace.markFailed(root.error);
      else root.trace.markComplete();
      this.#track(root.trace.release());
    }
  }

  #track(p: Promise<unknown>): void {
    const t = p.catch((err: unknown) => this.#warn(errorMessage(err), err));
    this.#inflight.add(t);
    void t.finally(() => this.#inflight.delete(t));
  }

  async #settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}

// ---- span data → node ------------------------------------------------------------------

interface StartShape {
  kind: IntegrationKind;
  icon?: string;
  label: string;
  input?: unknown;
  metadata?: Record<string, unknown>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A string or a number as label text; anything else as ''. */
function labelText(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

function describeStart(span: AgentsSpanLike): StartShape {
  const d = span.spanData as Record<string, unknown> & { type: string };
  const meta: Record<string, unknown> = { 'agents.span_type': d.type, 'agents.span_id': span.spanId };
  switch (d.type) {
    case 'agent':
      if (Array.isArray(d['tools'])) meta['agents.tools'] = d['tools'];
      if (Array.isArray(d['handoffs'])) meta['agents.handoffs'] = d['handoffs'];
      if (d['output_type'] !== undefined) meta['agents.output_type'] = d['output_type'];
      return { kind: 'agent', label: str(d['name']) ?? 'agent', metadata: meta };
    case 'task':
      return { kind: 'chain', label: str(d['name']) ?? 'task', metadata: meta };
    case 'turn':
      if (d['agent_name'] !== undefined) meta['agents.agent_name'] = d['agent_name'];
      return { kind: 'step', label: `turn ${labelText(d['turn'])}`.trim(), metadata: meta };
    case 'function':
      return {
        kind: 'tool',
        label: str(d['name']) ?? 'function',
        input: d['input'] !== undefined && d['input'] !== '' ? parseJson(d['input']) : undefined,
        metadata: meta,
      };
    case 'generation':
      return {
        kind: 'llm',
        label: str(d['model']) ?? 'generation',
        input: d['input'],
        metadata: withConfig(meta, d['model_config']),
      };
    case 'response':
      return { kind: 'llm', label: 'response', input: d['_input'], metadata: meta };
    case 'handoff':
      return { kind: 'step', icon: 'handoff', label: handoffLabel(d), metadata: meta };
    case 'guardrail':
      return { kind: 'guardrail', label: str(d['name']) ?? 'guardrail', metadata: meta };
    case 'custom':
      return { kind: 'step', label: str(d['name']) ?? 'custom', input: d['data'], metadata: meta };
    case 'mcp_tools':
      if (d['server'] !== undefined) meta['agents.mcp_server'] = d['server'];
      return {
        kind: 'tool',
        label: `mcp list tools${str(d['server']) ? ` (${String(d['server'])})` : ''}`,
        metadata: meta,
      };
    case 'transcription':
    case 'speech':
      return {
        kind: 'llm',
        label: str(d['model']) ?? d.type,
        input: d.type === 'speech' ? d['input'] : undefined,
        metadata: withConfig(meta, d['model_config']),
      };
    default:
      return { kind: 'step', label: d.type, metadata: meta };
  }
}

interface EndShape {
  patch?: { input?: unknown; label?: string } | undefined;
  output?: unknown;
  metadata?: Record<string, unknown> | undefined;
  usage?: Parameters<typeof setUsage>[1] | undefined;
  /** The span ended without an SDK error but the node failed (a guardrail that tripped). */
  failure?: unknown;
}

function describeEnd(span: AgentsSpanLike): EndShape {
  const d = span.spanData as Record<string, unknown> & { type: string };
  switch (d.type) {
    case 'agent': {
      const metadata: Record<string, unknown> = {};
      if (Array.isArray(d['tools'])) metadata['agents.tools'] = d['tools'];
      if (Array.isArray(d['handoffs'])) metadata['agents.handoffs'] = d['handoffs'];
      return { metadata };
    }
    case 'turn':
      return {};
    case 'task':
      return {};
    case 'function': {
      const metadata: Record<string, unknown> = {};
      if (d['mcp_data'] !== undefined) metadata['agents.mcp_data'] = d['mcp_data'];
      return {
        patch: d['input'] !== undefined && d['input'] !== '' ? { input: parseJson(d['input']) } : undefined,
        output: parseJson(d['output']),
        metadata,
      };
    }
    case 'generation': {
      const model = str(d['model']);
      const u = d['usage'] as
        { input_tokens?: unknown; output_tokens?: unknown; details?: Record<string, unknown> | null } | undefined;
      const patch: EndShape['patch'] = {};
      if (d['input'] !== undefined) patch.input = d['input'];
      if (model) patch.label = model;
      return {
        patch,
        output: assistantOutput(d['output']),
        metadata: withConfig({}, d['model_config']),
        usage: u ? usageOf(model ?? 'unknown', u.input_tokens, u.output_tokens, u.details ?? undefined) : undefined,
      };
    }
    case 'response': {
      const r = d['_response'] as { model?: unknown; output?: unknown; usage?: Record<string, unknown> } | undefined;
      const model = str(r?.model);
      const patch: EndShape['patch'] = {};
      if (d['_input'] !== undefined) patch.input = d['_input'];
      if (model) patch.label = model;
      const u = r?.usage;
      return {
        patch,
        output: r?.output !== undefined ? assistantOutput(r.output) : undefined,
        metadata: d['response_id'] !== undefined ? { 'agents.response_id': d['response_id'] } : {},
        usage: u
          ? usageOf(
              model ?? 'unknown',
              u['input_tokens'] ?? u['inputTokens'],
              u['output_tokens'] ?? u['outputTokens'],
              u,
            )
          : undefined,
      };
    }
    case 'handoff':
      return { patch: { label: handoffLabel(d) }, output: { from_agent: d['from_agent'], to_agent: d['to_agent'] } };
    case 'guardrail': {
      const triggered = d['triggered'] === true;
      const output = { triggered };
      if (triggered)
        return {
          output,
          metadata: { 'agents.triggered': true },
          failure: {
            name: 'GuardrailTripwireTriggered',
            message: `guardrail ${labelText(d['name'])} tripped`.replace('  ', ' '),
          },
        };
      return { output, metadata: { 'agents.triggered': false } };
    }
    case 'custom':
      return { output: d['data'] };
    case 'mcp_tools':
      return { output: d['result'] };
    case 'transcription':
      return { output: d['output'] };
    case 'speech':
      return {
        output: d['output'] !== undefined ? { format: (d['output'] as { format?: unknown }).format } : undefined,
      };
    default: {
      const { type: _type, ...rest } = d;
      return { output: Object.keys(rest).length > 0 ? rest : undefined };
    }
  }
}

function handoffLabel(d: Record<string, unknown>): string {
  const from = str(d['from_agent']);
  const to = str(d['to_agent']);
  if (from && to) return `handoff ${from} → ${to}`;
  if (to) return `handoff → ${to}`;
  return 'handoff';
}

function withConfig(meta: Record<string, unknown>, config: unknown): Record<string, unknown> {
  if (config && typeof config === 'object') {
    const clean = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined && v !== null));
    if (Object.keys(clean).length > 0) meta['agents.model_config'] = clean;
  }
  return meta;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function usageOf(
  model: string,
  input: unknown,
  output: unknown,
  details: Record<string, unknown> | undefined,
): Parameters<typeof setUsage>[1] {
  const inDetails = (details?.['input_tokens_details'] ?? details) as Record<string, unknown> | undefined;
  const outDetails = (details?.['output_tokens_details'] ?? details) as Record<string, unknown> | undefined;
  return {
    model,
    inputTokens: num(input) ?? 0,
    outputTokens: num(output) ?? 0,
    cachedTokens: num(inDetails?.['cached_tokens']) ?? num(inDetails?.['cached_input_tokens']),
    reasoningTokens: num(outDetails?.['reasoning_tokens']),
  };
}

/** Model output items as the conversation convention: `{ role, content, tool_calls? }`. */
function assistantOutput(items: unknown): unknown {
  if (!Array.isArray(items)) return items;
  let text = '';
  let sawText = false;
  const calls: { id?: unknown; name: unknown; arguments: unknown }[] = [];
  for (const item of items) {
    const it = item as Record<string, unknown> | null;
    if (!it || typeof it !== 'object') return items;
    const type = it['type'];
    if ((type === 'message' || (type === undefined && it['role'] === 'assistant')) && Array.isArray(it['content'])) {
      for (const c of it['content'] as Record<string, unknown>[]) {
        if (typeof c?.['text'] === 'string') {
          text += c['text'];
          sawText = true;
        }
      }
    } else if (type === 'message' && typeof it['content'] === 'string') {
      text += it['content'];
      sawText = true;
    } else if (type === 'function_call') {
      calls.push({
        id: it['callId'] ?? it['call_id'] ?? it['id'],
        name: it['name'],
        arguments: parseJson(it['arguments']),
      });
    } else if (type === 'reasoning') {
      continue;
    } else return items;
  }
  if (!sawText && calls.length === 0) return items.length === 0 ? undefined : items;
  const out: Record<string, unknown> = { role: 'assistant', content: text };
  if (calls.length > 0) out['tool_calls'] = calls;
  return out;
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const c = v.trimStart()[0];
  if (c !== '{' && c !== '[' && c !== '"') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
