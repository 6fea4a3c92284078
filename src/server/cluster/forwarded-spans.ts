// The body of a forwarded span batch (`{ "spans": ReceivedSpan[] }`, JSON): checked field
// by field before the receiver sees it. A peer instance sends it, but so could any client
// holding a write token; nothing unchecked reaches the span mapping.
import { InvalidArgumentError } from '../../core/errors.js';
import type { AttributeValue, Attributes } from '../../otel/gen-ai-attributes.js';
import type { ReceivedSpan } from '../otlp-decode.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const NANOS = /^\d{1,20}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const optStr = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

function isScalar(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v);
}

function attributes(v: unknown, where: string): Attributes {
  if (v === undefined) return {};
  if (!isObj(v)) throw new InvalidArgumentError(`${where}: attributes must be an object`);
  for (const [k, a] of Object.entries(v)) {
    if (!(isScalar(a) || (Array.isArray(a) && a.every(isScalar))))
      throw new InvalidArgumentError(`${where}: attribute ${JSON.stringify(k).slice(0, 60)} has an unsupported value`);
  }
  return v as Record<string, AttributeValue>;
}

function span(v: unknown, i: number): ReceivedSpan {
  const where = `spans[${i}]`;
  if (!isObj(v)) throw new InvalidArgumentError(`${where} must be an object`);
  const {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    events,
    status,
    scope,
    service,
  } = v;
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) throw new InvalidArgumentError(`${where}: bad traceId`);
  if (typeof spanId !== 'string' || !SPAN_ID.test(spanId)) throw new InvalidArgumentError(`${where}: bad spanId`);
  if (parentSpanId !== undefined && (typeof parentSpanId !== 'string' || !SPAN_ID.test(parentSpanId)))
    throw new InvalidArgumentError(`${where}: bad parentSpanId`);
  if (typeof name !== 'string') throw new InvalidArgumentError(`${where}: name must be a string`);
  if (!Number.isSafeInteger(kind)) throw new InvalidArgumentError(`${where}: kind must be an integer`);
  for (const t of [startTimeUnixNano, endTimeUnixNano])
    if (typeof t !== 'string' || !NANOS.test(t)) throw new InvalidArgumentError(`${where}: bad time`);
  if (!optStr(scope) || !optStr(service)) throw new InvalidArgumentError(`${where}: scope and service are strings`);
  if (!isObj(status) || !Number.isSafeInteger(status['code']) || !optStr(status['message']))
    throw new InvalidArgumentError(`${where}: status must be { code, message? }`);
  if (!Array.isArray(events)) throw new InvalidArgumentError(`${where}: events must be an array`);
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: kind as number,
    startTimeUnixNano: startTimeUnixNano as string,
    endTimeUnixNano: endTimeUnixNano as string,
    attributes: attributes(v['attributes'], where),
    events: events.map((e: unknown, k) => {
      if (!isObj(e) || typeof e['name'] !== 'string' || typeof e['timeUnixNano'] !== 'string')
        throw new InvalidArgumentError(`${where}.events[${k}] must be { name, attributes, timeUnixNano }`);
      return { name: e['name'], timeUnixNano: e['timeUnixNano'], attributes: attributes(e['attributes'], where) };
    }),
    status: { code: status['code'] as number, message: status['message'] },
    scope,
    service,
  };
}

/** The spans of a forwarded batch, all of one trace. */
export function parseForwardedSpans(body: Buffer): ReceivedSpan[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('a forwarded span batch must be JSON { "spans": [...] }');
  }
  if (!isObj(parsed) || !Array.isArray(parsed['spans']))
    throw new InvalidArgumentError('a forwarded span batch must be JSON { "spans": [...] }');
  const spans = parsed['spans'].map(span);
  if (spans.some((s) => s.traceId !== spans[0]!.traceId))
    throw new InvalidArgumentError('a forwarded span batch holds the spans of one trace');
  return spans;
}
