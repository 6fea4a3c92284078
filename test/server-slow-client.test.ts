import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drain, openPaused, startTestServer, type TestServer } from './server-helpers.js';

const N = 100_000;

/** Writes N log events, yielding now and then so the server can push, sampling its buffers. */
async function writeMany(s: TestServer, traceId: string, n: number, sample: () => void): Promise<void> {
  const t = s.tracer.get(traceId)!;
  const node = t.add(undefined, { label: 'firehose' });
  for (let i = 0; i < n; i++) {
    node.info('event', { i });
    if (i % 1000 === 999) {
      sample();
      await new Promise((r) => setImmediate(r));
    }
  }
  t.markComplete();
  await t.flush();
}

function assertInOrder(seqs: number[], last: number): void {
  assert.equal(seqs.length, last, 'every event once');
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) assert.fail(`event ${i + 1} has seq ${seqs[i]}`);
}

describe('slow SSE clients', () => {
  it('a client that reads nothing while 100,000 events stream costs bounded server memory, then receives everything in order', async (ctx) => {
    const s = await startTestServer({ stallTimeoutMs: 120_000 });
    try {
      const t = await s.tracer.create();
      const res = await openPaused(`${s.api}/traces/${t.id}/events?stream=true`);
      let maxSocketBuffer = 0;
      let maxFollowerBuffer = 0;
      let paused = false;
      const sample = (): void => {
        for (const st of s.app.livetrace.streams.streams) {
          maxSocketBuffer = Math.max(maxSocketBuffer, st.res.writableLength);
          maxFollowerBuffer = Math.max(maxFollowerBuffer, st.follower.buffered);
          if (st.res.writableNeedDrain) paused = true;
        }
      };
      await writeMany(s, t.id, N, sample);
      sample();
      const lastSeq = t.lastSeq;
      assert.ok(paused, 'the stream hit backpressure (the client was not reading)');
      // What the server holds for this client: its socket's user-space buffer (one 64 KiB
      // write batch over the high-water mark at most, not the ~12 MB stream) and the
      // follower's queue (one subscription buffer or one store page).
      assert.ok(maxSocketBuffer <= 160 * 1024, `socket buffer stayed bounded: ${maxSocketBuffer} bytes`);
      assert.ok(maxFollowerBuffer <= 2048, `follower buffer stayed bounded: ${maxFollowerBuffer} events`);
      ctx.diagnostic(
        `max socket buffer ${maxSocketBuffer} B, max follower buffer ${maxFollowerBuffer} events, ${lastSeq} events`,
      );
      const got = await drain(res);
      assertInOrder(got.seqs, lastSeq);
      assert.equal(got.done, true, '[DONE] at the end');
    } finally {
      await s.close();
    }
  });

  it('shutdown does not wait for a client that reads nothing', async () => {
    const s = await startTestServer({ stallTimeoutMs: 120_000 });
    const t = await s.tracer.create();
    const res = await openPaused(`${s.api}/traces/${t.id}/events?stream=true`);
    await writeMany(s, t.id, 20_000, () => undefined);
    while (![...s.app.livetrace.streams.streams].some((st) => st.res.writableNeedDrain))
      await new Promise((r) => setTimeout(r, 10));
    const [stream] = [...s.app.livetrace.streams.streams];
    assert.ok(stream);
    // The client still reads nothing (and never will): close() resolves because the server
    // cuts its stream (the client resumes by Last-Event-ID), not because it was drained.
    await s.close();
    assert.equal(stream.res.destroyed, true, 'the stalled stream was cut');
    res.destroy();
  });

  it('a client stalled past the timeout is disconnected and resumes losslessly by Last-Event-ID', async () => {
    const s = await startTestServer({ stallTimeoutMs: 300 });
    try {
      const t = await s.tracer.create();
      const res = await openPaused(`${s.api}/traces/${t.id}/events?stream=true`);
      await writeMany(s, t.id, N, () => undefined);
      const deadline = Date.now() + 20_000;
      while (s.app.livetrace.streams.stalled === 0) {
        if (Date.now() > deadline) assert.fail('the stalled client was not disconnected');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(s.app.livetrace.streams.size, 0, 'the stalled stream is gone');
      const first = await drain(res);
      assert.equal(first.done, false, 'the first connection was cut before the end');
      const last = first.seqs.at(-1) ?? 0;
      assert.ok(last < t.lastSeq);
      // The client resumes by Last-Event-ID until [DONE], as a real one does. A resumed
      // connection reads at once, but in this one process (client and server share the
      // event loop) a loaded machine can starve it past the 300 ms stall timeout, and the
      // server rightly cuts it again: each connection must make progress, and all of them
      // together must be the whole log, once, in order.
      const seqs = [...first.seqs];
      let done = false;
      for (let resumes = 0; !done; resumes++) {
        assert.ok(resumes < 100, `resumed ${resumes} times, at seq ${seqs.at(-1)}`);
        const again = await openPaused(`${s.api}/traces/${t.id}/events?stream=true`, {
          'last-event-id': String(seqs.at(-1) ?? 0),
        });
        const next = await drain(again);
        assert.ok(next.seqs.length > 0 || next.done, 'each resumed connection makes progress');
        seqs.push(...next.seqs);
        done = next.done;
      }
      assertInOrder(seqs, t.lastSeq);
    } finally {
      await s.close();
    }
  });
});
