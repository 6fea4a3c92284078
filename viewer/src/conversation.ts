// The conversation of an LLM node, as a list of messages ready to render. Pure, no DOM
// (unit-tested in test/viewer-conversation.test.ts).
//
// Input (docs/events.md, "Conversation of an LLM node"): `{ messages: [...] }` or the array
// itself; each message `{ role, content: string | parts[], tool_calls?, tool_call_id? }`.
// Also understood, because integrations and users write them: OpenAI tool calls
// (`{ id, function: { name, arguments: '<json>' } }`), AI SDK parts (`text`, `tool-call`,
// `tool-result`), LangChain message types (`human`, `ai`), `{ prompt, system }`.
// Output: `{ role: 'assistant', content, tool_calls? }`, `{ text, tool_calls }` or a string.
// Streamed text: node logs (level info) whose data is `{ delta: true }` (also `{ stream: 'text' }`
// and the LangChain handler's `{ tokens, total }` batches), in order.
// Tool results are paired with their calls by id: from `tool` messages / tool-result parts of
// the same conversation, else from a `tool` node of the trace carrying the call id
// (metadata `tool_call_id`, `ai.tool_call_id`, `gen_ai.tool.call.id`).
import type { LogEntry, NodeData } from '../../src/core/types.js';

export type Part = { type: 'text'; text: string } | { type: 'json'; value: unknown } | { type: 'media'; label: string };

export interface ToolResult {
  value: unknown;
  failed?: boolean;
  /** The tool node that produced it, when found in the trace. */
  nodeId?: string;
}

export interface ToolCall {
  id?: string | undefined;
  name: string;
  arguments: unknown;
  result?: ToolResult;
}

export interface Message {
  role: string;
  name?: string;
  parts: Part[];
  toolCalls: ToolCall[];
  /** For a tool message: the call it answers (and that call's name). */
  toolCallId?: string;
  toolName?: string;
  /** Where it comes from: the node's input, its output, or the live stream. */
  from: 'input' | 'output' | 'stream';
  streaming?: boolean;
}

export interface Conversation {
  messages: Message[];
}

const ROLE_ALIASES: Record<string, string> = {
  human: 'user',
  ai: 'assistant',
  model: 'assistant',
  developer: 'system',
  function: 'tool',
};

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Array.isArray, narrowing to unknown[] (its own signature narrows to any[]). */
function isList(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

/** Arguments as recorded: a JSON string becomes its value (for display as a tree). */
function parseArgs(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return v;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return v;
  }
}

function toolCallOf(v: unknown): ToolCall | undefined {
  if (!isObj(v)) return undefined;
  const fn = isObj(v.function) ? v.function : undefined;
  const name = v.name ?? v.toolName ?? fn?.name;
  if (typeof name !== 'string') return undefined;
  const id = v.id ?? v.toolCallId ?? v.tool_call_id;
  return {
    id: typeof id === 'string' ? id : undefined,
    name,
    arguments: parseArgs(v.arguments ?? v.args ?? v.input ?? fn?.arguments),
  };
}

function textOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

interface Parsed {
  parts: Part[];
  toolCalls: ToolCall[];
  /** AI SDK tool-result parts: results carried inside a message. */
  results: { id?: string | undefined; name?: string | undefined; value: unknown; failed?: boolean }[];
}

