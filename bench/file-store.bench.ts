// File store benchmark, side by side in one run:
//  1. livetrace + FileStore (durability "batch") steps/s, one step = add + one log +
//     complete (3 events), time including the final trace.flush();
//  2. the raw limit: the same 3 events per step built as plain objects, JSON.stringify'ed
//     and written with one fs.writeSync per batch of the same size (2000 events);
//  3. OpenTelemetry JS: BasicTracerProvider + InMemorySpanExporter behind a
//     SimpleSpanProcessor and behind a BatchSpanProcessor (startSpan + addEvent + end);
//  4. list() first page (50) over 10,000 stored traces, cold (new store) and warm;
//  5. loading a 10,000-event trace (tracer.load: read + reducer), plain and archived.
// Each rate is the median of several rounds; the rounds of the configurations are
// interleaved so that the load of a shared machine weighs on all of them alike, each
// configuration's run in a process of its own (support/isolated.ts).
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '../src/core/ids.js';
import type { TraceEvent } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { makeEvents, makeInfo } from '../src/testing/store-conformance.js';
import { Tracer } from '../src/tracer/tracer.js';
import { median, otelSteps, recordSteps, sized, timeMs } from './support/measure.js';
import { childConfig, isolatedRounds, measureInChild } from './support/isolated.js';

const N = sized(100_000, 300);
const ROUNDS = sized(5, 1);
const BATCH = sized(2000, 50);
const base = mkdtempSync(join(tmpdir(), 'lt-bench-'));
let dirNo = 0;
const freshDir = (): string => join(base, `d${dirNo++}`);

/**
 * Rounds of every configuration, each run in a process of its own (support/isolated.ts),
 * so that a change of machine load hits all alike and no configuration measures another's
 * heap. Medians of the rounds.
 */
async function rates(names: readonly string[]): Promise<Record<string, number>> {
  const all = await isolatedRounds(import.meta.url, names, ROUNDS);
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)]));
}

/** Folders written by timed runs are deleted outside the timing. */
const toDelete: string[] = [];
function cleanup(): void {
  for (const d of toDelete.splice(0)) rmSync(d, { recursive: true, force: true });
}

async function livetrace(kind: 'file' | 'memory'): Promise<void> {
  const dir = freshDir();
  toDelete.push(dir);
  const tracer = new Tracer({
    store: kind === 'file' ? new FileStore({ dir, durability: 'batch' }) : new MemoryStore(),
    exitHook: false,
  });
  const t = await tracer.create();
  recordSteps(t, N);
  t.markComplete();
  await t.flush();
  const stored = (await tracer.store.info(t.id))?.last_seq;
  if (stored !== t.lastSeq) throw new Error(`stored ${stored} of ${t.lastSeq} events`);
  await t.release();
  await tracer.close();
}

// The same events livetrace records for a step, built without any bookkeeping.
async function rawLimit(): Promise<void> {
  const dir = freshDir();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  toDelete.push(dir);
  const fd = openSync(join(dir, 'events.jsonl'), 'a', 0o600);
  const traceId = 'raw';
  let seq = 0;
  let batch: TraceEvent[] = [];
  const push = (ev: TraceEvent): void => {
    batch.push(ev);
    if (batch.length === BATCH) flush();
  };
  const flush = (): void => {
    let s = '';
    for (const ev of batch) s += JSON.stringify(ev) + '\n';
    writeSync(fd, s);
    batch = [];
  };
  let prev: string[] = [];
  for (let i = 0; i < N; i++) {
    const now = Date.now();
    const id = newId();
    push({
      seq: ++seq,
      type: 'node_start',
      trace_id: traceId,
      node_id: id,
      timestamp: now,
      data: {
        node: {
          id,
          parent_ids: prev,
          children: [],
          label: 'step',
          metadata: {},
          status: 'running',
          created_at: now,
          start_time: now,
          updated_at: now,
        },
        cursor: [id],
      },
    });
    push({
      seq: ++seq,
      type: 'log_added',
      trace_id: traceId,
      node_id: id,
      timestamp: now,
      data: { node_id: id, level: 'info', message: 'log line', timestamp: now },
    });
    push({
      seq: ++seq,
      type: 'node_complete',
      trace_id: traceId,
      node_id: id,
      timestamp: now,
      data: { node_id: id, status: 'success', end_time: now, duration: 0 },
    });
    prev = [id];
  }
  flush();
  closeSync(fd);
}

