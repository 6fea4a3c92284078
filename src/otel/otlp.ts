// livetrace snapshot -> OTLP/JSON ExportTraceServiceRequest. A pure function over the
// snapshot with no @opentelemetry import, so the server and the CLI can export without the
// optional peers installed. The field shapes follow @opentelemetry/otlp-transformer's
// JsonTraceSerializer (hex ids, nanosecond timestamps as decimal strings, enum numbers),
// which test/otel-otlp.test.ts checks against the real package.
import { createHash } from 'node:crypto';
import type { LogEntry, NodeData, TraceSnapshot } from '../core/types.js';

// Metadata keys written by LivetraceSpanProcessor: they carry the original OTel identity
// so that a trace that came in as OTel goes out with the same ids.
export const OTEL_TRACE_ID_KEY = 'otel.trace_id';
export const OTEL_SPAN_ID_KEY = 'otel.span_id';
export const OTEL_PARENT_SPAN_ID_KEY = 'otel.parent_span_id';
export const OTEL_KIND_KEY = 'otel.kind';
export const OTEL_SCOPE_KEY = 'otel.scope';
const RESERVED_KEYS = new Set([
  OTEL_TRACE_ID_KEY,
  OTEL_SPAN_ID_KEY,
  OTEL_PARENT_SPAN_ID_KEY,
  OTEL_KIND_KEY,
  OTEL_SCOPE_KEY,
]);

/** OTLP SpanKind (proto numbering: API value + 1). */
export const OtlpSpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
/** OTLP StatusCode. */
export const OtlpStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: number }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | Record<string, never>;

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
}

export interface OtlpLink {
  traceId: string;
  spanId: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
  flags?: number;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
  events: OtlpSpanEvent[];
  droppedEventsCount: number;
  status: { code: number; message?: string };
  links: OtlpLink[];
  droppedLinksCount: number;
  flags?: number;
}

export interface OtlpScopeSpans {
  scope: { name: string; version?: string };
  spans: OtlpSpan[];
  schemaUrl?: string;
}

export interface OtlpResourceSpans {
  resource: { attributes: OtlpKeyValue[]; droppedAttributesCount: number };
  scopeSpans: OtlpScopeSpans[];
  schemaUrl?: string;
}

/** OTLP/JSON `ExportTraceServiceRequest` (POST it to `<collector>/v1/traces`). */
export interface OtlpExportTraceServiceRequest {
  resourceSpans: OtlpResourceSpans[];
}

export interface ToOtlpOptions {
  /** Resource `service.name`. Default: the trace's `agent_name`, else `"livetrace"`. */
  serviceName?: string;
  /** Extra resource attributes (scalars or arrays of scalars). */
  resourceAttributes?: Record<string, string | number | boolean | Array<string | number | boolean>>;
  /** Instrumentation scope name. Default `"livetrace"`. */
  scopeName?: string;
  scopeVersion?: string;
  /** Longest string attribute value; longer values are cut and end with `…[truncated]`. Default 65536. */
  maxAttributeLength?: number;
  /** End time (epoch ms) given to nodes that have not ended. Default: the trace's end or last update. */
  openEndTime?: number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
// W3C sampled flag + OTLP "has is_remote" bit, as the SDK's serializer writes them.
const SPAN_FLAGS = 0x101;

function hashHex(text: string, length: number): string {
  let hex = createHash('sha256').update(text).digest('hex').slice(0, length);
  // An all-zero id is invalid in OTel; astronomically unlikely, but cheap to rule out.
  if (/^0+$/.test(hex)) hex = hex.slice(0, -1) + '1';
  return hex;
}

/**
 * The OTLP trace id (32 lowercase hex) of a livetrace trace: the trace id itself when it
 * already is one (traces created by LivetraceSpanProcessor), else a hash of it.
 */
export function otlpTraceId(traceId: string, metadata?: Record<string, unknown>): string {
  const fromMeta = metadata?.[OTEL_TRACE_ID_KEY];
  if (typeof fromMeta === 'string' && HEX32.test(fromMeta) && fromMeta !== ZERO32) return fromMeta;
  if (HEX32.test(traceId) && traceId !== ZERO32) return traceId;
  return hashHex(`livetrace:trace:${traceId}`, 32);
}

/** The OTLP span id (16 lowercase hex) of a node: its original OTel span id if any, else a hash. */
export function otlpSpanId(traceId: string, nodeId: string, metadata?: Record<string, unknown>): string {
  const fromMeta = metadata?.[OTEL_SPAN_ID_KEY];
  if (typeof fromMeta === 'string' && HEX16.test(fromMeta) && fromMeta !== ZERO16) return fromMeta;
  return hashHex(`livetrace:span:${traceId}:${nodeId}`, 16);
}

/** Epoch milliseconds (possibly fractional) -> unix nanoseconds as a decimal string. */
export function msToUnixNano(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0';
  const whole = Math.floor(ms);
  const fraction = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(fraction)).toString();
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) + '…[truncated]' : s;
}

