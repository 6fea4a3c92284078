// Trace lifecycle on the file store: resume, archive (read, subscribe, list), autoArchive,
// remove, close() with onClose cancel/keep, the beforeExit flush, and the default store.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TraceNotFoundError, TraceRunningError } from '../src/core/errors.js';
import { traceDate } from '../src/core/ids.js';
import type { TraceEvent } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { createStoreFromUrl } from '../src/store/from-url.js';
import { Tracer } from '../src/tracer/tracer.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lt-life-'));
  dirs.push(d);
  return d;
}
const quiet = { exitHook: false } as const;

async function collect(it: AsyncIterable<TraceEvent>): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

test('create({ id }) and load() resume a stored trace with the reducer and continue its seq', async () => {
  const dir = await tmp();
  const a = new Tracer({ store: new FileStore({ dir }), onClose: 'keep', ...quiet });
  const t = await a.create({ id: 'resume-me', createdBy: 'ann', teamId: 'red', metadata: { k: 1 } });
  t.add({ q: 'hi' }, { label: 'plan' }).info('thinking');
  const sp = t.createSpace({ label: 'context' });
  sp.set('x', 1);
  t.parallel([{ label: 'a' }, { label: 'b' }])[0]!.complete('A');
  await t.flush();
  const before = t.snapshot();
  await a.close();

  const b = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const again = await b.create({ id: 'resume-me' });
  assert.deepEqual(again.snapshot(), before);
  assert.equal(again.getSpaceValue(sp.id, 'x'), 1);
  again.add('next', { label: 'next' });
  assert.equal(again.lastSeq, before.last_seq + 2, 'auto-complete of the open branch + node_start');
  again.markComplete();
  await again.release();
  const events = await b.store.read('resume-me');
  events.forEach((e, i) => assert.equal(e.seq, i + 1));
  const c = await b.load('resume-me');
  assert.equal(c.isComplete, true);
  assert.equal(c.status, 'completed');
  assert.equal((await b.info('resume-me'))?.created_by, 'ann');
  await b.close();
  await assert.rejects(new Tracer({ store: new FileStore({ dir }), ...quiet }).load('nope'), TraceNotFoundError);
});

test('archive gzips the log; read, info, list and subscribe keep working', async () => {
  const dir = await tmp();
  const tracer = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t = await tracer.create({ tenantId: 'arch' });
  const id = t.id;
  for (let i = 0; i < 200; i++) t.add({ i }, { label: `s${i}` }).info('log', { i });
  const running = await tracer.create({ tenantId: 'arch' });
  running.add('x');
  await running.flush();
  await assert.rejects(tracer.archive(running.id), TraceRunningError);
  await assert.rejects(tracer.store.archive(running.id), TraceRunningError);
  t.markComplete();
  const snapBefore = t.snapshot();
  const eventsBefore = await tracer.events(id);
  await tracer.archive(id);

  const folder = join(dir, traceDate(id), id);
  assert.deepEqual((await readdir(folder)).sort(), ['events.jsonl.gz', 'info.json']);
  const lines = gunzipSync(await readFile(join(folder, 'events.jsonl.gz')))
    .toString('utf8')
    .trim()
    .split('\n');
  assert.equal(lines.length, eventsBefore.length, 'the archive is the same JSON lines');

  const info = await tracer.info(id);
  assert.equal(info?.archived, true);
  assert.equal(typeof info?.archived_at, 'number');
  const snap = await tracer.read(id);
  assert.deepEqual(snap?.nodes, snapBefore.nodes);
  assert.equal(snap?.info.archived, true);
  assert.deepEqual(await tracer.store.read(id, { since: 100, limit: 10 }), eventsBefore.slice(100, 110));
  assert.deepEqual(
    await collect(tracer.subscribe(id, { since: 0 })),
    eventsBefore,
    'subscribe replays the archive and ends',
  );
  assert.deepEqual(await collect(tracer.subscribe(id, { since: eventsBefore.length - 3 })), eventsBefore.slice(-3));
  const listed = await tracer.list({ tenantId: 'arch' });
  assert.deepEqual(
    listed.traces.map((x) => [x.id, x.archived]).sort(),
    [
      [id, true],
      [running.id, false],
    ].sort(),
  );
  // Loading an archived trace gives it back completed, from the archive.
  const other = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const loaded = await other.load(id);
  assert.equal(loaded.isComplete, true);
  assert.deepEqual(loaded.snapshot().nodes, snapBefore.nodes);
  await other.close();
  await tracer.archive(id); // idempotent
  await assert.rejects(tracer.archive('not_there'), TraceNotFoundError);
  await tracer.close();
});

