// Single-writer leases of a FileStore: `locks/<id>.lock` holds the writer's pid, host and
// owner. The file is created exclusively (O_EXCL), so two writers cannot both win; a lock
// left by a process of this host that no longer exists (a crash, a SIGKILL) is stale and
// taken over.
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { TraceLockedError } from '../../core/errors.js';

interface LockData {
  pid: number;
  host: string;
  owner: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockData | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(path, 'utf8')) as LockData;
    return v && typeof v.owner === 'string' ? v : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return undefined; // unreadable or half-written: treated as stale below
  }
}

export async function acquireLease(path: string, traceId: string, owner: string, fileMode: number): Promise<void> {
  const data: LockData = { pid: process.pid, host: hostname(), owner };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fsp.writeFile(path, JSON.stringify(data), { flag: 'wx', mode: fileMode });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readLock(path);
    if (held && held.owner === owner) return;
    const stale = !held || (held.host === data.host && !alive(held.pid));
    if (!stale) throw new TraceLockedError(traceId, held.owner);
    await removeLock(path);
  }
  throw new TraceLockedError(traceId);
}

export async function releaseLease(path: string, owner: string): Promise<void> {
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
