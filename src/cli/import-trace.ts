// `livetrace import`: reads an export document (`livetrace export --format json`), a JSON
// array of events or JSON lines of events, checks the sequence, and writes it to the store
// in batches. Info is derived batch by batch with the shared reducer.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, LivetraceError, errorMessage } from '../core/errors.js';
import { isValidId } from '../core/ids.js';
import { applyEvent, initialState } from '../core/reducer.js';
import { EVENT_TYPES, type TraceEvent } from '../core/types.js';
import type { Tracer } from '../tracer/tracer.js';

const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
const BATCH = 2000;

export interface ParsedTrace {
  id: string;
  events: TraceEvent[];
}

export function parseTraceFile(text: string, name: string): ParsedTrace {
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidArgumentError(`${name}: the file is empty`);
  let events: unknown;
  if (trimmed.startsWith('{') && !trimmed.includes('\n{')) {
    let doc: { format?: unknown; events?: unknown };
    try {
      doc = JSON.parse(trimmed) as typeof doc;
    } catch (err) {
      throw new InvalidArgumentError(`${name}: not valid JSON: ${errorMessage(err)}`);
    }
    if (doc.format === 'livetrace.trace') events = doc.events;
    else if (typeof (doc as { seq?: unknown }).seq === 'number') events = [doc];
    else
      throw new InvalidArgumentError(
        `${name}: expected a livetrace export ("format": "livetrace.trace"), a JSON array of events or JSON lines of events`,
      );
  } else if (trimmed.startsWith('[')) {
    try {
      events = JSON.parse(trimmed);
    } catch (err) {
      throw new InvalidArgumentError(`${name}: not valid JSON: ${errorMessage(err)}`);
    }
  } else {
    events = trimmed
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as unknown;
        } catch (err) {
          throw new InvalidArgumentError(`${name}: line ${i + 1} is not valid JSON: ${errorMessage(err)}`);
        }
      });
  }
  return { id: checkEvents(events, name), events: events as TraceEvent[] };
}

/** Checks the log is one trace, seq 1..n gapless, known types. Returns the trace id. */
function checkEvents(events: unknown, name: string): string {
  if (!Array.isArray(events) || events.length === 0) throw new InvalidArgumentError(`${name}: no events to import`);
  const first = events[0] as Partial<TraceEvent>;
  const id = first?.trace_id;
  if (!isValidId(id)) throw new InvalidArgumentError(`${name}: event 1 has an invalid trace_id ${JSON.stringify(id)}`);
  events.forEach((e: Partial<TraceEvent> | null, i) => {
    if (!e || typeof e !== 'object') throw new InvalidArgumentError(`${name}: event ${i + 1} is not an object`);
    if (e.seq !== i + 1)
      throw new InvalidArgumentError(
        `${name}: event ${i + 1} has seq ${String(e.seq)}, expected ${i + 1} (seq must start at 1 without gaps)`,
      );
    if (e.trace_id !== id)
      throw new InvalidArgumentError(`${name}: event ${i + 1} belongs to trace ${String(e.trace_id)}, not ${id}`);
    if (typeof e.type !== 'string' || !TYPES.has(e.type))
      throw new InvalidArgumentError(`${name}: event ${i + 1} has unknown type ${JSON.stringify(e.type)}`);
    if (typeof e.timestamp !== 'number')
      throw new InvalidArgumentError(`${name}: event ${i + 1} has no numeric timestamp`);
  });
  return id;
}

export async function readTraceFile(path: string): Promise<ParsedTrace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path}: ${errorMessage(err)}`);
  }
  return parseTraceFile(text, path);
}

export interface ImportOptions {
  /** Remove a stored trace with the same id first. Default false (exists: TraceExistsError). */
  replace?: boolean;
  onProgress?: (eventsWritten: number) => void;
}

export async function importTrace(tracer: Tracer, parsed: ParsedTrace, options: ImportOptions = {}): Promise<void> {
  const { id, events } = parsed;
  const store = tracer.store;
  if (tracer.isLoaded(id) || (await store.info(id)) !== undefined) {
    if (!options.replace)
      throw new LivetraceError(
        'LT_ERR_TRACE_EXISTS',
        `trace ${id} already exists in ${store.name}; pass --replace to overwrite it`,
      );
    await tracer.remove(id);
  }
  await store.acquire?.(id, tracer.owner);
  try {
    const state = initialState(id);
    for (let i = 0; i < events.length; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      for (const ev of batch) applyEvent(state, ev);
      await store.append(id, batch, { ...state.info });
      options.onProgress?.(i + batch.length);
    }
  } finally {
    await store.releaseLease?.(id, tracer.owner);
  }
}
