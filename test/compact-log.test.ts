// The retained form of event logs (src/core/compact-log.ts): whatever goes in comes back
// equal (same values, same JSON, key order included); the common step events are encoded
// (read back as copies, sharing only the captured values: input, output, metadata, data),
// every other shape is kept as the object it is.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FileStore } from '../src/store/file-store.js';
import { CompactLog } from '../src/core/compact-log.js';
import type { TraceEvent } from '../src/core/types.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { kLogOf } from '../src/tracer/symbols.js';

/** A trace that uses every event type and the node shapes the tracer makes. */
async function richTrace(): Promise<TraceEvent[]> {
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  const t = await tracer.create({ agentName: 'a', metadata: { k: 1 } });
  t.info('before any node');
  const root = t.add({ q: 'in' }, { label: 'root' });
  root.info('plain');
  root.warn('with data', { x: [1, 2] });
  root.debug('d');
  root.error(new Error('boom'));
  const [a, b] = t.parallel([{ label: 'a' }, { label: 'b', kind: 'tool' }]);
  a!.complete({ out: 1 });
  b!.fail(new Error('bad'));
  const j = a!.join([a!, b!], undefined, { label: 'j' });
  j.setMetadata('m', 'v');
  j.setUsage({ model: 'gpt-4o', inputTokens: 3, outputTokens: 4 });
  const s = t.add(undefined, { label: 'step' });
  s.info('log line');
  s.complete();
  const k = t.add(undefined, { label: 'llm', kind: 'llm' });
  k.complete();
  t.add(undefined, {}).complete();
  t.createSpace({ id: 'mem' });
  t.setSpaceValue('mem', 'key', { v: 1 });
  t.setSpaceValue('mem', 'key', 2);
  t.deleteSpaceValue('mem', 'key');
  t.markComplete();
  await t.release();
  const events = await tracer.events(t.id);
  await tracer.close();
  return events;
}

function logOf(events: readonly TraceEvent[]): CompactLog {
  const log = new CompactLog(events[0]!.trace_id);
  for (const ev of events) log.pushCompact(ev);
  return log;
}

