// The one span -> node mapping of livetrace, shared by LivetraceSpanProcessor (spans of
// this process, seen at start and at end) and the OTLP receiver (spans of any process,
// received once they ended). Whichever way a span arrives it becomes the same node: label
// = span name, kind from the GenAI / OpenInference / AI SDK attributes, input and output
// from the prompt/completion attributes, the other attributes as metadata (with the OTel
// identity under otel.*), events as logs (`exception` at level error), usage of model
// calls, status ERROR -> failed, anything else -> completed.
import type { NodeHandle } from '../tracer/node-handle.js';
import type { NodeOptions } from '../tracer/trace.js';
import type { UsageInput } from '../core/usage.js';
import { splitAttributes, type AttributeValue, type Attributes, type SplitAttributes } from './gen-ai-attributes.js';
import { spanNodeKind, spanUsage } from './gen-ai-semantics.js';
import { OTEL_KIND_KEY, OTEL_PARENT_SPAN_ID_KEY, OTEL_SCOPE_KEY, OTEL_SPAN_ID_KEY } from './otlp.js';

/** OTLP/OTel status code of a failed span. */
export const SPAN_STATUS_ERROR = 2;

/** What the start of a span says. */
export interface SpanStartFields {
  name: string;
  /** OTel API SpanKind (INTERNAL = 0 ... CONSUMER = 4; OTLP's proto numbering minus one). */
  kind: number;
  spanId: string;
  /** The span's attributes (when it started, or all of them for an ended span). */
  attributes: Attributes;
  /** Instrumentation scope name. */
  scope?: string | undefined;
  /** The parent span id, given only when the parent is not a node of this trace (a remote or missing parent). */
  foreignParentSpanId?: string | undefined;
}

/** A node to create: `parent.add(input, options)`. */
export interface SpanNodeStart {
  input: unknown;
  options: NodeOptions;
}

/** What the end of a span does to its node. */
export interface SpanNodeEnd {
  /** Metadata to merge (attributes set after the start). */
  metadata: Record<string, AttributeValue>;
  hasOutput: boolean;
  output: unknown;
  usage: UsageInput | undefined;
  events: readonly { name: string; attributes?: Attributes | undefined }[];
  status: { code: number; message?: string | undefined };
}

/**
 * The node a span starts, from attributes already split by `splitAttributes`. Takes
 * `split.metadata` over (the split is made for this call): the OTel identity is added to it
 * in place. A spread of it into a literal with computed keys was 8% of the processor's
 * profile (an object V8 builds key by key, in dictionary mode).
 */
export function spanNodeStart(span: SpanStartFields, split: SplitAttributes): SpanNodeStart {
  const metadata: Record<string, unknown> = split.metadata;
  metadata[OTEL_SPAN_ID_KEY] = span.spanId;
  metadata[OTEL_KIND_KEY] = span.kind;
  if (span.scope) metadata[OTEL_SCOPE_KEY] = span.scope;
  if (span.foreignParentSpanId !== undefined) metadata[OTEL_PARENT_SPAN_ID_KEY] = span.foreignParentSpanId;
  const kind = spanNodeKind(span.attributes);
  const options: NodeOptions = { label: span.name, metadata, autoCompleteParent: false };
  if (kind !== undefined) options.kind = kind;
  return { input: split.hasInput ? split.input : undefined, options };
}

/**
 * The end of a span. `split` holds the attributes to record at the end (for a live span,
 * those that changed since it started); `allAttributes` all of them (usage is read there).
 * `withMetadata: false` when the split's metadata was already recorded at the start.
 */
export function spanNodeEnd(
  split: SplitAttributes,
  allAttributes: Attributes,
  events: SpanNodeEnd['events'],
  status: SpanNodeEnd['status'],
  withMetadata = true,
): SpanNodeEnd {
  return {
    metadata: withMetadata ? split.metadata : {},
    hasOutput: split.hasOutput,
    output: split.output,
    usage: spanUsage(allAttributes),
    events,
    status,
  };
}

/** Applies the end of a span to its node: usage/metadata, events as logs, then complete or fail. */
export function applySpanEnd(node: NodeHandle, end: SpanNodeEnd): void {
  // One node_updated for usage and metadata: each event carries the whole node (input included).
  if (end.usage) node.setUsage(end.usage, end.metadata);
  else if (hasKeys(end.metadata)) node.setMetadata(end.metadata);
  let exception: Attributes | undefined;
  for (const e of end.events) {
    if (e.name === 'exception') exception = e.attributes;
    const level = e.name === 'exception' ? 'error' : 'info';
    if (e.attributes && hasKeys(e.attributes)) node[level](e.name, e.attributes);
    else node[level](e.name);
  }
  if (end.status.code === SPAN_STATUS_ERROR) {
    if (end.hasOutput) node.setOutput(end.output);
    node.fail({
      name: str(exception?.['exception.type']) ?? 'Error',
      message: end.status.message || str(exception?.['exception.message']) || 'span status ERROR',
      ...(exception?.['exception.stacktrace'] !== undefined ? { stack: str(exception['exception.stacktrace']) } : {}),
    });
  } else if (end.hasOutput) node.complete(end.output);
  else node.complete();
}

/** Both halves of a span that already ended (what OTLP carries), from one split of its attributes. */
export function endedSpanNode(
  span: SpanStartFields,
  events: SpanNodeEnd['events'],
  status: SpanNodeEnd['status'],
  mapInputOutput = true,
): { start: SpanNodeStart; end: SpanNodeEnd } {
  const split = splitAttributes(span.attributes, mapInputOutput);
  return { start: spanNodeStart(span, split), end: spanNodeEnd(split, span.attributes, events, status, false) };
}

/** Whether an object has an own enumerable key, without the array Object.keys() makes. */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

function str(v: AttributeValue): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}
