// The embedded default store: plain files, one folder per trace under a date folder.
//
//   <dir>/index.jsonl                         listing index (see file/list-index.ts)
//   <dir>/YYYY-MM-DD/<id>/events.jsonl        append-only event log, one JSON event per line
//   <dir>/YYYY-MM-DD/<id>/events.jsonl.gz     the same log once archived
//   <dir>/YYYY-MM-DD/<id>/info.json           TraceInfo, replaced atomically (tmp + rename)
//   <dir>/locks/<id>.lock                     single-writer lease (pid, host, owner)
//
// A batch is one write() on the log, then the info file is replaced; if the info cannot
// be written the log is truncated back, so a failed append leaves nothing behind and the
// writer's retry continues the seq. Open logs sit in a small LRU so that ten thousand
// traces never hold ten thousand descriptors.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip as gunzipCb } from 'node:zlib';
import {
  InvalidArgumentError,
  StoreConflictError,
  StoreError,
  TraceNotFoundError,
  TraceRunningError,
  WARNING_CODES,
  errorMessage,
  type LivetraceWarning,
} from '../core/errors.js';
import { assertValidId, traceDate } from '../core/ids.js';
import { reduceEvents, toSnapshot } from '../core/reducer.js';
import type { ListQuery, ListResult, TraceEvent, TraceInfo } from '../core/types.js';
import { acquireLease, releaseLease } from './file/lease-file.js';
import { ListIndex, entryOf, sameEntry, type IndexEntry } from './file/list-index.js';
import { encodeBatch, parseLog, scanTail } from './file/log-file.js';
import type { ReadOptions, TraceStore } from './store.js';
import { decodeCursor, listLimit, matchesQuery, toPage } from './store.js';

const open = promisify(fs.open);
const write = promisify(fs.write);
const read = promisify(fs.read);
const fstat = promisify(fs.fstat);
const fsync = promisify(fs.fsync);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const closeFd = promisify(fs.close);
const gunzip = promisify(gunzipCb);

const LOG = 'events.jsonl';
const ARCHIVE = 'events.jsonl.gz';
const INFO = 'info.json';
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_ID_RE = /^\d{20}$/;

export type Durability = 'batch' | 'fsync' | 'none';

export interface FileStoreOptions {
  /** Root folder; created on first write. */
  dir: string;
  /**
   * When an append resolves: "batch" (default) once the batch is handed to the OS (it
   * survives a crash of the process), "fsync" once it is on the disk (survives a power
   * loss), "none" no promise beyond "batch" (tests).
   */
  durability?: Durability;
  /** Event logs kept open at once (LRU). Default 64. */
  maxOpenFiles?: number;
  /** Mode of files created. Default 0o600 (owner only). */
  fileMode?: number;
  /** Mode of folders created. Default 0o700 (owner only). */
  dirMode?: number;
  /**
   * info.json of a running trace is rewritten at most this often (ms); a change of status
   * or of any listing field is written at once. info() and list() in this process always
   * see the latest info. Default 200; "fsync" durability always writes it at once.
   */
  infoIntervalMs?: number;
  /** Where store warnings go (a torn last line cut). Default: process.emitWarning. */
  onWarning?: (warning: LivetraceWarning) => void;
}

/** A trace whose log is open for appending (or archived, fd -1). */
interface OpenTrace {
  readonly id: string;
  readonly date: string;
  readonly dir: string;
  fd: number;
  /** Byte size of the valid log. */
  size: number;
  lastSeq: number;
  archived: boolean;
  archivedAt: number | undefined;
  /** Listing fields last recorded in the index. */
  entry: IndexEntry | undefined;
  /** Inode of the log: a batch checks the path still leads to it. */
  ino: number;
  /** Info newer than info.json, written within infoIntervalMs (undefined: none). */
  pendingInfo: TraceInfo | undefined;
  /** When info.json was last written (ms). */
  infoAt: number;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? '');
}

function ioError(what: string, traceId: string, err: unknown): StoreError {
  return new StoreError(`file store: cannot ${what} trace ${traceId}: ${errorMessage(err)}`, { cause: err });
}