test('autoArchive archives a trace once it completes and is stored', async () => {
  const dir = await tmp();
  const tracer = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t = await tracer.create({ id: 'auto-arch', autoArchive: true });
  t.add('a').info('x');
  t.markComplete();
  await t.release();
  await tracer.close(); // waits for the store's work in flight, the archive included
  const store = new FileStore({ dir });
  const info = await store.info('auto-arch');
  assert.equal(info?.archived, true);
  assert.equal(info?.status, 'completed');
  const folder = join(dir, traceDate('auto-arch', info.created_at), 'auto-arch');
  assert.equal(existsSync(join(folder, 'events.jsonl')), false);
  assert.equal(existsSync(join(folder, 'events.jsonl.gz')), true);
  assert.equal((await store.read('auto-arch')).at(-1)?.type, 'complete');
  await store.close();
});

test('remove deletes the folder, the listing entry and the lease', async () => {
  const dir = await tmp();
  const tracer = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const keep = await tracer.create({ id: 'keep', tenantId: 'rm' });
  keep.add('k');
  const t = await tracer.create({ id: 'gone', tenantId: 'rm' });
  t.add('x');
  await t.flush();
  await keep.flush();
  const folder = join(dir, traceDate('gone', (await tracer.info('gone'))!.created_at), 'gone');
  assert.equal(existsSync(folder), true);
  assert.equal(await tracer.remove('gone'), true);
  assert.equal(existsSync(folder), false);
  assert.equal(existsSync(join(dir, 'locks', 'gone.lock')), false);
  assert.equal(await tracer.exists('gone'), false);
  assert.deepEqual(await tracer.store.read('gone'), []);
  assert.deepEqual(
    (await tracer.list({ tenantId: 'rm' })).traces.map((x) => x.id),
    ['keep'],
  );
  assert.equal(await tracer.remove('gone'), false);
  await tracer.close();
  // A fresh store (cold index) agrees.
  const store = new FileStore({ dir });
  assert.deepEqual(
    (await store.list({ tenantId: 'rm' })).traces.map((x) => x.id),
    ['keep'],
  );
  await store.close();
});

test('close() cancels running traces with reason "shutdown"; onClose "keep" leaves them resumable', async () => {
  const dir = await tmp();
  const a = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t = await a.create({ id: 'cancel-me' });
  t.add('work');
  await a.close();
  const store = new FileStore({ dir });
  const info = await store.info('cancel-me');
  assert.equal(info?.status, 'cancelled');
  assert.equal(info?.reason, 'shutdown');
  assert.equal((await store.read('cancel-me')).at(-1)?.type, 'complete');

  const b = new Tracer({ store, onClose: 'keep', ...quiet });
  const k = await b.create({ id: 'keep-me' });
  k.add('work');
  await b.close();
  assert.equal((await store.info('keep-me'))?.status, 'running');
  assert.equal(existsSync(join(dir, 'locks', 'keep-me.lock')), false, 'close gives the lease back');
  const c = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const resumed = await c.load('keep-me');
  assert.equal(resumed.status, 'running');
  resumed.markComplete();
  await c.close();
  assert.equal((await new FileStore({ dir }).info('keep-me'))?.status, 'completed');
});