function jsonString(value: unknown): string {
  try {
    const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return s === undefined ? String(value) : s;
  } catch {
    return String(value);
  }
}

/** Scalars stay typed; anything else becomes a JSON string (OTel attributes are flat). */
function anyValue(value: unknown, max: number): OtlpAnyValue {
  switch (typeof value) {
    case 'string':
      return { stringValue: truncate(value, max) };
    case 'boolean':
      return { boolValue: value };
    case 'number':
      if (!Number.isFinite(value)) return { stringValue: String(value) };
      return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
    case 'bigint':
      return { stringValue: value.toString() };
    default:
      break;
  }
  if (Array.isArray(value) && value.length > 0) {
    const t = typeof value[0];
    // Homogeneous scalar arrays are legal OTel attribute values; keep them as arrays.
    if ((t === 'string' || t === 'number' || t === 'boolean') && value.every((v) => typeof v === t)) {
      return { arrayValue: { values: value.map((v) => anyValue(v, max)) } };
    }
  }
  return { stringValue: truncate(jsonString(value), max) };
}

function pushAttr(out: OtlpKeyValue[], key: string, value: unknown, max: number): void {
  if (value === undefined || value === null) return;
  out.push({ key, value: anyValue(value, max) });
}

function spanKind(node: NodeData): number {
  const k = node.metadata?.[OTEL_KIND_KEY];
  // Stored as the API's SpanKind (INTERNAL=0..CONSUMER=4); OTLP numbers are one higher.
  if (typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 4) return k + 1;
  return OtlpSpanKind.INTERNAL;
}

function statusOf(node: NodeData): { code: number; message?: string } {
  switch (node.status) {
    case 'completed':
      return { code: OtlpStatusCode.OK };
    case 'failed':
      return { code: OtlpStatusCode.ERROR, message: node.error?.message ?? 'failed' };
    case 'cancelled':
      return {
        code: OtlpStatusCode.ERROR,
        message: node.error?.message ? `cancelled: ${node.error.message}` : 'cancelled',
      };
    default:
      return { code: OtlpStatusCode.UNSET };
  }
}

function logEvent(log: LogEntry, max: number): OtlpSpanEvent {
  const attributes: OtlpKeyValue[] = [];
  pushAttr(attributes, 'log.severity', log.level, max);
  pushAttr(attributes, 'livetrace.log.seq', log.seq, max);
  pushAttr(attributes, 'log.data', log.data, max);
  return { timeUnixNano: msToUnixNano(log.timestamp), name: log.message, attributes, droppedAttributesCount: 0 };
}

