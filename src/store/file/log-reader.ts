// Ranged reads of a FileStore event log: the events after `since`, at most `limit`, read
// in chunks from the nearest known position and stopped once `limit` events are out, so a
// read costs what it returns, not the log's size (an export of a 100 MB log reads it page
// by page in constant memory).
//
// Plain log (events.jsonl): seq = line number, so a read starts at a known line start and
// counts lines up to `since` without parsing them. Known line starts are a sparse index per
// trace (every STEP-th line, plus where the last read stopped), filled in as reads pass
// over the log; it is checked on every use (the file's identity, a newline before the
// start, the first parsed event's seq), and any doubt drops it and reads by seq from the
// start (a log whose seq is not its line number is never written by FileStore, but such a
// file still reads correctly). Appends never move a line start; a rolled-back batch or a
// cut torn line only removes lines at the end.
//
// Archived log (events.jsonl.gz): gzip cannot seek, so a read streams from the start; a
// read that stopped at its limit parks its stream for a few seconds, and the next page
// (since = the last seq returned) continues it: paging through an archive reads it once.
//
// Torn or garbage lines: only complete lines count, and a bad line with no event after it
// is a crash leftover (the writer cuts it when it next opens the log); a bad line followed
// by an event is corruption (CorruptDataError).
import type { FileHandle } from 'node:fs/promises';
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CorruptDataError } from '../../core/errors.js';
import type { TraceEvent } from '../../core/types.js';
import { ioError, isCode, type TraceFiles } from './layout.js';
import { isEvent, scanTail } from './log-file.js';

const NL = 10;
/** Bytes read at a time (a longer line grows the buffer). */
const CHUNK = 256 * 1024;
/** One index entry every STEP lines: a read skips at most STEP - 1 lines before its first. */
const STEP = 1024;
/** Traces whose index is kept (LRU). An index is ~one number per STEP events. */
const MAX_INDEXES = 1024;
/** Parked archive streams: at most this many, each closed after CURSOR_IDLE_MS unused. */
const MAX_CURSORS = 8;
const CURSOR_IDLE_MS = 5000;

function tryParse(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end));
  } catch {
    return undefined;
  }
}

/** The log is not numbered as the read assumed (or the index is stale): read it by seq. */
class Unnumbered extends Error {}

/** A position in a plain log: the line of seq `seq` starts at byte `offset`. */
interface Mark {
  seq: number;
  offset: number;
}

/** Known line starts of one plain log. */
interface LogIndex {
  ino: number;
  birth: number;
  /** offsets[k]: where the line of seq k * STEP + 1 starts. */
  offsets: number[];
  /** Where the last read stopped (the next line's start), if past the last entry. */
  next: Mark | undefined;
}

/**
 * One read's progress over the complete lines of a log. Counting (`lineSeq` > 0): the
 * next line holds seq `lineSeq`, lines up to `since` are skipped unparsed. By seq
 * (`lineSeq` 0): every line is parsed and events with seq > since are kept.
 */
class Scan {
  readonly events: TraceEvent[] = [];
  /** Line (1-based, from where the scan started) of a bad line seen, or 0. */
  bad = 0;
  lines = 0;
  /** The last line skipped unparsed (counting), checked at the end if nothing was parsed. */
  lastSkipped: Buffer | undefined;

  constructor(
    readonly traceId: string,
    readonly since: number,
    readonly limit: number,
    public lineSeq: number,
    readonly onLineStart?: (seq: number, offset: number) => void,
  ) {}

  get full(): boolean {
    return this.events.length >= this.limit;
  }