test('the default store is a FileStore under $LIVETRACE_DIR, and beforeExit flushes a process that just ends', async () => {
  const dir = await tmp();
  const entry = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `
    import { Tracer, FileStore } from ${JSON.stringify(entry)};
    const tracer = new Tracer();
    if (!(tracer.store instanceof FileStore)) throw new Error('default store is not a FileStore');
    const t = await tracer.create({ id: 'exit-flush' });
    for (let i = 0; i < 100; i++) t.add({ i }).info('x');
    t.markComplete();
    // no flush, no close: the beforeExit hook stores the batch
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, LIVETRACE_DIR: dir },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const store = await createStoreFromUrl(`file:${dir}`);
  assert.ok(store instanceof FileStore);
  const events = await store.read('exit-flush');
  assert.equal(events.length, 1 + 300 + 1, 'init, 100 x (node_start + log + node_complete), complete');
  events.forEach((e, i) => assert.equal(e.seq, i + 1));
  assert.equal((await store.info('exit-flush'))?.status, 'completed');
  await store.close();
});

test("a second writer is refused while the first holds the lease; a dead writer's lease is stale", async () => {
  const dir = await tmp();
  const a = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t = await a.create({ id: 'leased' });
  t.add('x');
  await t.flush();
  const b = new Tracer({ store: new FileStore({ dir }), ...quiet });
  await assert.rejects(b.load('leased'), { code: 'LT_ERR_TRACE_LOCKED' });
  await a.close();
  await (await b.load('leased')).release();
  // A lock left by a process that no longer exists is taken over.
  const { writeFile } = await import('node:fs/promises');
  const { hostname } = await import('node:os');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(
    join(dir, 'locks', 'leased.lock'),
    JSON.stringify({ pid: Number(dead.stdout), host: hostname(), owner: 'crashed' }),
  );
  const t2 = await b.load('leased');
  assert.equal(t2.id, 'leased');
  await b.close();
});

test("a lease is a hard link to the writer's owner file; close() removes it, a dead writer's owner file goes at the next start", async () => {
  const dir = await tmp();
  const { stat, writeFile } = await import('node:fs/promises');
  const { hostname } = await import('node:os');
  const locks = join(dir, 'locks');
  const owners = async (): Promise<string[]> => (await readdir(locks)).filter((n) => n.startsWith('.owner-'));
  const a = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t1 = await a.create({ id: 'one' });
  const t2 = await a.create({ id: 'two' });
  const [owner] = await owners();
  assert.ok(owner, 'one owner file for the writer');
  assert.equal((await owners()).length, 1);
  const ino = (await stat(join(locks, owner))).ino;
  assert.equal((await stat(join(locks, 'one.lock'))).ino, ino, 'the lock is a link to the owner file');
  assert.equal((await stat(join(locks, 'two.lock'))).ino, ino);
  assert.equal((await stat(join(locks, owner))).nlink, 3);
  assert.equal(
    (JSON.parse(await readFile(join(locks, 'one.lock'), 'utf8')) as { owner: string }).owner,
    a.owner,
    'lock content: the owner',
  );
  await t1.release();
  assert.equal(existsSync(join(locks, 'one.lock')), false, 'release unlinks the lock');
  assert.equal(existsSync(join(locks, 'two.lock')), true);
  await t2.release();
  await a.close();
  assert.deepEqual(await owners(), [], 'close() removes the owner file');
  // An owner file left by a process of this host that no longer runs (a crash) is removed
  // when a writer makes its own; a lock linked to it stays stale and is taken over.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const leftover = join(locks, `.owner-${dead.stdout}-x`);
  await writeFile(leftover, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), owner: 'crashed' }));
  const { link } = await import('node:fs/promises');
  await link(leftover, join(locks, 'one.lock'));
  const b = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const again = await b.load('one');
  assert.equal(existsSync(leftover), false, "the dead writer's owner file is gone");
  assert.equal(
    (JSON.parse(await readFile(join(locks, 'one.lock'), 'utf8')) as { owner: string }).owner,
    b.owner,
    'the stale lock was taken over',
  );
  await again.release();
  await b.close();
});

test('info.json of a running trace may lag by infoIntervalMs; this store sees the latest, close() writes it', async () => {
  const dir = await tmp();
  const writer = new FileStore({ dir, infoIntervalMs: 60_000 });
  const reader = new FileStore({ dir });
  const { makeEvents, makeInfo } = await import('../src/testing/store-conformance.js');
  await writer.append('lag', makeEvents('lag', 1, 2), makeInfo('lag', { updated_at: 1 }));
  await writer.append('lag', makeEvents('lag', 3, 2), makeInfo('lag', { updated_at: 2, last_seq: 4 }));
  assert.equal((await writer.info('lag'))?.updated_at, 2, 'the writer sees the latest info');
  assert.equal((await writer.list()).traces[0]?.updated_at, 2);
  // A trace just created gets no info.json until its info is due: other readers derive
  // its info from the log meanwhile (the same reducer the writer's info comes from).
  const derived = await reader.info('lag');
  assert.equal(derived?.last_seq, 4, 'derived from the log');
  assert.equal(derived?.updated_at, 1_700_000_000_004, 'derived from the log, not the pending info');
  await writer.append('lag', makeEvents('lag', 5, 1), makeInfo('lag', { updated_at: 3, status: 'completed' }));
  assert.equal((await reader.info('lag'))?.status, 'completed', 'a status change is written at once');
  assert.equal((await reader.info('lag'))?.updated_at, 3);
  await writer.append('lag', [], makeInfo('lag', { updated_at: 4, status: 'completed' }));
  assert.equal((await reader.info('lag'))?.updated_at, 3, 'the file lags');
  await writer.close();
  assert.equal((await reader.info('lag'))?.updated_at, 4, 'close() writes what was pending');
  await reader.close();
});

test('open logs are bounded by maxOpenFiles (an LRU), and close() closes them all', async () => {
  const dir = await tmp();
  const { makeEvents, makeInfo } = await import('../src/testing/store-conformance.js');
  const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
  const before = await fds();
  const store = new FileStore({ dir, maxOpenFiles: 8 });
  for (let i = 0; i < 300; i++) {
    const id = `many-${i}`;
    await store.append(id, makeEvents(id, 1, 2), makeInfo(id));
    if (i % 3 === 0) await store.append(id, makeEvents(id, 3, 1), makeInfo(id));
  }
  assert.ok((await fds()) - before <= 8 + 2, `open descriptors: ${(await fds()) - before}`);
  for (let i = 0; i < 300; i += 37) assert.equal((await store.read(`many-${i}`)).length, i % 3 === 0 ? 3 : 2);
  // An evicted trace reopens with the right seq.
  await store.append('many-0', makeEvents('many-0', 4, 1), makeInfo('many-0'));
  await store.close();
  assert.equal((await fds()) - before, 0, 'close() released every descriptor');
});

test('a crash between writing the archive and deleting the log leaves a readable trace; the next open keeps the archive', async () => {
  const dir = await tmp();
  const tracer = new Tracer({ store: new FileStore({ dir }), ...quiet });
  const t = await tracer.create({ id: 'half-archived' });
  t.add('a').info('b');
  t.markComplete();
  await t.release();
  await tracer.archive('half-archived');
  await tracer.close();
  const info = (await new FileStore({ dir }).info('half-archived'))!;
  const folder = join(dir, traceDate('half-archived', info.created_at), 'half-archived');
  const { writeFile } = await import('node:fs/promises');
  // Both files, as a crash right after the rename would leave them.
  await writeFile(join(folder, 'events.jsonl'), gunzipSync(await readFile(join(folder, 'events.jsonl.gz'))));
  const store = new FileStore({ dir });
  const events = await store.read('half-archived');
  assert.equal(events.at(-1)?.type, 'complete');
  await store.append('half-archived', [], info); // opens the trace for writing
  await store.append('half-archived', [], { ...info, updated_at: info.updated_at + 1 }); // info-only, archived: no log to check
  assert.deepEqual((await readdir(folder)).sort(), ['events.jsonl.gz', 'info.json']);
  assert.deepEqual(await store.read('half-archived'), events);
  assert.equal((await store.info('half-archived'))?.archived, true);
  await store.close();
  const viaUrl = await createStoreFromUrl(`file://${dir}`);
  assert.equal((viaUrl as FileStore).dir, dir);
  assert.deepEqual(await viaUrl.read('half-archived'), events);
  await viaUrl.close();
});