describe('CompactLog', () => {
  it('gives back every event of a real trace equal, with the same JSON', async () => {
    const events = await richTrace();
    const log = logOf(events);
    assert.equal(log.length, events.length);
    assert.deepStrictEqual(log.slice(), events);
    assert.equal(JSON.stringify(log.slice()), JSON.stringify(events));
    for (let i = 0; i < events.length; i++) {
      assert.deepStrictEqual(log.at(i), events[i]);
      assert.equal(log.timestampAt(i), events[i]!.timestamp);
    }
    assert.deepStrictEqual(log.slice(3, 7), events.slice(3, 7));
    assert.equal(log.at(events.length), undefined);
  });

  it('encodes the step events (read back as copies) and keeps the other shapes as they are', async () => {
    const events = await richTrace();
    const log = logOf(events);
    const encoded = (i: number) => log.at(i) !== events[i];
    const find = (pred: (e: TraceEvent) => boolean) => events.findIndex(pred);
    const stepStart = find((e) => e.type === 'node_start' && e.data.node?.label === 'step');
    const llmStart = find((e) => e.type === 'node_start' && e.data.node?.label === 'llm');
    const plainLog = find((e) => e.type === 'log_added' && e.data.message === 'plain');
    const complete = find((e) => e.type === 'node_complete' && e.data.output === undefined);
    const withInput = find((e) => e.type === 'node_start' && e.data.node?.label === 'root');
    const logWithData = find((e) => e.type === 'log_added' && e.data.data !== undefined);
    const completeWithOutput = find((e) => e.type === 'node_complete' && e.data.output !== undefined);
    for (const i of [stepStart, llmStart, plainLog, complete, withInput, logWithData, completeWithOutput]) {
      assert.ok(i > 0);
      assert.ok(encoded(i), `event ${i} (${events[i]!.type}) encoded`);
    }
    const kept = [
      find((e) => e.type === 'init'),
      find((e) => e.type === 'node_start' && e.data.nodes !== undefined), // fan-out
      find((e) => e.type === 'log_added' && e.node_id === undefined),
      find((e) => e.type === 'node_failed'),
      find((e) => e.type === 'node_updated'),
      find((e) => e.type === 'memory_add'),
      find((e) => e.type === 'complete'),
    ];
    for (const i of kept) {
      assert.ok(i >= 0);
      assert.equal(log.at(i), events[i], `event ${i} (${events[i]!.type}) kept as is`);
    }
  });

  it('keeps an event as is when its shape differs in any way from the encoded one', () => {
    const base = {
      seq: 1,
      type: 'log_added',
      trace_id: 't',
      timestamp: 1000,
      data: { node_id: 'n', level: 'info', message: 'm', timestamp: 1000 },
      node_id: 'n',
    };
    const variants: Record<string, unknown> = {
      'keys in another order': {
        seq: 1,
        type: 'log_added',
        trace_id: 't',
        timestamp: 1000,
        node_id: 'n',
        data: base.data,
      },
      'data keys in another order': { ...base, data: { level: 'info', node_id: 'n', message: 'm', timestamp: 1000 } },
      'an extra field': { ...base, extra: 1 },
      'an extra data field': { ...base, data: { ...base.data, more: true } },
      'data timestamp differs': { ...base, data: { ...base.data, timestamp: 1001 } },
      'data node differs': { ...base, data: { ...base.data, node_id: 'other' } },
      'data before timestamp': {
        ...base,
        data: { node_id: 'n', level: 'info', message: 'm', data: 1, timestamp: 1000 },
      },
      'data and another field': { ...base, data: { ...base.data, data: 1, more: 2 } },
      'another trace': { ...base, trace_id: 'u' },
      'a seq that is not its place': { ...base, seq: 2 },
      'an unknown level': { ...base, data: { ...base.data, level: 'fatal' } },
      'a non-string message': { ...base, data: { ...base.data, message: 5 } },
    };
    for (const [what, ev] of Object.entries(variants)) {
      const log = new CompactLog('t');
      log.pushCompact(ev as TraceEvent);
      assert.equal(log.at(0), ev, what);
      assert.equal(JSON.stringify(log.slice()), JSON.stringify([ev]), what);
    }
    const log = new CompactLog('t');
    log.pushCompact(base as TraceEvent);
    assert.notEqual(log.at(0), base, 'the canonical shape is encoded');
    assert.deepStrictEqual(log.at(0), base);
  });

  it('keeps timestamps exactly, far apart or not, and negative zero durations', () => {
    const times = [1_796_000_000_000, 1_796_000_000_001, 1_796_000_000_000 + 2 ** 31, 1_795_000_000_000, 0, -5, 7.25];
    const log = new CompactLog('t');
    const events: TraceEvent[] = times.map((t, i) => ({
      seq: i + 1,
      type: 'node_complete',
      trace_id: 't',
      timestamp: t,
      data: { node_id: 'n', status: 'success', end_time: t, duration: i === 1 ? -0 : i * 1.5 },
      node_id: 'n',
    }));
    for (const ev of events) log.pushCompact(ev);
    assert.deepStrictEqual(log.slice(), events);
    const second = log.at(1)!;
    assert.ok(second.type === 'node_complete' && Object.is(second.data.duration, -0));
  });

  it('compact(upTo) encodes the older events and leaves the newest as objects', async () => {
    const events = await richTrace();
    const log = new CompactLog(events[0]!.trace_id);
    for (const ev of events) log.push(ev);
    for (let i = 0; i < events.length; i++) assert.equal(log.at(i), events[i]);
    log.compact(events.length - 5);
    assert.equal(log.hotLength, 5);
    for (let i = events.length - 5; i < events.length; i++) assert.equal(log.at(i), events[i]);
    assert.deepStrictEqual(log.slice(), events);
    const edge = events.length - 5;
    assert.deepStrictEqual(log.slice(1, edge - 1), events.slice(1, edge - 1), 'encoded only');
    assert.deepStrictEqual(log.slice(edge - 2, edge + 2), events.slice(edge - 2, edge + 2), 'across the edge');
    assert.equal(log.slice(edge - 1, edge + 1)[1], events[edge], 'a hot event is the object itself');
    log.compact(3); // already encoded: nothing changes
    assert.equal(log.hotLength, 5);
    log.compact(Infinity);
    assert.equal(log.hotLength, 0);
    assert.deepStrictEqual(log.slice(), events);
    assert.equal(JSON.stringify(log.slice()), JSON.stringify(events));
  });

  it('a decoded copy shares nothing with the log: changing it changes nothing stored', async () => {
    const events = await richTrace();
    const log = logOf(events);
    const i = events.findIndex((e) => e.type === 'node_start' && e.data.node?.label === 'step');
    // slice() gives copies (what events() returns); at() is for readers in place, who
    // share what they read (hot events, and a decoded one: tested below).
    const copy = log.slice(i, i + 1)[0]!;
    assert.ok(copy.type === 'node_start' && copy.data.node);
    (copy.data.node.parent_ids as string[]).push('x');
    copy.data.node.metadata['y'] = 1;
    assert.deepStrictEqual(log.slice(i, i + 1)[0], events[i]);
    assert.deepStrictEqual(log.at(i), events[i]);
  });

  it('round-trips long logs across chunks, many logs on one node, and objects between encoded events', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    for (let i = 0; i < 2500; i++) {
      const n = t.add(undefined, { label: `s${i % 7}` });
      const logs = i % 50 === 0 ? 30 : 1; // chains longer than the elision's bound
      for (let k = 0; k < logs; k++) n.info(`m${k}`);
      if (i % 10 === 0) n.setMetadata('i', i); // an object record between encoded ones
      if (i % 13 === 0) n.info('with data', { i });
      n.complete();
    }
    t.markComplete();
    const events = t.events();
    assert.ok(events.length > 3 * 2048);
    const log = logOf(events);
    assert.deepStrictEqual(log.slice(), events);
    assert.equal(JSON.stringify(log.slice()), JSON.stringify(events));
    for (const i of [0, 2047, 2048, 2049, 4095, 4096, events.length - 1])
      assert.equal(log.timestampAt(i), events[i]!.timestamp);
    for (const size of [1, 302, 777, 5000]) {
      const batched = new CompactLog(events[0]!.trace_id);
      for (let i = 0; i < events.length; i += size) batched.pushAllCompact(events.slice(i, i + size));
      assert.deepStrictEqual(batched.slice(), events, `batches of ${size}`);
    }
    const hotFirst = new CompactLog(events[0]!.trace_id);
    for (const ev of events) hotFirst.push(ev);
    for (let upTo = 100; upTo < events.length; upTo += 997) hotFirst.compact(upTo);
    assert.deepStrictEqual(hotFirst.slice(), events);
    // Readers in place share a decoded event (as they share hot ones); slice() copies.
    const i = 3000;
    const shared = hotFirst.at(i)!;
    assert.deepStrictEqual(shared, events[i]);
    assert.notEqual(shared, events[i], 'an encoded event is read back as a copy');
    assert.equal(hotFirst.at(i), shared, 'the next reader of the index gets the same copy');
    const copy = hotFirst.slice(i, i + 1)[0]!;
    assert.deepStrictEqual(copy, shared);
    assert.notEqual(copy, shared, 'slice() gives copies of its own');
    (copy as { seq: number }).seq = -1;
    assert.equal(hotFirst.at(i)!.seq, i + 1);
    // Another index in the same slot of the shared ring replaces it, and reads back right.
    assert.equal(hotFirst.at(i + 256)!.seq, i + 257);
    assert.deepStrictEqual(hotFirst.at(i), events[i]);
    await t.release();
    await tracer.close();
  });
});

