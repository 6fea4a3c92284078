// W3C Trace Context (`traceparent` / `tracestate`) for livetrace nodes. Pure functions: no
// @opentelemetry import, so they also work where only the core is installed.
//
// A livetrace node is named on the wire by the ids toOtlp() gives it, and the `tracestate`
// entry `livetrace=<trace id>.<node id>` carries the livetrace ids themselves: OTLP ids are
// hashes of them and cannot be reversed, so that entry is what lets a process that
// receives the header hang its work (spans or tracer.run) under the right node.
import { isValidId } from '../core/ids.js';
import type { NodeContext, NodeData } from '../core/types.js';
import { otlpSpanId, otlpTraceId } from './otlp.js';

export interface TraceparentFields {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
  /** W3C trace flags (bit 0: sampled). */
  traceFlags: number;
}

export interface TraceContextHeaders {
  traceparent: string;
  tracestate: string;
}

/** The tracestate key livetrace writes and reads. */
export const TRACESTATE_KEY = 'livetrace';

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a `traceparent` header; returns undefined for anything the W3C spec says to
 * ignore (bad shape, version ff, all-zero ids, extra fields on version 00).
 */
export function parseTraceparent(header: unknown): TraceparentFields | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT_RE.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) };
}

/** Formats a version-00 `traceparent` header. Throws a TypeError on invalid ids. */
export function formatTraceparent(fields: {
  traceId: string;
  spanId: string;
  traceFlags?: number;
  sampled?: boolean;
}): string {
  const { traceId, spanId } = fields;
  if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId))
    throw new TypeError(
      `traceparent: traceId must be 32 lowercase hex digits, not all zero; got ${JSON.stringify(traceId)}`,
    );
  if (!/^[0-9a-f]{16}$/.test(spanId) || /^0+$/.test(spanId))
    throw new TypeError(
      `traceparent: spanId must be 16 lowercase hex digits, not all zero; got ${JSON.stringify(spanId)}`,
    );
  const flags = fields.traceFlags ?? (fields.sampled === false ? 0 : 1);
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Reads the livetrace entry of a `tracestate` header (or of an OTel TraceState's serialization). */
export function parseTracestate(header: unknown): NodeContext | undefined {
  if (typeof header !== 'string') return undefined;
  for (const member of header.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim() !== TRACESTATE_KEY) continue;
    const value = member.slice(eq + 1).trim();
    const dot = value.indexOf('.');
    const traceId = dot < 0 ? value : value.slice(0, dot);
    const nodeId = dot < 0 ? undefined : value.slice(dot + 1);
    if (!isValidId(traceId)) return undefined;
    if (nodeId !== undefined && !isValidId(nodeId)) return { trace_id: traceId };
    return nodeId === undefined ? { trace_id: traceId } : { trace_id: traceId, node_id: nodeId };
  }
  return undefined;
}

/** Sets the livetrace entry in a `tracestate` header, first as the spec asks, keeping other vendors' entries. */
export function formatTracestate(ctx: NodeContext, existing?: string): string {
  const own = `${TRACESTATE_KEY}=${ctx.trace_id}${ctx.node_id ? `.${ctx.node_id}` : ''}`;
  const others = (existing ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0 && !m.startsWith(`${TRACESTATE_KEY}=`));
  // The spec allows 32 members; drop the oldest (rightmost) others past that.
  return [own, ...others].slice(0, 32).join(',');
}

/**
 * W3C headers for a livetrace node (`node.context()`, a NodeHandle or node data with its
 * trace id): the ids are those toOtlp() gives the node, so OTel spans started from these
 * headers continue the exported trace, and LivetraceSpanProcessor hangs them under the node.
 */
export function traceContextHeaders(
  target:
    | NodeContext
    | { trace_id: string; node: Pick<NodeData, 'id' | 'metadata'>; traceMetadata?: Record<string, unknown> },
): TraceContextHeaders {
  let traceId: string;
  let nodeId: string | undefined;
  let nodeMeta: Record<string, unknown> | undefined;
  let traceMeta: Record<string, unknown> | undefined;
  if ('node' in target) {
    traceId = target.trace_id;
    nodeId = target.node.id;
    nodeMeta = target.node.metadata;
    traceMeta = target.traceMetadata;
  } else {
    traceId = target.trace_id;
    nodeId = target.node_id;
  }
  if (!isValidId(traceId))
    throw new TypeError(`traceContextHeaders: invalid livetrace trace id ${JSON.stringify(traceId)}`);
  const otelTrace = otlpTraceId(traceId, traceMeta);
  // Without a node the header needs some parent span id: use the trace's own hashed id.
  const otelSpan = otlpSpanId(traceId, nodeId ?? '', nodeMeta);
  const ctx: NodeContext = nodeId ? { trace_id: traceId, node_id: nodeId } : { trace_id: traceId };
  return {
    traceparent: formatTraceparent({ traceId: otelTrace, spanId: otelSpan }),
    tracestate: formatTracestate(ctx),
  };
}

/**
 * The livetrace node a pair of incoming W3C headers points at: the tracestate entry when
 * present; else, when the trace id is one livetrace uses verbatim (traces that came in
 * through LivetraceSpanProcessor), that trace without a node.
 */
export function contextFromHeaders(headers: { traceparent?: unknown; tracestate?: unknown }): NodeContext | undefined {
  const fromState = parseTracestate(headers.tracestate);
  if (fromState) return fromState;
  const parsed = parseTraceparent(headers.traceparent);
  return parsed ? { trace_id: parsed.traceId } : undefined;
}
