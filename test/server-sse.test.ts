import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventSource } from 'eventsource';
import type { TraceEvent } from '../src/core/types.js';
import { LocalHub } from '../src/hub/local-hub.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { parseFrames, range, startTestServer, until, type TestServer } from './server-helpers.js';

interface EsRun {
  seqs: number[];
  types: string[];
  opens: number;
  done: Promise<void>;
  es: EventSource;
}

function follow(url: string): EsRun {
  const es = new EventSource(url);
  const run: EsRun = { seqs: [], types: [], opens: 0, es, done: undefined as unknown as Promise<void> };
  const types = [
    'init',
    'node_start',
    'node_updated',
    'node_complete',
    'node_failed',
    'log_added',
    'space_created',
    'memory_add',
    'memory_update',
    'complete',
  ];
  for (const t of types) {
    es.addEventListener(t, (e: MessageEvent<string>) => {
      const ev = JSON.parse(e.data) as TraceEvent;
      assert.equal(ev.type, t);
      assert.equal(e.lastEventId, String(ev.seq));
      run.seqs.push(ev.seq);
      run.types.push(t);
    });
  }
  es.onopen = () => run.opens++;
  run.done = new Promise<void>((resolve) => {
    es.onmessage = (e) => {
      if (e.data === '[DONE]') {
        es.close();
        resolve();
      }
    };
  });
  return run;
}