export class FileStore implements TraceStore {
  readonly name: string;
  readonly dir: string;
  readonly durability: Durability;
  readonly #maxOpen: number;
  readonly #fileMode: number;
  readonly #dirMode: number;
  readonly #onWarning: (w: LivetraceWarning) => void;
  readonly #index: ListIndex;
  /** LRU of open logs; Map order is recency. Never holds more than maxOpen entries when idle. */
  readonly #open = new Map<string, OpenTrace>();
  /** Per-trace chain of operations: appends, archive and remove of one trace never overlap. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Traces this store has written: a missing folder for one of them is an I/O failure, not a new trace. */
  readonly #known = new Set<string>();
  /** Leases held by this store: trace id -> owner. */
  readonly #leases = new Map<string, string>();
  readonly #infoInterval: number;
  /** Open traces whose latest info is not on disk yet; one store-wide timer writes them. */
  readonly #pendingInfos = new Set<OpenTrace>();
  #infoTimer: ReturnType<typeof setTimeout> | undefined;
  /** Writes pending infos synchronously when the process exits without close(). */
  readonly #onExit = (): void => {
    for (const t of this.#pendingInfos) this.#writePendingInfo(t);
  };
  #exitHook = false;
  #indexReady: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FileStoreOptions) {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.dir !== 'string' ||
      options.dir.length === 0
    ) {
      throw new InvalidArgumentError(
        `new FileStore(options): options.dir must be a non-empty string, got ${typeof options?.dir}`,
      );
    }
    const durability = options.durability ?? 'batch';
    if (durability !== 'batch' && durability !== 'fsync' && durability !== 'none') {
      throw new InvalidArgumentError(`option durability must be "batch", "fsync" or "none", got ${String(durability)}`);
    }
    const maxOpen = options.maxOpenFiles ?? 64;
    if (!Number.isInteger(maxOpen) || maxOpen < 1)
      throw new InvalidArgumentError(
        `option maxOpenFiles must be an integer >= 1, got ${String(maxOpen)} (${typeof maxOpen})`,
      );
    this.dir = resolve(options.dir);
    this.name = `file:${this.dir}`;
    this.durability = durability;
    this.#maxOpen = maxOpen;
    const infoInterval = options.infoIntervalMs ?? 200;
    if (!Number.isInteger(infoInterval) || infoInterval < 0)
      throw new InvalidArgumentError(
        `option infoIntervalMs must be an integer >= 0, got ${String(infoInterval)} (${typeof infoInterval})`,
      );
    this.#infoInterval = durability === 'fsync' ? 0 : infoInterval;
    this.#fileMode = options.fileMode ?? 0o600;
    this.#dirMode = options.dirMode ?? 0o700;
    this.#onWarning = options.onWarning ?? ((w) => process.emitWarning(w.message, { code: w.code }));
    this.#index = new ListIndex(join(this.dir, 'index.jsonl'), this.#fileMode);
  }

  // ---- TraceStore ---------------------------------------------------------------------

  async append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    assertValidId(traceId);
    return this.#serial(traceId, () => this.#append(traceId, events, info));
  }

  async read(traceId: string, options: ReadOptions = {}): Promise<TraceEvent[]> {
    assertValidId(traceId);
    const date = await this.#locate(traceId);
    if (date === undefined) return [];
    const buf = await this.#readLog(traceId, join(this.dir, date, traceId));
    if (!buf) return [];
    return parseLog(buf, traceId, Math.max(0, options.since ?? 0), options.limit);
  }

  async info(traceId: string): Promise<TraceInfo | undefined> {
    assertValidId(traceId);
    const pending = this.#open.get(traceId)?.pendingInfo;
    if (pending) return { ...pending };
    const date = await this.#locate(traceId);
    if (date === undefined) return undefined;
    return this.#readInfo(traceId, join(this.dir, date, traceId));
  }

  async list(query: ListQuery = {}): Promise<ListResult> {
    if (!(await this.#loadIndex(true))) return { traces: [] };
    const limit = listLimit(query);
    const cursor = decodeCursor(query.cursor);
    const sorted = this.#index.sorted();
    let i = 0;
    if (cursor) {
      // First entry strictly after the cursor (binary search on the listing order).
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const e = sorted[mid]!;
        if (e.c < cursor[0] || (e.c === cursor[0] && e.id < cursor[1])) hi = mid;
        else lo = mid + 1;
      }
      i = lo;
    }
    const statuses =
      query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status];
    const out: TraceInfo[] = [];
    // The index pre-filters; each candidate's info.json has the last word (the index may
    // lag it by one record after a crash).
    while (out.length <= limit && i < sorted.length) {
      const batch: IndexEntry[] = [];
      while (batch.length < limit + 1 - out.length && i < sorted.length) {
        const e = sorted[i++]!;
        if (statuses && !statuses.includes(e.s)) continue;
        if (query.createdBy !== undefined && e.by !== query.createdBy) continue;
        if (query.teamId !== undefined && e.tm !== query.teamId) continue;
        if (query.tenantId !== undefined && e.tn !== query.tenantId) continue;
        if (query.from !== undefined && e.c < query.from) continue;
        if (query.to !== undefined && e.c > query.to) continue;
        batch.push(e);
      }
      const infos = await Promise.all(
        batch.map((e) => {
          const pending = this.#open.get(e.id)?.pendingInfo;
          return pending ? { ...pending } : this.#readInfo(e.id, join(this.dir, e.d, e.id)).catch(() => undefined);
        }),
      );
      for (const info of infos) if (info && matchesQuery(info, query)) out.push(info);
    }
    return toPage(out, limit);
  }

  async remove(traceId: string): Promise<boolean> {
    assertValidId(traceId);
    return this.#serial(traceId, async () => {
      const date = await this.#locate(traceId);
      if (date === undefined) return false;
      await this.#evict(traceId);
      const dir = join(this.dir, date, traceId);
      const existed = await fsp.stat(dir).then(
        () => true,
        () => false,
      );
      await fsp.rm(dir, { recursive: true, force: true });
      await this.#index.append([{ id: traceId, rm: 1 }]);
      this.#index.applyLocal({ id: traceId, rm: 1 });
      this.#known.delete(traceId);
      return existed;
    });
  }

  async archive(traceId: string): Promise<void> {
    assertValidId(traceId);
    return this.#serial(traceId, async () => {
      const t = await this.#openTrace(traceId, false);
      if (!t) throw new TraceNotFoundError(traceId);
      const info = t.pendingInfo ?? (await this.#readInfo(traceId, t.dir));
      if (!info) throw new TraceNotFoundError(traceId);
      if (info.status === 'pending' || info.status === 'running') throw new TraceRunningError(traceId, 'archive');
      if (t.archived) return;
      try {
        if (t.fd >= 0) {
          await closeFd(t.fd);
          t.fd = -1;
        }
        const log = join(t.dir, LOG);
        const tmp = join(t.dir, `${ARCHIVE}.${process.pid}.tmp`);
        const src = fs.existsSync(log) ? fs.createReadStream(log) : undefined;
        const gz = createGzip();
        const dst = fs.createWriteStream(tmp, { mode: this.#fileMode });
        if (src) await pipeline(src, gz, dst);
        else {
          gz.end();
          await pipeline(gz, dst);
        }
        if (this.durability === 'fsync') await this.#fsyncPath(tmp);
        await fsp.rename(tmp, join(t.dir, ARCHIVE));
        await fsp.rm(log, { force: true });
        t.archived = true;
        t.archivedAt = Date.now();
        const stored: TraceInfo = { ...info, archived: true, archived_at: t.archivedAt };
        await this.#writeInfo(t, stored);
        await this.#recordEntry(t, stored);
      } catch (err) {
        this.#drop(traceId);
        throw err instanceof StoreError ? err : ioError('archive', traceId, err);
      }
    });
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    assertValidId(traceId);
    const locks = join(this.dir, 'locks');
    await fsp.mkdir(locks, { recursive: true, mode: this.#dirMode });
    await acquireLease(join(locks, `${traceId}.lock`), traceId, owner, this.#fileMode);
    this.#leases.set(traceId, owner);
    // Another process may have written the trace since we last had it open: forget the
    // cached log position so the next append reads the real tail.
    this.#drop(traceId);
  }

  /**
   * Gives the lease back and closes the trace's log (after appends in flight): nothing of
   * a released trace stays open in this process.
   */
  async releaseLease(traceId: string, owner: string): Promise<void> {
    assertValidId(traceId);
    await this.#serial(traceId, async () => {
      const t = this.#open.get(traceId);
      if (t) this.#writePendingInfo(t);
      await this.#evict(traceId);
    });
    await releaseLease(join(this.dir, 'locks', `${traceId}.lock`), owner);
    if (this.#leases.get(traceId) === owner) this.#leases.delete(traceId);
  }

  /**
   * Waits for operations in flight, closes every open log and gives back held leases.
   * Holds nothing afterwards; a later call reopens files lazily (two tracers may share a
   * store one after the other). Concurrent calls share one promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Rebuilds the listing index from the trace folders (every info.json). Needed only if
   * the index file was deleted or damaged by hand; the store does it by itself when the
   * index is missing.
   */
  async rebuildIndex(): Promise<void> {
    const entries: IndexEntry[] = [];
    for (const date of await this.#dateFolders()) {
      let ids: string[];
      try {
        ids = await fsp.readdir(join(this.dir, date));
      } catch {
        continue;
      }
      for (const id of ids) {
        if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) continue;
        const info = await this.#readInfo(id, join(this.dir, date, id)).catch(() => undefined);
        if (info) entries.push(entryOf(info, date));
      }
    }
    const tmp = `${this.#index.path}.${process.pid}.tmp`;
    await fsp.mkdir(this.dir, { recursive: true, mode: this.#dirMode });
    await fsp.writeFile(tmp, entries.map((e) => JSON.stringify(e) + '\n').join(''), { mode: this.#fileMode });
    await fsp.rename(tmp, this.#index.path);
    await this.#index.refresh();
  }

  // ---- append -------------------------------------------------------------------------

  async #append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    const first = events.length > 0 ? events[0]!.seq : undefined;
    const isNew = first === undefined || first === 1;
    let t: OpenTrace | undefined;
    try {
      t = await this.#openTrace(traceId, isNew, info.created_at);
    } catch (err) {
      throw err instanceof StoreError || err instanceof StoreConflictError ? err : ioError('open', traceId, err);
    }
    if (!t) {
      // Not stored, and the batch does not start the trace.
      if (this.#known.has(traceId))
        throw new StoreError(`file store: the folder of trace ${traceId} has vanished from ${this.dir}; retrying`);
      throw new StoreConflictError(traceId, 1, first!);
    }
    if (first !== undefined && first !== t.lastSeq + 1) throw new StoreConflictError(traceId, t.lastSeq + 1, first);
    if (events.length > 0 && t.archived) await this.#unarchive(t);
    const stored: TraceInfo = { ...info, archived: t.archived };
    if (t.archived && t.archivedAt !== undefined) stored.archived_at = t.archivedAt;
    else delete stored.archived_at;
    const oldSize = t.size;
    try {
      // The index record goes first: if the batch then fails, the record only names a
      // status the info file does not have yet, which list() checks.
      const changed = await this.#recordEntry(t, stored);
      if (events.length > 0) {
        const bytes = encodeBatch(events);
        if (this.durability === 'fsync') {
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
      // Writing info also proves the folder is still where it should be: a log fd keeps
      // working on a deleted or moved file.
      const now = Date.now();
      if (this.durability === 'fsync') await this.#writeInfo(t, stored);
      else if (t.fd < 0 || t.entry === undefined || changed || now - t.infoAt >= this.#infoInterval)
        this.#writeInfoSync(t, stored);
      else {
        // Info can wait; the folder check cannot: a log fd keeps working on a moved or
        // deleted file, so make sure the path still leads to our log.
        const st = fs.statSync(join(t.dir, LOG));
        if (st.ino !== t.ino) throw new Error(`${join(t.dir, LOG)} was replaced`);
        t.pendingInfo = stored;
        this.#pendingInfos.add(t);
        this.#armInfoTimer();
      }
    } catch (err) {
      await this.#rollback(t, oldSize);
      throw ioError('append to', traceId, err);
    }
    if (events.length > 0) t.lastSeq = events[events.length - 1]!.seq;
    if (!this.#known.has(traceId)) {
      this.#known.add(traceId);
      // Bounded: forgetting an old id only turns a vanished-folder error back into a conflict.
      if (this.#known.size > 100_000) this.#known.delete(this.#known.values().next().value!);
    }
  }

  /** Undoes a partly written batch and forgets the open log so that a retry reopens it. */
  async #rollback(t: OpenTrace, size: number): Promise<void> {
    if (t.fd >= 0 && t.size !== size) {
      try {
        await ftruncate(t.fd, size);
      } catch {
        /* the file is gone: nothing to undo */
      }
    }
    t.size = size;
    this.#drop(t.id);
  }

  async #writeInfo(t: OpenTrace, info: TraceInfo): Promise<void> {
    const tmp = join(t.dir, `.${INFO}.${process.pid}.tmp`);
    const data = JSON.stringify(info);
    if (this.durability === 'fsync') {
      const fd = await open(tmp, 'w', this.#fileMode);
      try {
        await write(fd, data);
        await fsync(fd);
      } finally {
        await closeFd(fd);
      }
    } else {
      await fsp.writeFile(tmp, data, { mode: this.#fileMode });
    }
    await fsp.rename(tmp, join(t.dir, INFO));
    this.#infoWritten(t);
  }

  #writeInfoSync(t: OpenTrace, info: TraceInfo): void {
    const tmp = join(t.dir, `.${INFO}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(info), { mode: this.#fileMode });
    fs.renameSync(tmp, join(t.dir, INFO));
    this.#infoWritten(t);
  }

  #infoWritten(t: OpenTrace): void {
    t.infoAt = Date.now();
    t.pendingInfo = undefined;
    this.#pendingInfos.delete(t);
  }

  /** Records changed listing fields in the index; true if there was a change. */
  async #recordEntry(t: OpenTrace, info: TraceInfo): Promise<boolean> {
    const entry = entryOf(info, t.date);
    if (sameEntry(t.entry, entry)) return false;
    await this.#index.append([entry]);
    this.#index.applyLocal(entry);
    t.entry = entry;
    return true;
  }

  #armInfoTimer(): void {
    if (!this.#exitHook) {
      this.#exitHook = true;
      process.on('exit', this.#onExit);
    }
    if (this.#infoTimer !== undefined) return;
    this.#infoTimer = setTimeout(() => {
      this.#infoTimer = undefined;
      for (const t of this.#pendingInfos) {
        // Through the trace's queue so that it never races an append; a failure keeps the
        // info pending (the next append reports the folder problem).
        this.#serial(t.id, async () => this.#writePendingInfo(t)).catch(() => undefined);
      }
    }, this.#infoInterval);
    this.#infoTimer.unref?.();
  }

  #writePendingInfo(t: OpenTrace): void {
    const info = t.pendingInfo;
    if (!info) return;
    try {
      this.#writeInfoSync(t, info);
    } catch {
      return;
    }
    t.pendingInfo = undefined;
    this.#pendingInfos.delete(t);
  }

  async #unarchive(t: OpenTrace): Promise<void> {
    const gz = join(t.dir, ARCHIVE);
    const data = await gunzip(await fsp.readFile(gz));
    await fsp.writeFile(join(t.dir, LOG), data, { mode: this.#fileMode });
    await fsp.rm(gz, { force: true });
    t.fd = await open(join(t.dir, LOG), 'a+', this.#fileMode);
    t.ino = (await fstat(t.fd)).ino;
    t.size = data.length;
    t.archived = false;
    t.archivedAt = undefined;
  }

  // ---- open logs (LRU) ----------------------------------------------------------------

  /**
   * The open state of a trace. Missing trace: created when `create`, else undefined.
   * Opening checks the log's tail and cuts a torn or garbage last line.
   */
  async #openTrace(traceId: string, create: boolean, createdAt?: number): Promise<OpenTrace | undefined> {
    const cached = this.#open.get(traceId);
    if (cached) {
      this.#open.delete(traceId);
      this.#open.set(traceId, cached);
      return cached;
    }
    let date = await this.#locate(traceId);
    let dir = date === undefined ? undefined : join(this.dir, date, traceId);
    if (
      dir !== undefined &&
      !(await fsp.stat(dir).then(
        (s) => s.isDirectory(),
        (e: unknown) => (isCode(e, 'ENOENT') ? false : Promise.reject(e)),
      ))
    ) {
      dir = undefined;
    }
    if (dir === undefined) {
      if (!create) return undefined;
      if (this.#known.has(traceId))
        throw new StoreError(`file store: the folder of trace ${traceId} has vanished from ${this.dir}; retrying`);
      date ??= traceDate(traceId, createdAt);
      dir = join(this.dir, date, traceId);
      await fsp.mkdir(dir, { recursive: true, mode: this.#dirMode });
    }
    const t: OpenTrace = {
      id: traceId,
      date: date!,
      dir,
      fd: -1,
      size: 0,
      lastSeq: 0,
      archived: false,
      archivedAt: undefined,
      entry: undefined,
      ino: -1,
      pendingInfo: undefined,
      infoAt: 0,
    };
    const info = await this.#readInfoFile(join(dir, INFO));
    if (info) {
      t.entry = entryOf(info, t.date);
      t.archivedAt = info.archived_at;
    }
    const hasArchive = await fsp.stat(join(dir, ARCHIVE)).then(
      () => true,
      () => false,
    );
    if (hasArchive) {
      // A crash between writing the archive and deleting the log leaves both: the archive
      // is complete (it was renamed into place), the log is the leftover.
      await fsp.rm(join(dir, LOG), { force: true });
      t.archived = true;
      const events = parseLog(await gunzip(await fsp.readFile(join(dir, ARCHIVE))), traceId);
      t.lastSeq = events.length > 0 ? events[events.length - 1]!.seq : 0;
    } else {
      const fd = await open(join(dir, LOG), 'a+', this.#fileMode);
      try {
        const { size, ino } = await fstat(fd);
        t.ino = ino;
        const tail = await scanTail(size, async (position, length) => {
          const buf = Buffer.allocUnsafe(length);
          const { bytesRead } = await read(fd, buf, 0, length, position);
          return buf.subarray(0, bytesRead);
        });
        if (tail.validSize < size) {
          await ftruncate(fd, tail.validSize);
          this.#onWarning({
            code: 'LT_WARN_TORN_LINE',
            message: `trace ${traceId}: ${WARNING_CODES.LT_WARN_TORN_LINE} (${size - tail.validSize} bytes after seq ${tail.lastSeq} in ${join(dir, LOG)})`,
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
    }
    this.#open.set(traceId, t);
    this.#trim();
    return t;
  }

  /** Closes the least recently used logs beyond the bound (skipping busy traces). */
  #trim(): void {
    if (this.#open.size <= this.#maxOpen) return;
    for (const id of this.#open.keys()) {
      if (this.#open.size <= this.#maxOpen) break;
      if (this.#queues.has(id)) continue;
      this.#drop(id);
    }
  }

  /** Forgets a trace's open state and closes its log (in the background: fds close fast). */
  #drop(traceId: string): void {
    const t = this.#open.get(traceId);
    if (!t) return;
    this.#writePendingInfo(t);
    this.#pendingInfos.delete(t);
    this.#open.delete(traceId);
    if (t.fd >= 0) {
      const fd = t.fd;
      t.fd = -1;
      fs.close(fd, () => undefined);
    }
  }

  async #evict(traceId: string): Promise<void> {
    const t = this.#open.get(traceId);
    if (!t) return;
    this.#pendingInfos.delete(t);
    this.#open.delete(traceId);
    if (t.fd >= 0) await closeFd(t.fd).catch(() => undefined);
    t.fd = -1;
  }

  // ---- lookup and reading -------------------------------------------------------------

  /** Date folder of a stored trace, or undefined. Never scans every trace. */
  async #locate(traceId: string): Promise<string | undefined> {
    const open = this.#open.get(traceId);
    if (open) return open.date;
    // Default ids carry their date.
    if (DEFAULT_ID_RE.test(traceId)) {
      const date = traceDate(traceId);
      return (await this.#exists(join(this.dir, date, traceId))) ? date : undefined;
    }
    if (await this.#loadIndex(false)) {
      const e = this.#index.entries.get(traceId);
      if (e && (await this.#exists(join(this.dir, e.d, traceId)))) return e.d;
      // Written by another process since our last look?
      await this.#index.refresh();
      const again = this.#index.entries.get(traceId);
      if (again && again !== e && (await this.#exists(join(this.dir, again.d, traceId)))) return again.d;
    }
    // Last resort, for a folder the index missed (a crash between mkdir and the index
    // record): one stat per date folder.
    for (const date of await this.#dateFolders()) {
      if (await this.#exists(join(this.dir, date, traceId))) return date;
    }
    return undefined;
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await fsp.access(path);
      return true;
    } catch {
      return false;
    }
  }

  async #dateFolders(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.dir))
        .filter((n) => DATE_RE.test(n))
        .sort()
        .reverse();
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return [];
      throw err;
    }
  }

  /**
   * Loads the listing index once (building it from the folders if the file is missing);
   * with `refresh`, also picks up records other processes appended. False: empty store.
   */
  async #loadIndex(refresh: boolean): Promise<boolean> {
    if (!this.#indexReady) {
      this.#indexReady = (async () => {
        if (!(await this.#index.refresh())) {
          if ((await this.#dateFolders()).length > 0) await this.rebuildIndex();
        } else if (this.#index.wasteful) {
          await this.#index.compact();
        }
      })();
      this.#indexReady.catch(() => {
        this.#indexReady = undefined;
      });
      await this.#indexReady;
      return this.#index.entries.size > 0 || (await this.#exists(this.#index.path));
    }
    await this.#indexReady;
    if (refresh) return this.#index.refresh();
    return true;
  }

  async #readLog(traceId: string, dir: string): Promise<Buffer | undefined> {
    // The log may move to the archive (or back) while we look: try both, twice.
    for (let i = 0; i < 2; i++) {
      try {
        return await fsp.readFile(join(dir, LOG));
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw ioError('read', traceId, err);
      }
      try {
        return await gunzip(await fsp.readFile(join(dir, ARCHIVE)));
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw ioError('read', traceId, err);
      }
    }
    return undefined;
  }

  async #readInfoFile(path: string): Promise<TraceInfo | undefined> {
    try {
      return JSON.parse(await fsp.readFile(path, 'utf8')) as TraceInfo;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR') || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /** info.json, or (after a crash before the first info write) the info derived from the log. */
  async #readInfo(traceId: string, dir: string): Promise<TraceInfo | undefined> {
    const info = await this.#readInfoFile(join(dir, INFO));
    if (info) return info;
    const buf = await this.#readLog(traceId, dir);
    if (!buf) return undefined;
    const events = parseLog(buf, traceId);
    if (events.length === 0) return undefined;
    const derived = toSnapshot(reduceEvents(traceId, events)).info;
    derived.archived = await this.#exists(join(dir, ARCHIVE));
    return derived;
  }

  // ---- plumbing -----------------------------------------------------------------------

  #serial<T>(traceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(traceId);
    const run = prev ? prev.then(fn, fn) : fn();
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(traceId, tail);
    void tail.then(() => {
      if (this.#queues.get(traceId) === tail) {
        this.#queues.delete(traceId);
        this.#trim();
      }
    });
    return run;
  }

  async #fsyncPath(path: string): Promise<void> {
    const fd = await open(path, 'r');
    try {
      await fsync(fd);
    } finally {
      await closeFd(fd);
    }
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
    if (this.#infoTimer) clearTimeout(this.#infoTimer);
    this.#infoTimer = undefined;
    for (const t of this.#pendingInfos) this.#writePendingInfo(t);
    this.#pendingInfos.clear();
    if (this.#exitHook) {
      this.#exitHook = false;
      process.off('exit', this.#onExit);
    }
    const fds = [...this.#open.values()].map((t) => t.fd).filter((fd) => fd >= 0);
    this.#open.clear();
    await Promise.allSettled(fds.map((fd) => closeFd(fd)));
    const leases = [...this.#leases];
    this.#leases.clear();
    await Promise.allSettled(leases.map(([id, owner]) => releaseLease(join(this.dir, 'locks', `${id}.lock`), owner)));
  }
}
