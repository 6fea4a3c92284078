// PostgreSQL store (pg): for many writer and server processes on many hosts. ONE pg.Pool
// per store (a tracer has one store), shared by every trace. Each batch is a single
// statement (the seq check, the info upsert and a multi-row insert via unnest in
// data-modifying CTEs), so it is atomic without a BEGIN/COMMIT round trip. The driver is
// an optional peer dependency imported on first use.
import type { Pool, PoolClient, PoolConfig } from 'pg';
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
import { redactUrl } from '../core/redact.js';
import { isActive } from '../core/status.js';

export interface PostgresStoreOptions {
  /** Connection string, e.g. postgres://user@127.0.0.1:5432/db. */
  url: string;
  /** Schema holding the tables (created if missing). Default "livetrace". */
  schema?: string;
  /** Most connections of the pool. Default 10. */
  max?: number;
  /** Write-lease lifetime in ms; a crashed writer's traces are writable again after it. Default 30000. */
  leaseTtlMs?: number;
  /** How long to wait for a connection before a call fails (and is retried by the tracer), in ms. Default 5000. */
  connectionTimeoutMs?: number;
  /**
   * Extra pg.Pool settings (ssl, application_name...): pg's `PoolConfig` without
   * connectionString, typed as `object` so that livetrace's
   * types compile in projects without pg installed.
   */
  pool?: object;
}

const SCHEMA_VERSION = 2;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Migration v -> v+1, `S` standing for the quoted schema. */
const MIGRATIONS: readonly ((s: string) => string)[] = [
  (S) => `
    CREATE TABLE ${S}.traces (
      id text PRIMARY KEY,
      status text NOT NULL,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      created_by text,
      team_id text,
      tenant_id text,
      archived boolean NOT NULL DEFAULT false,
      archived_at bigint,
      last_seq bigint NOT NULL DEFAULT 0,
      info text NOT NULL
    );
    -- text, not jsonb: events are stored and returned verbatim, no server-side parsing.
    CREATE TABLE ${S}.events (
      trace_id text NOT NULL,
      seq bigint NOT NULL,
      body text NOT NULL,
      PRIMARY KEY (trace_id, seq)
    );
    CREATE TABLE ${S}.leases (
      trace_id text PRIMARY KEY,
      owner text NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX traces_created ON ${S}.traces (created_at DESC, id DESC);
    CREATE INDEX traces_status ON ${S}.traces (status, created_at DESC, id DESC);
    CREATE INDEX traces_tenant ON ${S}.traces (tenant_id, created_at DESC, id DESC);
    CREATE INDEX traces_team ON ${S}.traces (team_id, created_at DESC, id DESC);
    CREATE INDEX traces_creator ON ${S}.traces (created_by, created_at DESC, id DESC);`,
  // v2: search. Columns for the session/user filters, the ranges and sorts (-1 where the
  // info has no value); facets (kinds, models, metadata pairs: facetsOf) in a GIN-indexed
  // array; the words of each batch (core/search.ts tokenize) as a tsvector, one row per
  // batch, GIN-indexed. The tsvector is built with array_to_tsvector from our words as they
  // are (no parser, no dictionary: the `simple` configuration's behaviour without its
  // parser, which would split words differently) and queried with a tsquery of quoted
  // words. Existing rows are filled in by #backfillV2().
  (S) => `
    ALTER TABLE ${S}.traces
      ADD COLUMN session_id text,
      ADD COLUMN user_id text,
      ADD COLUMN duration double precision NOT NULL DEFAULT -1,
      ADD COLUMN tokens double precision NOT NULL DEFAULT 0,
      ADD COLUMN cost double precision NOT NULL DEFAULT -1,
      ADD COLUMN facets text[] NOT NULL DEFAULT '{}';
    CREATE INDEX traces_session ON ${S}.traces (session_id, created_at DESC, id DESC);
    CREATE INDEX traces_user ON ${S}.traces (user_id, created_at DESC, id DESC);
    CREATE INDEX traces_duration ON ${S}.traces (duration DESC, created_at DESC, id DESC);
    CREATE INDEX traces_tokens ON ${S}.traces (tokens DESC, created_at DESC, id DESC);
    CREATE INDEX traces_cost ON ${S}.traces (cost DESC, created_at DESC, id DESC);
    CREATE INDEX traces_facets ON ${S}.traces USING gin (facets);
    CREATE TABLE ${S}.words (
      trace_id text NOT NULL,
      words tsvector NOT NULL
    );
    CREATE INDEX words_gin ON ${S}.words USING gin (words);
    CREATE INDEX words_trace ON ${S}.words (trace_id);`,
];

