// The listing index of a FileStore: `index.jsonl` at the store's root, one record per
// change of a trace's listing fields (creation, status, archive, removal), appended with
// one write and never rewritten in place. It lets list() answer without reading event
// logs, and finds the date folder of a trace whose id does not carry its date.
//
// Records are written as "\n<json>\n" so that a record torn by a crash can never glue
// onto the next one: unparseable lines are skipped. Several processes may append; a
// reader picks up their records by reading the bytes past what it has consumed.
import { appendFileSync, promises as fsp } from 'node:fs';
import type { TraceInfo, TraceStatus } from '../../core/types.js';

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
  /** id -> latest entry. */
  readonly entries = new Map<string, IndexEntry>();
  /** Entries sorted newest first; rebuilt lazily after a change. */
  #sorted: IndexEntry[] | undefined;
  /** Bytes of the file already applied to `entries` (up to a record boundary). */
  #consumed = 0;
  #ino = -1;
  /** Records read from the file (live + superseded): decides compaction. */
  #records = 0;

  constructor(path: string, fileMode: number) {
    this.path = path;
    this.#fileMode = fileMode;
  }

  /** Serializes refresh and compaction: both move `#consumed`. */
  #busy: Promise<unknown> = Promise.resolve();

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(fn, fn);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Applies records appended by anyone since the last call. Returns false if the file is missing. */
  refresh(): Promise<boolean> {
    return this.#exclusive(() => this.#refresh());
  }

  async #refresh(): Promise<boolean> {
    let st;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (st.ino !== this.#ino || st.size < this.#consumed) {
      // First load, or another process compacted the file: start over.
      this.entries.clear();
      this.#sorted = undefined;
      this.#consumed = 0;
      this.#records = 0;
      this.#ino = st.ino;
    }
    if (st.size === this.#consumed) return true;
    const fh = await fsp.open(this.path, 'r');
    try {
      const len = st.size - this.#consumed;
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, this.#consumed);
      const end = buf.lastIndexOf(10, bytesRead - 1) + 1;
      if (end === 0) return true;
      this.#applyText(buf.toString('utf8', 0, end));
      this.#consumed += end;
    } finally {
      await fh.close();
    }
    return true;
  }

  #applyText(text: string): void {
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let rec: IndexEntry | Removal;
      try {
        rec = JSON.parse(line) as IndexEntry | Removal;
      } catch {
        continue; // torn by a crash
      }
      if (!rec || typeof rec.id !== 'string') continue;
      this.#records++;
      this.applyLocal(rec);
    }
  }

  /** Updates the in-memory view (after this process wrote the record). */
  applyLocal(rec: IndexEntry | Removal): void {
    // Records come from disk: anything that could name a path outside the store is ignored.
    if (!ID_RE.test(rec.id)) return;
    if ('rm' in rec) this.entries.delete(rec.id);
    else if (typeof rec.d === 'string' && DATE_RE.test(rec.d) && typeof rec.c === 'number')
      this.entries.set(rec.id, rec);
    this.#sorted = undefined;
  }

  /**
   * Appends records with one write (open, write, close: never an fd on a replaced file).
   * Synchronous: three calls on a small local file cost less than three round trips
   * through the thread pool (two records per created trace).
   */
  append(recs: readonly (IndexEntry | Removal)[]): void {
    let text = '';
    for (const r of recs) text += '\n' + JSON.stringify(r) + '\n';
    appendFileSync(this.path, text, { mode: this.#fileMode });
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
    return this.#exclusive(() => this.#compact());
  }

  async #compact(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    let text = '';
    for (const e of this.entries.values()) text += JSON.stringify(e) + '\n';
    const old = await fsp.open(this.path, 'r');
    try {
      await fsp.writeFile(tmp, text, { mode: this.#fileMode });
      await fsp.rename(tmp, this.path);
      const st = await old.stat();
      if (st.size > this.#consumed) {
        const len = st.size - this.#consumed;
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await old.read(buf, 0, len, this.#consumed);
        await fsp.appendFile(this.path, buf.subarray(0, bytesRead), { mode: this.#fileMode });
      }
    } finally {
      await old.close();
    }
    this.entries.clear();
    this.#ino = -1;
    this.#consumed = 0;
    await this.#refresh();
  }
}
