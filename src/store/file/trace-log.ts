// The event log of one trace folder: opening it for appending (cutting a torn last line),
// writing a batch, undoing a partly written one, and reading the info back. The line
// format itself is in log-file.ts; ranged reads of the log in log-reader.ts.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import { WARNING_CODES, type LivetraceWarning } from '../../core/errors.js';
import { reduceEvents, toSnapshot, type TraceState } from '../../core/reducer.js';
import type { TraceInfo } from '../../core/types.js';
import type { OpenTrace } from './descriptor-cache.js';
import { entryOf } from './list-index.js';
import { exists, isCode, traceFiles, type TraceFiles } from './layout.js';
import { scanTail } from './log-file.js';
import { archiveLastSeq, type LogReader } from './log-reader.js';

const open = promisify(fs.open);
const write = promisify(fs.write);
const read = promisify(fs.read);
const fstat = promisify(fs.fstat);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const closeFd = promisify(fs.close);

/**
 * Opens the trace folder `dir` (which exists) for appending: the log's tail is checked and
 * a torn or garbage last line cut (with a warning). An archived trace opens with fd -1.
 * `fresh`: the caller has just made the folder, so it holds no info and no archive (two
 * file system round trips fewer per created trace).
 */
export async function openTraceLog(
  traceId: string,
  date: string,
  dir: string,
  fileMode: number,
  onWarning: (w: LivetraceWarning) => void,
  fresh = false,
): Promise<OpenTrace> {
  const files = traceFiles(dir);
  const t: OpenTrace = {
    id: traceId,
    date,
    files,
    fd: -1,
    size: 0,
    lastSeq: 0,
    archived: false,
    archivedAt: undefined,
    entry: undefined,
    ino: -1,
    pendingInfo: undefined,
    infoAt: 0,
    infoFile: !fresh,
  };
  const info = fresh ? undefined : await readInfoFile(files.info);
  if (info) {
    t.entry = entryOf(info, date);
    t.archivedAt = info.archived_at;
  }
  if (!fresh && (await exists(files.archive))) {
    // A crash between writing the archive and deleting the log leaves both: the archive
    // is complete (it was renamed into place), the log is the leftover.
    await fsp.rm(files.log, { force: true });
    t.archived = true;
    t.lastSeq = await archiveLastSeq(traceId, files.archive);
    return t;
  }
  const fd = await open(files.log, 'a+', fileMode);
  try {
    // The inode of an open file is in memory: a synchronous fstat costs less than a pool round trip.
    const { size, ino } = fs.fstatSync(fd);
    t.ino = ino;
    const tail = await scanTail(size, async (position, length) => {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await read(fd, buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    });
    if (tail.validSize < size) {
      await ftruncate(fd, tail.validSize);
      onWarning({
        code: 'LT_WARN_TORN_LINE',
        message: `trace ${traceId}: ${WARNING_CODES.LT_WARN_TORN_LINE} (${size - tail.validSize} bytes after seq ${tail.lastSeq} in ${files.log})`,
        traceId,
      });
    }
    t.fd = fd;
    t.size = tail.validSize;
    t.lastSeq = tail.lastSeq;
  } catch (err) {
    await closeFd(fd).catch(() => undefined);
    throw err;
  }
  return t;
}

/** Opens the plain log of `t` again for appending (after unarchiving). */
export async function reopenLog(t: OpenTrace, fileMode: number, size: number): Promise<void> {
  t.fd = await open(t.files.log, 'a+', fileMode);
  t.ino = (await fstat(t.fd)).ino;
  t.size = size;
}

/**
 * Appends the encoded batch at the log's end; `t.size` follows every byte written so
 * that a failure can be undone. `durable`: written with fdatasync before resolving.
 */
export async function writeBatch(t: OpenTrace, bytes: Uint8Array, durable: boolean): Promise<void> {
  const oldSize = t.size;
  if (durable) {
    const buf = Buffer.from(bytes); // the encoder's buffer is shared: copy before awaiting
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await write(t.fd, buf, off, buf.length - off);
      off += bytesWritten;
      t.size = oldSize + off;
    }
    await fdatasync(t.fd);
  } else {
    // A batch is a short write into the page cache: done synchronously, as pino's
    // default file destination does, it costs less than a thread-pool round trip.
    let off = 0;
    while (off < bytes.length) {
      off += fs.writeSync(t.fd, bytes, off, bytes.length - off);
      t.size = oldSize + off;
    }
  }
}

/** Throws if the log's path no longer leads to the open file (a moved or deleted folder). */
export function assertSameLog(t: OpenTrace): void {
  const st = fs.statSync(t.files.log);
  if (st.ino !== t.ino) throw new Error(`${t.files.log} was replaced`);
}

/** Cuts the log back to `size` (a partly written batch); a vanished file has nothing to undo. */
export async function truncateLog(t: OpenTrace, size: number): Promise<void> {
  if (t.fd >= 0 && t.size !== size) {
    try {
      await ftruncate(t.fd, size);
    } catch {
      /* the file is gone: nothing to undo */
    }
  }
  t.size = size;
}

export async function readInfoFile(path: string): Promise<TraceInfo | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as TraceInfo;
  } catch (err) {
    if (isCode(err, 'ENOENT', 'ENOTDIR') || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Events reduced per page when info is derived from the log (memory: one page). */
const REDUCE_PAGE = 500;

/**
 * info.json, else the trace's final record in the index (`final`: a trace that ended
 * before its info.json was due), else (a running trace's first infoIntervalMs, or a crash
 * before either was written) the info derived from the log, read a page at a time through
 * `reader`.
 */
export async function readInfo(
  traceId: string,
  files: TraceFiles,
  reader: LogReader,
  final?: () => Promise<TraceInfo | undefined>,
): Promise<TraceInfo | undefined> {
  return (await readInfoFile(files.info)) ?? (await final?.()) ?? deriveInfo(traceId, files, reader);
}

/** The info the shared reducer derives from the trace's log (undefined: no event). */
export async function deriveInfo(
  traceId: string,
  files: TraceFiles,
  reader: LogReader,
): Promise<TraceInfo | undefined> {
  let state: TraceState | undefined;
  for (let since = 0; ;) {
    const page = await reader.read(traceId, files, since, REDUCE_PAGE);
    if (page.length === 0) break;
    state = reduceEvents(traceId, page, state);
    since = page[page.length - 1]!.seq;
    if (page.length < REDUCE_PAGE) break;
  }
  if (!state) return undefined;
  const derived = toSnapshot(state).info;
  derived.archived = await exists(files.archive);
  return derived;
}
