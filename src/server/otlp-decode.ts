// OTLP/HTTP bodies in and out: an ExportTraceServiceRequest (binary protobuf or OTLP/JSON)
// becomes a flat list of spans; an ExportTraceServiceResponse goes back in the request's
// encoding. Decoding is protobufjs over the official .proto definitions (vendored in
// otlp-protos/, opentelemetry-proto v1.11.0): both encodings go through the same message
// type (JSON via Type.fromObject after the OTLP/JSON hex ids are turned into bytes), so
// both are checked by the same schema and read by the same code below.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, errorMessage } from '../core/errors.js';
import type * as Protobuf from 'protobufjs';
import type { AttributeValue, Attributes } from '../otel/gen-ai-attributes.js';

// protobufjs is CommonJS; loaded once, on the first OTLP request.
type PbType = Protobuf.Type;

export type OtlpEncoding = 'protobuf' | 'json';

/** One received span, ids as lowercase hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTel API SpanKind (OTLP's enum minus one; 0 = INTERNAL). */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attributes;
  events: { name: string; attributes: Attributes; timeUnixNano: string }[];
  status: { code: number; message: string | undefined };
  scope: string | undefined;
  /** The resource's service.name. */
  service: string | undefined;
}

export interface DecodedExport {
  spans: ReceivedSpan[];
  /** Spans refused while decoding (bad ids), with why. */
  invalid: number;
  invalidMessage: string | undefined;
}

interface Types {
  request: PbType;
  response: PbType;
}
let types: Types | undefined;

