// Between processes, on every store: an application process writing (test/fixtures/
// handover-writer.ts, a real Tracer on a store opened by URL) and the real CLI
// (`bin/livetrace.js serve`) reading the same store. A created trace is visible to the
// server the moment create() resolves, and its SSE stream runs live to [DONE]; a writer
// that loads a trace right after another released it continues from the whole log; a
// released trace leaves no descriptor open; a writer over PostgreSQL + Redis exits by
// itself after tracer.close().
import assert from 'node:assert/strict';
import { readlink, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TraceEvent } from '../src/core/types.js';
import { createStoreFromUrl } from '../src/store/from-url.js';
import { Proc, sse } from './fixtures/processes.js';
import { PG_URL, REDIS_URL, dropSchema, pgSkip, redisSkip, uniqueName } from './fixtures/services.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');
const pgSkipped = await pgSkip();
const redisSkipped = await redisSkip();
const procs: Proc[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

after(async () => {
  for (const p of procs.reverse()) await p.stop('SIGKILL');
  for (const c of cleanups) await c().catch(() => undefined);
});

class Writer {
  readonly proc: Proc;
  constructor(cfg: Record<string, unknown>) {
    this.proc = new Proc('./handover-writer.js', [JSON.stringify(cfg)]);
    procs.push(this.proc);
  }
  /** Sends a command and returns the matching answer line (or fails on an error line). */
  async send(cmd: string, answer: RegExp): Promise<RegExpMatchArray> {
    const n = this.proc.lines.length;
    this.proc.child.stdin!.write(`${cmd}\n`);
    const m = await this.proc.line(
      new RegExp(`^(?:${answer.source.replace(/^\^|\$$/g, '')}|error .*|tracer-error .*)$`),
      30_000,
      n,
    );
    assert.doesNotMatch(m[0], /^(error|tracer-error) /, `writer answered "${cmd}" with ${m[0]}`);
    return m[0].match(answer)!;
  }
}

/** A `livetrace serve` process (the real CLI binary) on a store, maybe with a hub. */
async function serve(store: string, hub?: string): Promise<string> {
  const p = new Proc(bin, ['serve', '--store', store, ...(hub ? ['--hub', hub] : []), '--port', '0']);
  procs.push(p);
  return (await p.line(/^http:\/\/\S+\/$/))[0];
}

function assertWholeTrace(events: readonly TraceEvent[], lastSeq: number, id: string): void {
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: lastSeq }, (_, i) => i + 1),
    `trace ${id}: every event once, in order`,
  );
  assert.equal(events[0]!.type, 'init');
  assert.equal(events[events.length - 1]!.type, 'complete');
}

interface StoreCase {
  name: string;
  skip: string | false;
  url: () => Promise<string>;
  hub?: () => string;
}

const cases: StoreCase[] = [
  {
    name: 'file',
    skip: false,
    url: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lt-bp-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return `file:${dir}`;
    },
  },
  {
    name: 'SQLite',
    skip: false,
    url: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lt-bp-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return `sqlite:${join(dir, 'traces.db')}`;
    },
  },
  {
    name: 'PostgreSQL',
    skip: pgSkipped,
    url: async () => {
      const schema = uniqueName('lt_bp');
      cleanups.push(() => dropSchema(schema));
      return `${PG_URL}?schema=${schema}`;
    },
  },
];

