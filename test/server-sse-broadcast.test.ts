// The SSE broadcast (src/server/sse-broadcast.ts): caught-up clients of a trace wait
// together and get each burst as the same bytes; a client whose socket fills leaves and
// follows alone, the others are not held back; nothing is lost, duplicated or leaked.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { SseBroadcast, type ParkOutcome } from '../src/server/sse-broadcast.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { drain, openPaused, startTestServer, until, type TestServer } from './server-helpers.js';

function assertWhole(seqs: number[], last: number, who: string): void {
  assert.equal(seqs.length, last, `${who}: every event once`);
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) assert.fail(`${who}: event ${i + 1} has seq ${seqs[i]}`);
}

const parkedOn = (s: TestServer, id: string): number => s.app.livetrace.streams.broadcasts.get(id)?.size ?? 0;

describe('SSE broadcast', () => {
  it('caught-up clients wait together, each receives every event once in order, and the broadcast ends with the trace', async () => {
    const s = await startTestServer();
    try {
      const t = await s.tracer.create();
      await t.flush();
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => openPaused(`${s.api}/traces/${t.id}/events?stream=true`)),
      );
      const readers = responses.map((res) => drain(res));
      // Nothing to send yet: all 20 park with the trace's one broadcast.
      await until(() => parkedOn(s, t.id) === 20, 'all clients parked');
      const node = t.add(undefined, { label: 'writer' });
      for (let i = 0; i < 2000; i++) {
        node.info('token', { i, text: 'ünïcode ✓ "quoted" \u0001' });
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      t.markComplete();
      await t.flush();
      (await Promise.all(readers)).forEach((r, i) => {
        assertWhole(r.seqs, t.lastSeq, `client ${i}`);
        assert.equal(r.done, true, `client ${i}: [DONE]`);
      });
      await until(() => s.app.livetrace.streams.broadcasts.size === 0, 'the broadcast closed');
      assert.equal(s.app.livetrace.streams.size, 0, 'no stream left');
    } finally {
      await s.close();
    }
  });

  it('a client that stops reading leaves the broadcast, the others are not held back, and it catches up losslessly', async () => {
    const s = await startTestServer({ stallTimeoutMs: 60_000 });
    try {
      const t = await s.tracer.create();
      await t.flush();
      const url = `${s.api}/traces/${t.id}/events?stream=true`;
      const fast = (await Promise.all(Array.from({ length: 5 }, () => openPaused(url)))).map((res) => drain(res));
      const slow = await openPaused(url);
      await until(() => parkedOn(s, t.id) === 6, 'all clients parked');
      const node = t.add(undefined, { label: 'firehose' });
      for (let i = 0; i < 30_000; i++) {
        node.info('event', { i, pad: 'x'.repeat(64) });
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
      t.markComplete();
      await t.flush();
      // The reading clients finish while the paused one still holds its socket full.
      (await Promise.all(fast)).forEach((r, i) => assertWhole(r.seqs, t.lastSeq, `reading client ${i}`));
      assert.ok(
        [...s.app.livetrace.streams.streams].some((st) => st.res.writableNeedDrain),
        'the paused client is waiting for its socket to drain',
      );
      const late = await drain(slow);
      assertWhole(late.seqs, t.lastSeq, 'paused client');
      assert.equal(late.done, true);
    } finally {
      await s.close();
    }
  });

  it('clients that disconnect while parked leave it; the last one out closes it; shutdown ends parked streams', async () => {
    const s = await startTestServer();
    try {
      const t = await s.tracer.create();
      await t.flush();
      const url = `${s.api}/traces/${t.id}/events?stream=true`;
      const gone = await Promise.all(Array.from({ length: 3 }, () => openPaused(url)));
      await until(() => parkedOn(s, t.id) === 3, 'parked');
      for (const res of gone) res.destroy();
      await until(() => s.app.livetrace.streams.broadcasts.size === 0, 'the broadcast closed');
      await until(() => s.app.livetrace.streams.size === 0, 'streams cleaned up');
      // Live again, then the server shuts down with clients parked.
      const staying = (await Promise.all(Array.from({ length: 2 }, () => openPaused(url)))).map((res) => drain(res));
      await until(() => parkedOn(s, t.id) === 2, 'parked again');
      await s.close();
      await Promise.all(staying);
      assert.equal(s.app.livetrace.streams.size, 0);
      assert.equal(s.app.livetrace.streams.broadcasts.size, 0);
    } finally {
      await s.close();
    }
  });
});

/** A response that records what is written; `full` makes write() report a full socket. */
class FakeResponse {
  readonly chunks: Buffer[] = [];
  destroyed = false;
  writableEnded = false;
  full = false;
  /** What the broadcast did to this response and to the others, in order (shared). */
  constructor(
    readonly calls: string[] = [],
    readonly name = '',
  ) {}
  cork(): void {
    this.calls.push(`cork ${this.name}`);
  }
  uncork(): void {
    this.calls.push(`uncork ${this.name}`);
  }
  write(b: Buffer): boolean {
    this.calls.push(`write ${this.name}`);
    this.chunks.push(b);
    return !this.full;
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

describe('SSE broadcast rounds', () => {
  it('writes the same bytes to clients at the same place, the rest to a client parked ahead, and refuses one behind', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    try {
      const t = await tracer.create();
      const node = t.add(undefined, { label: 'n' });
      await t.flush();
      const last = t.lastSeq;
      let closed = false;
      const b = new SseBroadcast(tracer, t.id, 0, 250, () => (closed = true));
      const calls: string[] = [];
      const resA = new FakeResponse(calls, 'A');
      const resB = new FakeResponse(calls, 'B');
      const resC = new FakeResponse(calls, 'C');
      const a = { res: resA as unknown as ServerResponse, position: 0 };
      const c = { res: resC as unknown as ServerResponse, position: 0 };
      // B wrote all but the last event itself before it parked.
      const bb = { res: resB as unknown as ServerResponse, position: last - 1 };
      const outA = b.park(a)!;
      const outB = b.park(bb)!;
      const outC = b.park(c)!;
      await until(() => resA.chunks.length === 1, 'the first round');
      assert.deepEqual(
        [...resA.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
        Array.from({ length: last }, (_, i) => i + 1),
      );
      assert.equal(resC.chunks[0], resA.chunks[0], 'one Buffer for both clients at 0');
      // Each client's write is flushed before the next client's: nothing waits for the pass.
      assert.deepEqual(calls, [
        'cork A',
        'write A',
        'uncork A',
        'cork B',
        'write B',
        'uncork B',
        'cork C',
        'write C',
        'uncork C',
      ]);
      assert.deepEqual(
        [...resB.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
        [last],
        'the client parked ahead gets only what it lacks',
      );
      assert.equal(b.park({ res: new FakeResponse() as unknown as ServerResponse, position: 0 }), undefined);

      // A's socket fills on the next round: it is handed back to follow alone.
      resA.full = true;
      node.info('one');
      assert.deepEqual(await outA, { kind: 'backpressure' } satisfies ParkOutcome);
      assert.equal(a.position, last + 1);
      // C leaves (its client went away); B reaches the end with [DONE].
      b.leave(c);
      assert.deepEqual(await outC, { kind: 'left' });
      t.markComplete();
      assert.deepEqual(await outB, { kind: 'complete' });
      assert.match(resB.text, /event: complete\n[^]*data: \[DONE\]\n\n$/);
      assert.equal(closed, true, 'the last client out closed the broadcast');
      assert.equal(b.park({ res: new FakeResponse() as unknown as ServerResponse, position: t.lastSeq }), undefined);
    } finally {
      await tracer.close();
    }
  });
});
