import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceNotFoundError } from '../src/core/errors.js';
import type { TraceEvent } from '../src/core/types.js';
import { LocalHub } from '../src/hub/local-hub.js';
import { READY_BURST } from '../src/hub/subscription.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { TraceStore } from '../src/store/store.js';
import { Tracer } from '../src/tracer/tracer.js';

function setup(limits: { subscriberBuffer?: number } = {}) {
  const store = new MemoryStore();
  const hub = new LocalHub();
  const tracer = new Tracer({ store, hub, exitHook: false, limits });
  return { store, hub, tracer };
}

async function collect(it: AsyncIterable<TraceEvent>, onEach?: (e: TraceEvent) => void): Promise<number[]> {
  const seqs: number[] = [];
  for await (const e of it) {
    seqs.push(e.seq);
    onEach?.(e);
  }
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function assertGapless(seqs: number[], from = 1) {
  assert.deepEqual(seqs, range(from, from + seqs.length - 1));
}

describe('subscriptions', () => {
  it('hand out what is ready without waiting (the SSE route gathers bursts so), in order, ending at complete', async () => {
    const { tracer, store } = setup();
    const t = await tracer.create();
    t.add('a').info('one');
    // A local subscriber (the trace is live here) and one of a trace only in the store.
    const local = t.subscribe();
    const first = await local.next();
    assert.ok(first.done !== true);
    const seqs = [first.value.seq];
    for (let ev = local.takeReady(); ev !== undefined; ev = local.takeReady()) seqs.push(ev.seq);
    assert.deepEqual(seqs, [1, 2, 3], 'everything recorded so far, then nothing ready');
    t.add('b');
    t.markComplete();
    for (let ev = local.takeReady(); ev !== undefined; ev = local.takeReady()) seqs.push(ev.seq);
    assertGapless(seqs);
    assert.equal(t.events().at(-1)!.type, 'complete');
    assert.equal(seqs.length, t.lastSeq);
    assert.equal(local.takeReady(), undefined, 'nothing after complete');
    assert.equal((await local.next()).done, true);
    await t.release();
    const other = new Tracer({ store, exitHook: false });
    const stored = other.subscribe(t.id);
    assert.equal(stored.takeReady(), undefined, 'a store read is never done in place');
    assertGapless(await collect(stored));
    await other.close();
  });

  it('takeReady() hands out bursts of at most READY_BURST; next() then resolves at once; subscribers of a backlog read it in turns, each event once', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    const subs = [t.subscribe(), t.subscribe(), t.subscribe()];
    for (let i = 0; i < 3000; i++) t.add(undefined, { label: `n${i}` }).complete();
    t.markComplete();
    const total = t.lastSeq;
    const turns: number[] = [];
    await Promise.all(
      subs.map(async (sub, k) => {
        const seqs: number[] = [];
        for await (const ev of sub) {
          seqs.push(ev.seq);
          let burst = 0;
          for (let more = sub.takeReady(); more !== undefined; more = sub.takeReady()) {
            seqs.push(more.seq);
            burst++;
          }
          assert.ok(burst <= READY_BURST, `a burst of ${burst}`);
          turns.push(k);
        }
        assert.deepEqual(
          seqs,
          Array.from({ length: total }, (_, i) => i + 1),
          `subscriber ${k}: every event once, in order`,
        );
      }),
    );
    // The three drained the backlog in turns, not one after the other.
    assert.deepEqual(turns.slice(0, 6), [0, 1, 2, 0, 1, 2]);
    await t.release();
    await tracer.close();
  });

  it('replays history, then follows live, and ends after complete', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    t.add('a').info('one');
    const got: string[] = [];
    const done = collect(t.subscribe(), (e) => got.push(e.type));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['init', 'node_start', 'log_added'], 'history first');
    t.add('b');
    t.markComplete();
    const seqs = await done;
    assertGapless(seqs);
    assert.equal(got.at(-1), 'complete');
    assert.equal(seqs.length, t.events().length);
    await tracer.close();
  });

  it('resumes from since (exclusive seq) and sinceTime', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    for (let i = 0; i < 10; i++) t.info(`line ${i}`);
    t.markComplete();
    const all = t.events();
    assertGapless(await collect(t.subscribe({ since: 5 })), 6);
    assert.deepEqual(await collect(t.subscribe({ since: all.length })), []);
    const pivot = all[7]!.timestamp;
    const fromTime = await collect(tracer.subscribe(t.id, { sinceTime: pivot }));
    const expected = all.filter((e) => e.timestamp >= pivot).map((e) => e.seq);
    assert.deepEqual(fromTime, expected);
    assert.deepEqual(
      t.events({ sinceTime: pivot }).map((e) => e.seq),
      expected,
    );
    await tracer.close();
  });

  it('gives 100 concurrent subscribers the same ordered, gapless sequence', async () => {
    const { tracer, hub } = setup({ subscriberBuffer: 64 });
    const t = await tracer.create();
    t.add('root');
    const subs = Array.from({ length: 100 }, (_, i) => collect(t.subscribe({ since: i % 3 === 0 ? 0 : undefined })));
    for (let i = 0; i < 2000; i++) {
      t.info(`event ${i}`);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    t.markComplete();
    const results = await Promise.all(subs);
    const expected = t.events().map((e) => e.seq);
    for (const r of results) assert.deepEqual(r, expected);
    assert.equal(hub.size, 0, 'every subscriber left the hub');
    await tracer.close();
  });

  it('keeps a subscriber that never reads within its bound, then delivers all 100,000 events in order', async () => {
    const bound = 256;
    const { tracer } = setup({ subscriberBuffer: bound });
    const t = await tracer.create();
    const sub = t.subscribe();
    t.add('root');
    let maxBuffered = 0;
    for (let i = 0; i < 100_000; i++) {
      t.info('x');
      if (sub.buffered > maxBuffered) maxBuffered = sub.buffered;
    }
    t.markComplete();
    assert.ok(maxBuffered <= bound, `buffered ${maxBuffered} > ${bound}`);
    const seqs = await collect(sub);
    assert.equal(seqs.length, t.events().length);
    assertGapless(seqs);
    await tracer.close();
  });

  it('catches up from the store after release when it fell behind', async () => {
    const { tracer, store } = setup({ subscriberBuffer: 16 });
    const t = await tracer.create();
    const sub = t.subscribe();
    for (let i = 0; i < 500; i++) t.info(`x${i}`);
    await t.release();
    assert.equal(tracer.isLoaded(t.id), false);
    const seqs = await collect(sub);
    assertGapless(seqs);
    assert.equal(seqs.length, (await store.read(t.id)).length);
    await tracer.close();
  });

  it('ends on release (caught-up subscribers are done before release resolves), on abort, and on break', async () => {
    const { tracer, hub } = setup();
    const t = await tracer.create();
    t.add('x');
    const sub = t.subscribe();
    const first = await sub.next();
    assert.equal(first.value?.seq, 1);
    await sub.next();
    const pending = sub.next();
    await t.release();
    assert.equal(sub.done, true);
    assert.deepEqual(await pending, { value: undefined, done: true });

    const u = await tracer.create();
    const ac = new AbortController();
    const aborted = collect(u.subscribe({ signal: ac.signal }));
    await new Promise((r) => setImmediate(r));
    ac.abort();
    assert.deepEqual(await aborted, [1]);

    let n = 0;
    for await (const _ of u.subscribe()) {
      n++;
      break;
    }
    assert.equal(n, 1);
    assert.equal(hub.size, 0, 'no listener left behind');
    await tracer.close();
  });

  it('subscribes to a trace that is only in the store, and rejects an unknown one', async () => {
    const { tracer, store } = setup();
    const t = await tracer.create({ id: 'sub_stored' });
    t.add('a');
    t.markComplete();
    await t.release();
    const other = new Tracer({ store, exitHook: false });
    const seqs = await collect(other.subscribe('sub_stored'));
    assertGapless(seqs);
    assert.equal(seqs.length, 4);
    await assert.rejects(collect(other.subscribe('sub_missing')), TraceNotFoundError);
    await other.close();
    await tracer.close();
  });

  it('a throwing consumer does not disturb the writer', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const consumer = (async () => {
      for await (const e of t.subscribe()) if (e.seq === 3) throw new Error('consumer bug');
    })();
    t.add('a');
    t.info('b');
    await assert.rejects(consumer, /consumer bug/);
    t.info('c');
    t.markComplete();
    assert.equal(t.status, 'completed');
    await tracer.close();
  });
});

