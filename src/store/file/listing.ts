// The listing side of a FileStore over its index (list-index.ts): loading or rebuilding
// the index, recording listing changes, finding a trace's date folder, and answering
// list() pages from the index with each candidate's info having the last word.
import { promises as fsp } from 'node:fs';
import { traceDate } from '../../core/ids.js';
import type { ListQuery, ListResult, TraceInfo } from '../../core/types.js';
import { decodeCursor, listLimit, matchesQuery, toPage } from '../store.js';
import type { OpenTrace } from './descriptor-cache.js';
import { DEFAULT_ID_RE, exists, traceFiles, type FileLayout } from './layout.js';
import { ListIndex, entryOf, sameEntry, type FinalRecord, type IndexEntry } from './list-index.js';
import { LogReader } from './log-reader.js';
import { deriveInfo, readInfoFile } from './trace-log.js';
import { isActive } from '../../core/status.js';

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export class Listing {
  readonly #layout: FileLayout;
  readonly #fileMode: number;
  readonly #dirMode: number;
  readonly #index: ListIndex;
  /** Set once the index was loaded (or built); reset if that failed. */
  #ready: Promise<void> | undefined;

  constructor(layout: FileLayout, fileMode: number, dirMode: number) {
    this.#layout = layout;
    this.#fileMode = fileMode;
    this.#dirMode = dirMode;
    this.#index = new ListIndex(layout.index, fileMode);
  }

  /**
   * Loads the listing index once (building it from the folders if the file is missing);
   * with `refresh`, also picks up records other processes appended. False: empty store.
   */
  async load(refresh: boolean): Promise<boolean> {
    if (!this.#ready) {
      this.#ready = (async () => {
        if (!(await this.#index.refresh())) {
          if ((await this.#layout.dateFolders()).length > 0) await this.rebuild();
        } else if (this.#index.wasteful) {
          await this.#index.compact();
        }
      })();
      this.#ready.catch(() => {
        this.#ready = undefined;
      });
      await this.#ready;
      return this.#index.entries.size > 0 || (await exists(this.#index.path));
    }
    await this.#ready;
    if (refresh) return this.#index.refresh();
    return true;
  }

  /**
   * Rebuilds the index file from the trace folders: every info.json, else the info derived
   * from the log (an ended trace's becomes its final record).
   */
  async rebuild(): Promise<void> {
    const entries: (IndexEntry | FinalRecord)[] = [];
    const reader = new LogReader();
    for (const date of await this.#layout.dateFolders()) {
      let ids: string[];
      try {
        ids = await fsp.readdir(this.#layout.dateDir(date));
      } catch {
        continue;
      }
      for (const id of ids) {
        if (!ID_RE.test(id)) continue;
        const files = traceFiles(this.#layout.traceDir(date, id));
        const file = await readInfoFile(files.info).catch(() => undefined);
        const info = file ?? (await deriveInfo(id, files, reader).catch(() => undefined));
        if (!info) continue;
        entries.push(file || isActive(info.status) ? entryOf(info, date) : { ...entryOf(info, date), i: info });
      }
    }
    reader.close();
    const tmp = `${this.#index.path}.${process.pid}.tmp`;
    await fsp.mkdir(this.#layout.root, { recursive: true, mode: this.#dirMode });
    await fsp.writeFile(tmp, entries.map((e) => JSON.stringify(e) + '\n').join(''), { mode: this.#fileMode });
    await fsp.rename(tmp, this.#index.path);
    await this.#index.refresh();
  }

  /** The loaded listing entries (id -> entry), refreshed with other processes' records. */
  async entries(): Promise<ReadonlyMap<string, IndexEntry>> {
    await this.load(true);
    return this.#index.entries;
  }

  /** Records changed listing fields of an open trace; true if there was a change. */
  async record(t: OpenTrace, info: TraceInfo): Promise<boolean> {
    const entry = entryOf(info, t.date);
    if (sameEntry(t.entry, entry)) return false;
    this.#index.append([entry]);
    this.#index.applyLocal(entry);
    t.entry = entry;
    return true;
  }

  /**
   * Records the whole info of a trace that ended before its info.json was due, in place of
   * creating that file (an inode per trace, up to a quarter of a short trace's cost:
   * docs/performance.md, section 14). Appended after the batch that ended the trace.
   */
  recordFinal(t: OpenTrace, info: TraceInfo): void {
    const rec: FinalRecord = { ...entryOf(info, t.date), i: info };
    this.#index.append([rec]);
    this.#index.applyLocal(rec);
  }

  /** The info of the trace's final record, if its latest index record is one. */
  async finalInfo(traceId: string): Promise<TraceInfo | undefined> {
    if (!(await this.load(false))) return undefined;
    return this.#index.finalInfo(traceId);
  }

  async recordRemoval(traceId: string): Promise<void> {
    this.#index.append([{ id: traceId, rm: 1 }]);
    this.#index.applyLocal({ id: traceId, rm: 1 });
  }

  /** Date folder of a stored trace (not open in this store), or undefined. Never scans every trace. */
  async locate(traceId: string): Promise<string | undefined> {
    const stored = (date: string): Promise<boolean> => exists(this.#layout.traceDir(date, traceId));
    // Default ids carry their date.
    if (DEFAULT_ID_RE.test(traceId)) {
      const date = traceDate(traceId);
      return (await stored(date)) ? date : undefined;
    }
    if (await this.load(false)) {
      const e = this.#index.entries.get(traceId);
      if (e && (await stored(e.d))) return e.d;
      // Written by another process since our last look?
      await this.#index.refresh();
      const again = this.#index.entries.get(traceId);
      if (again && again !== e && (await stored(again.d))) return again.d;
    }
    // Last resort, for a folder the index missed (a crash between mkdir and the index
    // record): one stat per date folder.
    for (const date of await this.#layout.dateFolders()) {
      if (await stored(date)) return date;
    }
    return undefined;
  }

  /**
   * One page of list(). The index pre-filters; `infoOf` reads each candidate's info, which
   * has the last word (the index may lag it by one record after a crash).
   */
  async page(query: ListQuery, infoOf: (e: IndexEntry) => Promise<TraceInfo | undefined>): Promise<ListResult> {
    if (!(await this.load(true))) return { traces: [] };
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
      const infos = await Promise.all(batch.map(infoOf));
      for (const info of infos) if (info && matchesQuery(info, query)) out.push(info);
    }
    return toPage(out, limit);
  }
}
