import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { TraceEvent } from '../src/core/types.js';
import { RedisHub } from '../src/hub/redis-hub.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { TraceStore } from '../src/store/store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { REDIS_URL, redisSkip, uniqueName } from './fixtures/services.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const skip = await redisSkip();
if (skip) console.log(`# skipping Redis hub tests: ${skip}`);
const prefix = uniqueName('lt_test');

async function admin(): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { protocol: 2 });
  r.on('error', () => undefined);
  return r;
}

/** Kills this hub's connections the way a Redis restart would. */
async function killConnections(hub: RedisHub): Promise<number> {
  const r = await admin();
  try {
    const list = (await r.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((l) => l.includes(` name=${hub.connectionName} `))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
    for (const id of ids) await r.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    r.disconnect();
  }
}

async function connectionCount(name: string): Promise<number> {
  const r = await admin();
  try {
    return ((await r.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${name} `)).length;
  } finally {
    r.disconnect();
  }
}

/** Everything a test opened, closed even when an assertion fails (close() is idempotent). */
const open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}

after(async () => {
  for (const x of open.reverse()) await x.close().catch(() => undefined);
  if (skip) return;
  const r = await admin();
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

function collect(iter: AsyncIterable<TraceEvent>): Promise<TraceEvent[]> {
  return (async () => {
    const out: TraceEvent[] = [];
    for await (const ev of iter) out.push(ev);
    return out;
  })();
}

function assertGapless(events: readonly TraceEvent[], total: number): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: total }, (_, i) => i + 1),
  );
}

describe('RedisHub', { skip }, () => {
  it('carries a trace written by one tracer to a subscriber of another, in order, batched per tick', async () => {
    const store = new MemoryStore(); // stands for the shared database
    const hubA = track(new RedisHub({ url: REDIS_URL, prefix }));
    const hubB = track(new RedisHub({ url: REDIS_URL, prefix }));
    const writer = track(new Tracer({ store, hub: hubA, exitHook: false }));
    const reader = track(new Tracer({ store, hub: hubB, exitHook: false }));
    const t = await writer.create({ id: uniqueName('x') });
    await t.flush();
    const got = collect(reader.subscribe(t.id));
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) t.info(`r${round} l${i}`);
      t.add({ round });
      await new Promise((r) => setImmediate(r));
    }
    t.markComplete();
    const events = await got;
    assertGapless(events, t.events().length);
    assert.deepEqual(events, t.events());
    const r = await admin();
    const xlen = await r.xlen(`${prefix}:${t.id}`);
    r.disconnect();
    assert.ok(xlen <= 30, `one stream entry per trace per tick, got ${xlen} for ${t.events().length} events`);
    await t.release();
    assert.equal(hubB.size, 0, 'the subscription removed its listener');
    await writer.close();
    await reader.close();
    await hubA.close();
    await hubB.close();
    assert.equal(await connectionCount(hubA.connectionName), 0);
    assert.equal(await connectionCount(hubB.connectionName), 0);
  });

  it('resumes after its connections are killed mid-stream, with no gap and no duplicate', async () => {
    const store = new MemoryStore();
    const errors: Error[] = [];
    const hubA = track(new RedisHub({ url: REDIS_URL, prefix, onError: (e) => errors.push(e) }));
    const hubB = track(new RedisHub({ url: REDIS_URL, prefix, onError: (e) => errors.push(e) }));
    const writer = track(new Tracer({ store, hub: hubA, exitHook: false }));
    const reader = track(new Tracer({ store, hub: hubB, exitHook: false }));
    const t = await writer.create({ id: uniqueName('k') });
    await t.flush();
    const seen: TraceEvent[] = [];
    let waiting: { seq: number; resolve: () => void } | undefined;
    const reached = (seq: number): Promise<void> =>
      seen.length >= seq ? Promise.resolve() : new Promise((resolve) => (waiting = { seq, resolve }));
    const done = (async () => {
      for await (const ev of reader.subscribe(t.id)) {
        seen.push(ev);
        if (waiting && ev.seq >= waiting.seq) waiting.resolve();
      }
    })();
    let killedAt = 0;
    for (let round = 0; round < 30; round++) {
      t.add({ round }).info('working');
      if (round === 10 || round === 20) {
        // Both hubs are connected and streaming: then cut every connection they have.
        await reached(t.events().length);
        killedAt = seen.length;
        const killed = (await killConnections(hubA)) + (await killConnections(hubB));
        assert.ok(killed >= 3, `killed ${killed} connections`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    t.markComplete();
    await done;
    assert.ok(killedAt > 0, 'events flowed before the kill');
    assertGapless(seen, t.events().length);
    assert.equal(await connectionCount(hubA.connectionName), 2, 'the writer hub reconnected both connections');
    assert.equal(await connectionCount(hubB.connectionName), 2, 'the reader hub reconnected both connections');
    assert.deepEqual(
      errors.filter((e) => !/ECONNRESET|Connection is closed|EPIPE/.test(e.message)),
      [],
    );
    await writer.close();
    await reader.close();
    await hubA.close();
    await hubB.close();
  });

  it('publishes what was written while Redis was unreachable once it is back (a finished trace still ends)', async () => {
    const store = new MemoryStore();
    const target = new URL(REDIS_URL);
    const proxy = track(new TcpProxy(target.hostname, Number(target.port || 6379)));
    const port = await proxy.up();
    const via = new URL(REDIS_URL);
    via.port = String(port);
    const hubA = track(new RedisHub({ url: via.toString(), prefix, onError: () => undefined }));
    const hubB = track(new RedisHub({ url: REDIS_URL, prefix }));
    const writer = track(new Tracer({ store, hub: hubA, exitHook: false }));
    const reader = track(new Tracer({ store, hub: hubB, exitHook: false }));
    const t = await writer.create({ id: uniqueName('d') });
    t.add('first');
    await t.flush();
    const seen: TraceEvent[] = [];
    let resolveFirst!: () => void;
    const first = new Promise<void>((r) => (resolveFirst = r));
    const done = (async () => {
      for await (const ev of reader.subscribe(t.id)) {
        seen.push(ev);
        if (ev.seq === 2) resolveFirst();
      }
    })();
    await first;
    await proxy.down();
    t.add('while down').complete('ok');
    t.markComplete();
    // The store has it, but this subscriber is live (not behind): only the hub can end it.
    await t.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(hubA.pending > 0, 'held in the outbox');
    assert.notEqual(seen[seen.length - 1]?.type, 'complete');
    await proxy.up();
    await done;
    assertGapless(seen, t.events().length);
    assert.equal(seen[seen.length - 1]!.type, 'complete');
    await writer.close();
    await reader.close();
    await hubA.close();
    await hubB.close();
    await proxy.down();
  });

  it('ends a subscriber that joins after the writer published its last event but before the store had it all', async () => {
    const store = new MemoryStore();
    // The reader's view of the database lags: it sees only seq <= gate (a replica, a slow flush).
    let gate = 1;
    const lagging: TraceStore = {
      name: 'lagging',
      read: async (id, o) => (await store.read(id, o)).filter((e) => e.seq <= gate),
      info: (id) => store.info(id),
      list: (q) => store.list(q),
      append: (id, e, i) => store.append(id, e, i),
      remove: (id) => store.remove(id),
      archive: (id) => store.archive(id),
      close: async () => undefined,
    };
    const hubA = track(new RedisHub({ url: REDIS_URL, prefix }));
    const hubB = track(new RedisHub({ url: REDIS_URL, prefix }));
    const writer = track(new Tracer({ store, hub: hubA, exitHook: false }));
    const reader = track(new Tracer({ store: lagging, hub: hubB, exitHook: false }));
    const t = await writer.create({ id: uniqueName('late') });
    for (let i = 0; i < 10; i++) t.add({ i });
    t.markComplete();
    await t.release();
    await hubA.flush(); // every batch, `complete` included, is in Redis: nothing more will be published
    const seen: TraceEvent[] = [];
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => (firstSeen = r));
    const done = (async () => {
      for await (const ev of reader.subscribe(t.id)) {
        seen.push(ev);
        if (ev.seq === 1) firstSeen();
      }
    })();
    await first;
    gate = Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      done,
      new Promise(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`stalled at seq ${seen.length}: the hub never revealed the trace's end`)),
            5000,
          )),
      ),
    ]);
    clearTimeout(timer);
    assertGapless(seen, t.events().length);
  });

  it('reveals a finished trace after a Redis restart lost the stream entries a reader had not read', async () => {
    const store = new MemoryStore();
    const target = new URL(REDIS_URL);
    const proxy = track(new TcpProxy(target.hostname, Number(target.port || 6379)));
    const port = await proxy.up();
    const via = new URL(REDIS_URL);
    via.port = String(port);
    const hubA = track(new RedisHub({ url: REDIS_URL, prefix, onError: () => undefined }));
    const hubB = track(new RedisHub({ url: via.toString(), prefix, onError: () => undefined }));
    const writer = track(new Tracer({ store, hub: hubA, exitHook: false }));
    const reader = track(new Tracer({ store, hub: hubB, exitHook: false }));
    const t = await writer.create({ id: uniqueName('rs') });
    t.add('first');
    await t.flush();
    const seen: TraceEvent[] = [];
    let live!: () => void;
    const reachedLive = new Promise<void>((r) => (live = r));
    const done = (async () => {
      for await (const ev of reader.subscribe(t.id)) {
        seen.push(ev);
        if (ev.seq === 3) live();
      }
    })();
    t.add('second'); // seq 3 (after the auto-complete of the first node)
    await reachedLive;
    // The reader is cut off; the writer finishes; then "Redis restarts": entries lost, every connection cut.
    await proxy.down();
    t.add('third');
    t.markComplete();
    await t.release();
    await hubA.flush();
    const r = await admin();
    await r.del(`${prefix}:${t.id}`);
    r.disconnect();
    assert.ok((await killConnections(hubA)) >= 2);
    await proxy.up();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`stalled at seq ${seen.length}`)), 5000))),
    ]);
    clearTimeout(timer);
    assertGapless(seen, t.events().length);
  });

  it('keeps its outbox bounded while Redis is down (oldest dropped, counted)', async () => {
    const proxy = track(new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379)));
    const port = await proxy.up();
    await proxy.down();
    const hub = track(
      new RedisHub({ url: `redis://127.0.0.1:${port}`, prefix, maxPendingEvents: 100, onError: () => undefined }),
    );
    const evs = Array.from({ length: 250 }, (_, i): TraceEvent => ({
      seq: i + 1,
      type: 'log_added',
      trace_id: 'b',
      timestamp: 0,
      data: { level: 'info', message: '', timestamp: 0 },
    }));
    for (const ev of evs) hub.publish('b', [ev]);
    assert.ok(hub.pending <= 100);
    assert.equal(hub.droppedEvents, 150);
    await hub.close();
  });

  it('validates its options', () => {
    assert.throws(() => new RedisHub({ url: 'http://x' }), /redis:\/\//);
    assert.throws(() => new RedisHub({ url: REDIS_URL, maxLen: 0 }), /maxLen/);
  });
});
