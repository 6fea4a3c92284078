// The file store's append-only record files (src/store/file/jsonl-file.ts), read a chunk at
// a time: records across chunk boundaries, a record longer than a chunk, a torn record, an
// unfinished tail, and a file replaced under the reader.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JsonlFile } from '../src/store/file/jsonl-file.js';

interface Rec {
  id: string;
  n: number;
  pad?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'lt-jsonl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads what is new; returns the restarts seen and the records applied. */
async function read(f: JsonlFile<Rec>): Promise<{ found: boolean; restarts: number; recs: Rec[] }> {
  const out = { found: false, restarts: 0, recs: [] as Rec[] };
  out.found = await f.exclusive(() =>
    f.readNew(
      () => out.restarts++,
      (r) => out.recs.push(r),
    ),
  );
  return out;
}

test('records from several writers, read a small chunk at a time, in order, each once', async () => {
  const path = join(dir, 'a.jsonl');
  const reader = new JsonlFile<Rec>(path, 0o600, 64);
  assert.equal((await read(reader)).found, false, 'a missing file');
  const w1 = new JsonlFile<Rec>(path, 0o600);
  const w2 = new JsonlFile<Rec>(path, 0o600);
  w1.append([
    { id: 'a', n: 1 },
    { id: 'b', n: 2 },
  ]);
  w2.append([{ id: 'c', n: 3, pad: 'x'.repeat(300) }]); // longer than a chunk
  appendFileSync(path, '\n{"id":"torn","n":'); // a writer that died mid-record
  w1.append([{ id: 'd', n: 4 }]);
  const first = await read(reader);
  assert.equal(first.restarts, 1, 'the first read starts from scratch');
  assert.deepEqual(
    first.recs.map((r) => r.n),
    [1, 2, 3, 4],
  );
  assert.equal(first.recs[2]!.pad!.length, 300);
  // An append caught half-written: nothing of it yet, all of it once it is whole.
  appendFileSync(path, '\n{"id":"e","n":5');
  const partial = await read(reader);
  assert.deepEqual(partial.recs, []);
  appendFileSync(path, '}\n');
  w2.append([{ id: 'f', n: 6 }]);
  const rest = await read(reader);
  assert.equal(rest.restarts, 0);
  assert.deepEqual(
    rest.recs.map((r) => r.n),
    [5, 6],
  );
  assert.deepEqual((await read(reader)).recs, [], 'nothing new');
});

test('a file replaced under the reader (compacted, rebuilt) is read again from the start', async () => {
  const path = join(dir, 'b.jsonl');
  const reader = new JsonlFile<Rec>(path, 0o600, 32);
  const w = new JsonlFile<Rec>(path, 0o600);
  w.append([
    { id: 'a', n: 1 },
    { id: 'b', n: 2 },
  ]);
  assert.equal((await read(reader)).recs.length, 2);
  writeFileSync(`${path}.tmp`, '{"id":"b","n":20}\n');
  renameSync(`${path}.tmp`, path);
  const again = await read(reader);
  assert.equal(again.restarts, 1);
  assert.deepEqual(
    again.recs.map((r) => r.n),
    [20],
  );
  // Lines that are not records of ours are skipped.
  appendFileSync(path, '\n[1,2]\n\n{"n":3}\nnull\n{"id":"c","n":30}\n');
  assert.deepEqual(
    (await read(reader)).recs.map((r) => r.n),
    [30],
  );
});

test('each record comes with the offset of its line, and readAt reads it back (multi-byte text, longer than a read)', async () => {
  const path = join(dir, 'offsets.jsonl');
  const f = new JsonlFile<Rec>(path, 0o600, 64);
  f.append([
    { id: 'a', n: 1, pad: 'é✓'.repeat(40) },
    { id: 'b', n: 2, pad: 'x'.repeat(9000) },
  ]);
  appendFileSync(path, '\n{"id":"torn","n":');
  f.append([{ id: 'c', n: 3 }]);
  const seen: [Rec, number][] = [];
  await f.exclusive(() =>
    f.readNew(
      () => undefined,
      (r, offset) => seen.push([r, offset]),
    ),
  );
  assert.deepEqual(
    seen.map(([r]) => r.n),
    [1, 2, 3],
  );
  for (const [rec, offset] of seen) assert.deepEqual(await f.readAt(offset), rec);
  assert.equal(await f.readAt(seen[1]![1] + 5), undefined, 'not the start of a record');
  assert.equal(await new JsonlFile<Rec>(join(dir, 'missing.jsonl'), 0o600).readAt(0), undefined);
});