async function listing(): Promise<{ cold: number; warm: number; filtered: number; build: number }> {
  const dir = freshDir();
  const writer = new FileStore({ dir });
  const t0 = Date.now();
  const T = sized(10_000, 100);
  const started = process.hrtime.bigint();
  for (let i = 0; i < T; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) => {
        const n = i + k;
        const id = n % 2 ? `user-${n}` : `20260101${String(n).padStart(12, '0')}`;
        return writer.append(
          id,
          makeEvents(id, 1, 3),
          makeInfo(id, { created_at: t0 + n, status: n % 3 ? 'completed' : 'running', tenant_id: `t${n % 20}` }),
        );
      }),
    );
  }
  const build = Number(process.hrtime.bigint() - started) / 1e6;
  await writer.close();
  let store!: FileStore;
  const cold = await timeMs(async () => {
    store = new FileStore({ dir });
    const page = await store.list();
    if (page.traces.length !== 50) throw new Error('short page');
  }, 5);
  const warm = await timeMs(() => store.list(), 21);
  const filtered = await timeMs(() => store.list({ tenantId: 't7', status: 'completed' }), 21);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { cold, warm, filtered, build };
}

async function loading(): Promise<{ plain: number; archived: number; events: number }> {
  const dir = freshDir();
  const w = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  const t = await w.create({ id: 'big' });
  while (t.lastSeq < sized(9_999, 99) - 3) {
    const n = t.add({ i: t.lastSeq }, { label: 'step' });
    n.info('log line', { i: t.lastSeq });
    n.complete({ ok: true });
  }
  t.markComplete();
  const events = t.lastSeq;
  await t.release();
  await w.close();
  const load = async (): Promise<void> => {
    const r = new Tracer({ store: new FileStore({ dir }), exitHook: false });
    const x = await r.load('big');
    if (x.lastSeq !== events) throw new Error('short load');
    await r.close();
  };
  const plain = await timeMs(load, 7);
  const a = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  await a.archive('big');
  await a.close();
  const archived = await timeMs(load, 7);
  rmSync(dir, { recursive: true, force: true });
  return { plain, archived, events };
}

const runs: Record<string, () => Promise<void>> = {
  otelSimple: () => otelSteps(N, 'simple'),
  otelBatch: () => otelSteps(N, 'batch', 'memory', BATCH),
  raw: rawLimit,
  lt: () => livetrace('file'),
  ltMemory: () => livetrace('memory'),
};
const config = childConfig();
if (config !== undefined) {
  process.on('exit', () => rmSync(base, { recursive: true, force: true }));
  await measureInChild(runs[config]!, N, { warmups: sized(1, 0), between: cleanup });
} else await main();

async function main(): Promise<void> {
  try {
    const r = await rates(Object.keys(runs));
    const { otelSimple, otelBatch, raw, lt, ltMemory } = r as Record<
      'otelSimple' | 'otelBatch' | 'raw' | 'lt' | 'ltMemory',
      number
    >;
    const list = await listing();
    const load = await loading();
    const faster = Math.max(otelSimple, otelBatch);

    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    const ms = (n: number): string => `${n.toFixed(1)} ms`;
    console.log(
      `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; ${N.toLocaleString('en-US')} steps (3 events each) per round, median of ${ROUNDS} rounds, each configuration in a process of its own after a warm-up\n`,
    );
    console.log('| configuration | steps/s | events/s | vs raw limit | vs faster OTel |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    const row = (name: string, r: number, events = true): void =>
      console.log(
        `| ${name} | ${fmt(r)} | ${events ? fmt(r * 3) : '-'} | ${(r / raw).toFixed(2)}x | ${(r / faster).toFixed(2)}x |`,
      );
    row('raw limit: JSON.stringify + one fs.writeSync per 2000 events', raw);
    row('OpenTelemetry SimpleSpanProcessor + InMemorySpanExporter', otelSimple, false);
    row('OpenTelemetry BatchSpanProcessor + InMemorySpanExporter', otelBatch, false);
    row('livetrace + MemoryStore (the core alone, for reference)', ltMemory);
    console.log(
      `| **livetrace + FileStore (batch)** | **${fmt(lt)}** | **${fmt(lt * 3)}** | **${(lt / raw).toFixed(2)}x** | **${(lt / faster).toFixed(2)}x** |`,
    );
    console.log('');
    console.log('| file store operation | time |');
    console.log('| --- | ---: |');
    console.log(`| list() first page (50) over 10,000 traces, new store (reads the index) | ${ms(list.cold)} |`);
    console.log(`| list() first page (50) over 10,000 traces, warm | ${ms(list.warm)} |`);
    console.log(`| list({ tenantId, status }) first page over 10,000 traces, warm | ${ms(list.filtered)} |`);
    console.log(`| load a ${fmt(load.events)}-event trace (read + reducer) | ${ms(load.plain)} |`);
    console.log(`| load the same trace archived (gunzip + read + reducer) | ${ms(load.archived)} |`);
    console.log(`| (setup: 10,000 traces appended, 50 at a time) | ${ms(list.build)} |`);
    console.log('');
    console.log(
      `goal: livetrace + FileStore >= 0.5x the raw limit: ${lt >= 0.5 * raw ? 'met' : 'NOT met'}; >= 0.5x the faster OpenTelemetry configuration: ${lt >= 0.5 * faster ? 'met' : 'NOT met'}`,
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
