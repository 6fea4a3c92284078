// The search pieces: the tokenizer's edge cases (one definition, src/core/search.ts), what
// a batch contributes, and the file store's index file: rebuilt when lost, repaired from
// the logs when records were lost, a torn record skipped, another FileStore on the same
// folder seeing new traces; the SQL stores' v1 -> v2 migration filling in old traces.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { batchTokens, tokenize } from '../src/core/search.js';
import type { TraceEvent } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { PG_URL, dropSchema, pgExec, pgSkip, uniqueName } from './fixtures/services.js';

const pgSkipped = await pgSkip();
const dirs: string[] = [];
const schemas: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'lt-search-idx-'));
  dirs.push(d);
  return d;
};
after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

describe('tokenize (the one tokenizer every store indexes with)', () => {
  it('splits on everything but letters, marks and digits; lowercases; CJK one character a word', () => {
    assert.deepEqual(tokenize("Don't PANIC: snake_case e-mail 3.14 x42"), [
      'don',
      't',
      'panic',
      'snake',
      'case',
      'e',
      'mail',
      '3',
      '14',
      'x42',
    ]);
    assert.deepEqual(tokenize('Café ÜNÏCODE naïve'), ['café', 'ünïcode', 'naïve']);
    assert.deepEqual(tokenize('東京タワーへ'), ['東', '京', 'タ', 'ワ', 'ー', 'へ']);
    assert.deepEqual(tokenize('한국어 текст ΣΊΣΥΦΟΣ'), ['한국어', 'текст', 'σίσυφος']);
    assert.deepEqual(tokenize('🙂smile 🚀 <script>alert(1)</script>'), ['smile', 'script', 'alert', '1', 'script']);
    assert.deepEqual(tokenize('e\u0301te\u0301'), ['e\u0301te\u0301'], 'combining marks stay in the word');
    assert.equal(tokenize('a'.repeat(100))[0]!.length, 64, 'long words are cut to 64 code points');
    assert.deepEqual(tokenize(''), []);
  });

  it('ASCII text (the fast path) gives the words of [A-Za-z0-9]+ runs, lowercased, cut to 64', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), (text) => {
        const expected = (text.match(/[A-Za-z0-9]+/g) ?? []).map((w) => w.slice(0, 64).toLowerCase());
        assert.deepEqual(tokenize(text), expected);
      }),
      { numRuns: 2000 },
    );
    assert.deepEqual(tokenize('\x10\x19A\x7fZ_9`a{z@'), ['a', 'z', '9', 'a', 'z']);
  });

  it('a batch contributes labels, inputs, outputs (string and number leaves, not keys), logs and errors', () => {
    const ev = (seq: number, type: TraceEvent['type'], data: unknown): TraceEvent =>
      ({ seq, type, trace_id: 't', timestamp: 1, data }) as TraceEvent;
    const words = batchTokens([
      ev(1, 'init', { trace_id: 't', agent_name: 'agentname' }),
      ev(2, 'node_start', {
        node: { id: 'n', label: 'Label', input: { keyname: ['In', 42] }, metadata: { meta: 'metaword' } },
      }),
      ev(3, 'log_added', { level: 'info', message: 'logged', data: { x: 'dataword' }, timestamp: 1 }),
      ev(4, 'node_complete', { node_id: 'n', status: 'success', end_time: 1, duration: 1, output: 'Out' }),
      ev(5, 'node_failed', {
        node_id: 'n',
        status: 'failed',
        end_time: 1,
        duration: 1,
        error: { name: 'TypeError', message: 'broke', stack: 'at stackword', code: 'E_CODE' },
      }),
    ]);
    assert.deepEqual(
      [...words].sort(),
      ['42', 'broke', 'code', 'e', 'in', 'label', 'logged', 'out', 'typeerror'].sort(),
    );
  });
});

async function writeSome(
  store: FileStore | SqliteStore | PostgresStore,
  words: string[],
  end = true,
): Promise<string[]> {
  const tracer = new Tracer({ store, exitHook: false, shared: { store: true }, onClose: 'keep' });
  const ids: string[] = [];
  for (const w of words) {
    const t = await tracer.create({ sessionId: 'sess' });
    t.add(`input ${w}`, { label: 'step', kind: 'tool' }).info(`log of ${w}`);
    if (end) t.markComplete();
    await t.flush();
    await t.release();
    ids.push(t.id);
  }
  await tracer.close();
  return ids;
}