/** The package folder holding otlp-protos/ (found from this file, in dist/ or in a test build). */
function protosDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'otlp-protos');
    if (existsSync(join(candidate, 'opentelemetry'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('livetrace: the OTLP .proto files (otlp-protos/) are missing from the package');
}

function load(): Types {
  if (types) return types;
  const pb = createRequire(import.meta.url)('protobufjs') as typeof Protobuf;
  const base = protosDir();
  const root = new pb.Root();
  root.resolvePath = (_origin, target) => join(base, target);
  // Read synchronously once: four small files.
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  root.resolveAll();
  types = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
  return types;
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** OTLP/JSON carries trace and span ids as hex strings (not base64 as proto3 JSON would). */
function hexIdsToBytes(body: unknown): void {
  const obj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const fix = (o: Record<string, unknown>, key: string): void => {
    const v = o[key];
    if (typeof v !== 'string') return;
    if (!HEX_RE.test(v) || v.length % 2 !== 0)
      throw new InvalidArgumentError(`OTLP/JSON: ${key} must be a hex string, got ${JSON.stringify(v.slice(0, 40))}`);
    o[key] = Buffer.from(v, 'hex');
  };
  if (!obj(body)) return;
  for (const rs of arr(body['resourceSpans'] ?? body['resource_spans'])) {
    if (!obj(rs)) continue;
    for (const ss of arr(rs['scopeSpans'] ?? rs['scope_spans'])) {
      if (!obj(ss)) continue;
      for (const span of arr(ss['spans'])) {
        if (!obj(span)) continue;
        for (const k of ['traceId', 'spanId', 'parentSpanId', 'trace_id', 'span_id', 'parent_span_id']) fix(span, k);
        for (const link of arr(span['links'])) {
          if (!obj(link)) continue;
          for (const k of ['traceId', 'spanId', 'trace_id', 'span_id']) fix(link, k);
        }
      }
    }
  }
}

/** Decodes an export request; a body that is not one is an InvalidArgumentError (400). */
export function decodeExport(body: Buffer, encoding: OtlpEncoding): DecodedExport {
  const { request } = load();
  let message: unknown;
  if (encoding === 'protobuf') {
    try {
      message = request.decode(body);
    } catch (err) {
      throw new InvalidArgumentError(`the body is not an OTLP ExportTraceServiceRequest: ${errorMessage(err)}`);
    }
  } else {
    let json: unknown;
    try {
      json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new InvalidArgumentError(`the body is not valid JSON: ${errorMessage(err).slice(0, 200)}`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw new InvalidArgumentError('the body must be an OTLP/JSON ExportTraceServiceRequest object');
    hexIdsToBytes(json);
    try {
      message = request.fromObject(json);
    } catch (err) {
      throw new InvalidArgumentError(`the body is not an OTLP/JSON ExportTraceServiceRequest: ${errorMessage(err)}`);
    }
  }
  const plain = request.toObject(message as never, { longs: String, enums: Number, arrays: true }) as PlainRequest;
  return flatten(plain);
}

/** An ExportTraceServiceResponse in `encoding` (partial_success only when something was refused). */
export function encodeResponse(encoding: OtlpEncoding, rejectedSpans: number, errorMessage: string): Buffer {
  const partial = rejectedSpans > 0 || errorMessage !== '';
  if (encoding === 'json') {
    // OTLP/JSON: int64 as a decimal string, lowerCamelCase keys.
    const body = partial ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  const { response } = load();
  const msg = response.fromObject(partial ? { partialSuccess: { rejectedSpans, errorMessage } } : {});
  return Buffer.from(response.encode(msg).finish());
}

/** Decodes a response (tests and the bench read what the server answered). */
export function decodeResponse(body: Buffer, encoding: OtlpEncoding): { rejectedSpans: number; errorMessage: string } {
  let o: { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
  if (encoding === 'json') o = JSON.parse(body.toString('utf8')) as typeof o;
  else {
    const { response } = load();
    o = response.toObject(response.decode(body), { longs: String });
  }
  return {
    rejectedSpans: Number(o.partialSuccess?.rejectedSpans ?? 0),
    errorMessage: o.partialSuccess?.errorMessage ?? '',
  };
}

/** Encodes a request from its plain (toObject-shaped, ids as bytes) form: for tests and benches. */
export function encodeRequest(plain: Record<string, unknown>): Buffer {
  const { request } = load();
  return Buffer.from(request.encode(request.fromObject(plain)).finish());
}

// ---- plain message -> spans ---------------------------------------------------------

interface PlainAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: PlainAnyValue[] };
  kvlistValue?: { values?: PlainKeyValue[] };
  bytesValue?: Uint8Array;
}
interface PlainKeyValue {
  key?: string;
  value?: PlainAnyValue;
}
interface PlainSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: PlainKeyValue[];
  events?: { name?: string; timeUnixNano?: string; attributes?: PlainKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface PlainRequest {
  resourceSpans?: {
    resource?: { attributes?: PlainKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: PlainSpan[] }[];
  }[];
}

/** A JSON-able value of an AnyValue (kvlists become objects, bytes base64). */
function anyValue(v: PlainAnyValue | undefined, depth = 0): unknown {
  if (!v || depth > 32) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue;
  }
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map((x) => anyValue(x, depth + 1));
  if (v.kvlistValue !== undefined) {
    const o: Record<string, unknown> = {};
    for (const kv of v.kvlistValue.values ?? []) if (kv.key !== undefined) o[kv.key] = anyValue(kv.value, depth + 1);
    return o;
  }
  if (v.bytesValue !== undefined) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

/** Attribute values as the SDK holds them: primitives and arrays of primitives; anything else as JSON text. */
function attributes(list: PlainKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of list ?? []) {
    if (typeof kv.key !== 'string') continue;
    const v = anyValue(kv.value);
    let a: AttributeValue;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') a = v;
    else if (Array.isArray(v) && v.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x)))
      a = v as AttributeValue;
    else a = JSON.stringify(v);
    out[kv.key] = a;
  }
  return out;
}

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

function flatten(req: PlainRequest): DecodedExport {
  const spans: ReceivedSpan[] = [];
  let invalid = 0;
  let invalidMessage: string | undefined;
  for (const rs of req.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    for (const ss of rs.scopeSpans ?? []) {
      const scope = ss.scope?.name || undefined;
      for (const s of ss.spans ?? []) {
        const traceId = hex(s.traceId);
        const spanId = hex(s.spanId);
        const parent = hex(s.parentSpanId);
        if (
          !/^[0-9a-f]{32}$/.test(traceId) ||
          /^0+$/.test(traceId) ||
          !/^[0-9a-f]{16}$/.test(spanId) ||
          /^0+$/.test(spanId) ||
          (parent !== '' && !/^[0-9a-f]{16}$/.test(parent))
        ) {
          invalid++;
          invalidMessage ??= `span ${JSON.stringify(spanId.slice(0, 32))} of trace ${JSON.stringify(traceId.slice(0, 64))}: a trace id is 16 bytes, a span id 8 bytes, neither all zero`;
          continue;
        }
        spans.push({
          traceId,
          spanId,
          parentSpanId: parent === '' || /^0+$/.test(parent) ? undefined : parent,
          name: s.name ?? '',
          kind: Math.max(0, (s.kind ?? 1) - 1),
          startTimeUnixNano: s.startTimeUnixNano ?? '0',
          endTimeUnixNano: s.endTimeUnixNano ?? '0',
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e) => ({
            name: e.name ?? '',
            attributes: attributes(e.attributes),
            timeUnixNano: e.timeUnixNano ?? '0',
          })),
          status: { code: s.status?.code ?? 0, message: s.status?.message || undefined },
          scope,
          service,
        });
      }
    }
  }
  return { spans, invalid, invalidMessage };
}
