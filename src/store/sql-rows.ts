// What the SQL stores (SQLite, PostgreSQL) share: a trace row holds the listing columns
// plus the whole TraceInfo as JSON in `info`, except the archive fields, which the store
// owns in columns of their own.
import type { TraceInfo } from '../core/types.js';

/** The columns a trace's info is read from. */
export interface TraceRow {
  info: string;
  /** BOOLEAN in PostgreSQL, 0/1 in SQLite. */
  archived: boolean | number;
  /** BIGINT (as a string from pg) or INTEGER; null until archived. */
  archived_at: string | number | null;
}

/** The info JSON without the archive fields, which the store owns. */
export function encodeInfo(info: TraceInfo): string {
  const { archived: _a, archived_at: _b, ...rest } = info;
  return JSON.stringify(rest);
}

export function rowToInfo(row: TraceRow): TraceInfo {
  const info = JSON.parse(row.info) as TraceInfo;
  info.archived = row.archived === true || row.archived === 1;
  if (row.archived_at !== null) info.archived_at = Number(row.archived_at);
  return info;
}
