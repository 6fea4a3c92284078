// The store-wide append-only record files of a FileStore (`index.jsonl`, `search.jsonl`):
// records are appended as "\n<json>\n" with one write, so a record torn by a crash never
// glues onto the next one (unparseable lines are skipped), and never rewritten in place.
// Several processes append; each reads the bytes past what it has consumed, a chunk at a
// time (a big index is never in memory whole). A file that was replaced (another inode)
// or shrank is read again from the start.
import { appendFileSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** What a record must have to be applied at all; callers check the rest. */
export interface JsonlRecord {
  id: string;
}

/** Bytes read at a time (doubled for a record longer than that). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export class JsonlFile<T extends JsonlRecord> {
  readonly path: string;
  readonly #fileMode: number;
  /** Bytes already read, up to a record boundary. */
  #consumed = 0;
  #ino = -1;
  /** Serializes reads and rewrites: both move the read position. */
  #busy: Promise<unknown> = Promise.resolve();
  readonly #chunkBytes: number;

  constructor(path: string, fileMode: number, chunkBytes = CHUNK_BYTES) {
    this.path = path;
    this.#fileMode = fileMode;
    this.#chunkBytes = chunkBytes;
  }

  /** Bytes already read. */
  get consumed(): number {
    return this.#consumed;
  }

  /** Runs `fn` after every read or rewrite started before it. */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#busy.then(fn, fn);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /**
   * Appends records with one synchronous write (open, write, close: never an fd on a
   * replaced file). A small append costs less than three round trips through libuv's
   * thread pool, where it would also queue behind other file work.
   */
  append(recs: readonly T[]): void {
    let text = '';
    for (const r of recs) text += '\n' + JSON.stringify(r) + '\n';
    appendFileSync(this.path, text, { mode: this.#fileMode });
  }

  /**
   * Applies the records appended by anyone since the last read, in file order, a chunk at
   * a time, each with the byte offset of its line. `restart` is called first on the first
   * read and after the file was replaced: drop what was loaded before. False if the file is
   * missing. Call inside exclusive().
   */
  async readNew(restart: () => void, apply: (rec: T, offset: number) => void): Promise<boolean> {
    let st;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (st.ino !== this.#ino || st.size < this.#consumed) {
      this.#consumed = 0;
      this.#ino = st.ino;
      restart();
    }
    if (st.size === this.#consumed) return true;
    const fh = await fsp.open(this.path, 'r');
    try {
      this.#consumed = await scanRecords(fh, this.#consumed, st.size, this.#chunkBytes, apply);
    } finally {
      await fh.close();
    }
    return true;
  }

  /**
   * The record whose line starts at `offset` (an offset readNew gave), or undefined: none
   * there (the file was replaced since), or it is not a record. The caller checks its id.
   */
  async readAt(offset: number): Promise<T | undefined> {
    let fh;
    try {
      fh = await fsp.open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      for (let len = 4096; ; len *= 2) {
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, offset);
        const nl = buf.subarray(0, bytesRead).indexOf(10);
        if (nl < 0 && bytesRead === len) continue; // a record longer than that
        return parseRecord<T>(buf.toString('utf8', 0, nl < 0 ? bytesRead : nl));
      }
    } finally {
      await fh.close();
    }
  }

  /** Forgets the read position (the file was rewritten or removed): the next read starts over. */
  reset(): void {
    this.#consumed = 0;
    this.#ino = -1;
  }
}

function parseRecord<T extends JsonlRecord>(line: string): T | undefined {
  if (line.length === 0) return undefined;
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return undefined; // torn by a crash
  }
  return rec !== null && typeof rec === 'object' && typeof (rec as JsonlRecord).id === 'string'
    ? (rec as T)
    : undefined;
}

/**
 * Applies the whole records of `fh` from `start` (a record boundary) to `size`, a chunk at
 * a time, each with the offset of its line; returns the offset after the last whole one.
 */
export async function scanRecords<T extends JsonlRecord>(
  fh: FileHandle,
  start: number,
  size: number,
  chunkBytes: number,
  apply: (rec: T, offset: number) => void,
): Promise<number> {
  let at = start;
  let chunk = chunkBytes;
  while (at < size) {
    const left = size - at;
    const len = Math.min(chunk, left);
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(buf, 0, len, at);
    const end = bytesRead === 0 ? 0 : buf.lastIndexOf(10, bytesRead - 1) + 1;
    if (end === 0) {
      // No whole record here: one longer than the chunk (read more at once), or the
      // unfinished tail of an append (the next read gets it).
      if (len < left && bytesRead === len) {
        chunk *= 2;
        continue;
      }
      break;
    }
    for (let pos = 0; pos < end;) {
      const nl = buf.indexOf(10, pos);
      if (nl > pos) {
        const rec = parseRecord<T>(buf.toString('utf8', pos, nl));
        if (rec) apply(rec, at + pos);
      }
      pos = nl + 1;
    }
    at += end;
  }
  return at;
}
