// A trace that ends before its info.json is due gets no info.json: its whole info goes into
// its final record in index.jsonl (docs/stores.md). Other processes read it from there, the
// same as the writer's; compaction carries it over; a later info.json has the last word.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TraceInfo } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { makeEvents, makeInfo } from '../src/testing/store-conformance.js';
import { Proc } from './fixtures/processes.js';

const root = new URL('../..', import.meta.url).pathname;
/** Runs `fn` in a fresh folder, removed afterwards. */
async function inTmpDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lt-final-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const folderOf = (dir: string, id: string): string => {
  const date = readdirSync(dir).find((d) => existsSync(join(dir, d, id)))!;
  return join(dir, date, id);
};

test('a writer process ends short traces without info.json; another process reads the same info, lists and searches them', () =>
  inTmpDir(async (dir) => {
    const w = new Proc('./final-info-writer.js', [dir, '4']);
    assert.equal(await w.exited, 0, w.stderr);
    const written = w.lines.map((l) => {
      const m = l.match(/^done (\S+) (.*)$/)!;
      return [m[1]!, JSON.parse(m[2]!) as TraceInfo] as const;
    });
    assert.equal(written.length, 4);
    const reader = new FileStore({ dir });
    for (const [id, info] of written) {
      assert.deepEqual(readdirSync(folderOf(dir, id)), ['events.jsonl'], 'no info.json');
      assert.ok(info.status === 'completed' || info.status === 'failed');
      assert.equal(info.agent_name?.endsWith('✓'), true);
      assert.deepEqual(await reader.info(id), info, 'the same info in another process');
    }
    const listed = await reader.list();
    assert.deepEqual(listed.traces.map((t) => t.id).sort(), written.map(([id]) => id).sort());
    for (const t of listed.traces) assert.deepEqual(t, new Map(written).get(t.id));
    const failed = await reader.list({ status: 'failed', tenantId: 'acme', sessionId: 's1' });
    assert.deepEqual(failed.traces.map((t) => t.id).sort(), [written[1]![0], written[3]![0]].sort());
    const searched = await reader.list({ q: 'NUL', model: 'gpt-4o' });
    assert.equal(searched.traces.length, 4);
    await reader.close();
    // The way it is deployed: `livetrace serve` (the real CLI) on the folder the writer
    // left, with a token of the runs' tenant and one of another tenant.
    const tokens = join(dir, 'tokens.json');
    await writeFile(
      tokens,
      JSON.stringify([
        { token: 'acme-token', tenantId: 'acme' },
        { token: 'other-token', tenantId: 'other' },
      ]),
    );
    const server = new Proc(join(root, 'bin/livetrace.js'), [
      'serve',
      '--store',
      `file:${dir}`,
      '--tokens',
      tokens,
      '--port',
      '0',
    ]);
    try {
      const base = (await server.line(/^http:\/\/\S+\/$/))[0];
      const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
      for (const [id, info] of written) {
        const res = await fetch(`${base}v1/trace/traces/${id}/info`, as('acme-token'));
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), info, 'the server reads the final record');
        const other = await fetch(`${base}v1/trace/traces/${id}/info`, as('other-token'));
        assert.equal(other.status, 404, "another tenant's token does not see it");
        await other.body?.cancel();
      }
      const list = async (token: string): Promise<string[]> => {
        const res = await fetch(`${base}v1/trace/traces?status=failed`, as(token));
        return ((await res.json()) as { traces: TraceInfo[] }).traces.map((t) => t.id).sort();
      };
      assert.deepEqual(await list('acme-token'), [written[1]![0], written[3]![0]].sort());
      assert.deepEqual(await list('other-token'), []);
    } finally {
      server.child.kill();
      await server.exited;
    }
  }));