const q = async (store: { list: FileStore['list'] }, text: string): Promise<string[]> =>
  (await store.list({ q: text })).traces.map((t) => t.id);

/** The records of a store's search.jsonl, one JSON text each. */
const indexLines = (dir: string): string[] =>
  readFileSync(join(dir, 'search.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
/** Writes records back as the store writes them. */
const writeIndexLines = (dir: string, lines: readonly string[]): void =>
  writeFileSync(join(dir, 'search.jsonl'), lines.map((l) => `\n${l}\n`).join(''));

describe('the file store search index', () => {
  it('a lost index file is rebuilt from the logs at open', async () => {
    const dir = tmp();
    const a = new FileStore({ dir });
    const [x, y] = await writeSome(a, ['apple', 'banana']);
    await a.close();
    rmSync(join(dir, 'search.jsonl'));
    const b = new FileStore({ dir });
    assert.deepEqual(await q(b, 'APPLE'), [x]);
    assert.deepEqual(await q(b, 'banana'), [y]);
    assert.deepEqual((await b.list({ kind: 'tool', sessionId: 'sess' })).traces.length, 2);
    assert.ok(existsSync(join(dir, 'search.jsonl')));
    await b.close();
  });

  it('records lost in a crash (a running trace) are repaired from its log past the last indexed seq', async () => {
    const dir = tmp();
    const a = new FileStore({ dir });
    const [x] = await writeSome(a, ['cherry'], false);
    const tracer = new Tracer({ store: a, exitHook: false, shared: { store: true }, onClose: 'keep' });
    const t = await tracer.load(x!);
    t.add('later damson', { label: 'more' });
    await t.flush();
    await t.release();
    await tracer.close();
    await a.close();
    // Drop the last word record, as if the writer died before appending its buffer.
    const lines = indexLines(dir);
    let lastWords = -1;
    lines.forEach((l, i) => {
      if ((JSON.parse(l) as { w?: string[] }).w?.includes('damson')) lastWords = i;
    });
    assert.ok(lastWords >= 0);
    lines.splice(lastWords, 1);
    writeIndexLines(dir, lines);
    const b = new FileStore({ dir });
    assert.deepEqual(await q(b, 'damson'), [x]);
    assert.deepEqual(await q(b, 'cherry'), [x]);
    await b.close();
  });

  it('a trace that ended with events unstored: words lost in a crash after its end record are repaired', async () => {
    const dir = tmp();
    const a = new FileStore({ dir });
    // Small batches: the trace ends before most of them are stored, so each carries the final info.
    const tracer = new Tracer({
      store: a,
      exitHook: false,
      shared: { store: true },
      onClose: 'keep',
      flush: { maxBatch: 5 },
    });
    const t = await tracer.create();
    for (let i = 0; i < 20; i++) t.add(`input ${i === 12 ? 'gooseberry' : 'plain'}`, { label: 'step' });
    t.markComplete();
    await t.flush();
    await t.release();
    await tracer.close();
    await a.close();
    // Keep the file up to the first record of the ended trace (appended at once, with its
    // facets' last seq), as if the writer died before appending the later batches' words.
    const lines = indexLines(dir);
    const ended = lines.findIndex((l) => (JSON.parse(l) as { f?: { e?: number } }).f?.e === 1);
    assert.ok(ended >= 0, 'the ended trace has a facets record');
    const kept = lines.slice(0, ended + 1);
    assert.ok(!kept.some((l) => l.includes('gooseberry')), 'the word came in a later batch');
    writeIndexLines(dir, kept);
    const b = new FileStore({ dir });
    assert.deepEqual(await q(b, 'gooseberry'), [t.id]);
    await b.close();
    // Repaired once: a third store reads the repair's records and finds it without reading the log.
    const c = new FileStore({ dir });
    assert.deepEqual(await q(c, 'gooseberry'), [t.id]);
    await c.close();
  });

  it('a reader repairing from a lagging info.json never overrides the facets the writer recorded later', async () => {
    const dir = tmp();
    // The writer's info.json lags its log by up to a minute; its search records do not.
    const a = new FileStore({ dir, infoIntervalMs: 60_000 });
    const b = new FileStore({ dir });
    const tracer = new Tracer({ store: a, exitHook: false, shared: { store: true }, onClose: 'keep' });
    const t = await tracer.create({ sessionId: 'sess' });
    t.add('plan the trip', { label: 'plan' });
    await t.flush();
    t.add('ask the model', { label: 'call', kind: 'llm' });
    await t.flush();
    // The writer appends its buffered search records within FLUSH_MS: wait until they are there.
    const index = join(dir, 'search.jsonl');
    while (!existsSync(index) || !readFileSync(index, 'utf8').includes('"llm"'))
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 20));
    // b's first search reads the writer's records, then repairs the running trace from its
    // lagging info.json: those older facets go to b's buffer, to be appended later.
    await b.list({ kind: 'llm' });
    // The trace ends: its final info and facets are written at once.
    t.markComplete();
    await t.flush();
    await t.release();
    // The newer facets win over the older ones b repaired, in b, and in a store opened after
    // b appended what it repaired (after the writer's final record).
    assert.deepEqual(
      (await b.list({ kind: 'llm' })).traces.map((x) => x.id),
      [t.id],
    );
    await b.close();
    const c = new FileStore({ dir });
    assert.deepEqual(
      (await c.list({ kind: 'llm' })).traces.map((x) => x.id),
      [t.id],
    );
    await c.close();
    await tracer.close();
    await a.close();
  });

  it('skips a torn record, and a second FileStore on the folder sees traces written after its first search', async () => {
    const dir = tmp();
    const a = new FileStore({ dir });
    const b = new FileStore({ dir });
    const [x] = await writeSome(a, ['elder']);
    assert.deepEqual(await q(b, 'elder'), [x]);
    appendFileSync(join(dir, 'search.jsonl'), '\n{"id":"torn","w":["eld');
    const [y] = await writeSome(a, ['fig']);
    assert.deepEqual(await q(b, 'fig'), [y]);
    assert.deepEqual(await q(b, 'elder'), [x]);
    await a.remove(x!);
    assert.deepEqual(await q(b, 'elder'), [], 'a removal reaches the other store');
    await a.close();
    await b.close();
  });
});

