// Listing on the file store across 1,000 traces: newest first, every filter, paging by
// cursor; the same answers from a cold store, after status changes, after removals, and
// after the index file is rebuilt; no event log is read.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { compareNewestFirst, matchesQuery } from '../src/store/store.js';
import type { ListQuery, TraceInfo, TraceStatus } from '../src/core/types.js';
import { traceDate } from '../src/core/ids.js';
import { FileStore } from '../src/store/file-store.js';
import { makeEvents, makeInfo } from '../src/testing/store-conformance.js';

const N = 1000;
const statuses: TraceStatus[] = ['running', 'completed', 'failed', 'cancelled'];
let dir: string;
const infos = new Map<string, TraceInfo>();
const T0 = Date.UTC(2026, 0, 1);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lt-list-'));
  const store = new FileStore({ dir });
  for (let i = 0; i < N; i++) {
    // Half default-format ids (date in the id), half user ids; some share created_at.
    const id = i % 2 ? `user-${i}` : `20260101${String(i).padStart(12, '0')}`;
    const info = makeInfo(id, {
      created_at: T0 + Math.floor(i / 3) * 60_000,
      status: statuses[i % 4]!,
      created_by: `u${i % 5}`,
      team_id: `team${i % 3}`,
      tenant_id: i % 10 === 0 ? 'big' : 'small',
    });
    infos.set(id, info);
    await store.append(id, makeEvents(id, 1, 2), info);
  }
  await store.close();
});
after(() => rm(dir, { recursive: true, force: true }));

function expected(q: ListQuery): string[] {
  return [...infos.values()]
    .filter((i) => matchesQuery(i, q))
    .sort(compareNewestFirst)
    .map((i) => i.id);
}

async function all(store: FileStore, q: ListQuery, limit = 50): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...q, limit, cursor });
    assert.ok(page.traces.length <= limit);
    ids.push(...page.traces.map((t) => t.id));
    cursor = page.nextCursor;
    assert.ok(++pages <= N / limit + 2, 'paging terminates');
  } while (cursor);
  return ids;
}

const queries: ListQuery[] = [
  {},
  { status: 'completed' },
  { status: ['failed', 'cancelled'] },
  { createdBy: 'u3' },
  { teamId: 'team1', createdBy: 'u2' },
  { tenantId: 'big' },
  { from: T0 + 60 * 60_000, to: T0 + 120 * 60_000 },
  { tenantId: 'small', status: 'running', from: T0 + 10 * 60_000 },
  { createdBy: 'nobody' },
];

test('list pages newest first through 1,000 traces with every filter', async () => {
  const store = new FileStore({ dir });
  for (const q of queries) assert.deepEqual(await all(store, q), expected(q), JSON.stringify(q));
  const first = await store.list();
  assert.equal(first.traces.length, 50);
  assert.deepEqual(first.traces[0], infos.get(expected({})[0]!), 'full info comes back');
  assert.deepEqual(await all(store, {}, 7), expected({}), 'odd page size');
  await store.close();
});

test('status changes, removals and a deleted index file are reflected; event logs are never read', async () => {
  const store = new FileStore({ dir });
  // Complete ten running traces.
  const running = expected({ status: 'running' }).slice(0, 10);
  for (const id of running) {
    const info = { ...infos.get(id)!, status: 'completed' as const };
    infos.set(id, info);
    await store.append(id, makeEvents(id, 3, 1), info);
  }
  const removed = expected({}).slice(5, 8);
  for (const id of removed) {
    assert.equal(await store.remove(id), true);
    infos.delete(id);
  }
  for (const q of queries.slice(0, 3)) assert.deepEqual(await all(store, q), expected(q));
  // Another store instance (a server reading what a worker writes) sees the same.
  const other = new FileStore({ dir });
  assert.deepEqual(await all(other, { status: 'completed' }), expected({ status: 'completed' }));
  await store.close();

  // Listing reads the index and info files only (an ended trace's info is in its final
  // index record): without any event log the answers are unchanged.
  const logOf = (info: TraceInfo): string => join(dir, traceDate(info.id, info.created_at), info.id, 'events.jsonl');
  for (const info of infos.values()) await rename(logOf(info), `${logOf(info)}.away`);
  assert.deepEqual(await all(other, {}), expected({}));
  await other.close();
  for (const info of infos.values()) await rename(`${logOf(info)}.away`, logOf(info));

  // A lost index is rebuilt from the folders: info files, else the info derived from the
  // log. These synthetic traces' infos say more than their events (status, owner, team),
  // so a trace that ended with its info in its final index record lists as its log says.
  await unlink(join(dir, 'index.jsonl'));
  const cold = new FileStore({ dir });
  const rebuilt = new Map<string, TraceInfo>();
  for (const info of infos.values()) {
    const [got, fromLog] = [(await cold.info(info.id))!, await cold.read(info.id)];
    if (existsSync(join(dirname(logOf(info)), 'info.json'))) assert.deepEqual(got, info, 'info.json, as written');
    else assert.equal(got.last_seq, fromLog.length, 'derived from the log');
    rebuilt.set(info.id, got);
  }
  const expectedRebuilt = (q: ListQuery): string[] =>
    [...rebuilt.values()]
      .filter((i) => matchesQuery(i, q))
      .sort(compareNewestFirst)
      .map((i) => i.id);
  for (const q of queries) assert.deepEqual(await all(cold, q), expectedRebuilt(q), JSON.stringify(q));
  assert.equal((await cold.info('user-1'))?.id, 'user-1', 'user ids are found through the rebuilt index');
  await cold.close();
});

test('an index with mostly superseded records is compacted on load, with the same answers', async () => {
  const { mkdtemp: mk, stat } = await import('node:fs/promises');
  const d = await mk(join(tmpdir(), 'lt-compact-'));
  try {
    const store = new FileStore({ dir: d });
    const ids = ['c1', 'c2', 'c3'];
    for (const id of ids) await store.append(id, makeEvents(id, 1, 1), makeInfo(id, { status: 'running' }));
    // 1,200 status flips: one index record each.
    for (let i = 0; i < 1200; i++) {
      const id = ids[i % 3]!;
      await store.append(id, [], makeInfo(id, { status: i % 2 ? 'running' : 'completed' }));
    }
    const expectedList = (await store.list()).traces.map((t) => [t.id, t.status]);
    await store.close();
    const path = join(d, 'index.jsonl');
    const before = (await stat(path)).size;
    const fresh = new FileStore({ dir: d });
    assert.deepEqual(
      (await fresh.list()).traces.map((t) => [t.id, t.status]),
      expectedList,
    );
    const after = (await stat(path)).size;
    assert.ok(after < before / 10, `compacted: ${before} -> ${after} bytes`);
    await fresh.append('c1', [], makeInfo('c1', { status: 'failed' }));
    assert.equal((await new FileStore({ dir: d }).list({ status: 'failed' })).traces[0]?.id, 'c1');
    await fresh.close();
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
