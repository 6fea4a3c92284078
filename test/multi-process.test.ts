// Scale-out end to end: separate `node` processes (two writers, one `livetrace serve`)
// sharing PostgreSQL and Redis; SSE clients of the server see every writer's traces live,
// complete, ordered and gapless, through Redis connection loss, PostgreSQL backends killed
// mid-trace and a SIGKILLed writer. And a second writer of a live trace gets a clear error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { TraceEvent } from '../src/core/types.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { Proc, sse } from './fixtures/processes.js';
import { PG_URL, REDIS_URL, dropSchema, pgExec, pgSkip, redisSkip, uniqueName } from './fixtures/services.js';

const skip = (await pgSkip()) || (await redisSkip());
if (skip) console.log(`# skipping multi-process tests: ${skip}`);

const schema = uniqueName('lt_mp');
const prefix = uniqueName('lt_mp');
const storeUrl = `${PG_URL}?schema=${schema}`;
const hubUrl = `${REDIS_URL}?prefix=${prefix}`;
const procs: Proc[] = [];
let server: Proc;
let base: string;
let store: PostgresStore;

function writer(mode: string, ids: string[], extra: Record<string, unknown> = {}): Proc {
  const app = uniqueName('lt_mpw');
  const p = new Proc('./scale-writer.js', [
    JSON.stringify({ pgUrl: PG_URL, schema, redisUrl: REDIS_URL, prefix, app, mode, ids, ...extra }),
  ]);
  (p as Proc & { app: string }).app = app;
  procs.push(p);
  return p;
}

const stream = (id: string): ReturnType<typeof sse> => sse(`${base}v1/trace/traces/${id}/events?stream=true`);

function assertComplete(events: readonly TraceEvent[], total: number, id: string): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: total }, (_, i) => i + 1),
    `trace ${id}: every event once, in order`,
  );
  assert.ok(events.every((e) => e.trace_id === id));
  assert.equal(events[events.length - 1]!.type, 'complete');
}

/** Fails with `what()` if `p` takes longer than `ms` (a stalled stream is a failure, not a hang). */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function redisAdmin(): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { protocol: 2 });
  r.on('error', () => undefined);
  return r;
}

/** Connections of this test's hubs (server and writers), from CLIENT LIST. */
async function hubConnections(): Promise<string[]> {
  const r = await redisAdmin();
  try {
    return ((await r.client('LIST')) as string)
      .split('\n')
      .filter((l) => l.includes(` name=livetrace-hub-${prefix}-`))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
  } finally {
    r.disconnect();
  }
}

