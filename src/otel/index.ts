// livetrace/otel: the OpenTelemetry bridge. OTel spans in (LivetraceSpanProcessor), OTLP
// out (toOtlp), W3C trace context both ways. @opentelemetry/api is an optional peer used
// only here; toOtlp and the traceparent helpers import nothing from OpenTelemetry.
export {
  LivetraceSpanProcessor,
  type LivetraceSpanProcessorOptions,
  type LivetraceSpanProcessorStats,
  type ProcessorSpan,
  type ProcessorWarning,
} from './span-processor.js';
export {
  toOtlp,
  otlpTraceId,
  otlpSpanId,
  msToUnixNano,
  OtlpSpanKind,
  OtlpStatusCode,
  type ToOtlpOptions,
  type OtlpExportTraceServiceRequest,
  type OtlpResourceSpans,
  type OtlpScopeSpans,
  type OtlpSpan,
  type OtlpSpanEvent,
  type OtlpLink,
  type OtlpKeyValue,
  type OtlpAnyValue,
} from './otlp.js';
export {
  parseTraceparent,
  formatTraceparent,
  parseTracestate,
  formatTracestate,
  traceContextHeaders,
  contextFromHeaders,
  TRACESTATE_KEY,
  type TraceparentFields,
  type TraceContextHeaders,
} from './traceparent.js';
export { contextFor, headersFor } from './otel-context.js';
export { splitAttributes, parseAttributeValue } from './gen-ai-attributes.js';
