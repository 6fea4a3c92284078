// A huge trace exports in constant memory, on the real path: a `livetrace serve` process
// started with a 32 MB heap streams the export of a ~96 MB file-store log over HTTP. The
// export must be complete and byte-correct (the events part is exactly the log's lines
// joined by commas), and the server's peak RSS (VmHWM) must grow by far less than the
// log's size. Before ranged reads, each export page read the whole log: out of memory.
// The log is written straight to disk in the store's on-disk format (the trace folder,
// index entry and info.json come from a real FileStore; info.json is what the reducer
// derives from the big log): much faster than 100k events through the tracer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { initialState, reduceEvents, toSnapshot, type TraceState } from '../src/core/reducer.js';
import type { NodeUpdatedEventData } from '../src/core/events.js';
import type { TraceEvent, TraceSnapshot } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { traceDate } from '../src/core/ids.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');
const LOG_BYTES = 96 * 1024 * 1024;

const cleanup: (() => Promise<unknown>)[] = [];
after(() => Promise.all(cleanup.map((f) => f())));

/** Peak resident set size of a process, in bytes (Linux). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(m, 'VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

interface BigLog {
  id: string;
  lastSeq: number;
  bytes: number;
  /** sha256 of the log's lines (without newlines) joined by commas, then `]}`: the export after `"events":[`. */
  eventsHash: string;
}

/**
 * Makes a real trace in `dir` (folder, index entry, info.json by FileStore), then replaces
 * its log by a big one in the same format: init, node_start, then node_updated events whose
 * node carries ~800 bytes of varying metadata, node_complete, complete.
 */
async function writeBigTrace(dir: string): Promise<BigLog> {
  const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  const t = await tracer.create({ agentName: 'big' });
  const n = t.add({ q: 'a big run' }, { label: 'root' });
  n.setMetadata('k', 'v');
  n.complete('done');
  t.markComplete();
  await t.release();
  const template = await tracer.events(t.id);
  const info = await tracer.info(t.id);
  await tracer.close();
  assert.deepEqual(
    template.map((e) => e.type),
    ['init', 'node_start', 'node_updated', 'node_complete', 'complete'],
  );
  const [init, start, update, done, complete] = template as [
    TraceEvent,
    TraceEvent,
    TraceEvent,
    TraceEvent,
    TraceEvent,
  ];
  const folder = join(dir, traceDate(t.id, info!.created_at), t.id);
  const out = createWriteStream(join(folder, 'events.jsonl'));
  const hash = createHash('sha256');
  let state: TraceState = initialState(t.id);
  let page: TraceEvent[] = [];
  let text = '';
  let bytes = 0;
  let seq = 0;
  const emit = async (ev: TraceEvent): Promise<void> => {
    const line = JSON.stringify({ ...ev, seq: ++seq });
    hash.update(seq === 1 ? line : `,${line}`);
    text += line + '\n';
    page.push(JSON.parse(line) as TraceEvent);
    if (text.length >= 1 << 20) await flush();
  };
  const flush = async (): Promise<void> => {
    state = reduceEvents(t.id, page, state);
    page = [];
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
    text = '';
  };
  await emit(init);
  await emit(start);
  const node = (update.data as NodeUpdatedEventData).node;
  for (let i = 0; bytes + text.length < LOG_BYTES; i++) {
    const note = `${i.toString(36)}:`.padEnd(800, String.fromCharCode(97 + (i % 26)));
    const data: NodeUpdatedEventData = { node: { ...node, metadata: { k: 'v', step: i, note } } };
    await emit({ ...update, timestamp: update.timestamp + i, data } as TraceEvent);
  }
  await emit(done);
  await emit(complete);
  await flush();
  hash.update(']}'); // the export document's end
  out.end();
  await once(out, 'finish');
  // What the store would have written with the last batch.
  const derived = { ...toSnapshot(state).info, archived: false };
  await writeFile(join(folder, 'info.json'), JSON.stringify(derived));
  return { id: t.id, lastSeq: seq, bytes, eventsHash: hash.digest('hex') };
}

test('a `livetrace serve` process with a 32 MB heap exports a ~96 MB file-store log completely, in constant memory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-export-mem-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const big = await writeBigTrace(dir);
  assert.ok(big.bytes >= LOG_BYTES, `log is ${big.bytes} bytes`);

  // A small trace, to warm the export path up before the baseline is taken.
  const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  const small = await tracer.create({ agentName: 'small' });
  small.add('x', { label: 'x' }).complete('y');
  small.markComplete();
  await small.release();
  await tracer.close();

  const child = spawn(process.execPath, ['--max-old-space-size=32', bin, 'serve', '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const [first] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(([code]) => assert.fail(`serve exited with ${String(code)} before listening: ${stderr}`)),
  ])) as [string];
  const api = `${first.trim().replace(/\/$/, '')}/v1/trace`;

  const warm = await fetch(`${api}/traces/${small.id}/export`);
  assert.equal(warm.status, 200);
  assert.equal(((await warm.json()) as { events: unknown[] }).events.length, small.lastSeq);
  const info = (await (await fetch(`${api}/traces/${big.id}/info`)).json()) as { last_seq: number };
  assert.equal(info.last_seq, big.lastSeq);
  const before = await peakRss(child.pid!);

  // The export, streamed: the prefix up to `"events":[` holds the snapshot; everything
  // after it, but the closing `]}`, is hashed and must equal the log's lines joined by commas.
  const res = await fetch(`${api}/traces/${big.id}/export`);
  assert.equal(res.status, 200, stderr);
  const MARK = Buffer.from(',"events":[');
  const hash = createHash('sha256');
  let prefix: Buffer | undefined = Buffer.alloc(0);
  let total = 0;
  let snapshot: TraceSnapshot | undefined;
  const reader = res.body!.getReader();
  for (;;) {
    const { value: chunk, done } = await reader.read();
    if (done) break;
    total += chunk.length;
    if (prefix) {
      prefix = Buffer.concat([prefix, chunk]);
      const at = prefix.indexOf(MARK);
      if (at === -1) continue;
      const head = JSON.parse(`${prefix.toString('utf8', 0, at)}}`) as { format: string; trace: TraceSnapshot };
      assert.equal(head.format, 'livetrace.trace');
      snapshot = head.trace;
      hash.update(prefix.subarray(at + MARK.length));
      prefix = undefined;
    } else hash.update(chunk);
  }
  const after = await peakRss(child.pid!);

  assert.ok(snapshot, 'the export starts with the snapshot');
  assert.equal(snapshot.last_seq, big.lastSeq);
  assert.equal(snapshot.events_count, big.lastSeq);
  assert.equal(snapshot.info.status, 'completed');
  assert.equal(hash.digest('hex'), big.eventsHash, 'the events are the log, complete and byte for byte, then `]}`');
  assert.ok(total > big.bytes, `${total} bytes exported`);
  const grew = after - before;
  console.log(
    `export of a ${(big.bytes / 2 ** 20).toFixed(1)} MB log (${big.lastSeq} events): server peak RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MB (+${(grew / 2 ** 20).toFixed(1)} MB)`,
  );
  assert.ok(grew < big.bytes / 3, `peak RSS grew by ${grew} bytes for a ${big.bytes}-byte log`);

  // Still serving.
  const again = await fetch(`${api}/traces/${big.id}/info`);
  assert.equal(again.status, 200);
  assert.equal(child.exitCode, null, stderr);
});
