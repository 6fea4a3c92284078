// A torn or garbage last line (a crash in the middle of a write, or a hand edit) is cut
// when the trace is next opened for writing, reported once, and never poisons the trace:
// reads ignore it and new appends continue the seq.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { traceDate } from '../src/core/ids.js';
import type { LivetraceWarning } from '../src/core/errors.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function writeTrace(dir: string, id: string): Promise<{ logPath: string; lastSeq: number }> {
  const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false, onClose: 'keep' });
  const t = await tracer.create({ id });
  t.add({ q: 1 }, { label: 'root' }).info('hello', { a: 1 });
  const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
  a!.complete('A');
  b!.info('still running');
  await t.release();
  const info = await tracer.info(id);
  await tracer.close();
  return { logPath: join(dir, traceDate(id, info!.created_at), id, 'events.jsonl'), lastSeq: t.lastSeq };
}

for (const [name, garbage] of [
  ['a half-written line', '{"seq":999,"type":"log_added","trace_id":"x","data":{"mess'],
  ['a garbage line with a newline', 'garbage \u0000 bytes\n'],
  ['JSON that is not an event, then a half line', '{"not":"an event"}\n{"seq":'],
  ['several torn fragments', '{"seq":1\n\n{"se'],
] as const) {
  test(`${name} at the end of a log is cut, reported once, and appends continue the seq`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-torn-'));
    dirs.push(dir);
    const id = `torn_${Math.random().toString(36).slice(2)}`;
    const { logPath, lastSeq } = await writeTrace(dir, id);
    const clean = await readFile(logPath, 'utf8');
    await appendFile(logPath, garbage);

    const warnings: LivetraceWarning[] = [];
    const store = new FileStore({ dir, onWarning: (w) => warnings.push(w) });
    // Reading ignores the tail without touching the file.
    const events = await store.read(id);
    assert.equal(events.length, lastSeq);
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );

    const tracer = new Tracer({ store, exitHook: false });
    const t = await tracer.load(id);
    assert.equal(t.lastSeq, lastSeq);
    t.add('after', { label: 'after' });
    t.markComplete();
    await t.release();
    assert.equal(warnings.length, 1, 'reported once');
    assert.equal(warnings[0]!.code, 'LT_WARN_TORN_LINE');
    assert.equal(warnings[0]!.traceId, id);

    const text = await readFile(logPath, 'utf8');
    assert.ok(text.startsWith(clean), 'the valid prefix is untouched');
    assert.ok(text.endsWith('\n'));
    const all = await store.read(id);
    assert.ok(all.length > lastSeq);
    all.forEach((e, i) => assert.equal(e.seq, i + 1));
    assert.equal(text.split('\n').filter(Boolean).length, all.length, 'no garbage left in the file');
    assert.equal((await store.info(id))?.status, 'completed');
    await tracer.close();

    // Reopening finds nothing more to cut.
    const again = new FileStore({ dir, onWarning: (w) => warnings.push(w) });
    const t2 = await new Tracer({ store: again, exitHook: false }).load(id);
    assert.equal(t2.isComplete, true);
    await again.append(id, [], { ...(await again.info(id))! });
    assert.equal(warnings.length, 1);
    await again.close();
  });
}

test('a corrupt line in the middle of a log is a CorruptDataError, not silent loss', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-torn-'));
  dirs.push(dir);
  const id = 'middle_corrupt';
  const { logPath } = await writeTrace(dir, id);
  const text = await readFile(logPath, 'utf8');
  const lines = text.split('\n');
  lines[1] = 'not json';
  const { writeFile } = await import('node:fs/promises');
  await writeFile(logPath, lines.join('\n'));
  const store = new FileStore({ dir });
  await assert.rejects(store.read(id), { code: 'LT_ERR_CORRUPT' });
  await store.close();
});