describe('a long trace whose stored events are encoded', () => {
  it('local subscribers (one slow, one late) and events() see every event, equal and in order', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false, flush: { intervalMs: 1, maxBatch: 500 } });
    const t = await tracer.create();
    const log = t[kLogOf].events;
    const fast: TraceEvent[] = [];
    const slow: TraceEvent[] = [];
    const fastDone = (async () => {
      for await (const ev of t.subscribe()) fast.push(ev);
    })();
    const slowSub = t.subscribe();
    const steps = async (rounds: number) => {
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < 400; i++) {
          const n = t.add({ round }, { label: 'step', metadata: { i } });
          n.info('log line', { i });
          n.complete({ ok: i });
        }
        await t.flush();
        await new Promise((r) => setImmediate(r));
      }
    };
    // The slow one reads 3 events (init, a start, a log), then nothing for a while: what
    // it has not read stays as objects.
    t.add(undefined, { label: 'first' }).info('x');
    for (let i = 0; i < 3; i++) slow.push((await slowSub.next()).value!);
    await steps(6);
    assert.ok(log.hotLength >= log.length - 3, 'nothing the slow subscriber has not read is encoded');
    while (slow.length < log.length) slow.push((await slowSub.next()).value!);
    await steps(6);
    // Encoded now: every stored event up to what the slow subscriber has read.
    assert.equal(log.length - log.hotLength, slow.length);
    t.markComplete();
    await t.flush();
    for (;;) {
      const r = await slowSub.next();
      if (r.done) break;
      slow.push(r.value);
    }
    await fastDone;
    const all = t.events();
    assert.ok(all.length > 14_000);
    assert.deepStrictEqual(fast, all);
    assert.deepStrictEqual(slow, all);
    const late: TraceEvent[] = [];
    for await (const ev of t.subscribe({ since: 0 })) late.push(ev);
    assert.deepStrictEqual(late, all);
    const mid = all[7000]!;
    assert.deepStrictEqual(t.events({ since: 7000 }), all.slice(7000));
    assert.deepStrictEqual(
      t.events({ sinceTime: mid.timestamp }),
      all.filter((e, i) => i >= all.findIndex((x) => x.timestamp >= mid.timestamp)),
    );
    assert.deepStrictEqual(await tracer.events(t.id, { since: 100, limit: 50 }), all.slice(100, 150));
    await t.release();
    assert.deepStrictEqual(await tracer.events(t.id), all);
    assert.equal(JSON.stringify(await tracer.events(t.id)), JSON.stringify(all));
    await tracer.close();
  });
});