for (const c of cases) {
  describe(`between processes on the ${c.name} store`, { skip: c.skip, timeout: 120_000 }, () => {
    it('a created trace is visible to `livetrace serve` as soon as create() resolves, and its SSE stream runs live to [DONE]', async () => {
      const url = await c.url();
      const base = await serve(url);
      // A write-behind interval far longer than the test: only create() itself can store the trace.
      const w = new Writer({ store: url, flushIntervalMs: 600_000 });
      await w.proc.line(/^ready$/);
      const [, id] = await w.send('create', /^created (\S+)$/);
      // No flush, no wait: the writer's create() has resolved, so the trace exists.
      const info = await fetch(`${base}v1/trace/traces/${id}/info`);
      assert.equal(info.status, 200, `GET /info right after create(): ${await info.clone().text()}`);
      assert.equal(((await info.json()) as { id: string }).id, id);
      const snap = await fetch(`${base}v1/trace/traces/${id}`);
      assert.equal(snap.status, 200);
      const eventsUrl = `${base}v1/trace/traces/${id}/events?stream=true`;
      // Three viewers from the start (they wait together on the server's broadcast of the
      // trace, which follows the store written by the other process), a fourth joining
      // mid-run (history first, then it joins them).
      const streams = [sse(eventsUrl), sse(eventsUrl), sse(eventsUrl)];
      // Live: each step's events reach the streams while the trace is still running (the
      // writer takes its next step only once the streams have shown the last one).
      for (let round = 0; round < 3; round++) {
        const [, stepped] = await w.send('steps 2', /^stepped (\d+)$/);
        await Promise.all(streams.map((s) => s.until(Number(stepped))));
        if (round === 0) streams.push(sse(eventsUrl));
      }
      const [, last] = await w.send('complete', /^completed (\d+)$/);
      await Promise.all(streams.map((s) => s.done));
      for (const stream of streams) assertWholeTrace(stream.events, Number(last), id!);
      await w.send('close', /^closed$/);
      assert.equal(await w.proc.exited, 0, 'the writer exits by itself after close()');
    });

    it('load() right after another process released the trace continues from the whole log (lease first, then the read)', async () => {
      const url = await c.url();
      const w1 = new Writer({ store: url });
      const w2 = new Writer({ store: url, gateAcquire: true });
      await Promise.all([w1.proc.line(/^ready$/), w2.proc.line(/^ready$/)]);
      const [, id] = await w1.send('create', /^created (\S+)$/);
      await w1.send('steps 2', /^stepped \d+$/);
      // w2 starts loading; it stops just before taking the lease...
      await w2.send(`load ${id}`, new RegExp(`^acquiring ${id}$`));
      // ...while w1 writes more and lets go of the trace.
      const [, w1Last] = await w1.send('steps 4', /^stepped (\d+)$/);
      await w1.send('release', /^released$/);
      const [, seq, status] = await w2.send('proceed', new RegExp(`^loaded ${id} (\\d+) (\\S+)$`));
      assert.equal(Number(seq), Number(w1Last), 'the loaded state holds every event the previous writer stored');
      assert.equal(status, 'running');
      await w2.send('steps 2', /^stepped \d+$/);
      const [, last] = await w2.send('complete', /^completed (\d+)$/);
      await w2.send('close', /^closed$/);
      await w1.send('close', /^closed$/);
      const store = await createStoreFromUrl(url);
      try {
        assertWholeTrace(await store.read(id!), Number(last), id!);
        const stored = await store.info(id!);
        assert.equal(stored?.last_seq, Number(last));
        assert.equal(stored?.status, 'completed');
      } finally {
        await store.close();
      }
      assert.equal(await w1.proc.exited, 0);
      assert.equal(await w2.proc.exited, 0);
    });
  });
}

/** The paths the process holds open (its /proc/<pid>/fd links). */
async function openPaths(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const out: string[] = [];
  for (const fd of fds) out.push(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
  return out;
}

describe(
  'release() on the file store',
  { skip: process.platform === 'linux' ? false : 'reads /proc', timeout: 60_000 },
  () => {
    it("closes the trace's log file: nothing of a released trace stays open in the writer", async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lt-bp-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const w = new Writer({ store: `file:${dir}` });
      await w.proc.line(/^ready$/);
      const [, id] = await w.send('create', /^created (\S+)$/);
      await w.send('steps 2', /^stepped \d+$/);
      const pid = w.proc.child.pid!;
      const log = (paths: string[]): string[] => paths.filter((p) => p.includes(id!) && p.endsWith('events.jsonl'));
      assert.equal(log(await openPaths(pid)).length, 1, 'while loaded, the log is open (the check can see it)');
      await w.send('release', /^released$/);
      assert.deepEqual(log(await openPaths(pid)), [], 'after release(), the log is closed');
      await w.send('close', /^closed$/);
      assert.equal(await w.proc.exited, 0);
    });
  },
);

describe('a writer over PostgreSQL + Redis', { skip: pgSkipped || redisSkipped, timeout: 60_000 }, () => {
  it('exits by itself after tracer.close() (the tracer closes the store and the hub it was given)', async () => {
    const schema = uniqueName('lt_bp');
    const prefix = uniqueName('lt_bp');
    cleanups.push(() => dropSchema(schema));
    const url = `${PG_URL}?schema=${schema}`;
    const hub = `${REDIS_URL}?prefix=${prefix}`;
    const base = await serve(url, hub);
    const w = new Writer({ store: url, hub });
    await w.proc.line(/^ready$/);
    const [, id] = await w.send('create', /^created (\S+)$/);
    const stream = sse(`${base}v1/trace/traces/${id}/events?stream=true`);
    const [, stepped] = await w.send('steps 3', /^stepped (\d+)$/);
    await stream.until(Number(stepped));
    const [, last] = await w.send('complete', /^completed (\d+)$/);
    await stream.done;
    assertWholeTrace(stream.events, Number(last), id!);
    await w.send('close', /^closed$/);
    // No process.exit() in the writer: it ends only if no socket or timer is left.
    assert.equal(await w.proc.exited, 0);
  });
});

