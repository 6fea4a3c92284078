// Export documents: `json` is livetrace's own format (the snapshot plus the full event log,
// re-importable by `livetrace import`); `otlp` is an OTLP/JSON ExportTraceServiceRequest.
import { InvalidArgumentError, TraceNotFoundError } from '../core/errors.js';
import type { TraceEvent, TraceSnapshot } from '../core/types.js';
import { toOtlp, type OtlpExportTraceServiceRequest } from '../otel/otlp.js';
import type { Tracer } from '../tracer/tracer.js';

export const EXPORT_FORMAT = 'livetrace.trace';
export const EXPORT_VERSION = 1;

export interface TraceExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exported_at: number;
  trace: TraceSnapshot;
  events: TraceEvent[];
}

export type ExportFormat = 'json' | 'otlp';

export function exportFormatOf(value: unknown): ExportFormat {
  if (value === undefined || value === '' || value === 'json') return 'json';
  if (value === 'otlp') return 'otlp';
  throw new InvalidArgumentError(`export format must be "json" or "otlp", got ${JSON.stringify(String(value).slice(0, 40))}`);
}

export function toExport(snapshot: TraceSnapshot, events: TraceEvent[]): TraceExport {
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: Date.now(), trace: snapshot, events };
}

/** Builds the export document of a trace; `snapshot` may be passed when already read. */
export async function exportTrace(tracer: Tracer, id: string, format: ExportFormat, snapshot?: TraceSnapshot): Promise<TraceExport | OtlpExportTraceServiceRequest> {
  const snap = snapshot ?? (await tracer.read(id));
  if (!snap) throw new TraceNotFoundError(id);
  if (format === 'otlp') return toOtlp(snap);
  return toExport(snap, await tracer.events(id));
}
