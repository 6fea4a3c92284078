// Several servers: two real `livetrace serve` processes (the CLI) on one PostgreSQL store and
// one Redis hub. One trace's OTLP spans (the official exporter-trace-otlp-proto, in another
// process) and HTTP write batches go alternately to both instances; the instance that does
// not hold the trace forwards them to the one that does. Then the holder is SIGKILLed
// mid-trace: the other takes the trace over once the lease expired, with everything that
// was acknowledged (spans waiting for their parent included), and adopts a trace of the
// dead instance that receives nothing more.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TraceEvent, TraceSnapshot } from '../src/core/types.js';
import { Proc, sse, type SseClient } from './fixtures/processes.js';
import { dropSchema, pgExec, pgSkip, PG_URL, redisSkip, REDIS_URL, uniqueName } from './fixtures/services.js';

const skip = (await pgSkip()) || (await redisSkip());
const TOKEN = 'two-instances-writer-token';
const LEASE_TTL_MS = 1500;

interface Instance {
  proc: Proc;
  origin: string;
}

function serve(dir: string, schema: string, prefix: string): Instance & { ready: Promise<void> } {
  const proc = new Proc('../../../bin/livetrace.js', [
    'serve',
    '--port',
    '0',
    '--store',
    `${PG_URL}?schema=${schema}&leaseTtlMs=${LEASE_TTL_MS}`,
    '--hub',
    `${REDIS_URL}?prefix=${prefix}`,
    '--tokens',
    join(dir, 'tokens.json'),
    '--otlp-quiet-ms',
    '2000',
  ]);
  const inst = { proc, origin: '' };
  const ready = proc.line(/^(http:\/\/\S+?)\/?$/).then((m) => {
    inst.origin = m[1]!;
  });
  return Object.assign(inst, { ready });
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function ops(
  inst: Instance,
  traceId: string,
  list: unknown[],
  key?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${inst.origin}/v1/trace/traces/${traceId}/ops`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ ops: list }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get<T>(inst: Instance, path: string): Promise<T> {
  const res = await fetch(`${inst.origin}/v1/trace${path}`, { headers: auth });
  assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
  return (await res.json()) as T;
}

function follow(inst: Instance, traceId: string): SseClient {
  return sse(`${inst.origin}/v1/trace/traces/${traceId}/events?stream=true&access_token=${TOKEN}`);
}

/** The workload process: starts spans, ends them with an export to instance a or b. */
class Workload {
  readonly proc: Proc;
  constructor(a: Instance, b: Instance) {
    this.proc = new Proc('./otlp-two-targets.js', [`${a.origin}/v1/traces`, `${b.origin}/v1/traces`, TOKEN]);
  }
  async start(name: string, parent?: string): Promise<{ traceId: string; spanId: string }> {
    this.proc.child.stdin!.write(JSON.stringify({ start: name, ...(parent ? { parent } : {}) }) + '\n');
    const m = await this.proc.line(new RegExp(`^started ${name} ([0-9a-f]{32}) ([0-9a-f]{16})$`));
    return { traceId: m[1]!, spanId: m[2]! };
  }
  /** Ends span `name` and exports it to `to`; resolves with the exporter's result (0: success). */
  async end(name: string, to: 'a' | 'b'): Promise<string> {
    this.proc.child.stdin!.write(JSON.stringify({ end: name, to }) + '\n');
    const m = await this.proc.line(new RegExp(`^exported ${name} (\\d+)(.*)$`), 30_000);
    return m[1]! + m[2]!;
  }
  async stop(): Promise<void> {
    this.proc.child.stdin!.end();
    await this.proc.exited;
  }
}

function assertGapless(events: TraceEvent[]): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'seqs 1..n, no gap, no duplicate',
  );
}

describe('two livetrace serve processes on one PostgreSQL store and one Redis hub', { skip }, () => {
  const schema = uniqueName('lt_two');
  const prefix = uniqueName('lt_two');
  let dir: string;
  let a: Instance & { ready: Promise<void> };
  let b: Instance & { ready: Promise<void> };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-two-'));
    await writeFile(
      join(dir, 'tokens.json'),
      JSON.stringify([{ token: TOKEN, tenantId: 'acme', scopes: ['read', 'write'] }]),
    );
    // One after the other: the first creates the schema.
    a = serve(dir, schema, prefix);
    await a.ready;
    b = serve(dir, schema, prefix);
    await b.ready;
  });

  after(async () => {
    await Promise.all([a?.proc.stop(), b?.proc.stop()]);
    if (!skip) await dropSchema(schema);
    await rm(dir, { recursive: true, force: true });
  });

  it('OTLP spans and HTTP ops of one trace, alternating between the instances, form one gapless trace', async () => {
    const w = new Workload(a, b);
    try {
      const root = await w.start('root');
      const t = root.traceId;
      await w.start('s1', 'root');
      await w.start('s1a', 's1');
      await w.start('s2', 'root');
      // s1a ends first, on A: A creates the trace and holds it; s1a waits for its parent.
      assert.equal(await w.end('s1a', 'a'), '0');
      const sseA = follow(a, t);
      const sseB = follow(b, t);

      const first = [
        { op: 'space_create', space: 'notes', label: 'notes' },
        { op: 'space_set', space: 'notes', key: 'k1', value: 1 },
      ];
      const r1 = await ops(b, t, first, 'batch-1'); // B forwards to A
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.equal(await w.end('s1', 'b'), '0'); // B forwards the span to A
      const r2 = await ops(a, t, [
        { op: 'space_set', space: 'notes', key: 'k2', value: 2 },
        { op: 'log', level: 'info', message: 'from A' },
      ]);
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assert.equal(await w.end('s2', 'a'), '0');
      const r3 = await ops(b, t, [{ op: 'space_set', space: 'notes', key: 'k3', value: 3 }], 'batch-3');
      assert.equal(r3.status, 200, JSON.stringify(r3.body));

      // A retried batch reaching the other instance applies nothing and answers the same.
      const again = await ops(a, t, first, 'batch-1');
      assert.deepEqual(again, r1);
      const again3 = await ops(a, t, [{ op: 'space_set', space: 'notes', key: 'k3', value: 3 }], 'batch-3');
      assert.deepEqual(again3, r3);
      // The same key for another batch: refused.
      assert.equal((await ops(b, t, [{ op: 'mark_complete' }], 'batch-1')).status, 422);

      assert.equal(await w.end('root', 'b'), '0');
      await Promise.all([sseA.done, sseB.done]);

      // The live streams end at `complete`, which the holder emits and then stores as it
      // releases the trace: B reads the store, so wait (bounded) for the end to be there.
      let events: TraceEvent[] = [];
      for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 50))) {
        ({ events } = await get<{ events: TraceEvent[] }>(b, `/traces/${t}/events?limit=10000`));
        if (events.at(-1)?.type === 'complete' || Date.now() > deadline) break;
      }
      assertGapless(events);
      assert.deepEqual(sseA.events, events, 'SSE from A: the whole log, to [DONE]');
      assert.deepEqual(sseB.events, events, 'SSE from B: the whole log, to [DONE]');
      const snap = await get<TraceSnapshot>(a, `/traces/${t}`);
      assert.equal(snap.info.status, 'completed');
      assert.equal(snap.info.tenant_id, 'acme');
      const bySpan = new Map(snap.nodes.map((n) => [String(n.metadata?.['otel.span_id']), n]));
      const node = (name: string) => snap.nodes.find((n) => n.label === name)!;
      assert.deepEqual(snap.nodes.map((n) => n.label).sort(), ['root', 's1', 's1a', 's2']);
      assert.equal(bySpan.size, 4);
      assert.deepEqual(node('root').parent_ids, []);
      assert.deepEqual(node('s1').parent_ids, [node('root').id]);
      assert.deepEqual(node('s1a').parent_ids, [node('s1').id]);
      assert.deepEqual(node('s2').parent_ids, [node('root').id]);
      const sets = events.filter((e) => e.type === 'memory_add');
      assert.deepEqual(
        sets.map((e) => (e.data as { item: { id: string } }).item.id),
        ['k1', 'k2', 'k3'],
        'every space_set once, in order',
      );
      assert.equal(events.filter((e) => e.type === 'space_created').length, 1);
      assert.equal(snap.logs.filter((l) => l.message === 'from A').length, 1);
      // The seqs each answer named are where its events are in the log.
      const res1 = (r1.body['results'] as { first_seq: number; last_seq: number }[])[1]!;
      assert.equal(events[res1.first_seq - 1]!.type, 'memory_add');
      // One writer lease at a time, and none left once the trace completed.
      const leases = await pgExec(`SELECT * FROM "${schema}".leases WHERE trace_id = $1`, [t]);
      assert.equal(leases.length, 0);
    } finally {
      await w.stop();
    }
  });

  it('the holder SIGKILLed mid-trace: the other instance takes over after the lease expired, nothing acknowledged is lost', async () => {
    const w = new Workload(a, b);
    try {
      const root = await w.start('root2');
      const t = root.traceId;
      await w.start('c1', 'root2');
      await w.start('c1x', 'c1');
      await w.start('c2', 'root2');
      // A takes the trace; c1x waits there for c1 (acknowledged, not yet a node).
      assert.equal(await w.end('c1x', 'a'), '0');
      const k1 = [
        { op: 'space_create', space: 'work' },
        { op: 'space_set', space: 'work', key: 'before-kill-a', value: 1 },
      ];
      const r1 = await ops(a, t, k1, 'kill-1');
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      const r2 = await ops(b, t, [{ op: 'space_set', space: 'work', key: 'before-kill-b', value: 2 }], 'kill-2');
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assert.equal(await w.end('c2', 'b'), '0');
      const sseB = follow(b, t);
      // Another trace whose last span (its root) reached A just before A dies: nothing more
      // will arrive for it. o-wait waits for a parent that never comes.
      const o = (await w.start('o-root')).traceId;
      await w.start('o-child', 'o-root');
      const ghost = await w.start('ghost', 'o-root');
      await w.start('o-wait', 'ghost');
      assert.equal(await w.end('o-wait', 'a'), '0');
      assert.equal(await w.end('o-child', 'a'), '0');
      assert.equal(await w.end('o-root', 'a'), '0');
      const sseO = follow(b, o);

      await a.proc.stop('SIGKILL');

      // A retry of a batch A acknowledged, now on B: the shared answer, nothing applied.
      assert.deepEqual(await ops(b, t, k1, 'kill-1'), r1);
      // c1 reaches B: B waits for A's lease to expire, loads the trace with c1x, attaches both.
      assert.equal(await w.end('c1', 'b'), '0');
      const r3 = await ops(b, t, [{ op: 'space_set', space: 'work', key: 'after-kill', value: 3 }], 'kill-3');
      assert.equal(r3.status, 200, JSON.stringify(r3.body));
      assert.equal(await w.end('root2', 'b'), '0');
      await sseB.done;

      const { events } = await get<{ events: TraceEvent[] }>(b, `/traces/${t}/events?limit=10000`);
      assertGapless(events);
      assert.deepEqual(sseB.events, events);
      const snap = await get<TraceSnapshot>(b, `/traces/${t}`);
      assert.equal(snap.info.status, 'completed');
      const node = (name: string) => snap.nodes.find((n) => n.label === name)!;
      assert.deepEqual(snap.nodes.map((n) => n.label).sort(), ['c1', 'c1x', 'c2', 'root2']);
      assert.deepEqual(node('c1').parent_ids, [node('root2').id]);
      assert.deepEqual(node('c1x').parent_ids, [node('c1').id], 'the span that waited on A attached under c1');
      assert.deepEqual(node('c2').parent_ids, [node('root2').id]);
      assert.deepEqual(
        events.filter((e) => e.type === 'memory_add').map((e) => (e.data as { item: { id: string } }).item.id),
        ['before-kill-a', 'before-kill-b', 'after-kill'],
      );

      // The orphan: B adopts it once A's lease expired (nothing else writes it) and completes it.
      await sseO.done;
      const orphan = await get<{ events: TraceEvent[] }>(b, `/traces/${o}/events?limit=10000`);
      assertGapless(orphan.events);
      assert.deepEqual(sseO.events, orphan.events);
      const os = await get<TraceSnapshot>(b, `/traces/${o}`);
      assert.equal(os.info.status, 'completed');
      const on = (name: string) => os.nodes.find((n) => n.label === name)!;
      assert.deepEqual(os.nodes.map((n) => n.label).sort(), ['o-child', 'o-root', 'o-wait']);
      assert.deepEqual(on('o-child').parent_ids, [on('o-root').id]);
      // Its parent never arrived: attached under the root at completion, real parent kept.
      assert.deepEqual(on('o-wait').parent_ids, [on('o-root').id]);
      assert.equal(on('o-wait').metadata?.['otel.parent_span_id'], ghost.spanId);
      // No lease left behind: both traces completed and were released by B.
      const leases = await pgExec(`SELECT * FROM "${schema}".leases WHERE trace_id = ANY($1)`, [[t, o]]);
      assert.deepEqual(leases, []);
    } finally {
      await w.stop();
    }
  });
});