/** Words of a batch in chunks of about 256 KB (a tsvector holds at most 1 MB), each joined by spaces. */
function wordChunks(words: readonly string[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const w of words) {
    const b = Buffer.byteLength(w) + 8;
    if (bytes + b > 256 * 1024 && cur.length > 0) {
      out.push(cur.join(' '));
      cur = [];
      bytes = 0;
    }
    cur.push(w);
    bytes += b;
  }
  if (cur.length > 0) out.push(cur.join(' '));
  return out;
}

export class PostgresStore implements TraceStore {
  readonly name: string;
  readonly schema: string;
  readonly #url: string;
  readonly #opts: PostgresStoreOptions;
  readonly #ttl: number;
  readonly #leases: LeaseSet;
  /** Table names, quoted. */
  readonly #t: { traces: string; events: string; leases: string; version: string; words: string };
  readonly #seen = new SeenWords();
  #pool: Pool | undefined;
  #opening: Promise<Pool> | undefined;
  /** Last error a pooled connection raised while idle (kept for diagnostics, never thrown). */
  lastConnectionError: Error | undefined;

  constructor(options: PostgresStoreOptions) {
    if (!options || typeof options.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
      throw new InvalidArgumentError(
        `new PostgresStore({ url }): url must be a postgres:// or postgresql:// connection string, got ${String(options?.url)}`,
      );
    }
    const schema = options.schema ?? 'livetrace';
    if (!IDENT.test(schema))
      throw new InvalidArgumentError(
        `new PostgresStore({ schema }): schema must match ${IDENT}, got ${JSON.stringify(schema)}`,
      );
    this.#url = options.url;
    this.#opts = options;
    this.schema = schema;
    this.name = `postgres:${redactUrl(options.url)}#${schema}`;
    this.#ttl = options.leaseTtlMs ?? 30_000;
    const S = `"${schema}"`;
    this.#t = {
      traces: `${S}.traces`,
      events: `${S}.events`,
      leases: `${S}.leases`,
      version: `${S}.schema_version`,
      words: `${S}.words`,
    };
    this.#leases = new LeaseSet({
      ttlMs: this.#ttl,
      renew: async (held) => {
        const pool = this.#pool;
        if (!pool) return;
        await pool.query(
          `UPDATE ${this.#t.leases} l SET expires_at = now() + $3 * interval '1 millisecond'
           FROM unnest($1::text[], $2::text[]) AS h(trace_id, owner) WHERE l.trace_id = h.trace_id AND l.owner = h.owner`,
          [[...held.keys()], [...held.values()], this.#ttl],
        );
      },
    });
  }

  async append(traceId: string, events: readonly TraceEvent[], info: TraceInfo): Promise<void> {
    try {
      await this.#append(traceId, events, info, false);
    } catch (err) {
      if (!isConnectionLoss(err)) throw err;
      // The connection died under the batch (a restarted server, a killed backend, an idle
      // connection the pool had not yet seen die): once more, on a fresh connection. If the
      // first attempt committed before its answer was lost, the seq guard refuses the
      // second, and a stored last_seq at the batch's end is that commit: success.
      await this.#append(traceId, events, info, true);
    }
  }

  async #append(traceId: string, events: readonly TraceEvent[], info: TraceInfo, retry: boolean): Promise<void> {
    const pool = await this.#ready();
    const T = this.#t;
    const c = searchColumns(info);
    const cols = [
      traceId,
      info.status,
      info.created_at,
      info.updated_at,
      info.created_by ?? null,
      info.team_id ?? null,
      info.tenant_id ?? null,
      encodeInfo(info),
      c.session_id,
      c.user_id,
      c.duration,
      c.tokens,
      c.cost,
      JSON.parse(c.facets) as string[],
    ];
    const SET = `status = $2, created_at = $3, updated_at = $4, created_by = $5, team_id = $6, tenant_id = $7, info = $8,
      session_id = $9, user_id = $10, duration = $11, tokens = $12, cost = $13, facets = $14`;
    const COLS = `id, status, created_at, updated_at, created_by, team_id, tenant_id, info, session_id, user_id, duration, tokens, cost, facets`;
    const VALS = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[]`;
    try {
      if (events.length === 0) {
        await pool.query(
          `INSERT INTO ${T.traces} AS tr (${COLS}) VALUES (${VALS}) ON CONFLICT (id) DO UPDATE SET ${SET}`,
          cols,
        );
        return;
      }
      const first = events[0]!.seq;
      const end = events[events.length - 1]!.seq;
      const seqs = new Array<number>(events.length);
      const bodies = new Array<string>(events.length);
      for (let i = 0; i < events.length; i++) {
        seqs[i] = events[i]!.seq;
        bodies[i] = JSON.stringify(events[i]);
      }
      const words = this.#seen.fresh(traceId, batchTokens(events), first === 1);
      // The guarded upsert returns a row only if the batch continues the stored seq; the
      // events and words are inserted only if it did. Row locks serialize concurrent writers.
      const guard =
        first === 1
          ? `INSERT INTO ${T.traces} AS tr (${COLS}, last_seq) VALUES (${VALS}, $15)
             ON CONFLICT (id) DO UPDATE SET ${SET}, last_seq = $15
             WHERE tr.last_seq = 0 RETURNING 1`
          : `UPDATE ${T.traces} SET ${SET}, last_seq = $15
             WHERE id = $1 AND last_seq = ${first - 1} RETURNING 1`;
      const res = await pool.query<{ ok: number }>(
        `WITH t AS (${guard}),
              e AS (INSERT INTO ${T.events} (trace_id, seq, body) SELECT $1, u.seq, u.body FROM unnest($16::bigint[], $17::text[]) AS u(seq, body)
                    WHERE EXISTS (SELECT 1 FROM t) RETURNING 1),
              w AS (INSERT INTO ${T.words} (trace_id, words) SELECT $1, array_to_tsvector(string_to_array(u.w, ' ')) FROM unnest($18::text[]) AS u(w)
                    WHERE EXISTS (SELECT 1 FROM t) RETURNING 1)
         SELECT (SELECT count(*) FROM t)::int AS ok`,
        [...cols, end, seqs, bodies, wordChunks(words)],
      );
      if (res.rows[0]?.ok !== 1) {
        const conflict = await this.#conflict(pool, traceId, first);
        // Retrying: the one writer (the lease) is us, so a trace stored up to our end is our own commit.
        if (!(retry && conflict.expected === end + 1)) throw conflict;
      }
      if (words.length > 0) this.#seen.commit(traceId, words);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw await this.#conflict(pool, traceId, events[0]!.seq);
      throw wrap(err, `append to ${traceId}`);
    }
  }

  async read(traceId: string, options: ReadOptions = {}): Promise<TraceEvent[]> {
    const pool = await this.#ready();
    const since = Math.max(0, options.since ?? 0);
    const limit = options.limit === undefined ? null : Math.max(0, options.limit);
    try {
      const res = await pool.query<{ body: string }>(
        `SELECT body FROM ${this.#t.events} WHERE trace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [traceId, since, limit],
      );
      return res.rows.map((r) => JSON.parse(r.body) as TraceEvent);
    } catch (err) {
      throw wrap(err, `read ${traceId}`);
    }
  }

  async info(traceId: string): Promise<TraceInfo | undefined> {
    const pool = await this.#ready();
    try {
      const res = await pool.query<TraceRow>(
        `SELECT info, archived, archived_at FROM ${this.#t.traces} WHERE id = $1`,
        [traceId],
      );
      return res.rows[0] ? rowToInfo(res.rows[0]) : undefined;
    } catch (err) {
      throw wrap(err, `info ${traceId}`);
    }
  }

  async list(query: ListQuery = {}): Promise<ListResult> {
    const pool = await this.#ready();
    const limit = listLimit(query);
    const plan = searchPlan(query);
    if (!plan.plain) {
      const params: unknown[] = [];
      const p = (v: unknown): string => `$${params.push(v)}`;
      const { where, order } = searchSql(query, plan, decodeSortCursor(query.cursor, plan.sort), {
        p,
        // A tsquery of one quoted word, taken as it is (our words hold no quote or backslash).
        word: (w) => `id IN (SELECT trace_id FROM ${this.#t.words} WHERE words @@ ${p(`'${w}'`)}::tsquery)`,
        facets: (fs) => `facets @> ${p(fs)}::text[]`,
      });
      const sql = `SELECT info, archived, archived_at FROM ${this.#t.traces} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${p(limit + 1)}`;
      try {
        const rows = (await pool.query<TraceRow>(sql, params)).rows;
        return toSortedPage(rows.map(rowToInfo), limit, plan);
      } catch (err) {
        throw wrap(err, 'list');
      }
    }
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => `$${params.push(v)}`;
    if (query.status !== undefined)
      where.push(`status = ANY(${p(Array.isArray(query.status) ? query.status : [query.status])}::text[])`);
    if (query.createdBy !== undefined) where.push(`created_by = ${p(query.createdBy)}`);
    if (query.teamId !== undefined) where.push(`team_id = ${p(query.teamId)}`);
    if (query.tenantId !== undefined) where.push(`tenant_id = ${p(query.tenantId)}`);
    if (query.from !== undefined) where.push(`created_at >= ${p(query.from)}`);
    if (query.to !== undefined) where.push(`created_at <= ${p(query.to)}`);
    const cursor = decodeCursor(query.cursor);
    if (cursor) where.push(`(created_at, id) < (${p(cursor[0])}, ${p(cursor[1])})`);
    const sql = `SELECT info, archived, archived_at FROM ${this.#t.traces} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${p(limit + 1)}`;
    try {
      const rows = (await pool.query<TraceRow>(sql, params)).rows;
      return toPage(rows.map(rowToInfo), limit);
    } catch (err) {
      throw wrap(err, 'list');
    }
  }

  async remove(traceId: string): Promise<boolean> {
    const pool = await this.#ready();
    this.#seen.forget(traceId);
    const T = this.#t;
    try {
      const res = await pool.query<{ n: number }>(
        `WITH e AS (DELETE FROM ${T.events} WHERE trace_id = $1 RETURNING 1),
              w AS (DELETE FROM ${T.words} WHERE trace_id = $1 RETURNING 1),
              t AS (DELETE FROM ${T.traces} WHERE id = $1 RETURNING 1),
              l AS (DELETE FROM ${T.leases} WHERE trace_id = $1 RETURNING 1)
         SELECT ((SELECT count(*) FROM e) + (SELECT count(*) FROM t))::int AS n`,
        [traceId],
      );
      return (res.rows[0]?.n ?? 0) > 0;
    } catch (err) {
      throw wrap(err, `remove ${traceId}`);
    }
  }

  async archive(traceId: string): Promise<void> {
    const pool = await this.#ready();
    const res = await pool.query<{ status: TraceStatus }>(
      `UPDATE ${this.#t.traces} SET archived = (status NOT IN ('pending', 'running')) OR archived,
         archived_at = CASE WHEN status IN ('pending', 'running') THEN archived_at ELSE $2 END
       WHERE id = $1 RETURNING status`,
      [traceId, Date.now()],
    );
    const row = res.rows[0];
    if (!row) throw new TraceNotFoundError(traceId);
    if (isActive(row.status)) throw new TraceRunningError(traceId, 'archive');
  }

  async acquire(traceId: string, owner: string): Promise<void> {
    const pool = await this.#ready();
    const L = this.#t.leases;
    // Take a free or expired lease, or renew our own; the database clock decides expiry.
    const res = await pool.query<{ owner: string; mine: boolean }>(
      `WITH take AS (
         INSERT INTO ${L} AS l (trace_id, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (trace_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
         RETURNING owner)
       SELECT owner, true AS mine FROM take UNION ALL SELECT owner, false FROM ${L} WHERE trace_id = $1 AND NOT EXISTS (SELECT 1 FROM take)`,
      [traceId, owner, this.#ttl],
    );
    const row = res.rows[0];
    if (!row?.mine) throw new TraceLockedError(traceId, row?.owner);
    this.#leases.add(traceId, owner);
  }

  async releaseLease(traceId: string, owner: string): Promise<void> {
    this.#leases.delete(traceId, owner);
    const pool = this.#pool;
    if (!pool) return;
    await pool.query(`DELETE FROM ${this.#t.leases} WHERE trace_id = $1 AND owner = $2`, [traceId, owner]);
  }

  /** Gives back held leases and ends the pool. A later call opens a new pool (the store is reusable). */
  async close(): Promise<void> {
    this.#leases.stop();
    const opening = this.#opening;
    this.#opening = undefined;
    const pool = await opening?.catch(() => undefined);
    this.#pool = undefined;
    if (!pool) return;
    if (this.#leases.held.size > 0) {
      const held = [...this.#leases.held];
      this.#leases.held.clear();
      await pool
        .query(
          `DELETE FROM ${this.#t.leases} l USING unnest($1::text[], $2::text[]) AS h(trace_id, owner) WHERE l.trace_id = h.trace_id AND l.owner = h.owner`,
          [held.map((h) => h[0]), held.map((h) => h[1])],
        )
        .catch(() => undefined); // they expire anyway
    }
    await pool.end();
  }

  /** Fills the v2 search columns, facets and words of traces stored before v2 (from info and events). */
  async #backfillV2(client: PoolClient): Promise<void> {
    const T = this.#t;
    const rows = (await client.query<{ id: string; info: string }>(`SELECT id, info FROM ${T.traces}`)).rows;
    for (const row of rows) {
      const c = searchColumns(JSON.parse(row.info) as TraceInfo);
      const evs = (
        await client.query<{ body: string }>(`SELECT body FROM ${T.events} WHERE trace_id = $1 ORDER BY seq`, [row.id])
      ).rows.map((r) => JSON.parse(r.body) as TraceEvent);
      await client.query(
        `UPDATE ${T.traces} SET session_id = $2, user_id = $3, duration = $4, tokens = $5, cost = $6, facets = $7::text[] WHERE id = $1`,
        [row.id, c.session_id, c.user_id, c.duration, c.tokens, c.cost, JSON.parse(c.facets) as string[]],
      );
      await client.query(
        `INSERT INTO ${T.words} (trace_id, words) SELECT $1, array_to_tsvector(string_to_array(u.w, ' ')) FROM unnest($2::text[]) AS u(w)`,
        [row.id, wordChunks([...batchTokens(evs)])],
      );
    }
  }

  async #conflict(pool: Pool, traceId: string, got: number): Promise<StoreConflictError> {
    const res = await pool
      .query<{ last_seq: string }>(`SELECT last_seq FROM ${this.#t.traces} WHERE id = $1`, [traceId])
      .catch(() => undefined);
    const last = Number(res?.rows[0]?.last_seq ?? 0);
    return new StoreConflictError(traceId, last + 1, got);
  }

  #ready(): Promise<Pool> {
    if (this.#pool) return Promise.resolve(this.#pool);
    this.#opening ??= this.#open().catch((err: unknown) => {
      this.#opening = undefined;
      throw wrap(err, 'open');
    });
    return this.#opening;
  }

  async #open(): Promise<Pool> {
    const mod = await import('pg').catch((err: unknown) => {
      throw new StoreError(`PostgresStore needs the optional dependency pg (npm install pg): ${errorMessage(err)}`, {
        cause: err,
      });
    });
    const pg = mod.default;
    const pool = new pg.Pool({
      max: this.#opts.max ?? 10,
      connectionTimeoutMillis: this.#opts.connectionTimeoutMs ?? 5000,
      idleTimeoutMillis: 10_000,
      // Idle connections do not keep the host process alive.
      allowExitOnIdle: true,
      application_name: 'livetrace',
      ...(this.#opts.pool as Omit<PoolConfig, 'connectionString'> | undefined),
      connectionString: this.#url,
    });
    // An idle connection killed by the server (restart, pg_terminate_backend) must not
    // become an unhandled 'error' event; the pool drops it and the next call reconnects.
    pool.on('error', (err) => {
      this.lastConnectionError = err;
    });
    try {
      await this.#migrate(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    this.#pool = pool;
    return pool;
  }

  async #migrate(pool: Pool): Promise<void> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // Serializes migrations of several processes starting at once.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`livetrace:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#t.version} (version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const res = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.#t.version}`);
      const current = res.rows[0]?.v ?? 0;
      if (current > SCHEMA_VERSION)
        throw new StoreError(
          `schema "${this.schema}" is at version ${current}, newer than this livetrace (${SCHEMA_VERSION}); upgrade livetrace`,
        );
      for (let v = current; v < SCHEMA_VERSION; v++) {
        await client.query(MIGRATIONS[v]!(`"${this.schema}"`));
        if (v === 1) await this.#backfillV2(client);
        await client.query(`INSERT INTO ${this.#t.version} (version) VALUES ($1)`, [v + 1]);
      }
      await client.query('COMMIT');
    } catch (err) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** SQLSTATE classes and codes of a lost connection (08: connection exception; 57P01–57P03: shut down). */
const CONNECTION_LOST = /^(08...|57P0[123])$/;

/**
 * True if `err` (or what it wraps) says the connection was lost rather than the statement
 * failing: the server ended it, the socket closed or reset.
 */
function isConnectionLoss(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_LOST.test(code) || code === 'ECONNRESET' || code === 'EPIPE'))
      return true;
    if (typeof message === 'string' && /^Connection terminated/.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function wrap(err: unknown, what: string): unknown {
  if (err instanceof StoreConflictError || err instanceof StoreError || err instanceof TraceLockedError) return err;
  return new StoreError(`postgres: ${what} failed: ${errorMessage(err)}`, { cause: err });
}
