// Scale-out benchmark, side by side in one run:
//  1. events/s written through a Tracer into the SQLite and PostgreSQL stores against the
//     file store (durability "batch") and the memory store: 4 traces written concurrently,
//     one step = add + one log + complete (3 events), time including the final flush;
//  2. publish-to-receive latency p50/p99 of live events: a writer in another process
//     through Redis (RedisHub, shared SQLite file as the store) against the in-process
//     LocalHub, one event every 2 ms (a paced stream, not a saturating one).
// Absent services (PostgreSQL, Redis) are skipped with a note. Rates are medians of
// interleaved rounds so the load of a shared machine weighs on every configuration alike.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TraceStore } from '../src/store/store.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { RedisHub } from '../src/hub/redis-hub.js';
import { Tracer } from '../src/tracer/tracer.js';
import { median, sized } from './support/measure.js';

const PG_URL = process.env['LIVETRACE_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['LIVETRACE_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';
const STEPS = sized(20_000, 100); // x3 events
const TRACES = 4;
const ROUNDS = sized(3, 1);
const LAT_EVENTS = sized(1500, 40);
/** The first events are the warm-up of the path (connections, JIT): not counted. */
const LAT_WARMUP = sized(100, 10);
const LAT_INTERVAL_MS = 2;

const base = mkdtempSync(join(tmpdir(), 'lt-scale-'));
let n = 0;
const schema = `lt_bench_${process.pid}_${Date.now().toString(36)}`;
const prefix = schema;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

async function reachable(kind: 'pg' | 'redis'): Promise<string | undefined> {
  try {
    if (kind === 'pg') {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
      c.on('error', () => undefined);
      await c.connect();
      await c.end();
    } else {
      const { Redis } = await import('ioredis');
      const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      await r.connect();
      r.disconnect();
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function writeThrough(makeStore: () => TraceStore): Promise<number> {
  const store = makeStore();
  const tracer = new Tracer({ store, exitHook: false });
  const traces = await Promise.all(Array.from({ length: TRACES }, () => tracer.create({ tenantId: 'bench' })));
  const t0 = process.hrtime.bigint();
  const per = STEPS / TRACES;
  for (let i = 0; i < per; i++) {
    for (const t of traces) {
      const node = t.add(undefined, { label: 'step' });
      node.info('log line', { i });
      node.complete();
    }
  }
  await Promise.all(traces.map((t) => t.flush()));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const events = traces.reduce((a, t) => a + t.events().length, 0);
  await tracer.close();
  return events / secs;
}

async function storeRates(): Promise<void> {
  const pgSkip = await reachable('pg');
  const configs: Record<string, () => TraceStore> = {
    'MemoryStore (reference)': () => new MemoryStore(),
    'FileStore (durability batch)': () => new FileStore({ dir: join(base, `f${n++}`), durability: 'batch' }),
    'SqliteStore (WAL)': () => new SqliteStore({ path: join(base, `s${n++}.db`) }),
  };
  if (!pgSkip) configs['PostgresStore'] = () => new PostgresStore({ url: PG_URL, schema });
  const all: Record<string, number[]> = {};
  for (const [name, make] of Object.entries(configs)) {
    await writeThrough(make); // warm-up (and schema creation)
    all[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, make] of Object.entries(configs)) {
      (globalThis as { gc?: () => void }).gc?.();
      all[name]!.push(await writeThrough(make));
    }
  }
  const file = median(all['FileStore (durability batch)']!);
  console.log(
    `### Events/s written through a Tracer (${TRACES} concurrent traces, ${STEPS * 3} events, incl. final flush; median of ${ROUNDS})\n`,
  );
  console.log('| store | events/s | vs FileStore |');
  console.log('| --- | ---: | ---: |');
  for (const [name, xs] of Object.entries(all)) {
    const v = median(xs);
    console.log(`| ${name} | ${Math.round(v).toLocaleString('en-US')} | ${(v / file).toFixed(2)}x |`);
  }
  if (pgSkip) console.log(`| PostgresStore | skipped: ${pgSkip} | |`);
  console.log('');
}

async function localLatency(): Promise<number[]> {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const trace = await tracer.create();
  const node = trace.add('paced');
  const lat: number[] = [];
  const now = (): number => performance.timeOrigin + performance.now();
  const reading = (async () => {
    for await (const ev of trace.subscribe({ since: trace.events().length })) {
      const t = (ev.data as { data?: { t?: number } }).data?.t;
      if (ev.type === 'log_added' && typeof t === 'number') lat.push(now() - t);
    }
  })();
  for (let i = 0; i < LAT_EVENTS; i++) {
    node.info('tick', { t: now(), i });
    await new Promise((r) => setTimeout(r, LAT_INTERVAL_MS));
  }
  trace.markComplete();
  await reading;
  await tracer.close();
  return lat.slice(LAT_WARMUP);
}

async function redisLatency(): Promise<number[]> {
  const dbPath = join(base, 'latency.db');
  const hub = new RedisHub({ url: REDIS_URL, prefix });
  const tracer = new Tracer({ store: new SqliteStore({ path: dbPath }), hub, exitHook: false });
  const script = fileURLToPath(new URL('./fixtures/paced-writer.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [script, dbPath, REDIS_URL, prefix, String(LAT_EVENTS), String(LAT_INTERVAL_MS)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((r) => child.on('exit', r));
  const id = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^created (\S+)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error('writer exited early')));
  });
  const lat: number[] = [];
  const now = (): number => performance.timeOrigin + performance.now();
  const sub = tracer.subscribe(id);
  const first = sub.next(); // starts the subscription (store read + hub listener)
  child.stdin.write('go\n');
  const reading = (async () => {
    const handle = (ev: { type: string; data: unknown }): void => {
      const t = (ev.data as { data?: { t?: number } }).data?.t;
      if (ev.type === 'log_added' && typeof t === 'number') lat.push(now() - t);
    };
    const r = await first;
    if (!r.done) handle(r.value);
    for await (const ev of sub) handle(ev);
  })();
  await reading;
  await exited;
  await tracer.close();
  return lat.slice(LAT_WARMUP);
}

async function latencies(): Promise<void> {
  const redisSkip = await reachable('redis');
  console.log(
    `### Publish-to-receive latency of live events (one event every ${LAT_INTERVAL_MS} ms, ${LAT_EVENTS} events, first ${LAT_WARMUP} dropped)\n`,
  );
  console.log('| path | p50 ms | p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: |');
  const local = await localLatency();
  console.log(
    `| LocalHub, same process | ${pct(local, 50).toFixed(3)} | ${pct(local, 99).toFixed(3)} | ${Math.max(...local).toFixed(3)} |`,
  );
  if (redisSkip) {
    console.log(`| RedisHub, other process | skipped: ${redisSkip} | | |`);
  } else {
    const redis = await redisLatency();
    console.log(
      `| RedisHub, writer in another process | ${pct(redis, 50).toFixed(3)} | ${pct(redis, 99).toFixed(3)} | ${Math.max(...redis).toFixed(3)} |`,
    );
    if (redis.length < LAT_EVENTS - LAT_WARMUP)
      console.log(`\n(received ${redis.length} of ${LAT_EVENTS - LAT_WARMUP} stamped events live)`);
  }
  console.log('');
}

async function cleanupServices(): Promise<void> {
  if (!(await reachable('pg'))) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: PG_URL });
    c.on('error', () => undefined);
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
  if (!(await reachable('redis'))) {
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL, { protocol: 2 });
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
}

console.log(`node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}\n`);
try {
  await storeRates();
  await latencies();
} finally {
  await cleanupServices().catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
}