describe('a subscription whose store read fails', { timeout: 60_000 }, () => {
  // The trace is written by another process; this process follows it from the store. When
  // a read fails, next() rejects with that error and the listener is off the hub at once.
  async function followed(): Promise<{ dir: string; id: string; lastSeq: number; traceDir: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'lt-bp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const w = new Writer({ store: `file:${dir}` });
    await w.proc.line(/^ready$/);
    const [, id] = await w.send('create', /^created (\S+)$/);
    const [, last] = await w.send('steps 2', /^stepped (\d+)$/);
    // Released, not completed: the reader keeps following, and no one rewrites its files.
    await w.send('release', /^released$/);
    await w.send('close', /^closed$/);
    assert.equal(await w.proc.exited, 0);
    const date = (await readdir(dir)).find((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))!;
    return { dir, id: id!, lastSeq: Number(last), traceDir: join(dir, date, id!) };
  }

  for (const broken of ['events.jsonl', 'info.json'] as const) {
    it(`ends with the error and detaches from the hub (${broken} unreadable during catch-up)`, async () => {
      const { dir, id, lastSeq, traceDir } = await followed();
      const { Tracer } = await import('../src/tracer/tracer.js');
      const { FileStore } = await import('../src/store/file-store.js');
      const { mkdir } = await import('node:fs/promises');
      const reader = new Tracer({ store: new FileStore({ dir }), exitHook: false });
      try {
        const sub = reader.subscribe(id, { pollMs: 20 });
        for (let seq = 1; seq <= lastSeq; seq++) assert.equal((await sub.next()).value?.seq, seq);
        assert.equal(reader.hub.hasSubscribers(id), true, 'following live: on the hub');
        // The store starts failing: the file becomes a folder (EISDIR on read).
        await rm(join(traceDir, broken));
        await mkdir(join(traceDir, broken));
        await assert.rejects(sub.next(), (err: Error) => /EISDIR|illegal operation on a directory/.test(err.message));
        assert.equal(sub.done, true);
        assert.equal(reader.hub.hasSubscribers(id), false, 'the failed subscription left the hub');
        assert.deepEqual(await sub.next(), { value: undefined, done: true });
      } finally {
        await reader.close();
      }
    });
  }
});

describe('tracer.close() and what it was given', () => {
  async function closes(shared?: { store?: boolean; hub?: boolean }): Promise<{ store: number; hub: number }> {
    const { Tracer } = await import('../src/tracer/tracer.js');
    const { MemoryStore } = await import('../src/store/memory-store.js');
    const { LocalHub } = await import('../src/hub/local-hub.js');
    const closed = { store: 0, hub: 0 };
    const store = new MemoryStore();
    const hub = new LocalHub();
    const storeClose = store.close.bind(store);
    const hubClose = hub.close.bind(hub);
    store.close = () => (closed.store++, storeClose());
    hub.close = () => (closed.hub++, hubClose());
    const tracer = new Tracer({ store, hub, exitHook: false, ...(shared ? { shared } : {}) });
    (await tracer.create()).add('x');
    await tracer.close();
    await tracer.close();
    return closed;
  }

  it('closes the store and the hub it was given, once; `shared` leaves the marked ones open', async () => {
    assert.deepEqual(await closes(), { store: 1, hub: 1 });
    assert.deepEqual(await closes({ hub: true }), { store: 1, hub: 0 });
    assert.deepEqual(await closes({ store: true }), { store: 0, hub: 1 });
    assert.deepEqual(await closes({ store: true, hub: true }), { store: 0, hub: 0 });
  });

  it('rejects a `shared` option of the wrong shape with a typed error naming it', async () => {
    const { Tracer } = await import('../src/tracer/tracer.js');
    const { InvalidArgumentError } = await import('../src/core/errors.js');
    for (const bad of [true, 'hub', ['hub'], { hub: 'yes' }]) {
      assert.throws(
        () => new Tracer({ exitHook: false, shared: bad as never }),
        (e: Error) => e instanceof InvalidArgumentError && /shared/.test(e.message),
      );
    }
  });
});
