// SQLite store (better-sqlite3): one database file, WAL mode, one transaction per batch,
// indexed listing. The driver is an optional peer dependency imported on first use, so
// importing livetrace never loads it.
import type BetterSqlite3 from 'better-sqlite3';
import {
  InvalidArgumentError,
  StoreConflictError,
  StoreError,
  TraceLockedError,
  TraceNotFoundError,
  TraceRunningError,
  errorMessage,
} from '../core/errors.js';
import type { ListQuery, ListResult, TraceEvent, TraceInfo, TraceStatus } from '../core/types.js';
import { LeaseSet } from './lease-set.js';
import { encodeInfo, rowToInfo, searchColumns, searchSql, type TraceRow } from './sql-rows.js';
import type { ReadOptions, TraceStore } from './store.js';
import { decodeCursor, decodeSortCursor, listLimit, toPage, toSortedPage } from './store.js';
import { batchTokens, searchPlan } from '../core/search.js';
import { SeenWords } from './text-index.js';
import { isActive } from '../core/status.js';

export interface SqliteStoreOptions {
  /** Database file (created if missing), or ':memory:'. */
  path: string;
  /** Write-lease lifetime in ms; a crashed writer's traces are writable again after it. Default 30000. */
  leaseTtlMs?: number;
  /** How long a statement waits for another process's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

const SCHEMA_VERSION = 2;

// Columns mirror the listing filters; `info` keeps the whole TraceInfo as JSON.
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE lt_traces (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     created_by TEXT,
     team_id TEXT,
     tenant_id TEXT,
     archived INTEGER NOT NULL DEFAULT 0,
     archived_at INTEGER,
     last_seq INTEGER NOT NULL DEFAULT 0,
     info TEXT NOT NULL
   );
   CREATE TABLE lt_events (
     trace_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (trace_id, seq)
   ) WITHOUT ROWID;
   CREATE TABLE lt_leases (
     trace_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX lt_traces_created ON lt_traces (created_at DESC, id DESC);
   CREATE INDEX lt_traces_status ON lt_traces (status, created_at DESC, id DESC);
   CREATE INDEX lt_traces_tenant ON lt_traces (tenant_id, created_at DESC, id DESC);
   CREATE INDEX lt_traces_team ON lt_traces (team_id, created_at DESC, id DESC);
   CREATE INDEX lt_traces_creator ON lt_traces (created_by, created_at DESC, id DESC);`,
  // v2: search. Columns for the session/user filters, the ranges and sorts (-1 where the
  // info has no value); lt_facets holds kinds, models and metadata pairs (facetsOf); the
  // words of each batch (core/search.ts tokenize) go to the FTS5 table lt_text, one row per
  // batch, its rowid mapped to the trace by lt_text_rows. The `ascii` tokenizer splits only
  // on ASCII non-alphanumerics and our words contain none, so FTS5 indexes exactly our
  // words (joined by spaces). Existing rows are filled in by backfillV2().
  `ALTER TABLE lt_traces ADD COLUMN session_id TEXT;
   ALTER TABLE lt_traces ADD COLUMN user_id TEXT;
   ALTER TABLE lt_traces ADD COLUMN duration REAL NOT NULL DEFAULT -1;
   ALTER TABLE lt_traces ADD COLUMN tokens REAL NOT NULL DEFAULT 0;
   ALTER TABLE lt_traces ADD COLUMN cost REAL NOT NULL DEFAULT -1;
   ALTER TABLE lt_traces ADD COLUMN facets TEXT NOT NULL DEFAULT '[]';
   CREATE INDEX lt_traces_session ON lt_traces (session_id, created_at DESC, id DESC);
   CREATE INDEX lt_traces_user ON lt_traces (user_id, created_at DESC, id DESC);
   CREATE INDEX lt_traces_duration ON lt_traces (duration DESC, created_at DESC, id DESC);
   CREATE INDEX lt_traces_tokens ON lt_traces (tokens DESC, created_at DESC, id DESC);
   CREATE INDEX lt_traces_cost ON lt_traces (cost DESC, created_at DESC, id DESC);
   CREATE TABLE lt_facets (
     facet TEXT NOT NULL,
     trace_id TEXT NOT NULL,
     PRIMARY KEY (facet, trace_id)
   ) WITHOUT ROWID;
   CREATE INDEX lt_facets_trace ON lt_facets (trace_id);
   CREATE TABLE lt_text_rows (
     rowid INTEGER PRIMARY KEY,
     trace_id TEXT NOT NULL
   );
   CREATE INDEX lt_text_rows_trace ON lt_text_rows (trace_id);
   CREATE VIRTUAL TABLE lt_text USING fts5(words, content='', contentless_delete=1, tokenize='ascii', detail=none);`,
];

interface Statements {
  lastSeq: BetterSqlite3.Statement<[string], { last_seq: number; facets: string }>;
  insertEvent: BetterSqlite3.Statement<[string, number, string]>;
  upsert: BetterSqlite3.Statement<unknown[]>;
  read: BetterSqlite3.Statement<[string, number, number], { body: string }>;
  info: BetterSqlite3.Statement<[string], TraceRow>;
  append: (traceId: string, events: readonly TraceEvent[], info: TraceInfo, words: readonly string[]) => void;
}

export class SqliteStore implements TraceStore {
  readonly name: string;
  readonly path: string;
  readonly #ttl: number;
  readonly #busy: number;
  #db: BetterSqlite3.Database | undefined;
  #stmts: Statements | undefined;
  #opening: Promise<void> | undefined;
  readonly #leases: LeaseSet;
  readonly #seen = new SeenWords();

  constructor(options: SqliteStoreOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidArgumentError(
        `new SqliteStore({ path }): path must be a non-empty string, got ${String(options?.path)}`,
      );
    }
    this.path = options.path;
    this.name = `sqlite:${options.path}`;
    this.#ttl = options.leaseTtlMs ?? 30_000;
    this.#busy = options.busyTimeoutMs ?? 5000;
    this.#leases = new LeaseSet({
      ttlMs: this.#ttl,
      renew: async (held) => {
        const db = this.#db;
        if (!db) return;
        const stmt = db.prepare('UPDATE lt_leases SET expires_at = ? WHERE trace_id = ? AND owner = ?');
        const until = Date.now() + this.#ttl;
        db.transaction(() => {
          for (const [id, owner] of held) stmt.run(until, id, owner);
        })();
      },
    });
  }

  async append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    const s = await this.#ready();
    try {
      const words = events.length > 0 ? this.#seen.fresh(traceId, batchTokens(events), events[0]!.seq === 1) : [];
      s.append(traceId, events, info, words);
      if (words.length > 0) this.#seen.commit(traceId, words);
    } catch (err) {
      throw wrap(err, `append to ${traceId}`);
    }
  }

  async read(traceId: string, options: ReadOptions = {}): Promise<TraceEvent[]> {
    const s = await this.#ready();
    const since = Math.max(0, options.since ?? 0);
    const limit = options.limit === undefined ? -1 : Math.max(0, options.limit);
    return s.read.all(traceId, since, limit).map((r) => JSON.parse(r.body) as TraceEvent);
  }

  async info(traceId: string): Promise<TraceInfo | undefined> {
    const s = await this.#ready();
    const row = s.info.get(traceId);
    return row ? rowToInfo(row) : undefined;
  }

  async list(query: ListQuery = {}): Promise<ListResult> {
    await this.#ready();
    const limit = listLimit(query);
    const plan = searchPlan(query);
    if (!plan.plain) {
      const params: unknown[] = [];
      const { where, order } = searchSql(query, plan, decodeSortCursor(query.cursor, plan.sort), {
        p: (v) => (params.push(v), '?'),
        // FTS5 query syntax: the word as a quoted string (our words hold no quote).
        word: (w) =>
          `id IN (SELECT r.trace_id FROM lt_text JOIN lt_text_rows r ON r.rowid = lt_text.rowid WHERE lt_text MATCH ${(params.push(`"${w}"`), '?')})`,
        facets: (fs) =>
          fs.map((f) => `id IN (SELECT trace_id FROM lt_facets WHERE facet = ${(params.push(f), '?')})`).join(' AND '),
      });
      const sql = `SELECT info, archived, archived_at FROM lt_traces ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
      const rows = this.#db!.prepare<unknown[], TraceRow>(sql).all(...params, limit + 1);
      return toSortedPage(rows.map(rowToInfo), limit, plan);
    }
    const where: string[] = [];
    const params: unknown[] = [];
    /** One condition of the WHERE clause and the values of its `?` placeholders. */
    const and = (condition: string, ...values: unknown[]): void => {
      where.push(condition);
      params.push(...values);
    };
    if (query.status !== undefined) {
      const statuses = Array.isArray(query.status) ? query.status : [query.status];
      if (statuses.length === 0) return { traces: [] };
      and(`status IN (${statuses.map(() => '?').join(',')})`, ...statuses);
    }
    if (query.createdBy !== undefined) and('created_by = ?', query.createdBy);
    if (query.teamId !== undefined) and('team_id = ?', query.teamId);
    if (query.tenantId !== undefined) and('tenant_id = ?', query.tenantId);
    if (query.from !== undefined) and('created_at >= ?', query.from);
    if (query.to !== undefined) and('created_at <= ?', query.to);
    const cursor = decodeCursor(query.cursor);
    if (cursor) and('(created_at < ? OR (created_at = ? AND id < ?))', cursor[0], cursor[0], cursor[1]);
    const sql = `SELECT info, archived, archived_at FROM lt_traces ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.#db!.prepare<unknown[], TraceRow>(sql).all(...params, limit + 1);
    return toPage(rows.map(rowToInfo), limit);
  }

  async remove(traceId: string): Promise<boolean> {
    await this.#ready();
    this.#seen.forget(traceId);
    const db = this.#db!;
    return db.transaction(() => {
      const events = db.prepare('DELETE FROM lt_events WHERE trace_id = ?').run(traceId).changes;
      const traces = db.prepare('DELETE FROM lt_traces WHERE id = ?').run(traceId).changes;
      db.prepare('DELETE FROM lt_text WHERE rowid IN (SELECT rowid FROM lt_text_rows WHERE trace_id = ?)').run(traceId);
      db.prepare('DELETE FROM lt_text_rows WHERE trace_id = ?').run(traceId);
      db.prepare('DELETE FROM lt_facets WHERE trace_id = ?').run(traceId);
      db.prepare('DELETE FROM lt_leases WHERE trace_id = ?').run(traceId);
      return events + traces > 0;
    })();
  }

  async archive(traceId: string): Promise<void> {
    await this.#ready();
    const db = this.#db!;
    const row = db.prepare<[string], { status: TraceStatus }>('SELECT status FROM lt_traces WHERE id = ?').get(traceId);
    if (!row) throw new TraceNotFoundError(traceId);
    if (isActive(row.status)) throw new TraceRunningError(traceId, 'archive');
    db.prepare('UPDATE lt_traces SET archived = 1, archived_at = ? WHERE id = ?').run(Date.now(), traceId);
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    await this.#ready();
    const db = this.#db!;
    const now = Date.now();
    // One statement: take a free or expired lease, or renew our own.
    const taken = db
      .prepare(
        `INSERT INTO lt_leases (trace_id, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (trace_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE lt_leases.owner = excluded.owner OR lt_leases.expires_at <= ?`,
      )
      .run(traceId, owner, now + this.#ttl, now).changes;
    if (taken === 0) {
      const holder = db
        .prepare<[string], { owner: string }>('SELECT owner FROM lt_leases WHERE trace_id = ?')
        .get(traceId);
      throw new TraceLockedError(traceId, holder?.owner);
    }
    this.#leases.add(traceId, owner);
  }

  async releaseLease(traceId: string, owner: string): Promise<void> {
    this.#leases.delete(traceId, owner);
    if (!this.#db) return;
    this.#db.prepare('DELETE FROM lt_leases WHERE trace_id = ? AND owner = ?').run(traceId, owner);
  }

  /** Releases held leases and closes the file. A later call reopens it (the store is reusable). */
  async close(): Promise<void> {
    this.#leases.stop();
    const opening = this.#opening;
    this.#opening = undefined;
    await opening?.catch(() => undefined);
    const db = this.#db;
    this.#db = undefined;
    this.#stmts = undefined;
    if (!db) return;
    if (this.#leases.held.size > 0) {
      const del = db.prepare('DELETE FROM lt_leases WHERE trace_id = ? AND owner = ?');
      for (const [id, owner] of this.#leases.held) del.run(id, owner);
      this.#leases.held.clear();
    }
    db.close();
  }

  async #ready(): Promise<Statements> {
    if (this.#stmts) return this.#stmts;
    this.#opening ??= this.#open().catch((err: unknown) => {
      this.#opening = undefined;
      throw wrap(err, `open ${this.path}`);
    });
    await this.#opening;
    if (!this.#stmts) throw new StoreError(`store ${this.name} is closed`);
    return this.#stmts;
  }

  async #open(): Promise<void> {
    const mod = await import('better-sqlite3').catch((err: unknown) => {
      throw new StoreError(
        `SqliteStore needs the optional dependency better-sqlite3 (npm install better-sqlite3): ${errorMessage(err)}`,
        { cause: err },
      );
    });
    const Database = mod.default;
    const db = new Database(this.path, { timeout: this.#busy });
    try {
      db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a commit survives a process crash; an OS crash may lose the last batches.
      db.pragma('synchronous = NORMAL');
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.#db = db;
    this.#stmts = prepare(db);
  }
}

function migrate(db: BetterSqlite3.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS lt_schema_version (version INTEGER NOT NULL)');
  // IMMEDIATE: two processes opening the same new file do not both run the migrations.
  db.transaction(() => {
    const row = db.prepare<[], { version: number }>('SELECT max(version) AS version FROM lt_schema_version').get();
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION)
      throw new StoreError(
        `database schema version ${current} is newer than this livetrace (${SCHEMA_VERSION}); upgrade livetrace`,
      );
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      if (v === 1) backfillV2(db);
      db.prepare('INSERT INTO lt_schema_version (version) VALUES (?)').run(v + 1);
    }
  }).immediate();
}

/** Fills the v2 search columns, facets and words of traces stored before v2 (from info and events). */
function backfillV2(db: BetterSqlite3.Database): void {
  const write = indexWriter(db);
  const events = db.prepare<[string], { body: string }>('SELECT body FROM lt_events WHERE trace_id = ? ORDER BY seq');
  for (const row of db.prepare<[], { id: string; info: string }>('SELECT id, info FROM lt_traces').all()) {
    const info = JSON.parse(row.info) as TraceInfo;
    const evs = events.all(row.id).map((r) => JSON.parse(r.body) as TraceEvent);
    write(row.id, info, '[]', [...batchTokens(evs)]);
  }
}

/** Writes the search columns, the facets (when they changed) and a batch's new words of a trace. */
function indexWriter(
  db: BetterSqlite3.Database,
): (traceId: string, info: TraceInfo, oldFacets: string, words: readonly string[]) => void {
  const cols = db.prepare<unknown[]>(
    'UPDATE lt_traces SET session_id = ?, user_id = ?, duration = ?, tokens = ?, cost = ?, facets = ? WHERE id = ?',
  );
  const dropFacets = db.prepare<[string]>('DELETE FROM lt_facets WHERE trace_id = ?');
  const addFacet = db.prepare<[string, string]>('INSERT OR IGNORE INTO lt_facets (facet, trace_id) VALUES (?, ?)');
  const addRow = db.prepare<[string]>('INSERT INTO lt_text_rows (trace_id) VALUES (?)');
  const addWords = db.prepare<[number | bigint, string]>('INSERT INTO lt_text (rowid, words) VALUES (?, ?)');
  return (traceId, info, oldFacets, words) => {
    const c = searchColumns(info);
    cols.run(c.session_id, c.user_id, c.duration, c.tokens, c.cost, c.facets, traceId);
    if (c.facets !== oldFacets) {
      dropFacets.run(traceId);
      for (const f of JSON.parse(c.facets) as string[]) addFacet.run(f, traceId);
    }
    if (words.length > 0) addWords.run(addRow.run(traceId).lastInsertRowid, words.join(' '));
  };
}

function prepare(db: BetterSqlite3.Database): Statements {
  const lastSeq = db.prepare<[string], { last_seq: number; facets: string }>(
    'SELECT last_seq, facets FROM lt_traces WHERE id = ?',
  );
  const index = indexWriter(db);
  const insertEvent = db.prepare<[string, number, string]>(
    'INSERT INTO lt_events (trace_id, seq, body) VALUES (?, ?, ?)',
  );
  const upsert = db.prepare<unknown[]>(
    `INSERT INTO lt_traces (id, status, created_at, updated_at, created_by, team_id, tenant_id, last_seq, info)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, created_at = excluded.created_at, updated_at = excluded.updated_at,
       created_by = excluded.created_by, team_id = excluded.team_id, tenant_id = excluded.tenant_id,
       last_seq = excluded.last_seq, info = excluded.info`,
  );
  const read = db.prepare<[string, number, number], { body: string }>(
    'SELECT body FROM lt_events WHERE trace_id = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const info = db.prepare<[string], TraceRow>('SELECT info, archived, archived_at FROM lt_traces WHERE id = ?');
  // IMMEDIATE takes the write lock before reading last_seq, so two processes cannot both pass the check.
  const tx = db.transaction(
    (traceId: string, events: readonly TraceEvent[], ti: TraceInfo, words: readonly string[]) => {
      const row = lastSeq.get(traceId);
      const last = row?.last_seq ?? 0;
      if (events.length > 0 && events[0]!.seq !== last + 1)
        throw new StoreConflictError(traceId, last + 1, events[0]!.seq);
      for (const ev of events) insertEvent.run(traceId, ev.seq, JSON.stringify(ev));
      const end = events.length > 0 ? events[events.length - 1]!.seq : last;
      upsert.run(
        traceId,
        ti.status,
        ti.created_at,
        ti.updated_at,
        ti.created_by ?? null,
        ti.team_id ?? null,
        ti.tenant_id ?? null,
        end,
        encodeInfo(ti),
      );
      index(traceId, ti, row?.facets ?? '[]', words);
    },
  );
  return {
    lastSeq,
    insertEvent,
    upsert,
    read,
    info,
    append: (id, evs, ti, words) => tx.immediate(id, evs, ti, words),
  };
}

function wrap(err: unknown, what: string): unknown {
  if (err instanceof StoreConflictError || err instanceof StoreError) return err;
  if (err && typeof err === 'object' && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return err;
  return new StoreError(`sqlite: ${what} failed: ${errorMessage(err)}`, { cause: err });
}