describe('SQL stores: traces stored before the search schema (v1) are indexed by the migration', () => {
  it('SQLite', async () => {
    const path = join(tmp(), 'db.sqlite');
    const a = new SqliteStore({ path });
    const [x] = await writeSome(a, ['grape']);
    await a.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.exec(`DROP TABLE lt_text; DROP TABLE lt_text_rows; DROP TABLE lt_facets;
      DROP INDEX lt_traces_session; DROP INDEX lt_traces_user; DROP INDEX lt_traces_duration;
      DROP INDEX lt_traces_tokens; DROP INDEX lt_traces_cost;
      ALTER TABLE lt_traces DROP COLUMN session_id; ALTER TABLE lt_traces DROP COLUMN user_id;
      ALTER TABLE lt_traces DROP COLUMN duration; ALTER TABLE lt_traces DROP COLUMN tokens;
      ALTER TABLE lt_traces DROP COLUMN cost; ALTER TABLE lt_traces DROP COLUMN facets;
      DELETE FROM lt_schema_version WHERE version = 2;`);
    db.close();
    const b = new SqliteStore({ path });
    assert.deepEqual(await q(b, 'grape'), [x]);
    assert.deepEqual(
      (await b.list({ kind: 'tool', sessionId: 'sess', sort: '-duration' })).traces.map((t) => t.id),
      [x],
    );
    await b.close();
  });

  it('PostgreSQL', { skip: pgSkipped }, async () => {
    const schema = uniqueName('lt_search_mig');
    schemas.push(schema);
    const a = new PostgresStore({ url: PG_URL, schema });
    const [x] = await writeSome(a, ['kiwi']);
    await a.close();
    await pgExec(`DROP TABLE "${schema}".words;
      ALTER TABLE "${schema}".traces DROP COLUMN session_id, DROP COLUMN user_id, DROP COLUMN duration,
        DROP COLUMN tokens, DROP COLUMN cost, DROP COLUMN facets;
      DELETE FROM "${schema}".schema_version WHERE version = 2;`);
    const b = new PostgresStore({ url: PG_URL, schema });
    assert.deepEqual(await q(b, 'kiwi'), [x]);
    assert.deepEqual(
      (await b.list({ kind: 'tool', sessionId: 'sess', sort: '-duration' })).traces.map((t) => t.id),
      [x],
    );
    await b.close();
  });
});
