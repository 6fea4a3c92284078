// The file store's ranged reads (src/store/file/log-reader.ts): read(id, { since, limit })
// starts at a known line start and stops at `limit`, so it must return exactly the log's
// slice whatever the reader learnt before: across appends by another writer, a rolled-back
// batch, torn lines, a replaced log, long lines, a log not numbered by line, and archives
// (paged through a parked gzip stream). A reader store separate from the writer plays the
// `livetrace serve` process reading what an app process writes.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { CorruptDataError } from '../src/core/errors.js';
import { newTraceId, traceDate } from '../src/core/ids.js';
import { reduceEvents, toSnapshot } from '../src/core/reducer.js';
import type { TraceEvent, TraceInfo } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lt-ranged-'));
  dirs.push(dir);
  return dir;
}

const T0 = Date.UTC(2026, 11, 6);

function event(id: string, seq: number, size = 40): TraceEvent {
  if (seq === 1) return { seq, type: 'init', trace_id: id, timestamp: T0, data: { trace_id: id } };
  return {
    seq,
    type: 'log_added',
    trace_id: id,
    timestamp: T0 + seq,
    data: { node_id: 'n', level: 'info', message: `m${seq}:`.padEnd(size, 'x'), timestamp: T0 + seq },
  };
}

function infoOf(id: string, events: TraceEvent[]): TraceInfo {
  return toSnapshot(reduceEvents(id, events)).info;
}

function lines(events: readonly TraceEvent[]): string {
  return events.map((e) => JSON.stringify(e) + '\n').join('');
}

/** A trace whose first event is stored by a writer FileStore; returns its log's path. */
async function startTrace(dir: string, id: string, first: TraceEvent): Promise<string> {
  const writer = new FileStore({ dir });
  await writer.append(id, [first], infoOf(id, [first]));
  await writer.close();
  return join(dir, traceDate(id, T0), id, 'events.jsonl');
}

test('ranged reads equal the log slice for any since/limit, across appends, rollbacks, torn lines and long lines', async () => {
  const op = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 2500 }) }), weight: 3 },
    {
      arbitrary: fc.record({ kind: fc.constant('long' as const), size: fc.integer({ min: 200_000, max: 700_000 }) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('read' as const),
        since: fc.nat({ max: 9000 }),
        limit: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('rollback' as const), n: fc.integer({ min: 1, max: 1500 }) }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant('torn' as const), cut: fc.boolean() }), weight: 1 },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
      const dir = await tempDir();
      const id = newTraceId(new Date(T0));
      const log: TraceEvent[] = [event(id, 1)];
      const path = await startTrace(dir, id, log[0]!);
      const reader = new FileStore({ dir });
      let torn = '';
      const check = async (since: number, limit?: number): Promise<void> => {
        const got = await reader.read(id, { since, limit });
        const want = log.filter((e) => e.seq > since).slice(0, limit);
        assert.equal(got.length, want.length, `read since ${since} limit ${String(limit)}: count`);
        assert.deepEqual(
          got.map((e) => e.seq),
          want.map((e) => e.seq),
        );
        assert.deepEqual(got, want);
      };
      try {
        for (const o of ops) {
          if (o.kind === 'append' || o.kind === 'long') {
            if (torn) {
              // The writer cuts a torn line when it opens the log again.
              await truncate(path, Buffer.byteLength(lines(log)));
              torn = '';
            }
            const n = o.kind === 'append' ? o.n : 1;
            const batch = Array.from({ length: n }, (_, i) =>
              event(id, log.length + i + 1, o.kind === 'long' ? o.size : 20 + ((i * 37) % 300)),
            );
            await appendFile(path, lines(batch));
            log.push(...batch);
          } else if (o.kind === 'rollback') {
            if (torn) continue;
            // A batch undone after a failed info write: the last lines disappear, and the
            // seqs are written again (with other content, so other line lengths).
            const keep = Math.max(1, log.length - o.n);
            await truncate(path, Buffer.byteLength(lines(log.slice(0, keep))));
            const redo = log.length - keep;
            log.length = keep;
            const batch = Array.from({ length: redo }, (_, i) => event(id, keep + i + 1, 5 + ((i * 13) % 90)));
            await appendFile(path, lines(batch));
            log.push(...batch);
          } else if (o.kind === 'torn') {
            if (!torn) {
              torn = o.cut ? '{"seq":' : 'garbage\n';
              await appendFile(path, torn);
            }
          } else await check(o.since, o.limit);
        }
        // Everything, then page by page: each page continues where the last one stopped.
        await check(0);
        for (let since = 0; since < log.length; since += 700) await check(since, 700);
        await check(log.length);
        await check(log.length + 5);
      } finally {
        await reader.close();
      }
    }),
    { numRuns: 25 },
  );
});

