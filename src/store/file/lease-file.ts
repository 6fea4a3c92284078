// Single-writer leases of a FileStore: `locks/<id>.lock` holds the writer's pid, host and
// owner. The lock appears atomically and exclusively (two writers cannot both win); a lock
// left by a process of this host that no longer exists (a crash, a SIGKILL) is stale and
// taken over.
//
// Taking a lease is one hard link: each (store, owner) writes its lock content once, to an
// owner file `locks/.owner-<pid>-<random>` (an `<id>.lock` name can never start with a dot),
// and a lease is `link(ownerFile, <id>.lock)`, which fails with EEXIST while the lease is
// held. Creating a file costs an inode (0.5 to 1 ms on the benchmark machine, as much as
// the whole raw write of a short trace) where a link costs one directory entry (about
// 70 us); the lock is also never seen half-written, as a file created then written could
// be. Giving a lease back is a stat (the lock is still our owner file's inode) and one
// unlink. A file system without hard links gets the lock written as a file of its own.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TraceLockedError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { OWNER_PREFIX, type FileLayout } from './layout.js';

interface LockData {
  pid: number;
  host: string;
  owner: string;
}

/** The lock content of one owner, written once; `ino`/`dev` identify our locks. */
export interface OwnerFile {
  readonly path: string;
  readonly data: string;
  readonly ino: number;
  readonly dev: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockData | undefined {
  try {
    const v = JSON.parse(text) as LockData;
    return v && typeof v.owner === 'string' ? v : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale by the caller
  }
}

async function readLock(path: string): Promise<LockData | undefined> {
  try {
    return parseLock(await fsp.readFile(path, 'utf8'));
  } catch {
    return undefined; // gone (ENOENT) or unreadable
  }
}

/**
 * Writes the owner file of `owner` in `locks` (once per store and owner), and removes the
 * owner files of dead processes of this host (left by a crash).
 */
export async function writeOwnerFile(layout: FileLayout, owner: string, fileMode: number): Promise<OwnerFile> {
  const me: LockData = { pid: process.pid, host: hostname(), owner };
  const data = JSON.stringify(me);
  await removeDeadOwnerFiles(layout.locks, me.host);
  const path = layout.ownerFile(newId());
  await fsp.writeFile(path, data, { flag: 'wx', mode: fileMode });
  const st = await fsp.stat(path);
  return { path, data, ino: st.ino, dev: st.dev };
}

async function removeDeadOwnerFiles(locks: string, host: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(locks);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(OWNER_PREFIX)) continue;
    const pid = Number.parseInt(name.slice(OWNER_PREFIX.length), 10);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const path = join(locks, name);
    const held = await readLock(path);
    if (held && held.host === host) await removeLock(path).catch(() => undefined);
  }
}

/** Removes an owner file (store closed); its locks, if any are left, become stale when the process ends. */
export async function removeOwnerFile(file: OwnerFile): Promise<void> {
  await removeLock(file.path).catch(() => undefined);
}

/** Link errors that mean "no hard links here": the lock is then written as a file of its own. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/** Creates the lock exclusively; false if it exists. */
async function createLock(path: string, file: OwnerFile, fileMode: number): Promise<boolean> {
  try {
    await fsp.link(file.path, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw err;
  }
  try {
    await fsp.writeFile(path, file.data, { flag: 'wx', mode: fileMode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export async function acquireLease(path: string, traceId: string, file: OwnerFile, fileMode: number): Promise<void> {
  const me = parseLock(file.data)!;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLock(path, file, fileMode)) return;
    const held = await readLock(path);
    if (held && held.owner === me.owner) return;
    const stale = !held || (held.host === me.host && !alive(held.pid));
    if (!stale) throw new TraceLockedError(traceId, held.owner);
    await removeLock(path);
  }
  throw new TraceLockedError(traceId);
}

/** Gives the lease back if `owner` holds it; `file`: the owner file its lock would link to. */
export async function releaseLease(path: string, owner: string, file: OwnerFile | undefined): Promise<void> {
  if (file) {
    // Synchronous: the lock exists (ours, in the dentry cache), so the lookup takes no
    // folder lock and costs microseconds, less than handing it to the thread pool.
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch {
      return; // no lock: nothing to give back
    }
    // Our own link: one unlink. Otherwise (a lock written as a file where links are not
    // supported, or taken over by another writer) the content decides.
    if (st.ino === file.ino && st.dev === file.dev) return removeLock(path);
  }
  const held = await readLock(path);
  if (held && held.owner === owner) await removeLock(path);
}

/** Deletes a lock file; one already gone is fine. (One unlink: `rm` adds two lstat calls.) */
async function removeLock(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