/** Converts a livetrace snapshot (one trace) into an OTLP/JSON ExportTraceServiceRequest. */
export function toOtlp(snapshot: TraceSnapshot, options: ToOtlpOptions = {}): OtlpExportTraceServiceRequest {
  const { info } = snapshot;
  const max = options.maxAttributeLength ?? 65536;
  const traceHex = otlpTraceId(info.id, info.metadata);
  const nodes = snapshot.nodes ?? [];
  const byId = new Map<string, NodeData>();
  for (const n of nodes) byId.set(n.id, n);
  const spanIdOf = (id: string): string => otlpSpanId(info.id, id, byId.get(id)?.metadata);
  const openEnd = options.openEndTime ?? info.ended_at ?? info.updated_at ?? info.created_at;

  const logsByNode = new Map<string, LogEntry[]>();
  const rootId = nodes.find((n) => n.parent_ids.length === 0)?.id ?? nodes[0]?.id;
  for (const log of snapshot.logs ?? []) {
    // Trace-level logs (no node) go on the root span: OTLP has no span-less events.
    const target = log.node_id !== undefined && byId.has(log.node_id) ? log.node_id : rootId;
    if (target === undefined) continue;
    let list = logsByNode.get(target);
    if (!list) logsByNode.set(target, (list = []));
    list.push(log);
  }

  const spans: OtlpSpan[] = nodes.map((node) => {
    const meta = node.metadata ?? {};
    const attributes: OtlpKeyValue[] = [];
    for (const [key, value] of Object.entries(meta)) {
      if (!RESERVED_KEYS.has(key)) pushAttr(attributes, key, value, max);
    }
    pushAttr(attributes, 'livetrace.trace_id', info.id, max);
    pushAttr(attributes, 'livetrace.node_id', node.id, max);
    pushAttr(attributes, 'livetrace.status', node.status, max);
    pushAttr(attributes, 'livetrace.icon', node.icon, max);
    pushAttr(attributes, 'livetrace.description', node.description, max);
    pushAttr(attributes, 'livetrace.input', node.input, max);
    pushAttr(attributes, 'livetrace.output', node.output, max);
    if (node.kind !== undefined && node.kind !== 'step') pushAttr(attributes, 'livetrace.kind', node.kind, max);
    const u = node.usage;
    if (u) {
      // The GenAI semantic-convention form, unless the span came in with its own.
      const usageAttrs: [string, unknown][] = [
        ['gen_ai.request.model', u.model],
        ['gen_ai.provider.name', u.provider],
        ['gen_ai.usage.input_tokens', u.input_tokens],
        ['gen_ai.usage.output_tokens', u.output_tokens],
        ['gen_ai.usage.cache_read.input_tokens', u.cached_tokens],
        ['gen_ai.usage.reasoning.output_tokens', u.reasoning_tokens],
        ['livetrace.usage.ttft_ms', u.ttft_ms],
        ['livetrace.usage.cost', u.cost?.amount],
        ['livetrace.usage.currency', u.cost?.currency],
      ];
      for (const [key, value] of usageAttrs)
        if (!Object.prototype.hasOwnProperty.call(meta, key)) pushAttr(attributes, key, value, max);
    }

    const events = (logsByNode.get(node.id) ?? []).map((l) => logEvent(l, max));
    if (node.error && (node.status === 'failed' || node.status === 'cancelled')) {
      // The semantic-convention form, so backends show the error like a recorded exception.
      const attrs: OtlpKeyValue[] = [];
      pushAttr(attrs, 'exception.type', node.error.name, max);
      pushAttr(attrs, 'exception.message', node.error.message, max);
      pushAttr(attrs, 'exception.stacktrace', node.error.stack, max);
      events.push({
        timeUnixNano: msToUnixNano(node.end_time ?? node.updated_at),
        name: 'exception',
        attributes: attrs,
        droppedAttributesCount: 0,
      });
    }

    const [first, ...others] = node.parent_ids;
    let parentSpanId: string | undefined;
    if (first !== undefined) parentSpanId = spanIdOf(first);
    else {
      const remote = meta[OTEL_PARENT_SPAN_ID_KEY];
      if (typeof remote === 'string' && HEX16.test(remote) && remote !== ZERO16) parentSpanId = remote;
    }
    // A join has several parents; OTLP has one, so the others become links.
    const links: OtlpLink[] = others.map((pid) => ({
      traceId: traceHex,
      spanId: spanIdOf(pid),
      attributes: [{ key: 'livetrace.link', value: { stringValue: 'join_parent' } }],
      droppedAttributesCount: 0,
      flags: SPAN_FLAGS,
    }));

    const start = node.start_time ?? node.created_at;
    const end = node.end_time ?? Math.max(start, openEnd);
    const span: OtlpSpan = {
      traceId: traceHex,
      spanId: spanIdOf(node.id),
      name: node.label ?? 'node',
      kind: spanKind(node),
      startTimeUnixNano: msToUnixNano(start),
      endTimeUnixNano: msToUnixNano(end),
      attributes,
      droppedAttributesCount: 0,
      events,
      droppedEventsCount: 0,
      status: statusOf(node),
      links,
      droppedLinksCount: 0,
      flags: SPAN_FLAGS,
    };
    if (parentSpanId !== undefined) span.parentSpanId = parentSpanId;
    return span;
  });

  const resourceAttributes: OtlpKeyValue[] = [];
  pushAttr(
    resourceAttributes,
    'service.name',
    options.serviceName ?? options.resourceAttributes?.['service.name'] ?? info.agent_name ?? 'livetrace',
    max,
  );
  for (const [key, value] of Object.entries(options.resourceAttributes ?? {})) {
    if (key !== 'service.name') pushAttr(resourceAttributes, key, value, max);
  }
  pushAttr(resourceAttributes, 'livetrace.trace_id', info.id, max);
  pushAttr(resourceAttributes, 'livetrace.trace_status', info.status, max);
  pushAttr(resourceAttributes, 'livetrace.created_by', info.created_by, max);
  pushAttr(resourceAttributes, 'livetrace.team_id', info.team_id, max);
  pushAttr(resourceAttributes, 'livetrace.tenant_id', info.tenant_id, max);

  const scope: { name: string; version?: string } = { name: options.scopeName ?? 'livetrace' };
  if (options.scopeVersion !== undefined) scope.version = options.scopeVersion;
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes, droppedAttributesCount: 0 },
        scopeSpans: [{ scope, spans }],
      },
    ],
  };
}