test('compaction carries final records over; a store reading at an old offset after another compacted reads the right one', () =>
  inTmpDir(async (dir) => {
    const w = new FileStore({ dir, infoIntervalMs: 60_000 });
    // Infos that say more than their events (created_by, team): derived from the log they would not.
    const finals = ['f1', 'f2', 'f3'].map((id) =>
      makeInfo(id, { status: 'completed', created_by: 'me', team_id: 't' }),
    );
    for (const info of finals) await w.append(info.id, makeEvents(info.id, 1, 2), info);
    const flips = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await w.append('x', [], makeInfo('x', { status: i % 2 ? 'running' : 'completed' }));
    };
    await w.append('x', makeEvents('x', 1, 1), makeInfo('x', { status: 'running' }));
    await flips(1200);
    for (const info of finals) assert.equal(existsSync(join(folderOf(dir, info.id), 'info.json')), false);
    const index = join(dir, 'index.jsonl');
    const before = (await stat(index)).size;
    // A reads first: its load compacts the index (mostly superseded records).
    const a = new FileStore({ dir });
    for (const info of finals) assert.deepEqual(await a.info(info.id), info, 'after A compacted');
    const compacted = (await stat(index)).size;
    assert.ok(compacted < before / 10, `compacted: ${before} -> ${compacted} bytes`);
    assert.equal((await readFile(index, 'utf8')).match(/"i":/g)?.length, 3, 'the final records carried over whole');
    // Superseded again, and B compacts: the file A read its offsets from is replaced.
    await flips(2400);
    const b = new FileStore({ dir });
    assert.deepEqual(await b.info('f2'), finals[1]);
    for (const info of finals) assert.deepEqual(await a.info(info.id), info, 'A after B replaced the file');
    assert.deepEqual(
      (await a.list({ createdBy: 'me' })).traces.map((t) => t.id),
      ['f3', 'f2', 'f1'],
    );
    await Promise.all([a.close(), b.close(), w.close()]);
  }));

test('info.json, once written, has the last word; a long trace and fsync durability end with info.json', () =>
  inTmpDir(async (dir) => {
    const w = new FileStore({ dir, infoIntervalMs: 60_000 });
    const ended = makeInfo('e', { status: 'completed', updated_at: 1 });
    await w.append('e', makeEvents('e', 1, 2), ended);
    const reader = new FileStore({ dir });
    assert.equal((await reader.info('e'))?.updated_at, 1, 'from the final record');
    // Archiving writes info.json (archived), which from then on is read first.
    await w.archive('e');
    assert.equal(existsSync(join(folderOf(dir, 'e'), 'info.json')), true);
    assert.equal((await reader.info('e'))?.archived, true);
    // A trace whose info.json was written while it ran ends with info.json, not a final record.
    const quick = new FileStore({ dir, infoIntervalMs: 0 });
    await quick.append('long', makeEvents('long', 1, 2), makeInfo('long'));
    await quick.append('long', makeEvents('long', 3, 1), makeInfo('long', { last_seq: 3 }));
    await quick.append('long', makeEvents('long', 4, 1), makeInfo('long', { status: 'completed', last_seq: 4 }));
    const longInfo = JSON.parse(await readFile(join(folderOf(dir, 'long'), 'info.json'), 'utf8')) as TraceInfo;
    assert.equal(longInfo.status, 'completed');
    // An index that cannot be read: a short trace's info comes from its log, never an error.
    const short = '20260101000000000042';
    await w.append(short, makeEvents(short, 1, 3), makeInfo(short, { status: 'completed' }));
    const index = join(dir, 'index.jsonl');
    const saved = await readFile(index);
    await rm(index);
    await mkdir(index);
    const blind = new FileStore({ dir });
    assert.equal((await blind.info(short))?.last_seq, 3, 'derived from the log');
    await rm(index, { recursive: true });
    await writeFile(index, saved);
    // fsync durability: info.json, synced, as before.
    const synced = new FileStore({ dir, durability: 'fsync' });
    await synced.append('s', makeEvents('s', 1, 2), makeInfo('s', { status: 'completed' }));
    assert.equal(existsSync(join(folderOf(dir, 's'), 'info.json')), true);
    assert.equal(
      (await readFile(join(dir, 'index.jsonl'), 'utf8')).match(/"i":/g)?.length,
      2,
      'e and the short one have one, s (fsync) none',
    );
    await Promise.all([w.close(), reader.close(), quick.close(), synced.close(), blind.close()]);
  }));
