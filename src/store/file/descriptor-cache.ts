// The open logs of a FileStore: a small LRU so that ten thousand traces never hold ten
// thousand descriptors. A trace busy with an operation is never closed under it.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { TraceInfo } from '../../core/types.js';
import type { IndexEntry } from './list-index.js';
import type { TraceFiles } from './layout.js';

const closeFd = promisify(fs.close);

/** A trace whose log is open for appending (or archived, fd -1). */
export interface OpenTrace {
  readonly id: string;
  readonly date: string;
  readonly files: TraceFiles;
  /** The log's descriptor, -1 when closed or archived. */
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
  /** info.json may exist; false: this store made the trace's folder and has not written it. */
  infoFile: boolean;
}

export interface DescriptorCacheOptions {
  /** Logs kept open at once when idle. */
  maxOpen: number;
  /** True while the trace has an operation queued or running: it is not closed then. */
  busy: (traceId: string) => boolean;
  /** A trace leaves the cache; `flush`: its pending info should be written first. */
  onForget: (t: OpenTrace, flush: boolean) => void;
}

export class DescriptorCache {
  /** Map order is recency (last = most recent). Never more than maxOpen entries when idle. */
  readonly #open = new Map<string, OpenTrace>();
  readonly #maxOpen: number;
  readonly #busy: (traceId: string) => boolean;
  readonly #onForget: (t: OpenTrace, flush: boolean) => void;
  /** Closes started by drop() and not finished yet (closeAll() waits for them). */
  readonly #closing = new Set<Promise<void>>();

  constructor(options: DescriptorCacheOptions) {
    this.#maxOpen = options.maxOpen;
    this.#busy = options.busy;
    this.#onForget = options.onForget;
  }

  /** The open state of a trace, without counting it as a use. */
  peek(traceId: string): OpenTrace | undefined {
    return this.#open.get(traceId);
  }

  /** The open state of a trace, now the most recently used. */
  use(traceId: string): OpenTrace | undefined {
    const t = this.#open.get(traceId);
    if (t) {
      this.#open.delete(traceId);
      this.#open.set(traceId, t);
    }
    return t;
  }

  add(t: OpenTrace): void {
    this.#open.set(t.id, t);
    this.trim();
  }

  /** Closes the least recently used logs beyond the bound (skipping busy traces). */
  trim(): void {
    if (this.#open.size <= this.#maxOpen) return;
    for (const id of this.#open.keys()) {
      if (this.#open.size <= this.#maxOpen) break;
      if (this.#busy(id)) continue;
      this.drop(id);
    }
  }

  /**
   * Forgets a trace's open state after writing its pending info, and closes its log (in
   * the background: descriptors close fast). The next use reopens and rereads the tail.
   */
  drop(traceId: string): void {
    const t = this.#open.get(traceId);
    if (!t) return;
    this.#onForget(t, true);
    this.#open.delete(traceId);
    if (t.fd >= 0) {
      const fd = t.fd;
      t.fd = -1;
      const closing: Promise<void> = closeFd(fd)
        .catch(() => undefined)
        .finally(() => this.#closing.delete(closing));
      this.#closing.add(closing);
    }
  }

  /** Forgets a trace's open state (its pending info too) and waits for its log to close. */
  async evict(traceId: string): Promise<void> {
    const t = this.#open.get(traceId);
    if (!t) return;
    this.#onForget(t, false);
    this.#open.delete(traceId);
    if (t.fd >= 0) await closeFd(t.fd).catch(() => undefined);
    t.fd = -1;
  }

  /** Closes every open log; the cache is empty afterwards. */
  async closeAll(): Promise<void> {
    const fds = [...this.#open.values()].map((t) => t.fd).filter((fd) => fd >= 0);
    this.#open.clear();
    // With the background closes of drop(): close() resolving with a descriptor still open
    // was seen once by the descriptor-count test under load.
    await Promise.allSettled([...fds.map((fd) => closeFd(fd)), ...this.#closing]);
  }
}