describe('subscriptions across tracers without a shared hub', () => {
  it('follow a trace another tracer writes to the same store, by polling it', async () => {
    const store = new MemoryStore();
    const writer = new Tracer({ store, exitHook: false, flush: { intervalMs: 5 } });
    const reader = new Tracer({ store, exitHook: false });
    const t = await writer.create({ id: 'sub_poll' });
    t.add('a');
    await t.flush();
    const got: number[] = [];
    const done = collect(reader.subscribe('sub_poll'), (e) => got.push(e.seq));
    while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
    t.info('live 1').info('live 2');
    t.markComplete();
    const seqs = await done;
    assertGapless(seqs);
    assert.equal(seqs.length, t.events().length);
    await writer.close();
    await reader.close();
  });
});

describe('subscriptions to a trace written by another tracer, over a shared hub', () => {
  it('hand out live events that arrive while they ask the store whether the trace ended (never [DONE] before them)', async () => {
    // The race the multi-process test hit under load: a caught-up subscriber asks the store
    // for the trace's end; meanwhile the hub delivers the trace's last events (queued, the
    // cursor now at the end) and the store answers "completed at that seq". The queued
    // events must still be handed out, ending with `complete`.
    const inner = new MemoryStore();
    const hub = new LocalHub();
    const writer = new Tracer({ store: inner, hub, exitHook: false, flush: { intervalMs: 5 } });
    let duringEndCheck: (() => Promise<void>) | undefined;
    const store: TraceStore = {
      name: 'memory (reader)',
      append: (id, events, info) => inner.append(id, events, info),
      read: (id, options) => inner.read(id, options),
      info: async (id) => {
        const hook = duringEndCheck;
        duringEndCheck = undefined;
        await hook?.();
        return inner.info(id);
      },
      list: (query) => inner.list(query),
      remove: (id) => inner.remove(id),
      archive: (id) => inner.archive(id),
      close: () => Promise.resolve(),
    };
    const reader = new Tracer({ store, hub, exitHook: false });
    const t = await writer.create({ id: 'sub_race' });
    t.add('a').complete('A');
    await t.flush();
    const sub = reader.subscribe('sub_race', { pollMs: 5 });
    const got: number[] = [];
    for (let i = 0; i < t.lastSeq; i++) {
      const r = await sub.next();
      assert.equal(r.done, false);
      got.push(r.value.seq);
    }
    // Caught up. The next store check of the end finds the trace finished, and the events
    // that finished it reached the subscriber through the hub during that check.
    duringEndCheck = async () => {
      t.add('b').complete('B');
      t.info('last words');
      t.markComplete();
      await t.flush();
      await new Promise((r) => setImmediate(r));
    };
    for await (const e of sub) got.push(e.seq);
    assert.equal(duringEndCheck, undefined, 'the end check ran');
    assertGapless(got);
    assert.equal(got.length, t.lastSeq, 'every event, the last ones included');
    assert.equal(sub.reachedEnd, true);
    await writer.close();
    await reader.close();
  });

  it('a local subscriber ends at the complete event even where a hostile log goes on after it', async () => {
    const store = new MemoryStore();
    const id = 'after-complete';
    const ev = (seq: number, type: string, data: Record<string, unknown> = {}): TraceEvent =>
      ({ seq, type, trace_id: id, timestamp: 1_700_000_000_000 + seq, data }) as TraceEvent;
    const info = { id, status: 'completed', created_at: 1, updated_at: 1, archived: false } as never;
    await store.append(
      id,
      [
        ev(1, 'init', { trace_id: id }),
        ev(2, 'log_added', { level: 'info', message: 'before' }),
        ev(3, 'complete', { trace_id: id, status: 'completed' }),
        ev(4, 'log_added', { level: 'info', message: 'after the end' }),
      ],
      info,
    );
    const tracer = new Tracer({ store, exitHook: false });
    const t = await tracer.load(id);
    assert.equal(t.isComplete, true);
    for (const drain of [false, true]) {
      const sub = t.subscribe();
      const seqs: number[] = [];
      for await (const e of sub) {
        seqs.push(e.seq);
        if (drain) for (let more = sub.takeReady(); more !== undefined; more = sub.takeReady()) seqs.push(more.seq);
      }
      assert.deepEqual(seqs, [1, 2, 3], `ends at complete (${drain ? 'takeReady' : 'for await'})`);
      assert.equal(sub.reachedEnd, true);
      assert.equal(sub.takeReady(), undefined);
    }
    // Resumed at or after the end: nothing, and done at once (never the event after it).
    for (const since of [3, 4]) {
      const sub = t.subscribe({ since });
      assert.equal(sub.takeReady(), undefined);
      assert.deepEqual(await collect(sub), [], `since ${since}`);
      assert.equal(sub.reachedEnd, true);
    }
    await tracer.close();
  });
});