test('info held back by infoIntervalMs is written when the process exits without close()', async () => {
  const dir = await tmp();
  const entry = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const testing = fileURLToPath(new URL('../src/testing/store-conformance.js', import.meta.url));
  const script = `
    import { FileStore } from ${JSON.stringify(entry)};
    import { makeEvents, makeInfo } from ${JSON.stringify(testing)};
    const store = new FileStore({ dir: ${JSON.stringify(dir)}, infoIntervalMs: 60000 });
    await store.append('exit-info', makeEvents('exit-info', 1, 2), makeInfo('exit-info', { updated_at: 1 }));
    await store.append('exit-info', makeEvents('exit-info', 3, 2), makeInfo('exit-info', { updated_at: 2, last_seq: 4 }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const store = new FileStore({ dir });
  assert.equal((await store.info('exit-info'))?.updated_at, 2);
  assert.equal((await store.info('exit-info'))?.last_seq, 4);
  await store.close();
  // close() removes the hook.
  const s2 = new FileStore({ dir, infoIntervalMs: 60000 });
  const { makeEvents, makeInfo } = await import('../src/testing/store-conformance.js');
  const before = process.listenerCount('exit');
  await s2.append('exit-info', makeEvents('exit-info', 5, 1), makeInfo('exit-info', { updated_at: 3 }));
  await s2.append('exit-info', makeEvents('exit-info', 6, 1), makeInfo('exit-info', { updated_at: 4 }));
  assert.equal(process.listenerCount('exit'), before + 1);
  await s2.close();
  assert.equal(process.listenerCount('exit'), before);
});