describe('server SSE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ retryMs: 20, heartbeatMs: 40, pollMs: 20 });
  });
  after(async () => s.close());

  it('streams history then live events to an EventSource client, then [DONE]', async () => {
    const t = await s.tracer.create({ agentName: 'sse' });
    const root = t.add({ q: 1 }, { label: 'root' });
    root.info('history');
    const run = follow(`${s.api}/traces/${t.id}/events?stream=true`);
    await until(() => run.seqs.length === 3, 'history');
    const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
    a!.setOutput('partial');
    a!.complete('A');
    b!.complete('B');
    t.createSpace({ id: 'ctx' }).set('k', 'v');
    t.markComplete();
    await run.done;
    assert.deepEqual(run.seqs, range(1, t.lastSeq));
    assert.equal(run.types[0], 'init');
    assert.equal(run.types.at(-1), 'complete');
    assert.equal(run.opens, 1);
  });

  it('writes id/event/data frames, a retry hint and data: [DONE], then closes (raw fetch)', async () => {
    const t = await s.tracer.create();
    t.add('x', { label: 'x' }).complete('y');
    t.markComplete();
    const res = await fetch(`${s.api}/traces/${t.id}/events?stream=true`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    const text = await res.text(); // resolves only because the server ends the stream
    assert.ok(text.startsWith('retry: 20\n\n'));
    const frames = parseFrames(text).filter((f) => f.data !== undefined);
    const events = t.events();
    assert.equal(frames.length, events.length + 1);
    frames.slice(0, -1).forEach((f, i) => {
      assert.equal(f.id, String(events[i]!.seq));
      assert.equal(f.event, events[i]!.type);
      assert.deepEqual(JSON.parse(f.data!), events[i]);
    });
    assert.deepEqual(frames.at(-1), { data: '[DONE]' });
  });

  it('resumes after a forced disconnect by Last-Event-ID with no gap and no duplicate', async () => {
    const t = await s.tracer.create();
    const node = t.add(undefined, { label: 'work' });
    const run = follow(`${s.api}/traces/${t.id}/events?stream=true&since=0`);
    for (let i = 0; i < 50; i++) node.info(`before ${i}`);
    await until(() => run.seqs.length >= 20, 'first events');
    // Cut every open stream of this trace from the server side.
    for (const st of s.app.livetrace.streams.streams) if (st.traceId === t.id) st.res.destroy();
    for (let i = 0; i < 50; i++) node.info(`after ${i}`);
    await until(() => run.opens >= 2, 'reconnect');
    for (let i = 0; i < 50; i++) node.info(`later ${i}`);
    t.markComplete();
    await run.done;
    assert.ok(run.opens >= 2, 'the client reconnected');
    assert.deepEqual(run.seqs, range(1, t.lastSeq), 'no gap, no duplicate');
  });

  it('resumes from ?since= and from Last-Event-ID, the header winning', async () => {
    const t = await s.tracer.create();
    for (let i = 0; i < 10; i++) t.info(`l${i}`);
    t.markComplete();
    const last = t.lastSeq;
    const fromQuery = parseFrames(
      await (await fetch(`${s.api}/traces/${t.id}/events?stream=true&since=5`)).text(),
    ).filter((f) => f.id);
    assert.deepEqual(
      fromQuery.map((f) => Number(f.id)),
      range(6, last),
    );
    const fromHeader = parseFrames(
      await (
        await fetch(`${s.api}/traces/${t.id}/events?stream=true&since=2`, { headers: { 'last-event-id': '8' } })
      ).text(),
    ).filter((f) => f.id);
    assert.deepEqual(
      fromHeader.map((f) => Number(f.id)),
      range(9, last),
    );
    const viaAccept = parseFrames(
      await (
        await fetch(`${s.api}/traces/${t.id}/events?since=${last - 1}`, { headers: { accept: 'text/event-stream' } })
      ).text(),
    );
    assert.deepEqual(
      viaAccept.filter((f) => f.data).map((f) => f.event ?? f.data),
      ['complete', '[DONE]'],
    );
    const bad = await fetch(`${s.api}/traces/${t.id}/events?stream=true`, { headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    await bad.text();
  });

  it('ends at once with [DONE] when resumed after complete', async () => {
    const t = await s.tracer.create();
    t.add('a');
    t.markComplete();
    await t.flush();
    for (const released of [false, true]) {
      if (released) await t.release();
      const text = await (
        await fetch(`${s.api}/traces/${t.id}/events?stream=true`, { headers: { 'last-event-id': String(t.lastSeq) } })
      ).text();
      assert.deepEqual(
        parseFrames(text).filter((f) => f.data),
        [{ data: '[DONE]' }],
        `released=${released}`,
      );
    }
  });

  it('sends heartbeat comments while the trace is idle', async () => {
    const t = await s.tracer.create();
    const ac = new AbortController();
    const res = await fetch(`${s.api}/traces/${t.id}/events?stream=true`, { signal: ac.signal });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while ((text.match(/: heartbeat/g) ?? []).length < 2) text += dec.decode((await reader.read()).value);
    ac.abort();
    await reader.cancel().catch(() => undefined);
    await until(() => ![...s.app.livetrace.streams.streams].some((st) => st.traceId === t.id), 'stream cleanup');
    assert.equal(
      s.tracer.hub instanceof LocalHub ? s.tracer.hub.hasSubscribers(t.id) : false,
      false,
      'no hub listener left',
    );
    t.markComplete();
  });

  it('follows live a trace written by another process (shared store, no shared hub)', async () => {
    const shared = new MemoryStore();
    const serverTracer = new Tracer({ store: shared, exitHook: false });
    const writer = new Tracer({ store: shared, exitHook: false, flush: { intervalMs: 5 } });
    const srv = await startTestServer({ tracer: serverTracer, pollMs: 10 });
    try {
      const t = await writer.create();
      const n = t.add(undefined, { label: 'remote' });
      await t.flush();
      const run = follow(`${srv.api}/traces/${t.id}/events?stream=true`);
      await until(() => run.seqs.length >= 2, 'history from the store');
      for (let i = 0; i < 30; i++) n.info(`live ${i}`);
      t.markComplete();
      await t.flush();
      await run.done;
      assert.deepEqual(run.seqs, range(1, t.lastSeq));
    } finally {
      await srv.close();
      await writer.close();
      await serverTracer.close();
    }
  });
});
