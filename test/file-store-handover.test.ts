// A trace handed back and forth between two writers (processes) that share a folder.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

it('a writer that loads a trace again sees what another writer appended meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-handover-'));
  try {
    const a = new Tracer({ store: new FileStore({ dir }), exitHook: false, onClose: 'keep' });
    const b = new Tracer({ store: new FileStore({ dir }), exitHook: false, onClose: 'keep' });
    const t1 = await a.create({ id: 'handover' });
    t1.add('from a');
    await t1.release();
    const t2 = await b.load('handover');
    t2.add('from b').info('b was here');
    await t2.release();
    const t3 = await a.load('handover');
    assert.equal(t3.lastSeq, 5);
    t3.add('from a again');
    t3.markComplete();
    await t3.release();
    const events = await b.store.read('handover');
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    assert.equal(events.at(-1)?.type, 'complete');
    await a.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
