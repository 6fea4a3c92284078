// Failure: when the disk refuses writes (the trace folder replaced by a file: ENOTDIR; the
// whole store folder gone: ENOENT) the tracer keeps the events, retries with backoff,
// reports the error once, flush() rejects with a FlushError carrying the pending events,
// nothing escapes as an unhandled rejection, and once the folder is back the retry stores
// everything, gapless.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, test } from 'node:test';
import { FlushError } from '../src/core/errors.js';
import { traceDate } from '../src/core/ids.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

let escaped: unknown[] = [];
const onEscape = (err: unknown): void => {
  escaped.push(err);
};
beforeEach(() => {
  escaped = [];
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterEach(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  assert.deepEqual(escaped, [], 'nothing escaped as an unhandled rejection or exception');
});

interface Breakage {
  name: string;
  break: (root: string, traceDir: string) => Promise<void>;
  restore: (root: string, traceDir: string) => Promise<void>;
}

const breakages: Breakage[] = [
  {
    name: 'the trace folder replaced by a regular file (ENOTDIR)',
    break: async (_root, traceDir) => {
      await rename(traceDir, `${traceDir}.moved`);
      await writeFile(traceDir, 'not a folder');
    },
    restore: async (_root, traceDir) => {
      await rm(traceDir);
      await rename(`${traceDir}.moved`, traceDir);
    },
  },
  {
    name: 'the whole store folder vanished (ENOENT)',
    break: async (root) => rename(root, `${root}.away`),
    restore: async (root) => rename(`${root}.away`, root),
  },
];

for (const b of breakages) {
  for (const [id, infoIntervalMs] of [
    [undefined, 200],
    ['user-given-id', 200],
    [undefined, 0],
  ] as const) {
    test(`${b.name}, ${id ? 'user id' : 'default id'}, info every ${infoIntervalMs} ms: error once, FlushError with pending events, retry stores all`, async () => {
      const base = await mkdtemp(join(tmpdir(), 'lt-fail-'));
      dirs.push(base);
      const root = join(base, 'store');
      const tracer = new Tracer({
        store: new FileStore({ dir: root, infoIntervalMs }),
        exitHook: false,
        flush: { intervalMs: 5, maxRetryMs: 40 },
      });
      const errors: Error[] = [];
      let firstError!: () => void;
      const gotError = new Promise<void>((r) => (firstError = r));
      tracer.on('error', (e) => {
        errors.push(e);
        firstError();
      });
      const t = await tracer.create(id ? { id } : {});
      t.add({ n: 0 }, { label: 'before' }).info('stored');
      await t.flush();
      const storedSeq = t.lastSeq;
      const traceDir = join(root, traceDate(t.id, t.snapshot().info.created_at), t.id);

      await b.break(root, traceDir);
      for (let i = 1; i <= 20; i++) t.add({ n: i }, { label: `during ${i}` }).info('pending', { i });
      // Several flushes (each one retrying) fail with the pending events; the error channel
      // heard about the streak once.
      for (let k = 0; k < 3; k++) {
        const err = await t.flush().then(
          () => assert.fail('flush must reject while the folder is broken'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof FlushError, String(err));
        assert.equal(err.traceId, t.id);
        assert.equal(err.pending.length, t.lastSeq - storedSeq);
        assert.deepEqual(
          err.pending.map((e) => e.seq),
          Array.from({ length: t.lastSeq - storedSeq }, (_, i) => storedSeq + i + 1),
        );
        assert.equal(err.code, 'LT_ERR_FLUSH');
      }
      await gotError;
      assert.equal(errors.length, 1, 'reported once');
      assert.match(errors[0]!.message, /ENOTDIR|ENOENT|vanished/);
      assert.equal(tracer.stats.storeErrors, 1);

      await b.restore(root, traceDir);
      t.markComplete();
      await t.flush();
      await t.release();
      const events = await tracer.store.read(t.id);
      assert.equal(events.length, t.lastSeq);
      events.forEach((e, i) => assert.equal(e.seq, i + 1));
      assert.equal((await tracer.info(t.id))?.status, 'completed');
      await tracer.close();
      const fresh = new FileStore({ dir: root });
      assert.equal((await fresh.read(t.id)).length, t.lastSeq, 'nothing was written twice or lost');
      assert.equal((await fresh.list()).traces[0]?.status, 'completed');
      await fresh.close();
    });
  }
}

test('release() on a broken folder rejects with the pending events, and nothing escapes', async () => {
  const base = await mkdtemp(join(tmpdir(), 'lt-fail-'));
  dirs.push(base);
  const root = join(base, 'store');
  const tracer = new Tracer({
    store: new FileStore({ dir: root }),
    exitHook: false,
    flush: { intervalMs: 5, maxRetryMs: 40 },
  });
  const errors: Error[] = [];
  tracer.on('error', (e) => errors.push(e));
  const t = await tracer.create({});
  t.add('x');
  await t.flush();
  await rename(root, `${root}.away`);
  t.add('y').info('z');
  const err = await t.release().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof FlushError);
  assert.ok(err.pending.length >= 2);
  await rename(`${root}.away`, root);
  await tracer.close().catch(() => undefined);
  assert.ok(errors.length >= 1);
});