function contentOf(content: unknown): Parsed {
  const out: Parsed = { parts: [], toolCalls: [], results: [] };
  if (content === undefined || content === null) return out;
  if (typeof content === 'string') {
    if (content !== '') out.parts.push({ type: 'text', text: content });
    return out;
  }
  if (!Array.isArray(content)) {
    out.parts.push({ type: 'json', value: content });
    return out;
  }
  for (const p of content) {
    if (typeof p === 'string') {
      out.parts.push({ type: 'text', text: p });
      continue;
    }
    if (!isObj(p)) {
      out.parts.push({ type: 'json', value: p });
      continue;
    }
    const type = typeof p.type === 'string' ? p.type : '';
    const text = textOf(p.text);
    if (
      (type === 'text' || type === 'input_text' || type === 'output_text' || type === 'reasoning' || type === '') &&
      text !== undefined
    ) {
      out.parts.push({ type: 'text', text });
    } else if (type === 'tool-call' || type === 'tool_use' || type === 'function_call') {
      const tc = toolCallOf(p);
      if (tc) out.toolCalls.push(tc);
      else out.parts.push({ type: 'json', value: p });
    } else if (type === 'tool-result' || type === 'tool_result' || type === 'function_call_output') {
      const id = p.toolCallId ?? p.tool_use_id ?? p.call_id ?? p.tool_call_id;
      out.results.push({
        id: typeof id === 'string' ? id : undefined,
        name: textOf(p.toolName),
        value: p.output ?? p.result ?? p.content,
        failed: p.isError === true || p.is_error === true,
      });
    } else if (/image|file|audio|video/.test(type)) {
      const mt = textOf(p.mediaType) ?? textOf(p.mimeType) ?? type;
      out.parts.push({ type: 'media', label: `[${mt}]` });
    } else out.parts.push({ type: 'json', value: p });
  }
  return out;
}

function messageOf(m: unknown, from: Message['from']): Message[] {
  if (typeof m === 'string') return [{ role: 'user', parts: [{ type: 'text', text: m }], toolCalls: [], from }];
  if (!isObj(m)) return [{ role: 'unknown', parts: [{ type: 'json', value: m }], toolCalls: [], from }];
  const rawRole = textOf(m.role) ?? textOf(m.type) ?? 'unknown';
  const role = ROLE_ALIASES[rawRole] ?? rawRole;
  const c = contentOf(m.content ?? m.text);
  const calls = Array.isArray(m.tool_calls)
    ? m.tool_calls.map(toolCallOf).filter((t): t is ToolCall => t !== undefined)
    : [];
  const msg: Message = { role, parts: c.parts, toolCalls: [...calls, ...c.toolCalls], from };
  if (typeof m.name === 'string') msg.name = m.name;
  const tcid = m.tool_call_id ?? m.toolCallId;
  if (typeof tcid === 'string') msg.toolCallId = tcid;
  const out: Message[] = [];
  if (msg.parts.length || msg.toolCalls.length || c.results.length === 0) out.push(msg);
  // Each tool-result part reads as its own tool message.
  for (const r of c.results) {
    const tm: Message = { role: 'tool', parts: [resultPart(r.value)], toolCalls: [], from };
    if (r.id) tm.toolCallId = r.id;
    if (r.name) tm.toolName = r.name;
    out.push(tm);
  }
  return out;
}

function resultPart(v: unknown): Part {
  if (typeof v === 'string') return { type: 'text', text: v };
  // AI SDK tool output: { type: 'text' | 'json', value }.
  if (isObj(v) && (v.type === 'text' || v.type === 'error-text') && typeof v.value === 'string')
    return { type: 'text', text: v.value };
  if (isObj(v) && (v.type === 'json' || v.type === 'error-json') && 'value' in v)
    return { type: 'json', value: v.value };
  return { type: 'json', value: v };
}

/** The input messages of a node, when its input looks like a conversation. */
export function inputMessages(input: unknown): unknown[] | undefined {
  if (isList(input))
    return input.length && input.every((m) => isObj(m) && (typeof m.role === 'string' || typeof m.type === 'string'))
      ? input
      : undefined;
  if (!isObj(input)) return undefined;
  if (isList(input.messages)) return input.messages;
  if (typeof input.prompt === 'string') {
    const msgs: unknown[] = [];
    if (typeof input.system === 'string') msgs.push({ role: 'system', content: input.system });
    msgs.push({ role: 'user', content: input.prompt });
    return msgs;
  }
  return undefined;
}

