// The listing index of a FileStore: `index.jsonl` at the store's root, one record per
// change of a trace's listing fields (creation, status, archive, removal), appended with
// one write and never rewritten in place. It lets list() answer without reading event
// logs, and finds the date folder of a trace whose id does not carry its date. A trace that
// ends before its info.json was due gets no info.json: a final record (`i`: its whole info)
// takes its place, read back by offset when asked for (only its offset is kept in memory).
// The file's format and its reading are jsonl-file.ts's (shared with search.jsonl).
import { promises as fsp } from 'node:fs';
import type { TraceInfo, TraceStatus } from '../../core/types.js';
import { CHUNK_BYTES, JsonlFile, scanRecords } from './jsonl-file.js';

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export interface IndexEntry {
  id: string;
  /** Date folder. */
  d: string;
  /** created_at */
  c: number;
  s: TraceStatus;
  by?: string;
  tm?: string;
  tn?: string;
  /** archived */
  a?: 1;
  /**
   * In memory only: the offset in the file of this entry's final record, -1 while unknown
   * (appended by this process and not read back yet).
   */
  o?: number;
}

/** An entry with the trace's whole info: written when the trace ended before its info.json was due. */
export interface FinalRecord extends IndexEntry {
  i: TraceInfo;
}

interface Removal {
  id: string;
  rm: 1;
}

export function entryOf(info: TraceInfo, date: string): IndexEntry {
  const e: IndexEntry = { id: info.id, d: date, c: info.created_at, s: info.status };
  if (info.created_by !== undefined) e.by = info.created_by;
  if (info.team_id !== undefined) e.tm = info.team_id;
  if (info.tenant_id !== undefined) e.tn = info.tenant_id;
  if (info.archived) e.a = 1;
  return e;
}

/** Equal listing fields: no new record needed. */
export function sameEntry(a: IndexEntry | undefined, b: IndexEntry): boolean {
  return (
    a !== undefined &&
    a.d === b.d &&
    a.c === b.c &&
    a.s === b.s &&
    a.by === b.by &&
    a.tm === b.tm &&
    a.tn === b.tn &&
    a.a === b.a
  );
}

export class ListIndex {
  readonly path: string;
  readonly #fileMode: number;
  readonly #file: JsonlFile<IndexEntry | FinalRecord | Removal>;
  /** id -> latest entry. */
  readonly entries = new Map<string, IndexEntry>();
  /** Entries sorted newest first; rebuilt lazily after a change. */
  #sorted: IndexEntry[] | undefined;
  /** Records read from the file (live + superseded): decides compaction. */
  #records = 0;

  constructor(path: string, fileMode: number) {
    this.path = path;
    this.#fileMode = fileMode;
    this.#file = new JsonlFile(path, fileMode);
  }

  /** Applies records appended by anyone since the last call. Returns false if the file is missing. */
  refresh(): Promise<boolean> {
    return this.#file.exclusive(() => this.#refresh());
  }

  #refresh(): Promise<boolean> {
    return this.#file.readNew(
      () => {
        // First load, or another process compacted the file: start over.
        this.entries.clear();
        this.#sorted = undefined;
        this.#records = 0;
      },
      (rec, offset) => {
        this.#records++;
        this.applyLocal(rec, offset);
      },
    );
  }

  /**
   * Updates the in-memory view (after this process wrote the record, or read it at
   * `offset`). A final record is kept as its entry and the offset of its line.
   */
  applyLocal(rec: IndexEntry | FinalRecord | Removal, offset = -1): void {
    // Records come from disk: anything that could name a path outside the store is ignored.
    if (!ID_RE.test(rec.id)) return;
    if ('rm' in rec) this.entries.delete(rec.id);
    else if (typeof rec.d === 'string' && DATE_RE.test(rec.d) && typeof rec.c === 'number') {
      if ('i' in rec || 'o' in rec) {
        const { i, o: _, ...entry } = rec as FinalRecord;
        if (i !== null && typeof i === 'object') (entry as IndexEntry).o = offset;
        this.entries.set(rec.id, entry);
      } else this.entries.set(rec.id, rec);
    }
    this.#sorted = undefined;
  }

  /**
   * The info of the trace's final record, if its latest record is one: read at its offset
   * (after a refresh when the offset is not known, or the file was replaced since).
   */
  async finalInfo(id: string): Promise<TraceInfo | undefined> {
    for (let attempt = 0; ; attempt++) {
      const o = this.entries.get(id)?.o;
      if (o !== undefined && o >= 0) {
        const rec = (await this.#file.readAt(o)) as Partial<FinalRecord> | undefined;
        const info = rec?.id === id ? rec.i : undefined;
        if (info !== null && typeof info === 'object' && info.id === id && typeof info.status === 'string') return info;
      }
      if (attempt > 0) return undefined;
      await this.refresh();
    }
  }

  /** Appends records with one synchronous write (two records per created trace). */
  append(recs: readonly (IndexEntry | FinalRecord | Removal)[]): void {
    this.#file.append(recs);
  }

  /** Entries newest first (created_at desc, id desc). */
  sorted(): IndexEntry[] {
    if (!this.#sorted) {
      this.#sorted = [...this.entries.values()].sort((a, b) => b.c - a.c || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    }
    return this.#sorted;
  }

  /** True when superseded records dominate the file. */
  get wasteful(): boolean {
    return this.#records > 2 * this.entries.size + 1024;
  }

  /**
   * Rewrites the file with one record per live trace (tmp file + rename). Records other
   * processes append meanwhile are carried over by re-reading the old file's tail.
   */
  compact(): Promise<void> {
    return this.#file.exclusive(() => this.#compact());
  }

  async #compact(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const old = await fsp.open(this.path, 'r');
    try {
      const consumed = this.#file.consumed;
      // Final records are carried over whole: read them back, in one pass over the old file.
      const wanted = new Set<number>();
      for (const e of this.entries.values()) if (e.o !== undefined && e.o >= 0) wanted.add(e.o);
      const finals = new Map<number, FinalRecord>();
      if (wanted.size > 0) {
        await scanRecords<FinalRecord>(old, 0, consumed, CHUNK_BYTES, (rec, offset) => {
          if (wanted.has(offset)) finals.set(offset, rec);
        });
      }
      let text = '';
      for (const e of this.entries.values()) {
        const { o, ...entry } = e;
        const final = o === undefined ? undefined : finals.get(o);
        text += JSON.stringify(final?.id === e.id ? final : entry) + '\n';
      }
      await fsp.writeFile(tmp, text, { mode: this.#fileMode });
      await fsp.rename(tmp, this.path);
      const st = await old.stat();
      if (st.size > consumed) {
        const len = st.size - consumed;
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await old.read(buf, 0, len, consumed);
        await fsp.appendFile(this.path, buf.subarray(0, bytesRead), { mode: this.#fileMode });
      }
    } finally {
      await old.close();
    }
    this.#file.reset();
    await this.#refresh();
  }
}
