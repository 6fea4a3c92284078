// Archiving a FileStore trace: the log is gzipped to events.jsonl.gz (written under a
// temporary name and renamed into place, then the plain log is deleted), and unpacked
// again when a batch arrives for an archived trace.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import type { OpenTrace } from './descriptor-cache.js';
import { tmpPath } from './layout.js';
import { reopenLog } from './trace-log.js';

const open = promisify(fs.open);
const fsync = promisify(fs.fsync);
const closeFd = promisify(fs.close);

/** Closes the log of `t` and replaces it by its gzipped archive. */
export async function archiveLog(t: OpenTrace, fileMode: number, durable: boolean): Promise<void> {
  if (t.fd >= 0) {
    await closeFd(t.fd);
    t.fd = -1;
  }
  const { log, archive, dir } = t.files;
  const tmp = tmpPath(dir, 'archive');
  const src = fs.existsSync(log) ? fs.createReadStream(log) : undefined;
  const gz = createGzip();
  const dst = fs.createWriteStream(tmp, { mode: fileMode });
  if (src) await pipeline(src, gz, dst);
  else {
    gz.end();
    await pipeline(gz, dst);
  }
  if (durable) await fsyncPath(tmp);
  await fsp.rename(tmp, archive);
  await fsp.rm(log, { force: true });
  t.archived = true;
  t.archivedAt = Date.now();
}

/** Unpacks the archive of `t` back into its plain log and opens it for appending. */
export async function unarchiveLog(t: OpenTrace, fileMode: number): Promise<void> {
  // Streamed: a big archive never sits in memory whole.
  await pipeline(
    fs.createReadStream(t.files.archive),
    createGunzip(),
    fs.createWriteStream(t.files.log, { mode: fileMode }),
  );
  const { size } = await fsp.stat(t.files.log);
  await fsp.rm(t.files.archive, { force: true });
  await reopenLog(t, fileMode, size);
  t.archived = false;
  t.archivedAt = undefined;
}

async function fsyncPath(path: string): Promise<void> {
  const fd = await open(path, 'r');
  try {
    await fsync(fd);
  } finally {
    await closeFd(fd);
  }
}