test('a log replaced under a reader (removed, written again with other lines) reads as the new log', async () => {
  const dir = await tempDir();
  const id = newTraceId(new Date(T0));
  const first = Array.from({ length: 5000 }, (_, i) => event(id, i + 1, 100));
  const path = await startTrace(dir, id, first[0]!);
  await appendFile(path, lines(first.slice(1)));
  const reader = new FileStore({ dir });
  assert.equal((await reader.read(id, { since: 4000, limit: 10 }))[0]!.seq, 4001); // index learnt
  // Another process removes the trace and imports one with the same id and other content.
  const other = new FileStore({ dir });
  assert.equal(await other.remove(id), true);
  const second = Array.from({ length: 4500 }, (_, i) => event(id, i + 1, 10));
  await other.append(id, second, infoOf(id, second));
  await other.close();
  assert.deepEqual(await reader.read(id, { since: 4000, limit: 10 }), second.slice(4000, 4010));
  assert.deepEqual(await reader.read(id, { since: 4490 }), second.slice(4490));
  assert.deepEqual(await reader.read(id), second);
  await reader.close();
});

test('a log cut back and written again in place to exactly the same size, with more lines, reads as written', async () => {
  const dir = await tempDir();
  const id = newTraceId(new Date(T0));
  const log = Array.from({ length: 3000 }, (_, i) => event(id, i + 1, 200));
  const path = await startTrace(dir, id, log[0]!);
  await appendFile(path, lines(log.slice(1)));
  const size = Buffer.byteLength(lines(log));
  const reader = new FileStore({ dir });
  assert.deepEqual(await reader.read(id, { since: 3000 }), []); // the reader now knows where seq 3001 would start
  // Lines after 2000 undone and written again shorter (same inode): more lines, same size.
  await truncate(path, Buffer.byteLength(lines(log.slice(0, 2000))));
  const redo: TraceEvent[] = [];
  let bytes = Buffer.byteLength(lines(log.slice(0, 2000)));
  while (size - bytes > 400) {
    const ev = event(id, 2001 + redo.length, 50);
    redo.push(ev);
    bytes += Buffer.byteLength(lines([ev]));
  }
  // The last line fills the size exactly.
  let last = event(id, 2001 + redo.length, 40);
  last = event(id, last.seq, 40 + size - bytes - Buffer.byteLength(lines([last])));
  redo.push(last);
  await appendFile(path, lines(redo));
  const now = [...log.slice(0, 2000), ...redo];
  assert.equal(Buffer.byteLength(lines(now)), size);
  assert.ok(now.length > 3000);
  assert.deepEqual(await reader.read(id, { since: 3000 }), now.slice(3000));
  assert.deepEqual(await reader.read(id, { since: 2500, limit: 3 }), now.slice(2500, 2503));
  await reader.close();
});

