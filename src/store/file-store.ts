// The embedded default store: plain files, one folder per trace under a date folder
// (the layout is in file/layout.ts).
//
// A batch is one write() on the log, then the info file is replaced; if the info cannot
// be written the log is truncated back, so a failed append leaves nothing behind and the
// writer's retry continues the seq. FileStore coordinates one module per job:
//   file/layout.ts            every path
//   core/serial-queue.ts      the per-trace queue (operations of one trace never overlap)
//   file/descriptor-cache.ts  the LRU of open logs
//   file/trace-log.ts         opening and appending to one trace's log, reading its info
//   file/log-reader.ts        ranged reads of a log (plain or archived) in constant memory
//   file/info-writer.ts       info.json writes and their throttling
//   file/listing.ts           the listing index: list(), locating a trace's folder
//   file/search-index.ts      the search index: list() with q, facets, ranges, sorts
//   file/jsonl-file.ts        the store-wide record files both indexes append to and read
//   file/leases.ts            single-writer leases held
//   file/archive.ts           gzip archive and back
import { promises as fsp } from 'node:fs';
import {
  InvalidArgumentError,
  StoreConflictError,
  StoreError,
  TraceNotFoundError,
  TraceRunningError,
  UnsupportedError,
  type LivetraceWarning,
} from '../core/errors.js';
import { assertValidId, traceDate } from '../core/ids.js';
import type { ListQuery, ListResult, TraceEvent, TraceInfo } from '../core/types.js';
import { archiveLog, unarchiveLog } from './file/archive.js';
import { DescriptorCache, type OpenTrace } from './file/descriptor-cache.js';
import { InfoWriter } from './file/info-writer.js';
import { DEFAULT_ID_RE, FileLayout, ioError, isCode, traceFiles } from './file/layout.js';
import { HeldLeases } from './file/leases.js';
import { Listing } from './file/listing.js';
import { SearchIndex } from './file/search-index.js';
import { searchPlan } from '../core/search.js';
import { encodeBatch } from './file/log-file.js';
import { LogReader } from './file/log-reader.js';
import { SerialQueue } from '../core/serial-queue.js';
import { assertSameLog, openTraceLog, readInfo, truncateLog, writeBatch } from './file/trace-log.js';
import type { ReadOptions, TraceStore } from './store.js';
import { intOption } from '../core/int-option.js';
import { isActive } from '../core/status.js';

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
   * info.json of a running trace is rewritten at most this often (ms), the first time at
   * most this long after the trace's creation (readers derive the info from the log until
   * then); a change of status or of any listing field of an existing trace is written at
   * once. info() and list() in this process always see the latest info. Default 200;
   * "fsync" durability always writes it at once.
   */
  infoIntervalMs?: number;
  /** Where store warnings go (a torn last line cut). Default: process.emitWarning. */
  onWarning?: (warning: LivetraceWarning) => void;
  /**
   * Keep the search index (`search.jsonl`). Default true. false: appends skip it (a store
   * that is written, never searched); a search (q, facets, ranges, sort) is then an
   * UnsupportedError, while plain listings keep working.
   */
  search?: boolean;
}

