// Where a FileStore keeps what: every path the store uses is built here, nowhere else.
//
//   <dir>/index.jsonl                         listing index, and the final info of short traces (see list-index.ts)
//   <dir>/YYYY-MM-DD/<id>/events.jsonl        append-only event log, one JSON event per line
//   <dir>/YYYY-MM-DD/<id>/events.jsonl.gz     the same log once archived
//   <dir>/YYYY-MM-DD/<id>/info.json           TraceInfo: created in place, then replaced atomically (tmp + rename);
//                                             none for a trace that ended before it was due
//   <dir>/locks/<id>.lock                     single-writer lease (pid, host, owner)
//   <dir>/locks/.owner-<pid>-<random>         a writer's lock content; its leases link to it
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreError, errorMessage } from '../../core/errors.js';

const LOG = 'events.jsonl';
const ARCHIVE = 'events.jsonl.gz';
const INFO = 'info.json';
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Owner files in locks/: `.owner-<pid>-<random>`. */
export const OWNER_PREFIX = '.owner-';
/** Ids the tracer makes by default: they carry their creation date. */
export const DEFAULT_ID_RE = /^\d{20}$/;

/** The files of one trace folder. */
export interface TraceFiles {
  readonly dir: string;
  readonly log: string;
  readonly archive: string;
  readonly info: string;
}

export class FileLayout {
  /** Absolute root folder. */
  readonly root: string;
  readonly index: string;
  readonly locks: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.index = join(this.root, 'index.jsonl');
    this.locks = join(this.root, 'locks');
  }

  traceDir(date: string, traceId: string): string {
    return join(this.root, date, traceId);
  }

  dateDir(date: string): string {
    return join(this.root, date);
  }

  lock(traceId: string): string {
    return join(this.locks, `${traceId}.lock`);
  }

  /** A new owner file of this process (a lock id never starts with a dot). */
  ownerFile(tag: string): string {
    return join(this.locks, `${OWNER_PREFIX}${process.pid}-${tag}`);
  }

  /** Folders of stored traces, newest date first; none if the root does not exist. */
  async dateFolders(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.root))
        .filter((n) => DATE_RE.test(n))
        .sort()
        .reverse();
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return [];
      throw err;
    }
  }
}

/** The file paths inside a trace folder. */
export function traceFiles(dir: string): TraceFiles {
  return { dir, log: join(dir, LOG), archive: join(dir, ARCHIVE), info: join(dir, INFO) };
}

/** A temporary file in the trace folder, private to this process (renamed into place). */
export function tmpPath(dir: string, name: 'info' | 'archive'): string {
  return name === 'info' ? join(dir, `.${INFO}.${process.pid}.tmp`) : join(dir, `${ARCHIVE}.${process.pid}.tmp`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

export function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? '');
}

export function ioError(what: string, traceId: string, err: unknown): StoreError {
  return new StoreError(`file store: cannot ${what} trace ${traceId}: ${errorMessage(err)}`, { cause: err });
}
