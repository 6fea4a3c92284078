// The single-writer leases a FileStore holds (the lock files are in lease-file.ts):
// remembered so that close() gives every one of them back.
import { promises as fsp } from 'node:fs';
import { acquireLease, releaseLease, removeOwnerFile, writeOwnerFile, type OwnerFile } from './lease-file.js';
import type { FileLayout } from './layout.js';

export class HeldLeases {
  readonly #layout: FileLayout;
  readonly #fileMode: number;
  readonly #dirMode: number;
  /** Trace id -> owner, for the leases this store took and has not given back. */
  readonly #held = new Map<string, string>();
  /** The locks folder was made by this store: not asked of the file system again per trace. */
  #locksReady = false;
  /** Owner -> its owner file (the content its locks link to), written once. */
  readonly #owners = new Map<string, Promise<OwnerFile>>();

  constructor(layout: FileLayout, fileMode: number, dirMode: number) {
    this.#layout = layout;
    this.#fileMode = fileMode;
    this.#dirMode = dirMode;
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    if (!this.#locksReady) await this.#makeLocks();
    try {
      await acquireLease(this.#layout.lock(traceId), traceId, await this.#owner(owner), this.#fileMode);
    } catch (err) {
      // The folder (or our owner file in it) was removed under us (the store's dir deleted
      // and made again): once more.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.#owners.delete(owner);
      await this.#makeLocks();
      await acquireLease(this.#layout.lock(traceId), traceId, await this.#owner(owner), this.#fileMode);
    }
    this.#held.set(traceId, owner);
  }

  #owner(owner: string): Promise<OwnerFile> {
    let file = this.#owners.get(owner);
    if (!file) {
      file = writeOwnerFile(this.#layout, owner, this.#fileMode);
      this.#owners.set(owner, file);
      file.catch(() => this.#owners.delete(owner));
    }
    return file;
  }

  async #makeLocks(): Promise<void> {
    await fsp.mkdir(this.#layout.locks, { recursive: true, mode: this.#dirMode });
    this.#locksReady = true;
  }

  async release(traceId: string, owner: string): Promise<void> {
    const file = this.#owners.get(owner);
    await releaseLease(this.#layout.lock(traceId), owner, await file?.catch(() => undefined));
    if (this.#held.get(traceId) === owner) this.#held.delete(traceId);
  }

  /**
   * Gives back every lease held, then removes the owner files; failures are ignored (a
   * stale lock is taken over later).
   */
  async releaseAll(): Promise<void> {
    const leases = [...this.#held];
    this.#held.clear();
    await Promise.allSettled(
      leases.map(async ([id, owner]) =>
        releaseLease(this.#layout.lock(id), owner, await this.#owners.get(owner)?.catch(() => undefined)),
      ),
    );
    const owners = [...this.#owners.values()];
    this.#owners.clear();
    await Promise.allSettled(owners.map(async (f) => removeOwnerFile(await f)));
  }
}