/** Waits (bounded) until `n` hub connections are up: an external state with no event to await. */
async function awaitHubConnections(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await hubConnections()).length < n) {
    assert.ok(Date.now() < deadline, `expected ${n} hub connections`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a Redis restart does to this test's processes: every hub connection cut, every stream lost. */
async function redisOutage(): Promise<number> {
  const r = await redisAdmin();
  try {
    const ids = ((await r.client('LIST')) as string)
      .split('\n')
      .filter((l) => l.includes(` name=livetrace-hub-${prefix}-`))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    for (const id of ids) await r.client('KILL', 'ID', id).catch(() => undefined);
    return ids.length;
  } finally {
    r.disconnect();
  }
}

describe('multi-process deployment: writers + server over PostgreSQL and Redis', { skip, timeout: 120_000 }, () => {
  before(async () => {
    server = new Proc('./scale-server.js', ['serve', '--store', storeUrl, '--hub', hubUrl, '--port', '0']);
    procs.push(server);
    base = (await server.line(/^http:\/\/\S+\/$/))[0];
    store = new PostgresStore({ url: PG_URL, schema });
  });

  after(async () => {
    for (const p of procs.reverse()) await p.stop('SIGKILL');
    await store?.close();
    if (skip) return;
    await dropSchema(schema);
    const r = await redisAdmin();
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });

  // Sequenced by what the processes show, never by the clock: the writers step until the
  // test tells them to stop, so whatever the machine's load every trace is still running
  // while the test observes it (a writer that finished early made these tests flaky).

  it('streams both writers’ traces live through the server’s SSE, complete, ordered, gapless', async () => {
    const ids = [uniqueName('w1a'), uniqueName('w1b'), uniqueName('w2a'), uniqueName('w2b')];
    const w1 = writer('run', ids.slice(0, 2), { delayMs: 15, waitGo: true, untilStop: true });
    const w2 = writer('run', ids.slice(2), { delayMs: 15, waitGo: true, untilStop: true });
    const clients = await Promise.all(
      ids.map(async (id, i) => {
        await (i < 2 ? w1 : w2).line(new RegExp(`^created ${id}$`));
        return stream(id);
      }),
    );
    // Every client is connected and has the trace's start before the writers go on.
    const deadline = Date.now() + 15_000;
    while (clients.some((c) => c.events.length === 0)) {
      assert.ok(Date.now() < deadline, 'SSE clients received the start of their traces');
      await new Promise((r) => setTimeout(r, 10));
    }
    const started = clients.map((c) => c.events.length);
    w1.child.stdin!.write('go\n');
    w2.child.stdin!.write('go\n');
    // A second viewer of each trace, joining while it runs: history, then it waits with the
    // first on the server's broadcast of that trace.
    const twins = ids.map((id) => stream(id));
    // Live: each client gets 10 events written after `go` while its trace runs (the writers
    // cannot complete before the `stop` below).
    await within(
      Promise.all(clients.map((c, i) => c.until(started[i]! + 10))),
      30_000,
      () => `SSE clients at ${clients.map((c) => c.events.length).join('/')} events (started at ${started.join('/')})`,
    );
    const live = clients.map((c) => c.events.slice());
    w1.child.stdin!.write('stop\n');
    w2.child.stdin!.write('stop\n');
    await within(
      Promise.all([...clients, ...twins].map((c) => c.done)),
      30_000,
      () => `SSE clients at ${[...clients, ...twins].map((c) => c.events.length).join('/')} events`,
    );
    for (const [i, id] of ids.entries()) {
      const p = i < 2 ? w1 : w2;
      const total = Number((await p.line(new RegExp(`^done ${id} (\\d+)$`)))[1]);
      assertComplete(clients[i]!.events, total, id);
      const stored = await store.read(id);
      assert.deepEqual(clients[i]!.events, stored, 'SSE delivered exactly what is stored');
      assert.deepEqual(twins[i]!.events, stored, 'the viewer that joined late got the same');
    }
    assert.equal(await w1.exited, 0, w1.stderr);
    assert.equal(await w2.exited, 0, w2.stderr);
    for (const [i, id] of ids.entries()) {
      assert.ok(live[i]!.length >= started[i]! + 10, `trace ${id}: events arrived while it ran`);
      assert.ok(!live[i]!.some((e) => e.type === 'complete'), `trace ${id} was still running then`);
    }
  });

  it('survives Redis connection loss mid-stream (connections killed, streams lost): subscribers resume with nothing lost', async () => {
    const ids = [uniqueName('r1'), uniqueName('r2')];
    const w1 = writer('run', [ids[0]!], { delayMs: 15, untilStop: true });
    const w2 = writer('run', [ids[1]!], { delayMs: 15, untilStop: true });
    const c1 = stream((await w1.line(/^created (\S+)$/))[1]!);
    const c2 = stream((await w2.line(/^created (\S+)$/))[1]!);
    const flowing = (c: ReturnType<typeof stream>, what: string): Promise<void> =>
      within(c.until(c.events.length + 5), 30_000, () => `${what}: stream stalled at ${c.events.length} events`);
    // Wait until events flow live, then cut Redis: three outages while both traces stream
    // (both writers run until told to stop, so all three processes are connected each time:
    // two connections each, back after every outage before the next one).
    for (const [round, c] of [c1, c2, c1].entries()) {
      await flowing(c, `round ${round}`);
      await awaitHubConnections(6);
      const killed = await redisOutage();
      assert.ok(killed >= 6, `round ${round}: killed ${killed} hub connections`);
    }
    // Both streams go on live after the last outage, then the traces end.
    await Promise.all([flowing(c1, 'after the outages'), flowing(c2, 'after the outages')]);
    w1.child.stdin!.write('stop\n');
    w2.child.stdin!.write('stop\n');
    await within(
      Promise.all([c1.done, c2.done]),
      30_000,
      () =>
        `SSE clients at ${c1.events.length}/${c2.events.length} events; writers: ${[...w1.lines, ...w2.lines].filter((l) => l.startsWith('done')).join(', ')}`,
    );
    assertComplete(c1.events, Number((await w1.line(/^done \S+ (\d+)$/))[1]), ids[0]!);
    assertComplete(c2.events, Number((await w2.line(/^done \S+ (\d+)$/))[1]), ids[1]!);
    assert.equal(await w1.exited, 0, w1.stderr);
    assert.equal(await w2.exited, 0, w2.stderr);
  });

  it('resumes a writer whose PostgreSQL connections are terminated mid-trace, losing nothing', async () => {
    const id = uniqueName('pgk');
    const w = writer('run', [id], { delayMs: 15, untilStop: true }) as Proc & { app: string };
    await w.line(/^created /);
    const c = stream(id);
    // Each round: the trace is provably moving (new events reach the client), then every
    // backend of the writer is terminated. Three rounds that hit a backend.
    let kills = 0;
    for (let round = 0; kills < 3 && round < 30; round++) {
      await within(
        c.until(c.events.length + 3),
        30_000,
        () => `round ${round}: SSE client at ${c.events.length} events`,
      );
      const rows = await pgExec('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        w.app,
      ]);
      if (rows.length > 0) kills++;
    }
    assert.equal(kills, 3, 'three rounds terminated the writer’s backends');
    await within(
      c.until(c.events.length + 3),
      30_000,
      () => `after the kills: SSE client at ${c.events.length} events`,
    );
    w.child.stdin!.write('stop\n');
    await within(c.done, 30_000, () => `SSE client at ${c.events.length} events`);
    const total = Number((await w.line(/^done \S+ (\d+)$/))[1]);
    assertComplete(c.events, total, id);
    const stored = await store.read(id);
    assertComplete(stored, total, id);
    assert.equal(await w.exited, 0, w.stderr);
  });

  it('keeps a SIGKILLed writer’s flushed events as a gapless prefix; another process loads and completes the trace', async () => {
    const id = uniqueName('sk');
    // Never told to stop: it is still writing when it is killed.
    const w = writer('flush-each', [id], { delayMs: 10, leaseTtlMs: 1500, untilStop: true });
    await w.line(/^created /);
    const c = stream(id);
    let lastFlushed = 0;
    for (;;) {
      lastFlushed = Number((await w.line(new RegExp(`^flushed ${id} (\\d+)$`)))[1]);
      if (lastFlushed >= 40) break;
      w.lines.length = 0; // so the next line() call waits for a newer report
    }
    w.child.kill('SIGKILL');
    await w.exited;
    const flushedSeen = Math.max(lastFlushed, ...w.lines.map((l) => Number(/^flushed \S+ (\d+)$/.exec(l)?.[1] ?? 0)));
    const prefix = await store.read(id);
    prefix.forEach((e, i) => assert.equal(e.seq, i + 1, 'gapless prefix'));
    assert.ok(prefix.length >= flushedSeen, `every flushed event is stored (${prefix.length} >= ${flushedSeen})`);
    // The dead writer's lease blocks others until it expires; then a new process takes over.
    const r = writer('resume', [id], { steps: 5, delayMs: 5, leaseTtlMs: 1500 });
    assert.equal(Number((await r.line(/^loaded \S+ (\d+)$/))[1]), prefix.length);
    const total = Number((await r.line(/^done \S+ (\d+)$/))[1]);
    assert.equal(await r.exited, 0, r.stderr);
    const all = await store.read(id);
    assertComplete(all, total, id);
    assert.deepEqual(all.slice(0, prefix.length), prefix, 'the resumed trace continues the stored prefix');
    // The SSE client connected before the crash followed the trace to its new writer's end.
    await within(c.done, 30_000, () => `SSE client at ${c.events.length} of ${total} events`);
    assertComplete(c.events, total, id);
  });

  it('refuses a second process writing a live trace with a clear TraceLockedError', async () => {
    const id = uniqueName('lock');
    const holder = writer('hold', [id]);
    await holder.line(/^created /);
    const second = writer('load', [id]);
    const [line] = await second.line(/^locked .*/);
    assert.match(line, /LT_ERR_TRACE_LOCKED/);
    assert.match(line, /live in another writer/);
    assert.equal(await second.exited, 3);
    const before = (await store.read(id)).length;
    holder.child.stdin!.end();
    const total = Number((await holder.line(/^done \S+ (\d+)$/))[1]);
    assert.equal(await holder.exited, 0, holder.stderr);
    const stored = await store.read(id);
    assertComplete(stored, total, id);
    assert.ok(total > before);
  });
});