export class FileStore implements TraceStore {
  readonly name: string;
  readonly dir: string;
  readonly durability: Durability;
  readonly #layout: FileLayout;
  readonly #fileMode: number;
  readonly #dirMode: number;
  readonly #onWarning: (w: LivetraceWarning) => void;
  /** Per-trace chain of operations: appends, archive and remove of one trace never overlap. */
  readonly #queue: SerialQueue;
  readonly #open: DescriptorCache;
  readonly #info: InfoWriter;
  readonly #listing: Listing;
  readonly #search: SearchIndex | undefined;
  readonly #leases: HeldLeases;
  /** Ranged reads of the logs (an index of line starts per trace, parked archive streams). */
  readonly #reader = new LogReader();
  /** Traces this store has written: a missing folder for one of them is an I/O failure, not a new trace. */
  readonly #known = new Set<string>();
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
    const maxOpen = intOption('option maxOpenFiles', options.maxOpenFiles, 64);
    const infoInterval = intOption('option infoIntervalMs', options.infoIntervalMs, 200, { min: 0 });
    this.#layout = new FileLayout(options.dir);
    this.dir = this.#layout.root;
    this.name = `file:${this.dir}`;
    this.durability = durability;
    this.#fileMode = options.fileMode ?? 0o600;
    this.#dirMode = options.dirMode ?? 0o700;
    this.#onWarning = options.onWarning ?? ((w) => process.emitWarning(w.message, { code: w.code }));
    this.#queue = new SerialQueue(() => this.#open.trim());
    this.#info = new InfoWriter({
      fileMode: this.#fileMode,
      fsync: durability === 'fsync',
      intervalMs: infoInterval,
      schedule: (t, write) => this.#queue.run(t.id, write),
    });
    this.#open = new DescriptorCache({
      maxOpen,
      busy: (id) => this.#queue.busy(id),
      onForget: (t, flush) => {
        if (flush) this.#info.flush(t);
        this.#info.forget(t);
      },
    });
    this.#listing = new Listing(this.#layout, this.#fileMode, this.#dirMode);
    if (options.search !== undefined && typeof options.search !== 'boolean')
      throw new InvalidArgumentError(`option search must be a boolean, got ${typeof options.search}`);
    this.#search = options.search === false ? undefined : new SearchIndex(this.#layout, this.#fileMode, this.#reader);
    this.#leases = new HeldLeases(this.#layout, this.#fileMode, this.#dirMode);
  }

  // ---- TraceStore ---------------------------------------------------------------------

  async append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    assertValidId(traceId);
    return this.#queue.run(traceId, () => this.#append(traceId, events, info));
  }

  async read(traceId: string, options: ReadOptions = {}): Promise<TraceEvent[]> {
    assertValidId(traceId);
    const date = await this.#locate(traceId);
    if (date === undefined) return [];
    const files = traceFiles(this.#layout.traceDir(date, traceId));
    return this.#reader.read(traceId, files, Math.max(0, options.since ?? 0), options.limit);
  }

  async info(traceId: string): Promise<TraceInfo | undefined> {
    assertValidId(traceId);
    const pending = this.#open.peek(traceId)?.pendingInfo;
    if (pending) return { ...pending };
    const date = await this.#locate(traceId);
    if (date === undefined) return undefined;
    return this.#storedInfo(traceId, date);
  }

  /**
   * A stored trace's info: info.json, else its final index record, else derived from its
   * log (also when the index cannot be read: the log is what the info comes from).
   */
  #storedInfo(traceId: string, date: string): Promise<TraceInfo | undefined> {
    return readInfo(traceId, traceFiles(this.#layout.traceDir(date, traceId)), this.#reader, () =>
      this.#listing.finalInfo(traceId).catch(() => undefined),
    );
  }

  /** The latest info of a listed trace: this process's pending one, else its info file. */
  readonly #infoOf = (e: { id: string; d: string }): Promise<TraceInfo | undefined> => {
    const pending = this.#open.peek(e.id)?.pendingInfo;
    return pending ? Promise.resolve({ ...pending }) : this.#storedInfo(e.id, e.d).catch(() => undefined);
  };

  async list(query: ListQuery = {}): Promise<ListResult> {
    const infoOf = this.#infoOf;
    const plan = searchPlan(query);
    if (plan.plain) return this.#listing.page(query, infoOf);
    const search = this.#search;
    if (!search) throw new UnsupportedError(`file store ${this.dir} was opened with search: false; it cannot search`);
    await search.load(() => this.#listing.entries(), infoOf);
    return search.page(query, plan, await this.#listing.entries(), infoOf);
  }

  async remove(traceId: string): Promise<boolean> {
    assertValidId(traceId);
    return this.#queue.run(traceId, async () => {
      const date = await this.#locate(traceId);
      if (date === undefined) return false;
      await this.#open.evict(traceId);
      this.#reader.forget(traceId);
      const dir = this.#layout.traceDir(date, traceId);
      const existed = await fsp.stat(dir).then(
        () => true,
        () => false,
      );
      await fsp.rm(dir, { recursive: true, force: true });
      await this.#listing.recordRemoval(traceId);
      this.#search?.recordRemoval(traceId);
      this.#known.delete(traceId);
      return existed;
    });
  }

  async archive(traceId: string): Promise<void> {
    assertValidId(traceId);
    return this.#queue.run(traceId, async () => {
      const t = await this.#openTrace(traceId, false);
      if (!t) throw new TraceNotFoundError(traceId);
      const info = t.pendingInfo ?? (await this.#storedInfo(traceId, t.date));
      if (!info) throw new TraceNotFoundError(traceId);
      if (isActive(info.status)) throw new TraceRunningError(traceId, 'archive');
      if (t.archived) return;
      try {
        await archiveLog(t, this.#fileMode, this.durability === 'fsync');
        this.#reader.forget(traceId);
        const stored: TraceInfo = { ...info, archived: true, archived_at: t.archivedAt! };
        await this.#info.write(t, stored);
        await this.#listing.record(t, stored);
      } catch (err) {
        this.#open.drop(traceId);
        throw err instanceof StoreError ? err : ioError('archive', traceId, err);
      }
    });
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    assertValidId(traceId);
    await this.#leases.acquire(traceId, owner);
    // Another process may have written the trace since we last had it open: forget the
    // cached log position so the next append reads the real tail.
    this.#open.drop(traceId);
  }

  /**
   * Gives the lease back and closes the trace's log (after appends in flight): nothing of
   * a released trace stays open in this process.
   */
  async releaseLease(traceId: string, owner: string): Promise<void> {
    assertValidId(traceId);
    await this.#queue.run(traceId, async () => {
      const t = this.#open.peek(traceId);
      if (t) this.#info.flush(t);
      await this.#open.evict(traceId);
      // The next writer's records must come after ours.
      try {
        this.#search?.flush();
      } catch {
        /* the next process's load() repairs the trace from its log */
      }
    });
    await this.#leases.release(traceId, owner);
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
    await this.#listing.rebuild();
    await this.#search?.rebuild(() => this.#listing.entries(), this.#infoOf);
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
      if (this.#known.has(traceId)) throw this.#vanished(traceId);
      throw new StoreConflictError(traceId, 1, first!);
    }
    if (first !== undefined && first !== t.lastSeq + 1) throw new StoreConflictError(traceId, t.lastSeq + 1, first);
    if (events.length > 0 && t.archived) await unarchiveLog(t, this.#fileMode);
    const stored: TraceInfo = { ...info, archived: t.archived };
    if (t.archived && t.archivedAt !== undefined) stored.archived_at = t.archivedAt;
    else delete stored.archived_at;
    const oldSize = t.size;
    try {
      // The search record goes first (words of a batch that then fails are only false
      // hits until its retry), then the index record: if the batch then fails, the record
      // only names a status the info file does not have yet, which list() checks.
      this.#search?.record(traceId, events, stored);
      const changed = await this.#listing.record(t, stored);
      if (events.length > 0) await writeBatch(t, encodeBatch(events), this.durability === 'fsync');
      // Writing info also proves the folder is still where it should be: a log fd keeps
      // working on a deleted or moved file.
      // A trace this batch creates (still running) waits for its info.json like any later
      // batch: until it is written, readers derive its info from the log, which gives the
      // same info (one reducer). An info file written at creation cost as much as the
      // trace's whole log (docs/performance.md); the interval runs from the creation.
      const created = first === 1 && isActive(stored.status);
      if (created) t.infoAt = Date.now();
      if (this.durability !== 'fsync' && !t.infoFile && !isActive(stored.status) && this.#info.due(t, changed)) {
        // A trace that ends before its info.json was due (most agent runs) gets none: its
        // final index record, after the batch, holds the info (creating the file cost up
        // to a quarter of such a trace's time: docs/performance.md, section 14).
        assertSameLog(t);
        this.#listing.recordFinal(t, stored);
        this.#info.recorded(t);
      } else if (this.durability === 'fsync' || (!created && this.#info.due(t, changed)))
        await this.#info.write(t, stored);
      else {
        // Info can wait; the folder check cannot: a log fd keeps working on a moved or
        // deleted file, so make sure the path still leads to our log.
        assertSameLog(t);
        this.#info.defer(t, stored);
      }
    } catch (err) {
      // Undo the partly written batch and forget the open log so that a retry reopens it.
      await truncateLog(t, oldSize);
      this.#open.drop(t.id);
      throw ioError('append to', traceId, err);
    }
    if (events.length > 0) t.lastSeq = events[events.length - 1]!.seq;
    if (!this.#known.has(traceId)) {
      this.#known.add(traceId);
      // Bounded: forgetting an old id only turns a vanished-folder error back into a conflict.
      if (this.#known.size > 100_000) this.#known.delete(this.#known.values().next().value!);
    }
  }

  #vanished(traceId: string): StoreError {
    return new StoreError(`file store: the folder of trace ${traceId} has vanished from ${this.dir}; retrying`);
  }

  /**
   * The open state of a trace. Missing trace: created when `create`, else undefined.
   * Opening checks the log's tail and cuts a torn or garbage last line.
   */
  async #openTrace(traceId: string, create: boolean, createdAt?: number): Promise<OpenTrace | undefined> {
    const cached = this.#open.use(traceId);
    if (cached) return cached;
    if (create && DEFAULT_ID_RE.test(traceId) && !this.#known.has(traceId)) {
      // A default id names its date folder, and mkdir tells whether the folder existed:
      // one round trip instead of a lookup and then mkdir for every created trace.
      const date = traceDate(traceId);
      const dir = this.#layout.traceDir(date, traceId);
      const fresh = (await fsp.mkdir(dir, { recursive: true, mode: this.#dirMode })) !== undefined;
      const t = await openTraceLog(traceId, date, dir, this.#fileMode, this.#onWarning, fresh);
      this.#open.add(t);
      return t;
    }
    let date = await this.#locate(traceId);
    let dir = date === undefined ? undefined : this.#layout.traceDir(date, traceId);
    let fresh = false;
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
      if (this.#known.has(traceId)) throw this.#vanished(traceId);
      date ??= traceDate(traceId, createdAt);
      dir = this.#layout.traceDir(date, traceId);
      // mkdir names the first folder it made: undefined if `dir` existed (made meanwhile by
      // another writer), else `dir` or a parent of it, and then `dir` is ours and empty.
      fresh = (await fsp.mkdir(dir, { recursive: true, mode: this.#dirMode })) !== undefined;
    }
    const t = await openTraceLog(traceId, date!, dir, this.#fileMode, this.#onWarning, fresh);
    this.#open.add(t);
    return t;
  }

  /** Date folder of a stored trace, or undefined. Never scans every trace. */
  async #locate(traceId: string): Promise<string | undefined> {
    return this.#open.peek(traceId)?.date ?? this.#listing.locate(traceId);
  }

  async #close(): Promise<void> {
    await this.#queue.settled();
    this.#info.close();
    this.#search?.close();
    await this.#open.closeAll();
    this.#reader.close();
    await this.#leases.releaseAll();
  }
}