  /**
   * Consumes the complete lines of buf[0, end) (buf[0] is byte `offset` of the log; -1 when
   * unknown) and returns where it stopped: `end`, or just after the line that filled the read.
   */
  feed(buf: Buffer, end: number, offset: number): number {
    let pos = 0;
    let skippedAt = -1;
    while (pos < end) {
      let nl = buf.indexOf(NL, pos);
      if (nl === -1 || nl >= end) nl = end - 1;
      this.lines++;
      if (this.bad > 0) {
        // After a bad line only "is there an event?" matters.
        if (isEvent(tryParse(buf, pos, nl))) this.#corrupt();
      } else if (this.lineSeq > 0 && this.lineSeq <= this.since) {
        if (offset >= 0 && this.onLineStart && (this.lineSeq - 1) % STEP === 0)
          this.onLineStart(this.lineSeq, offset + pos);
        skippedAt = pos;
        this.lineSeq++;
      } else {
        const ev = tryParse(buf, pos, nl);
        if (!isEvent(ev)) this.bad = this.lines;
        else if (this.lineSeq > 0) {
          if (ev.seq !== this.lineSeq) throw new Unnumbered();
          if (offset >= 0 && this.onLineStart && (this.lineSeq - 1) % STEP === 0)
            this.onLineStart(this.lineSeq, offset + pos);
          this.lineSeq++;
          this.events.push(ev);
        } else if (ev.seq > this.since) this.events.push(ev);
        if (this.full) return nl + 1;
      }
      pos = nl + 1;
    }
    if (skippedAt >= 0) {
      const nl = buf.indexOf(NL, skippedAt);
      this.lastSkipped = Buffer.from(buf.subarray(skippedAt, nl));
    }
    return end;
  }

  /** At the end of the log: a counting scan that parsed nothing checks the last line it skipped. */
  finish(): void {
    if (this.lineSeq === 0 || this.events.length > 0 || this.bad > 0 || !this.lastSkipped) return;
    const ev = tryParse(this.lastSkipped, 0, this.lastSkipped.length);
    if (!isEvent(ev) || ev.seq !== this.lineSeq - 1) throw new Unnumbered();
  }

  #corrupt(): never {
    throw new CorruptDataError(
      `trace ${this.traceId}: event log line ${this.bad} is not an event, and events follow it`,
    );
  }
}