function outputMessages(output: unknown): Message[] {
  if (output === undefined || output === null) return [];
  if (typeof output === 'string')
    return [
      { role: 'assistant', parts: output ? [{ type: 'text', text: output }] : [], toolCalls: [], from: 'output' },
    ];
  if (isObj(output)) {
    // OpenAI chat completion response.
    if (Array.isArray(output.choices) && isObj(output.choices[0]) && isObj(output.choices[0].message))
      return messageOf(output.choices[0].message, 'output');
    if (
      typeof output.role === 'string' ||
      'content' in output ||
      'tool_calls' in output ||
      typeof output.text === 'string'
    ) {
      const msgs = messageOf({ role: 'assistant', ...output }, 'output');
      return msgs;
    }
    if (Array.isArray(output.messages)) return output.messages.flatMap((m) => messageOf(m, 'output'));
  }
  return [{ role: 'assistant', parts: [{ type: 'json', value: output }], toolCalls: [], from: 'output' }];
}

/** Is this log line a piece of streamed model text? */
export function isStreamLog(l: LogEntry): boolean {
  const d = l.data as { delta?: unknown; stream?: unknown; tokens?: unknown; total?: unknown } | undefined;
  if (!isObj(d) || l.level !== 'info') return false;
  // The convention, the AI SDK integration's marker, and the LangChain handler's token batches.
  return d.delta === true || d.stream === 'text' || (typeof d.tokens === 'number' && typeof d.total === 'number');
}

const TOOL_ID_KEYS = ['tool_call_id', 'ai.tool_call_id', 'gen_ai.tool.call.id', 'toolCallId'];

/** Tool nodes of the trace by the call id they carry. */
export function toolNodesByCallId(nodes: ReadonlyMap<string, NodeData>): Map<string, NodeData> {
  const out = new Map<string, NodeData>();
  for (const n of nodes.values()) {
    if (n.kind !== 'tool') continue;
    for (const k of TOOL_ID_KEYS) {
      const v = n.metadata?.[k] ?? (isObj(n.input) ? n.input[k] : undefined);
      if (typeof v === 'string') {
        out.set(v, n);
        break;
      }
    }
  }
  return out;
}

/** Does this node have a conversation to show? (kind `llm`, or messages as input.) */
export function hasConversation(n: NodeData): boolean {
  return n.kind === 'llm' || inputMessages(n.input) !== undefined;
}

/**
 * The conversation of a node: its input messages, then its output (or, while it runs and has
 * no output yet, the text streamed so far), with tool calls paired with their results.
 */
export function buildConversation(
  node: NodeData,
  logs: readonly LogEntry[],
  toolNodes?: ReadonlyMap<string, NodeData>,
): Conversation {
  const messages: Message[] = [];
  const msgs = inputMessages(node.input);
  if (msgs) for (const m of msgs) messages.push(...messageOf(m, 'input'));
  else if (node.input !== undefined)
    messages.push({ role: 'user', parts: [resultPart(node.input)], toolCalls: [], from: 'input' });

  if (node.output !== undefined) messages.push(...outputMessages(node.output));
  else {
    const streamed = logs
      .filter(isStreamLog)
      .map((l) => l.message)
      .join('');
    if (streamed || node.status === 'running') {
      messages.push({
        role: 'assistant',
        parts: streamed ? [{ type: 'text', text: streamed }] : [],
        toolCalls: [],
        from: 'stream',
        streaming: node.status === 'running',
      });
    }
  }

  // Pair calls and results.
  const calls = new Map<string, ToolCall>();
  for (const m of messages) for (const c of m.toolCalls) if (c.id) calls.set(c.id, c);
  for (const m of messages) {
    if (m.role !== 'tool' || !m.toolCallId) continue;
    const c = calls.get(m.toolCallId);
    if (!c) continue;
    m.toolName ??= c.name;
    const p = m.parts[0];
    c.result = {
      value: p === undefined ? undefined : p.type === 'text' ? p.text : p.type === 'json' ? p.value : p.label,
    };
  }
  if (toolNodes) {
    for (const c of calls.values()) {
      if (c.result || !c.id) continue;
      const t = toolNodes.get(c.id);
      if (!t) continue;
      if (t.status === 'failed' && t.error)
        c.result = { value: `${t.error.name}: ${t.error.message}`, failed: true, nodeId: t.id };
      else if (t.output !== undefined) c.result = { value: t.output, nodeId: t.id };
      else c.result = { value: undefined, nodeId: t.id };
    }
  }
  return { messages };
}
