// A generated trace id names a new trace: one that is taken (stored by another run, leased
// by another writer) is drawn again, never resumed. An id the caller gives is resumed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TraceLockedError } from '../src/core/errors.js';
import type { TraceEvent, TraceInfo } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { Proc } from './fixtures/processes.js';

test('two runs that draw the same id: the second gets another, the first trace is untouched (two processes, FileStore)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-ids-'));
  try {
    const run = async (): Promise<[string, number]> => {
      const p = new Proc('./repeating-ids-writer.js', [`file:${dir}`]);
      const m = await p.line(/^created (\S+) (\d+)$/);
      assert.equal(await p.exited, 0, p.stderr);
      return [m[1]!, Number(m[2])];
    };
    const [firstId, firstSeq] = await run();
    assert.match(firstId, /^\d{8}0{12}$/, 'the repeating source gives the all-zero id');
    const [secondId, secondSeq] = await run();
    assert.notEqual(secondId, firstId, 'the second run drew another id');
    assert.match(secondId, /^\d{20}$/);
    const store = new FileStore({ dir });
    const first = await store.read(firstId);
    assert.equal(first.length, firstSeq, 'nothing appended to the first run');
    assert.equal(first.filter((e) => e.type === 'init').length, 1);
    assert.equal((await store.info(firstId))?.agent_name, first[0]!.data['agent_name' as never]);
    assert.equal((await store.read(secondId)).length, secondSeq);
    assert.equal((await store.info(secondId))?.status, 'completed');
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a generated id leased by another writer or already stored is drawn again; a given id is resumed', async () => {
  const asked: string[] = [];
  class TakenFirst extends MemoryStore {
    mode: 'stored' | 'leased' = 'stored';
    override async acquire(id: string, owner: string): Promise<void> {
      asked.push(id);
      if (this.mode === 'leased' && asked.length === 1) throw new TraceLockedError(id, 'another writer');
      if (this.mode === 'stored' && asked.length === 1) {
        // An earlier run's trace under the same id, released: the lease is free.
        const ev: TraceEvent = { seq: 1, type: 'init', trace_id: id, timestamp: 1, data: { trace_id: id } };
        const info = { id, status: 'completed', created_at: 1, updated_at: 1 } as unknown as TraceInfo;
        await super.append(id, [ev], info);
      }
      return super.acquire(id, owner);
    }
  }
  for (const mode of ['stored', 'leased'] as const) {
    asked.length = 0;
    const store = new TakenFirst();
    store.mode = mode;
    const tracer = new Tracer({ store, exitHook: false });
    const reported: unknown[] = [];
    tracer.on('error', (e) => reported.push(e));
    tracer.on('warning', (w) => reported.push(w));
    const t = await tracer.create();
    assert.equal(asked.length, 2, `${mode}: a second id was drawn`);
    assert.equal(t.id, asked[1]);
    assert.notEqual(t.id, asked[0]);
    assert.equal(t.lastSeq, 1, 'a new trace, not a resumed one');
    assert.equal(tracer.isLoaded(asked[0]!), false);
    assert.deepEqual(reported, [], `${mode}: a redraw is not an error`);
    assert.equal(tracer.stats.storeErrors, 0);
    if (mode === 'stored') assert.equal((await store.read(asked[0]!)).length, 1, 'the earlier trace is untouched');
    await t.release();
    await tracer.close();
  }
  // A given id that is stored is resumed, as documented.
  const store = new MemoryStore();
  const a = new Tracer({ store, exitHook: false });
  const t1 = await a.create({ id: 'given' });
  t1.add(undefined, { label: 'one' }).complete();
  await t1.release();
  const t2 = await a.create({ id: 'given' });
  assert.equal(t2.lastSeq, 3, 'resumed after its 3 events');
  await t2.release();
  await a.close();
});
