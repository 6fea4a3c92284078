// Path safety: no id can make the file store touch a path outside its folder. Hostile ids
// are rejected before any I/O (the store folder is not even created); hostile index
// records are ignored; files and folders are owner-only.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InvalidIdError } from '../src/core/errors.js';
import { FileStore } from '../src/store/file-store.js';
import { makeEvents, makeInfo } from '../src/testing/store-conformance.js';
import { Tracer } from '../src/tracer/tracer.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const HOSTILE: unknown[] = [
  '..',
  '.',
  '../escape',
  '..\\escape',
  'a/b',
  '/etc/passwd',
  'C:\\Windows',
  'a\u0000b',
  '',
  'x'.repeat(129),
  '%2e%2e',
  'a b',
  'é',
  'trace\n',
  ' lead',
  '~',
  '$HOME',
  'a:b',
  'a*',
  null,
  undefined,
  42,
  {},
  ['a'],
];

test('hostile ids are rejected by every store method before any I/O', async () => {
  const base = await mkdtemp(join(tmpdir(), 'lt-paths-'));
  dirs.push(base);
  const dir = join(base, 'store');
  const store = new FileStore({ dir });
  for (const id of HOSTILE) {
    const s = id as string;
    const calls: [string, () => Promise<unknown>][] = [
      ['append', () => store.append(s, makeEvents('x', 1, 1), makeInfo('x'))],
      ['read', () => store.read(s)],
      ['info', () => store.info(s)],
      ['remove', () => store.remove(s)],
      ['archive', () => store.archive(s)],
      ['acquire', () => store.acquire(s, 'me')],
      ['releaseLease', () => store.releaseLease(s, 'me')],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call, InvalidIdError, `${name}(${JSON.stringify(id)})`);
    }
  }
  assert.equal(existsSync(dir), false, 'nothing was created');
  assert.deepEqual(await readdir(base), []);
  const tracer = new Tracer({ store, exitHook: false });
  for (const id of HOSTILE.filter((x) => x !== undefined))
    await assert.rejects(tracer.create({ id: id as string }), InvalidIdError);
  await tracer.close();
  assert.equal(existsSync(dir), false);
});

test('hostile records in the index file cannot point outside the store', async () => {
  const base = await mkdtemp(join(tmpdir(), 'lt-paths-'));
  dirs.push(base);
  const dir = join(base, 'store');
  await mkdir(join(base, 'outside', 'victim'), { recursive: true });
  await writeFile(join(base, 'outside', 'victim', 'info.json'), JSON.stringify(makeInfo('victim')));
  await mkdir(dir);
  await writeFile(
    join(dir, 'index.jsonl'),
    [
      { id: 'victim', d: '../outside', c: 1, s: 'completed' },
      { id: '../outside/victim', d: '2026-01-01', c: 1, s: 'completed' },
      { id: 'ok', d: '2026-01-01', c: 1, s: 'completed' },
    ]
      .map((r) => JSON.stringify(r) + '\n')
      .join(''),
  );
  const store = new FileStore({ dir });
  assert.deepEqual((await store.list()).traces, [], 'nothing outside is listed ("ok" has no folder)');
  assert.equal(await store.info('victim'), undefined);
  assert.equal(await store.remove('victim'), false);
  assert.equal(existsSync(join(base, 'outside', 'victim', 'info.json')), true, 'untouched');
  await store.close();
});

test('files are created 0o600 and folders 0o700 by default (configurable)', async () => {
  const base = await mkdtemp(join(tmpdir(), 'lt-paths-'));
  dirs.push(base);
  const dir = join(base, 'store');
  const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  const t = await tracer.create({ id: 'perm' });
  t.add('x');
  t.markComplete();
  await t.release();
  const info = await tracer.info('perm');
  await tracer.archive('perm');
  await tracer.close();
  const date = new Date(info!.created_at).toISOString().slice(0, 10);
  const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
  assert.equal(await mode(dir), 0o700);
  assert.equal(await mode(join(dir, date)), 0o700);
  assert.equal(await mode(join(dir, date, 'perm')), 0o700);
  assert.equal(await mode(join(dir, date, 'perm', 'info.json')), 0o600);
  assert.equal(await mode(join(dir, date, 'perm', 'events.jsonl.gz')), 0o600);
  assert.equal(await mode(join(dir, 'index.jsonl')), 0o600);
  assert.equal(await mode(join(dir, 'locks')), 0o700);

  const open = join(base, 'open');
  const s = new FileStore({ dir: open, fileMode: 0o644, dirMode: 0o755 });
  await s.append('p', makeEvents('p', 1, 1), makeInfo('p'));
  await s.close();
  assert.equal(await mode(join(open, '2023-11-14', 'p', 'events.jsonl')), 0o644);
  assert.equal(await mode(join(open, '2023-11-14', 'p')), 0o755);
});

test('bad options are clear errors', () => {
  assert.throws(() => new FileStore({} as never), /options.dir must be a non-empty string/);
  assert.throws(
    () => new FileStore({ dir: 'x', durability: 'sometimes' as never }),
    /durability must be "batch", "fsync" or "none"/,
  );
  assert.throws(() => new FileStore({ dir: 'x', maxOpenFiles: 0 }), /maxOpenFiles must be an integer >= 1/);
});
