// Export documents: `json` is livetrace's own format (the snapshot plus the full event log,
// re-importable by `livetrace import`); `otlp` is an OTLP/JSON ExportTraceServiceRequest.
import { InvalidArgumentError, TraceNotFoundError, shownValue } from '../core/errors.js';
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
  throw new InvalidArgumentError(
    `export format must be "json" or "otlp", got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : shownValue(value)}`,
  );
}

export function toExport(snapshot: TraceSnapshot, events: TraceEvent[]): TraceExport {
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: Date.now(), trace: snapshot, events };
}

/** Builds the export document of a trace; `snapshot` may be passed when already read. */
export async function exportTrace(
  tracer: Tracer,
  id: string,
  format: ExportFormat,
  snapshot?: TraceSnapshot,
): Promise<TraceExport | OtlpExportTraceServiceRequest> {
  const snap = snapshot ?? (await tracer.read(id));
  if (!snap) throw new TraceNotFoundError(id);
  if (format === 'otlp') return toOtlp(snap);
  return toExport(snap, await tracer.events(id));
}

/** Events per page of a streamed export: memory holds one page, whatever the log's length
 * (stores read a page at a cost proportional to the page; see the file store's log-reader). */
export const EXPORT_PAGE_SIZE = 500;

/**
 * The export document as text chunks: the same JSON as `exportTrace`, but never held whole —
 * the snapshot is one chunk and the event log is read and serialized one page at a time, so
 * memory stays at the snapshot plus one page however long the log is.
 */
export async function* exportChunks(
  tracer: Tracer,
  snapshot: TraceSnapshot,
  format: ExportFormat,
): AsyncGenerator<string> {
  if (format === 'otlp') {
    yield JSON.stringify(toOtlp(snapshot));
    return;
  }
  const id = snapshot.info.id;
  yield `{"format":${JSON.stringify(EXPORT_FORMAT)},"version":${EXPORT_VERSION},"exported_at":${Date.now()},"trace":${JSON.stringify(snapshot)},"events":[`;
  const pageSize = EXPORT_PAGE_SIZE;
  let since = 0;
  let first = true;
  for (;;) {
    const page = await tracer.events(id, { since, limit: pageSize });
    if (page.length === 0) break;
    let text = '';
    for (const ev of page) {
      text += (first ? '' : ',') + JSON.stringify(ev);
      first = false;
    }
    yield text;
    since = page[page.length - 1]!.seq;
    if (page.length < pageSize) break;
  }
  yield ']}';
}