/** An archive stream parked after a read stopped at its limit. */
interface Cursor {
  ino: number;
  birth: number;
  /** The seq the read ended at: a read with this `since` continues here. */
  since: number;
  /** Seq of the next line. */
  lineSeq: number;
  chunks: AsyncIterator<Buffer>;
  /** Bytes read but not consumed (starting at a line start). */
  carry: Buffer;
  stream: Readable;
  timer: NodeJS.Timeout;
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await fsp.open(path, 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

export class LogReader {
  readonly #indexes = new Map<string, LogIndex>();
  readonly #cursors = new Map<string, Cursor>();

  /**
   * Events with seq > since, at most `limit` (all when undefined), from the plain or the
   * archived log; [] if the trace has neither.
   */
  async read(traceId: string, files: TraceFiles, since: number, limit?: number): Promise<TraceEvent[]> {
    const max = limit ?? Infinity;
    if (max <= 0) return [];
    // The log may move to the archive (or back) while we look: try both, twice.
    for (let i = 0; i < 2; i++) {
      let fh: FileHandle | undefined;
      try {
        fh = await openIfExists(files.log);
        if (fh) return await this.#readPlain(traceId, fh, since, max);
        const events = await this.#readArchive(traceId, files.archive, since, max);
        if (events) return events;
      } catch (err) {
        if (err instanceof CorruptDataError) throw err;
        throw ioError('read', traceId, err);
      } finally {
        await fh?.close().catch(() => undefined);
      }
    }
    return [];
  }

  /** Forgets what is known of a trace's log (removed, archived, replaced). */
  forget(traceId: string): void {
    this.#indexes.delete(traceId);
    this.#dropCursor(traceId);
  }

  /** Closes parked streams and forgets every index. */
  close(): void {
    for (const id of [...this.#cursors.keys()]) this.#dropCursor(id);
    this.#indexes.clear();
  }

  // ---- plain log ------------------------------------------------------------------------

  async #readPlain(traceId: string, fh: FileHandle, since: number, limit: number): Promise<TraceEvent[]> {
    const st = await fh.stat();
    const index = this.#indexOf(traceId, st.ino, st.birthtimeMs, st.size);
    const start = startFor(index, since + 1);
    try {
      const scan = new Scan(traceId, since, limit, start.seq, (seq, offset) => {
        const k = (seq - 1) / STEP;
        if (k === index.offsets.length) index.offsets.push(offset);
      });
      const stop = await scanFile(fh, start.offset, st.size, scan);
      if (stop === undefined) throw new Unnumbered(); // no newline before the start
      scan.finish();
      // Nothing after the start to check it by: the line before it must hold the seq before.
      if (scan.lines === 0 && start.offset > 0) await checkLineBefore(fh, start);
      if (scan.bad === 0 && scan.lineSeq > 0) {
        const last = index.offsets.length - 1;
        if (scan.lineSeq > last * STEP + 1) index.next = { seq: scan.lineSeq, offset: stop };
      }
      return scan.events;
    } catch (err) {
      if (!(err instanceof Unnumbered)) throw err;
      this.#indexes.delete(traceId);
      const scan = new Scan(traceId, since, limit, 0);
      await scanFile(fh, 0, st.size, scan);
      return scan.events;
    }
  }

  /** The index of a trace's log, fresh if the file is not the one it was built on. */
  #indexOf(traceId: string, ino: number, birth: number, size: number): LogIndex {
    let index = this.#indexes.get(traceId);
    if (index && (index.ino !== ino || index.birth !== birth)) index = undefined;
    if (index) {
      this.#indexes.delete(traceId); // most recently used last
      // A rolled-back batch or a cut torn line shortened the log: forget starts past its end.
      while (index.offsets.length > 1 && index.offsets[index.offsets.length - 1]! > size) index.offsets.pop();
      if (index.next && index.next.offset > size) index.next = undefined;
    } else {
      index = { ino, birth, offsets: [0], next: undefined };
    }
    this.#indexes.set(traceId, index);
    if (this.#indexes.size > MAX_INDEXES) this.#indexes.delete(this.#indexes.keys().next().value!);
    return index;
  }

  // ---- archive --------------------------------------------------------------------------

  /** Events from the archive, or undefined if there is none. */
  async #readArchive(traceId: string, path: string, since: number, limit: number): Promise<TraceEvent[] | undefined> {
    let cursor = this.#takeCursor(traceId, since);
    if (cursor) {
      const st = await fsp.stat(path).catch(() => undefined);
      if (!st || st.ino !== cursor.ino || st.birthtimeMs !== cursor.birth) {
        cursor.stream.destroy();
        cursor = undefined;
      }
    }
    let fresh = false;
    if (!cursor) {
      const fh = await openIfExists(path);
      if (!fh) return undefined;
      const st = await fh.stat().catch(async (err: unknown) => {
        await fh.close();
        throw err;
      });
      const stream = gunzipStream(fh);
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      cursor = {
        ino: st.ino,
        birth: st.birthtimeMs,
        since,
        lineSeq: 1,
        chunks,
        carry: Buffer.alloc(0),
        stream,
        timer: undefined!,
      };
      fresh = true;
    }
    let parked = false;
    try {
      const scan = new Scan(traceId, since, limit, cursor.lineSeq);
      const done = await scanChunks(cursor, scan);
      if (!done) {
        cursor.since = scan.events[scan.events.length - 1]!.seq;
        cursor.lineSeq = scan.lineSeq;
        this.#park(traceId, cursor);
        parked = true;
      } else scan.finish();
      return scan.events;
    } catch (err) {
      if (!(err instanceof Unnumbered)) throw err;
      if (!fresh) return this.#readArchive(traceId, path, since, limit); // from the start
      const fh = await fsp.open(path, 'r');
      const stream = gunzipStream(fh);
      try {
        const scan = new Scan(traceId, since, limit, 0);
        const c = {
          ...cursor,
          chunks: stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
          carry: Buffer.alloc(0),
        };
        await scanChunks(c, scan);
        return scan.events;
      } finally {
        stream.destroy();
      }
    } finally {
      if (!parked) cursor.stream.destroy();
    }
  }

  #takeCursor(traceId: string, since: number): Cursor | undefined {
    const c = this.#cursors.get(traceId);
    if (!c) return undefined;
    if (c.since !== since) return undefined;
    this.#cursors.delete(traceId);
    clearTimeout(c.timer);
    return c;
  }

  #park(traceId: string, cursor: Cursor): void {
    this.#dropCursor(traceId);
    cursor.timer = setTimeout(() => this.#dropCursor(traceId), CURSOR_IDLE_MS);
    cursor.timer.unref();
    this.#cursors.set(traceId, cursor);
    if (this.#cursors.size > MAX_CURSORS) this.#dropCursor(this.#cursors.keys().next().value!);
  }

  #dropCursor(traceId: string): void {
    const c = this.#cursors.get(traceId);
    if (!c) return;
    this.#cursors.delete(traceId);
    clearTimeout(c.timer);
    c.stream.destroy();
  }
}

/** The last event's seq of an archive (0 if none): one streamed pass, nothing kept. */
export async function archiveLastSeq(traceId: string, path: string): Promise<number> {
  const fh = await fsp.open(path, 'r');
  const stream = gunzipStream(fh);
  let last = 0;
  try {
    const scan = new Scan(traceId, 0, Infinity, 0);
    // Events are not kept: only the last one matters.
    const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const r = await chunks.next();
      if (r.done) break;
      carry = carry.length > 0 ? Buffer.concat([carry, r.value]) : r.value;
      const lastNl = carry.lastIndexOf(NL);
      if (lastNl === -1) continue;
      scan.feed(carry, lastNl + 1, -1);
      if (scan.events.length > 0) last = scan.events[scan.events.length - 1]!.seq;
      scan.events.length = 0;
      carry = carry.subarray(lastNl + 1);
    }
  } finally {
    stream.destroy();
  }
  return last;
}