test('a log whose seq is not its line number is read by seq', async () => {
  const dir = await tempDir();
  const id = newTraceId(new Date(T0));
  const path = await startTrace(dir, id, event(id, 1));
  // Hand-written: seq 1, then 10..2999 (never written by FileStore, still read correctly).
  const rest = Array.from({ length: 2990 }, (_, i) => event(id, i + 10));
  await appendFile(path, lines(rest));
  const store = new FileStore({ dir });
  assert.deepEqual(
    (await store.read(id, { since: 5, limit: 3 })).map((e) => e.seq),
    [10, 11, 12],
  );
  assert.deepEqual(
    (await store.read(id, { since: 2000, limit: 2 })).map((e) => e.seq),
    [2001, 2002],
  );
  assert.deepEqual(await store.read(id, { since: 2999 }), []);
  assert.equal((await store.read(id)).length, 2991);
  await store.close();
});

test('a garbage line followed by events is corruption; a garbage last line is a crash leftover', async () => {
  const dir = await tempDir();
  const id = newTraceId(new Date(T0));
  const path = await startTrace(dir, id, event(id, 1));
  const a = Array.from({ length: 2999 }, (_, i) => event(id, i + 2));
  const b = Array.from({ length: 100 }, (_, i) => event(id, i + 3001));
  await appendFile(path, lines(a) + 'not json\n' + lines(b));
  const store = new FileStore({ dir });
  assert.equal((await store.read(id, { limit: 2000 })).length, 2000, 'before the bad line');
  await assert.rejects(store.read(id, { since: 2990 }), CorruptDataError);
  await assert.rejects(store.read(id), CorruptDataError);
  await store.close();

  const id2 = newTraceId(new Date(T0));
  const path2 = await startTrace(dir, id2, event(id2, 1));
  await appendFile(path2, lines(a) + 'not json\n');
  const store2 = new FileStore({ dir });
  assert.equal((await store2.read(id2)).length, 3000);
  assert.deepEqual(await store2.read(id2, { since: 3000 }), []);
  assert.deepEqual(
    (await store2.read(id2, { since: 2998 })).map((e) => e.seq),
    [2999, 3000],
  );
  await store2.close();
});

test('an archived log reads the same: random ranges, and paging continues one parked gzip stream', async () => {
  const dir = await tempDir();
  const id = newTraceId(new Date(T0));
  const events = Array.from({ length: 12_000 }, (_, i) => event(id, i + 1, 30 + (i % 200)));
  events.push({
    seq: events.length + 1,
    type: 'complete',
    trace_id: id,
    timestamp: T0 + 20_000,
    data: { trace_id: id, status: 'completed', total_duration: 20_000 },
  });
  const writer = new FileStore({ dir });
  await writer.append(id, events, infoOf(id, events));
  await writer.archive(id);
  await writer.close();
  const folder = join(dir, traceDate(id, T0), id);
  await assert.rejects(readFile(join(folder, 'events.jsonl')), { code: 'ENOENT' });

  const store = new FileStore({ dir });
  for (const [since, limit] of [
    [0, 5],
    [11_990, undefined],
    [5000, 1000],
    [12_001, undefined],
    [0, undefined],
  ] as const) {
    assert.deepEqual(await store.read(id, { since, limit }), events.slice(since).slice(0, limit));
  }
  // Two readers paging through it at once, interleaved: each gets the whole log in order.
  const pages = async (size: number): Promise<TraceEvent[]> => {
    const out: TraceEvent[] = [];
    for (;;) {
      const page = await store.read(id, { since: out.length, limit: size });
      out.push(...page);
      if (page.length < size) return out;
    }
  };
  const [x, y] = await Promise.all([pages(500), pages(777)]);
  assert.deepEqual(x, events);
  assert.deepEqual(y, events);
  // The store opens an archived trace (its last seq from one streamed pass) and reports it.
  assert.equal((await store.info(id))?.last_seq, events.length);
  await store.close();

  // A removed archive is not read from a parked stream.
  const store2 = new FileStore({ dir });
  assert.equal((await store2.read(id, { limit: 10 })).length, 10); // parks a stream
  await rm(folder, { recursive: true });
  assert.deepEqual(await store2.read(id, { since: 10, limit: 10 }), []);
  await store2.close();
});
