// Writes info.json of a FileStore's traces: always atomically (a temporary file renamed
// into place), and for a running trace at most every `intervalMs`. A change of status or
// of a listing field is written at once; a newer info that can wait stays pending on the
// open trace (info() and list() of this process read it from there) and one store-wide
// timer writes the pending ones. On a process exit without close(), pending infos are
// written synchronously.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import type { TraceInfo } from '../../core/types.js';
import type { OpenTrace } from './descriptor-cache.js';
import { tmpPath } from './layout.js';

const open = promisify(fs.open);
const write = promisify(fs.write);
const fsync = promisify(fs.fsync);
const closeFd = promisify(fs.close);

export interface InfoWriterOptions {
  fileMode: number;
  /** Write and fsync the file before renaming it (and never defer). */
  fsync: boolean;
  /** Least time between two writes of a running trace's info (ms); 0: always at once. */
  intervalMs: number;
  /** Runs a write of pending info in the trace's queue, so that it never races an append. */
  schedule: (t: OpenTrace, write: () => Promise<void>) => Promise<void>;
}

export class InfoWriter {
  readonly #fileMode: number;
  readonly #fsync: boolean;
  readonly #interval: number;
  readonly #schedule: InfoWriterOptions['schedule'];
  /** Open traces whose latest info is not on disk yet (each has `pendingInfo`). */
  readonly #pending = new Set<OpenTrace>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Writes pending infos synchronously when the process exits without close(). */
  readonly #onExit = (): void => {
    for (const t of this.#pending) this.flush(t);
  };
  #exitHook = false;

  constructor(options: InfoWriterOptions) {
    this.#fileMode = options.fileMode;
    this.#fsync = options.fsync;
    this.#interval = options.fsync ? 0 : options.intervalMs;
    this.#schedule = options.schedule;
  }

  /** True if the info of a batch must be written now rather than deferred. */
  due(t: OpenTrace, listingChanged: boolean): boolean {
    return (
      this.#fsync || t.fd < 0 || t.entry === undefined || listingChanged || Date.now() - t.infoAt >= this.#interval
    );
  }

  /**
   * Writes info.json now, through the thread pool: creating a file costs about a
   * millisecond here (docs/performance.md), which would stall every other trace if done
   * synchronously. Under "batch" durability the first info of a trace is created in place
   * (`wx`: only if there is none): a reader that catches it incomplete derives the info
   * from the log, as when it is missing, and the rename saved was a third of the cost of
   * a created trace's info. Otherwise, and always under "fsync" (written and synced
   * first), it replaces info.json atomically (tmp + rename), so it is always complete.
   */
  async write(t: OpenTrace, info: TraceInfo): Promise<void> {
    const data = JSON.stringify(info);
    if (!this.#fsync) {
      let fd: number | undefined;
      try {
        // Creating the file (an inode) goes through the pool; writing 300 bytes into the page
        // cache and closing are done at once, as writeBatch does: two round trips fewer
        // per created trace than fsp.writeFile (open, write, close).
        fd = await open(t.files.info, 'wx', this.#fileMode);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (fd !== undefined) {
        try {
          fs.writeSync(fd, data);
        } finally {
          fs.closeSync(fd);
        }
        this.#written(t);
        return;
      }
    }
    const tmp = tmpPath(t.files.dir, 'info');
    if (this.#fsync) {
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
    await fsp.rename(tmp, t.files.info);
    this.#written(t);
  }

  /**
   * Writes info.json now, synchronously, as write() does under "batch" durability: for
   * the exit hook, a release and close (one trace's pending info, off the recording path).
   */
  writeSync(t: OpenTrace, info: TraceInfo): void {
    const data = JSON.stringify(info);
    try {
      fs.writeFileSync(t.files.info, data, { mode: this.#fileMode, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const tmp = tmpPath(t.files.dir, 'info');
      fs.writeFileSync(tmp, data, { mode: this.#fileMode });
      fs.renameSync(tmp, t.files.info);
    }
    this.#written(t);
  }

  /** Keeps `info` pending on the trace; the timer writes it within the interval. */
  defer(t: OpenTrace, info: TraceInfo): void {
    t.pendingInfo = info;
    this.#pending.add(t);
    this.#arm();
  }

  /** Writes the trace's pending info, if any; a failure keeps it pending. */
  flush(t: OpenTrace): void {
    const info = t.pendingInfo;
    if (!info) return;
    try {
      this.writeSync(t, info);
    } catch {
      return;
    }
    t.pendingInfo = undefined;
    this.#pending.delete(t);
  }

  /**
   * The timer's writes, one at a time: a store with thousands of running traces must not
   * open thousands of files at once. A failure keeps the info pending (the next append
   * reports the folder problem).
   */
  async #writeAllPending(): Promise<void> {
    for (const t of [...this.#pending]) await this.#schedule(t, () => this.#writePending(t)).catch(() => undefined);
  }

  /** flush() through the thread pool (the timer's, for the traces still open). */
  async #writePending(t: OpenTrace): Promise<void> {
    const info = t.pendingInfo;
    if (info) await this.write(t, info);
  }

  /** The trace leaves the open set: its pending info is no longer this writer's to write. */
  forget(t: OpenTrace): void {
    this.#pending.delete(t);
  }

  /** Writes every pending info and stops the timer and the exit hook. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const t of this.#pending) this.flush(t);
    this.#pending.clear();
    if (this.#exitHook) {
      this.#exitHook = false;
      process.off('exit', this.#onExit);
    }
  }

  /** The trace's info was recorded elsewhere (its final record in the index): nothing is pending. */
  recorded(t: OpenTrace): void {
    t.infoAt = Date.now();
    t.pendingInfo = undefined;
    this.#pending.delete(t);
  }

  #written(t: OpenTrace): void {
    t.infoFile = true;
    this.recorded(t);
  }

  #arm(): void {
    if (!this.#exitHook) {
      this.#exitHook = true;
      process.on('exit', this.#onExit);
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#writeAllPending();
    }, this.#interval);
    this.#timer.unref?.();
  }
}
