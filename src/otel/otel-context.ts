// livetrace node -> OpenTelemetry Context: OTel spans started in it (an AI SDK call, any
// instrumented library) get the node's ids as their remote parent and carry the livetrace
// tracestate entry, so LivetraceSpanProcessor records them under that node.
import {
  context as otelContext,
  createTraceState,
  trace as otelTrace,
  TraceFlags,
  type Context,
} from '@opentelemetry/api';
import type { NodeContext } from '../core/types.js';
import { NodeHandle } from '../tracer/node-handle.js';
import { parseTraceparent, traceContextHeaders, type TraceContextHeaders } from './traceparent.js';

/** W3C headers for a node handle or a node context (see traceContextHeaders). */
export function headersFor(target: NodeHandle | NodeContext): TraceContextHeaders {
  if (target instanceof NodeHandle) {
    const data = target.data;
    const trace = target.trace;
    if (data && trace)
      return traceContextHeaders({ trace_id: trace.id, node: data, traceMetadata: trace.getInfo().metadata });
    return traceContextHeaders(target.context());
  }
  return traceContextHeaders(target);
}

/**
 * An OTel Context whose parent span is the livetrace node. Use it as
 * `context.with(contextFor(node), () => generateText(...))`.
 */
export function contextFor(target: NodeHandle | NodeContext, base: Context = otelContext.active()): Context {
  const headers = headersFor(target);
  const parsed = parseTraceparent(headers.traceparent)!;
  return otelTrace.setSpanContext(base, {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState(headers.tracestate),
  });
}
