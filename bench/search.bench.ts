// Search benchmark, per store, in one run:
//  1. over 10,000 stored traces (a few nodes each, words from a 5,000-word vocabulary), the
//     first page (50) of a text query answered by the store's index, against a brute-force
//     scan of the same traces (read every log, tokenize with the same tokenizer, filter,
//     sort, first 50), which must return the same page;
//  2. the write-path cost of keeping the search index: the file-store bench workload
//     (livetrace + FileStore, steps of add + log + complete) with the index and with
//     `search: false`, rounds interleaved; and the same with text-heavy steps (input and
//     output sentences), where tokenizing costs most.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchTokens, tokenize } from '../src/core/search.js';
import type { TraceEvent, TraceInfo } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { TraceStore } from '../src/store/store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { median, recordSteps, roundOrder, sized, timeMs } from './support/measure.js';

const TRACES = sized(10_000, 60);
const STEPS = sized(30_000, 200);
/** Write-path rounds: the cost is a difference of two close rates, so more of them. */
const WRITE_ROUNDS = sized(9, 1);
const PG_URL = process.env['LIVETRACE_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const base = mkdtempSync(join(tmpdir(), 'lt-bench-search-'));

// A deterministic vocabulary and word picker (Zipf-like: low ranks are common).
const VOCAB = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`);
let seed = 42;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const word = (): string => VOCAB[Math.floor(VOCAB.length * rnd() ** 3)]!;
const sentence = (n: number): string => Array.from({ length: n }, word).join(' ');

function traceOf(n: number, t0: number): { id: string; events: TraceEvent[]; info: TraceInfo } {
  const id = `20260101${String(n).padStart(12, '0')}`;
  const at = t0 + n;
  const events: TraceEvent[] = [{ seq: 1, type: 'init', trace_id: id, timestamp: at, data: { trace_id: id } }];
  const push = (type: TraceEvent['type'], data: unknown, node_id?: string): void => {
    events.push({
      seq: events.length + 1,
      type,
      trace_id: id,
      timestamp: at,
      data,
      ...(node_id ? { node_id } : {}),
    } as TraceEvent);
  };
  for (let k = 0; k < 4; k++) {
    const nid = `n${k}`;
    push(
      'node_start',
      {
        node: {
          id: nid,
          parent_ids: k ? [`n${k - 1}`] : [],
          children: [],
          label: `step ${word()}`,
          kind: k === 1 ? 'llm' : 'step',
          metadata: {},
          input: { prompt: sentence(12) },
          status: 'running',
          created_at: at,
          updated_at: at,
        },
      },
      nid,
    );
    push('log_added', { node_id: nid, level: 'info', message: sentence(6), timestamp: at }, nid);
    push('node_complete', { node_id: nid, status: 'success', end_time: at, duration: 1, output: sentence(12) }, nid);
  }
  push('complete', { trace_id: id, status: 'completed', total_duration: 5 });
  const info: TraceInfo = {
    id,
    status: 'completed',
    created_at: at,
    updated_at: at,
    archived: false,
    duration: 5,
    kinds: ['llm', 'step'],
    models: [],
    last_seq: events.length,
    node_count: 4,
  };
  return { id, events, info };
}

interface StoreCase {
  name: string;
  /** False: the store lives in memory, it cannot be reopened. */
  reopen?: boolean;
  open: () => Promise<TraceStore>;
  done?: () => Promise<void>;
}

async function pgAvailable(): Promise<boolean> {
  try {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const pgSchema = `lt_bench_search_${process.pid}`;
const cases: StoreCase[] = [
  { name: 'MemoryStore', reopen: false, open: async () => new MemoryStore() },
  { name: 'FileStore', open: async () => new FileStore({ dir: join(base, 'file') }) },
  { name: 'SqliteStore', open: async () => new SqliteStore({ path: join(base, 'db.sqlite') }) },
];
if (await pgAvailable())
  cases.push({
    name: 'PostgresStore',
    open: async () => new PostgresStore({ url: PG_URL, schema: pgSchema }),
    done: async () => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
      await c.end();
    },
  });

/** The first page of `q` without any index: read every trace, tokenize, filter, sort. */
async function bruteForce(store: TraceStore, ids: readonly string[], q: string): Promise<string[]> {
  const terms = [...new Set(tokenize(q))];
  const hits: TraceInfo[] = [];
  for (const id of ids) {
    const words = batchTokens(await store.read(id));
    if (terms.every((t) => words.has(t))) hits.push((await store.info(id))!);
  }
  hits.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
  return hits.slice(0, 50).map((i) => i.id);
}

interface SearchRow {
  name: string;
  indexed: number;
  brute: number;
  hits: number;
}

async function searchRow(c: StoreCase, q: string): Promise<SearchRow> {
  const t0 = Date.now();
  let store = await c.open();
  const ids: string[] = [];
  for (let i = 0; i < TRACES; i += 50) {
    const batch = Array.from({ length: Math.min(50, TRACES - i) }, (_, k) => traceOf(i + k, t0));
    await Promise.all(batch.map((t) => store.append(t.id, t.events, t.info)));
    for (const t of batch) ids.push(t.id);
  }
  if (c.reopen !== false) {
    await store.close();
    store = await c.open(); // a store opened afresh, as a server would
  }
  const first = await store.list({ q, limit: 50 }); // loads what the store loads once
  const want = await bruteForce(store, ids, q);
  const got = first.traces.map((t) => t.id);
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${c.name}: the indexed page differs from the brute-force one`);
  const indexed = await timeMs(() => store.list({ q, limit: 50 }), sized(21, 3));
  const brute = await timeMs(() => bruteForce(store, ids, q), sized(3, 1));
  await store.close();
  await c.done?.();
  return { name: c.name, indexed, brute, hits: got.length };
}