/** Throws Unnumbered unless the complete line ending just before `mark` is the event before it. */
async function checkLineBefore(fh: FileHandle, mark: Mark): Promise<void> {
  const tail = await scanTail(mark.offset, async (position, length) => {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  });
  if (tail.validSize !== mark.offset || tail.lastSeq !== mark.seq - 1) throw new Unnumbered();
}

/** Where a read of lines from `seq` on starts: the nearest known line start at or before it. */
function startFor(index: LogIndex, seq: number): Mark {
  const k = Math.min(Math.floor((seq - 1) / STEP), index.offsets.length - 1);
  const entry = { seq: k * STEP + 1, offset: index.offsets[k]! };
  const next = index.next;
  return next && next.seq <= seq && next.seq > entry.seq ? next : entry;
}

/**
 * Feeds the complete lines of the file from `start` (a line start) up to `end` to `scan`.
 * Returns the offset where the scan stopped (the start of the first line not consumed), or
 * undefined if `start` is not a line start.
 */
async function scanFile(fh: FileHandle, start: number, end: number, scan: Scan): Promise<number | undefined> {
  let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(end - start + 1, 1)));
  // Read from the byte before `start`: it must be a newline.
  let bufOffset = start > 0 ? start - 1 : 0;
  let have = 0;
  let skip = start > 0 ? 1 : 0;
  while (bufOffset + have < end) {
    if (have === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(
      buf,
      have,
      Math.min(buf.length - have, end - bufOffset - have),
      bufOffset + have,
    );
    if (bytesRead === 0) break; // the file shrank under us
    have += bytesRead;
    if (skip === 1) {
      if (buf[0] !== NL) return undefined;
      buf.copy(buf, 0, 1, have);
      have--;
      bufOffset++;
      skip = 0;
    }
    // (lastIndexOf with a negative offset would count from the buffer's end)
    const lastNl = have > 0 ? buf.lastIndexOf(NL, have - 1) : -1;
    if (lastNl === -1) continue; // a line longer than the buffer: read on
    const used = scan.feed(buf, lastNl + 1, bufOffset);
    if (scan.full) return bufOffset + used;
    buf.copy(buf, 0, lastNl + 1, have);
    have -= lastNl + 1;
    bufOffset += lastNl + 1;
  }
  return skip === 1 ? undefined : bufOffset;
}

/**
 * Feeds the complete lines of an archive stream to `scan`, from the cursor's carry on.
 * True at the end of the stream; false if the scan filled up (the cursor's carry then
 * starts at the first line not consumed).
 */
async function scanChunks(cursor: Cursor, scan: Scan): Promise<boolean> {
  let buf = cursor.carry;
  for (;;) {
    const lastNl = buf.lastIndexOf(NL);
    if (lastNl >= 0) {
      const used = scan.feed(buf, lastNl + 1, -1);
      if (scan.full) {
        cursor.carry = buf.subarray(used);
        return false;
      }
      buf = buf.subarray(lastNl + 1);
    }
    const r = await cursor.chunks.next();
    if (r.done) {
      cursor.carry = buf;
      return true;
    }
    buf = buf.length > 0 ? Buffer.concat([buf, r.value]) : r.value;
  }
}

/** The decompressed bytes of an open archive, as a stream that owns (and closes) `fh`. */
function gunzipStream(fh: FileHandle): Readable {
  const gz = createGunzip({ chunkSize: CHUNK });
  return pipeline(fh.createReadStream({ highWaterMark: CHUNK }), gz, () => undefined);
}
