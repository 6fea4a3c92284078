import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createServer } from '../src/server/create-server.js';
import { startServer } from '../src/server/start-server.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

describe('server shutdown', () => {
  it('answers 503, ends SSE streams cleanly, closes the server, then flushes and closes the tracer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-shutdown-'));
    const steps: string[] = [];
    try {
      const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
      let origin = '';
      const app = await createServer({
        tracer,
        closeTracer: true,
        viewer: false,
        beforeClose: async () => {
          steps.push('beforeClose');
          const r = await fetch(`${origin}/v1/trace/traces`);
          assert.equal(r.status, 503);
          assert.equal(r.headers.get('connection'), 'close');
          assert.deepEqual(await r.json(), {
            error: { code: 'LT_ERR_TRACER_CLOSED', message: 'the server is shutting down' },
          });
          steps.push('503');
        },
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const closeTracer = tracer.close.bind(tracer);
      tracer.close = async () => {
        steps.push(`tracer.close listening=${app.server.listening} streams=${app.livetrace.streams.size}`);
        return closeTracer();
      };

      const trace = await tracer.create({ agentName: 'long-run' });
      trace.add(undefined, { label: 'working' }).info('busy');
      const clients = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const res = await fetch(`${origin}/v1/trace/traces/${trace.id}/events?stream=true`);
          assert.equal(res.status, 200);
          // Wrapped: an async function returning a promise would wait for the stream's end.
          return {
            text: res.text().then((text) => {
              steps.push(`client ${i} ended`);
              return text;
            }),
          };
        }),
      );
      while (app.livetrace.streams.size < 3) await new Promise((r) => setTimeout(r, 5));
      const seq = trace.lastSeq;

      await app.close();
      const texts = await Promise.all(clients.map((c) => c.text));
      for (const text of texts)
        assert.match(text, new RegExp(`id: ${seq}\\n`), 'each client got the history before the clean end');

      // Server side, in order: 503s, then every stream ended and the server closed
      // (server.close() waits for the SSE connections), then the tracer closed. The
      // clients see their clean end of stream asynchronously.
      const serverSteps = steps.filter((x) => !x.startsWith('client'));
      assert.deepEqual(serverSteps, ['beforeClose', '503', 'tracer.close listening=false streams=0']);
      assert.deepEqual(steps.filter((x) => x.startsWith('client')).sort(), [
        'client 0 ended',
        'client 1 ended',
        'client 2 ended',
      ]);
      assert.ok(tracer.isClosed);

      // The running trace was flushed and marked cancelled ("shutdown") before the store closed.
      const reader = new Tracer({ store: new FileStore({ dir }), exitHook: false });
      const snap = await reader.read(trace.id);
      assert.equal(snap?.info.status, 'cancelled');
      assert.equal(snap?.info.reason, 'shutdown');
      assert.equal(snap?.last_seq, trace.lastSeq);
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('startServer with --demo stops the demo loop, and leaves no server handle behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-shutdown-demo-'));
    try {
      const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
      const before = servers();
      const server = await startServer({ dir, port: 0, demo: { everyMs: 60_000, timeScale: 1 } });
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      // Wait until the first demo run exists, then shut down in the middle of it.
      let id: string | undefined;
      while (!id) {
        id = (await server.tracer.list()).traces[0]?.id ?? server.tracer.loaded()[0];
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all([server.close(), server.close()]);
      // The listening handle is released by libuv on a later turn of the loop than the close
      // callback: wait for it (bounded), so a handle that stays is still caught.
      for (let i = 0; i < 100 && servers() !== before; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(servers(), before);
      const reader = new Tracer({ store: new FileStore({ dir }), exitHook: false });
      const info = await reader.info(id);
      assert.equal(info?.status, 'cancelled', 'the interrupted demo run is stored as cancelled');
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