describe('a trace recorded in one synchronous burst', () => {
  it('keeps a bounded number of events as objects, and subscribers, the store and events() get every one', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    const log = t[kLogOf].events;
    // Subscribed before the burst: it cannot read before the burst ends, so everything the
    // burst records is behind it.
    const got: TraceEvent[] = [];
    const sub = t.subscribe();
    const reading = (async () => {
      for await (const ev of sub) got.push(ev);
    })();
    let maxHot = 0;
    for (let i = 0; i < 15_000; i++) {
      const n = t.add(i % 7 === 0 ? { i } : undefined, { label: 'step', metadata: i % 5 === 0 ? { i } : undefined });
      n.info('log line', i % 3 === 0 ? { i, text: 'a\u0000b\u001bc\u2028' } : undefined);
      if (i % 11 === 0) n.setMetadata('k', i); // a record kept as an object between encoded ones
      if (i % 13 === 0) n.fail(new Error(`e${i}`));
      else n.complete(i % 2 === 0 ? { ok: i } : undefined);
      maxHot = Math.max(maxHot, log.hotLength);
    }
    t.markComplete();
    // Nothing could be stored during the burst; still, what is held as objects stays bounded.
    assert.ok(log.length > 45_000);
    assert.ok(maxHot <= 16_384, `at most 16,384 events held as objects during the burst, saw ${maxHot}`);
    assert.ok(log.length - log.hotLength > 30_000, 'the burst was encoded as it went');
    await t.flush();
    await reading;
    const all = t.events();
    assert.equal(all.length, log.length);
    all.forEach((ev, i) => assert.equal(ev.seq, i + 1));
    assert.deepStrictEqual(got, all);
    const stored = await tracer.events(t.id);
    assert.deepStrictEqual(stored, all);
    assert.equal(JSON.stringify(stored), JSON.stringify(all));
    await t.release();
    await tracer.close();
  });
});

describe('a trace recorded in one synchronous burst, read by another process', () => {
  it('the livetrace CLI exports from the file store exactly the events the writer recorded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-burst-'));
    try {
      const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
      const t = await tracer.create();
      const log = t[kLogOf].events;
      // The events as the writer made them (the hub hands its listeners the originals, before
      // any encoding), serialized at once: what the other process must read back.
      const made: string[] = t.events().map((e) => JSON.stringify(e));
      const stop = tracer.hub.subscribe(t.id, (evs) => {
        for (const ev of evs) made.push(JSON.stringify(ev));
      });
      for (let i = 0; i < 8_000; i++) {
        const n = t.add(i % 9 === 0 ? { i, s: 'x\u0000y\u2028z' } : undefined, { label: 'step' });
        n.info('log line', i % 4 === 0 ? { i } : undefined);
        n.complete(i % 2 === 0 ? { ok: i } : undefined);
      }
      t.markComplete();
      // Most of the burst was encoded before the writer could store any of it: the file
      // store was given decoded copies.
      assert.ok(log.length - log.hotLength > 10_000);
      stop();
      assert.equal(made.length, log.length);
      assert.deepStrictEqual(
        t.events().map((e) => JSON.stringify(e)),
        made,
      );
      await t.release();
      await tracer.close();
      const out = join(dir, 'export.json');
      const bin = new URL('../../bin/livetrace.js', import.meta.url).pathname;
      await promisify(execFile)(process.execPath, [bin, 'export', t.id, '-o', out], {
        env: { ...process.env, LIVETRACE_DIR: dir, LIVETRACE_STORE: '', LIVETRACE_HUB: '' },
      });
      const doc = JSON.parse(await readFile(out, 'utf8')) as { events: TraceEvent[] };
      assert.deepStrictEqual(
        doc.events.map((e) => JSON.stringify(e)),
        made,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