/** The file-store bench workload, with or without the search index: steps/s. */
async function writeRate(search: boolean, text: boolean): Promise<number> {
  const dir = join(base, `w${Math.random().toString(36).slice(2)}`);
  const tracer = new Tracer({ store: new FileStore({ dir, durability: 'batch', search }), exitHook: false });
  const t = await tracer.create();
  const t0 = process.hrtime.bigint();
  if (text) {
    for (let i = 0; i < STEPS; i++) {
      const node = t.add({ prompt: 'Summarise the quarterly report for the Paris office, please' }, { label: 'step' });
      node.info('calling the model with 12 messages');
      node.complete({ answer: 'Revenue grew 12% while costs stayed flat; the office hired four engineers.' });
    }
  } else recordSteps(t, STEPS);
  t.markComplete();
  await t.flush();
  const rate = STEPS / (Number(process.hrtime.bigint() - t0) / 1e9);
  await t.release();
  await tracer.close();
  rmSync(dir, { recursive: true, force: true });
  // Settle the file system (the dirty pages and the deletions of this run) before the next
  // one: otherwise whichever configuration runs next pays for this one's writeback.
  execFileSync('sync');
  return rate;
}

const only = process.env['LIVETRACE_BENCH_SEARCH_ONLY'];
try {
  // A word of middling frequency, so the page is full and the scan cannot stop early.
  const q = VOCAB[40]!;
  const rows: SearchRow[] = [];
  for (const c of cases) if (only !== 'write') rows.push(await searchRow(c, q));

  const runs: Record<string, () => Promise<number>> = {
    plainIndexed: () => writeRate(true, false),
    plainBare: () => writeRate(false, false),
    textIndexed: () => writeRate(true, true),
    textBare: () => writeRate(false, true),
  };
  const all: Record<string, number[]> = {};
  for (const [k, run] of Object.entries(runs)) {
    await run(); // warm-up
    all[k] = [];
  }
  // Every other round runs the configurations in reverse, so no one is always first after a GC.
  for (let r = 0; r < WRITE_ROUNDS; r++)
    for (const [k, run] of roundOrder(Object.entries(runs), r)) {
      (globalThis as { gc?: () => void }).gc?.();
      all[k]!.push(await run());
    }
  const w = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)])) as Record<string, number>;

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; ${TRACES.toLocaleString('en-US')} traces of 4 nodes (about 150 words each), q=${q}\n`,
  );
  console.log(
    '| store | first page of q (index) | brute-force scan of the same traces | speed-up | hits on the page |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.indexed.toFixed(2)} ms | ${r.brute.toFixed(0)} ms | **${(r.brute / r.indexed).toFixed(0)}x** | ${r.hits} |`,
    );
  console.log('');
  const cost = (a: number, b: number): string => `${(((b - a) / b) * 100).toFixed(1)}%`;
  console.log(
    '| file store write path | steps/s with the search index | steps/s with search: false | cost of the index |',
  );
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| file-store bench workload (add + log + complete) | ${fmt(w['plainIndexed']!)} | ${fmt(w['plainBare']!)} | **${cost(w['plainIndexed']!, w['plainBare']!)}** |`,
  );
  console.log(
    `| text-heavy steps (input and output sentences) | ${fmt(w['textIndexed']!)} | ${fmt(w['textBare']!)} | ${cost(w['textIndexed']!, w['textBare']!)} |`,
  );
  console.log('');
  const slowest = Math.min(...rows.map((r) => r.brute / r.indexed));
  const writeCost = (w['plainBare']! - w['plainIndexed']!) / w['plainBare']!;
  console.log(
    `goal: first page of a text query >= 20x faster than a brute-force scan in every store: ${slowest >= 20 ? 'met' : 'NOT met'} (slowest ${slowest.toFixed(0)}x); search index write-path cost on the file-store bench < 10%: ${writeCost < 0.1 ? 'met' : 'NOT met'} (${(writeCost * 100).toFixed(1)}%)`,
  );
} finally {
  rmSync(base, { recursive: true, force: true });
}
