import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NodeData, SpaceData, TraceEvent, TraceInfo, TraceSnapshot } from '../src/core/types.js';
import { livetracePlugin } from '../src/server/plugin.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import Fastify from 'fastify';
import {
  sampleTrace,
  startTestServer,
  type ErrorBody,
  type EventsBody,
  type LogsBody,
  type NodesBody,
  type SpacesBody,
  type TestServer,
  type TracesBody,
} from './server-helpers.js';

/** A request and its body, parsed as JSON when it is JSON; `T` is the body the test expects. */
async function get<T = ErrorBody>(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

describe('server routes', () => {
  let s: TestServer;
  let loadedId: string;
  let storedId: string;
  let snapshot: TraceSnapshot;

  before(async () => {
    s = await startTestServer();
    // One trace still loaded in this process, one released (only in the store).
    const stored = await sampleTrace(s.tracer);
    storedId = stored.id;
    snapshot = stored.snapshot();
    await stored.release();
    const loaded = await sampleTrace(s.tracer, { complete: false });
    loadedId = loaded.id;
  });
  after(async () => s.close());

  it('GET /traces lists newest first with paging', async () => {
    const r = await get<TracesBody>(`${s.api}/traces`);
    assert.equal(r.status, 200);
    assert.deepEqual(new Set(r.body.traces.map((t) => t.id)), new Set([loadedId, storedId]));
    const page1 = await get<TracesBody>(`${s.api}/traces?limit=1`);
    assert.equal(page1.body.traces.length, 1);
    assert.equal(typeof page1.body.next_cursor, 'string');
    const page2 = await get<TracesBody>(`${s.api}/traces?limit=1&cursor=${page1.body.next_cursor ?? ''}`);
    assert.equal(page2.body.traces.length, 1);
    assert.notEqual(page2.body.traces[0]?.id, page1.body.traces[0]?.id);
  });

  it('GET /traces filters by status and rejects bad filters with 400', async () => {
    const completed = await get<TracesBody>(`${s.api}/traces?status=completed`);
    assert.deepEqual(
      completed.body.traces.map((t) => t.id),
      [storedId],
    );
    const both = await get<TracesBody>(`${s.api}/traces?status=completed,running`);
    assert.equal(both.body.traces.length, 2);
    for (const q of ['status=done', 'limit=0', 'limit=abc', 'from=yesterday']) {
      const r = await get(`${s.api}/traces?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'LT_ERR_INVALID_ARGUMENT', q);
      assert.equal(typeof r.body.error.message, 'string');
    }
  });

  for (const which of ['loaded', 'stored'] as const) {
    it(`serves info, nodes, node, logs, spaces, space, events and snapshot of a ${which} trace`, async () => {
      const id = which === 'loaded' ? loadedId : storedId;
      const snap = which === 'loaded' ? s.tracer.get(loadedId)!.snapshot() : snapshot;
      const info = await get<TraceInfo>(`${s.api}/traces/${id}/info`);
      assert.equal(info.status, 200);
      assert.equal(info.body.id, id);
      assert.equal(info.body.status, which === 'loaded' ? 'running' : 'completed');

      const nodes = await get<NodesBody>(`${s.api}/traces/${id}/nodes`);
      assert.deepEqual(nodes.body.nodes, snap.nodes);
      const join = nodes.body.nodes.find((n) => n.label === 'join')!;
      assert.equal(join.parent_ids.length, 2, 'join has both branches as parents');

      const one = await get<NodeData>(`${s.api}/traces/${id}/nodes/${join.id}`);
      assert.deepEqual(one.body, join);

      const logs = await get<LogsBody>(`${s.api}/traces/${id}/logs`);
      assert.deepEqual(logs.body.logs, snap.logs);
      const root = snap.nodes[0]!;
      const rootLogs = await get<LogsBody>(`${s.api}/traces/${id}/logs/${root.id}`);
      assert.deepEqual(
        rootLogs.body.logs.map((l) => l.message),
        ['starting'],
      );

      const spaces = await get<SpacesBody>(`${s.api}/traces/${id}/spaces`);
      assert.equal(spaces.body.spaces.length, 1);
      assert.deepEqual(spaces.body.spaces[0]?.keys, ['k']);
      assert.equal('data' in spaces.body.spaces[0], false, 'the list leaves the data out');
      assert.equal('items' in spaces.body.spaces[0], false, 'and the item details');
      const space = await get<SpaceData>(`${s.api}/traces/${id}/spaces/context`);
      // key -> value, as the reference's API; the details of each key beside it, under `items`.
      assert.deepEqual(space.body.data, { k: 2 });
      assert.deepEqual(Object.keys(space.body.items), ['k']);
      assert.equal(typeof space.body.items['k']!.timestamp, 'number');
      assert.deepEqual(
        space.body,
        (await get<TraceSnapshot>(`${s.api}/traces/${id}`)).body.spaces[0],
        'the snapshot holds the same space',
      );

      const events = await get<EventsBody>(`${s.api}/traces/${id}/events`);
      assert.deepEqual(
        events.body.events.map((e) => e.seq),
        Array.from({ length: snap.last_seq }, (_, i) => i + 1),
      );
      assert.equal(events.body.next_since, null);

      const whole = await get<TraceSnapshot>(`${s.api}/traces/${id}`);
      assert.deepEqual(whole.body.nodes, snap.nodes);
      assert.equal(whole.body.last_seq, snap.last_seq);
    });
  }

  it('keeps snapshots of finished store-only traces until they are archived or removed', async () => {
    const t = await sampleTrace(s.tracer);
    const id = t.id;
    await t.release();
    const store = s.tracer.store;
    const origRead = store.read.bind(store);
    let reads = 0;
    store.read = async (tid, o) => {
      if (tid === id) reads++;
      return origRead(tid, o);
    };
    try {
      const first = await get<NodesBody>(`${s.api}/traces/${id}/nodes`);
      const second = await get<NodesBody>(`${s.api}/traces/${id}/nodes`);
      assert.deepEqual(second.body, first.body);
      assert.equal(reads, 1, 'the second request reused the snapshot');
      await s.tracer.archive(id);
      const archived = await get<TraceSnapshot>(`${s.api}/traces/${id}`);
      assert.equal(archived.body.info.archived, true, 'archiving changes the stored info: rebuilt');
      assert.equal(reads, 2);
      await s.tracer.remove(id);
      assert.equal((await get(`${s.api}/traces/${id}/nodes`)).status, 404);
    } finally {
      store.read = origRead;
    }
  });

  it('pages the event history with since/limit and next_since', async () => {
    const page = await get<EventsBody>(`${s.api}/traces/${storedId}/events?since=2&limit=3`);
    assert.deepEqual(
      page.body.events.map((e) => e.seq),
      [3, 4, 5],
    );
    assert.equal(page.body.next_since, 5);
    const rest = await get<EventsBody>(`${s.api}/traces/${storedId}/events?since=5&limit=10000`);
    assert.equal(rest.body.events[0]?.seq, 6);
    assert.equal(rest.body.next_since, null);
    const bad = await get(`${s.api}/traces/${storedId}/events?since=-1`);
    assert.equal(bad.status, 400);
  });

  it('exports json (re-importable: snapshot + events) and otlp', async () => {
    const json = await get<{ format: string; version: number; trace: TraceSnapshot; events: TraceEvent[] }>(
      `${s.api}/traces/${storedId}/export?format=json`,
    );
    assert.equal(json.status, 200);
    assert.equal(json.body.format, 'livetrace.trace');
    assert.equal(json.body.version, 1);
    assert.deepEqual(json.body.trace.nodes, snapshot.nodes);
    assert.equal(json.body.events.length, snapshot.last_seq);
    assert.match(json.headers.get('content-disposition') ?? '', /attachment; filename="\d+\.json"/);
    const otlp = await get<{ resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }>(
      `${s.api}/traces/${storedId}/export?format=otlp`,
    );
    assert.equal(otlp.status, 200);
    const spans = otlp.body.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    assert.equal(spans.length, snapshot.nodes.length);
    const bad = await get(`${s.api}/traces/${storedId}/export?format=xml`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'LT_ERR_INVALID_ARGUMENT');
  });

  it('answers bad ids with 400 before any I/O, unknown traces/nodes/spaces with 404', async () => {
    let reads = 0;
    const store = s.tracer.store;
    const origInfo = store.info.bind(store);
    const origRead = store.read.bind(store);
    store.info = async (id) => {
      reads++;
      return origInfo(id);
    };
    store.read = async (id, o) => {
      reads++;
      return origRead(id, o);
    };
    try {
      for (const path of [
        '/traces/bad$id/info',
        '/traces/bad.id/nodes',
        `/traces/${'x'.repeat(129)}/info`,
        `/traces/${storedId}/nodes/no$de`,
        `/traces/${storedId}/spaces/sp%20ace`,
      ]) {
        const r = await get(s.api + path);
        assert.equal(r.status, 400, path);
        assert.equal(r.body.error.code, 'LT_ERR_INVALID_ID', path);
      }
      assert.equal(reads, 0, 'no store access for invalid ids');
    } finally {
      store.info = origInfo;
      store.read = origRead;
    }
    const missing = await get(`${s.api}/traces/20990101000000000000/info`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'LT_ERR_TRACE_NOT_FOUND');
    const missingStream = await get(`${s.api}/traces/nope/events?stream=true`);
    assert.equal(missingStream.status, 404);
    const node = await get(`${s.api}/traces/${storedId}/nodes/zzzzzzzzzzzz`);
    assert.equal(node.status, 404);
    assert.equal(node.body.error.code, 'LT_ERR_UNKNOWN_NODE');
    const nodeLogs = await get(`${s.api}/traces/${storedId}/logs/zzzzzzzzzzzz`);
    assert.equal(nodeLogs.body.error.code, 'LT_ERR_UNKNOWN_NODE');
    const space = await get(`${s.api}/traces/${storedId}/spaces/nope`);
    assert.equal(space.status, 404);
    assert.equal(space.body.error.code, 'LT_ERR_UNKNOWN_SPACE');
    const route = await get(`${s.api}/nope`);
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'LT_ERR_NOT_FOUND');
  });

  it('answers other methods with 405 + Allow and oversize bodies with 413', async () => {
    const r = await get(`${s.api}/traces/${storedId}/info`, { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    assert.equal(r.body.error.code, 'LT_ERR_METHOD_NOT_ALLOWED');
    const post = await get(`${s.api}/traces/${storedId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(post.status, 405);
    // POST /traces is the write API (docs/ingest.md): its own, larger limit.
    const big = await get(`${s.api}/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(1_100_000) }),
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'LT_ERR_PAYLOAD_TOO_LARGE');
    const bigOther = await get(`${s.api}/traces`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-whatever' },
      body: 'z'.repeat(100_000),
    });
    assert.equal(bigOther.status, 413);
    const head = await fetch(`${s.api}/traces/${storedId}/info`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const headStream = await fetch(`${s.api}/traces/${loadedId}/events?stream=true`, { method: 'HEAD' });
    assert.equal(headStream.status, 200, 'HEAD on the stream answers at once');
    assert.match(headStream.headers.get('content-type') ?? '', /application\/json/);
  });

  it('answers a store failure with 500 without internals', async () => {
    const store = s.tracer.store;
    const orig = store.list.bind(store);
    store.list = async () => {
      throw new Error('secret path /var/lib/db is broken');
    };
    try {
      const r = await get(`${s.api}/traces`);
      assert.equal(r.status, 500);
      assert.deepEqual(r.body, { error: { code: 'LT_ERR_INTERNAL', message: 'internal error' } });
    } finally {
      store.list = orig;
    }
  });

  it('serves a fallback page at / without a viewer build, never under the API path', async () => {
    const t = await startTestServer({ viewer: undefined as unknown as string, basePath: '/api/lt/' });
    try {
      const page = await fetch(`${t.origin}/`);
      if (t.app.livetrace.viewerDir === undefined) {
        assert.equal(page.status, 200);
        assert.match(await page.text(), /href="\/api\/lt\/traces"/);
      } else {
        await page.text();
      }
      assert.equal(t.api, `${t.origin}/api/lt`);
      const list = await get(`${t.api}/traces`);
      assert.equal(list.status, 200);
    } finally {
      await t.close();
    }
  });

  it('serves a built viewer with cache headers and an index.html fallback for client routes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-viewer-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>viewer</title>');
    await writeFile(join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
    const t = await startTestServer({ viewer: dir });
    try {
      const index = await fetch(`${t.origin}/`);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      assert.match(await index.text(), /viewer/);
      const asset = await fetch(`${t.origin}/assets/app-1a2b3c.js`);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      await asset.text();
      const client = await fetch(`${t.origin}/traces/123`, { headers: { accept: 'text/html' } });
      assert.equal(client.status, 200);
      assert.equal(client.headers.get('cache-control'), 'no-cache');
      assert.match(await client.text(), /viewer/);
      // API paths never fall back to the viewer.
      const api = await get(`${t.api}/nope`, { headers: { accept: 'text/html' } });
      assert.equal(api.status, 404);
      assert.equal(api.body.error.code, 'LT_ERR_NOT_FOUND');
      const missingAsset = await get(`${t.origin}/assets/missing.js`);
      assert.equal(missingAsset.status, 404);
    } finally {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('mounts as a plugin into a user app under any prefix', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const app = Fastify();
    app.get('/health', async () => ({ ok: true }));
    await app.register(livetracePlugin, { tracer, prefix: '/tracing' });
    const t = await sampleTrace(tracer);
    const r = await app.inject({ url: `/tracing/traces/${t.id}/nodes` });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json<NodesBody>().nodes.length, 4);
    const bad = await app.inject({ url: '/tracing/traces/bad$/info' });
    assert.equal(bad.json<ErrorBody>().error.code, 'LT_ERR_INVALID_ID');
    // The plugin's handlers are encapsulated: the user's app keeps its own 404.
    const other = await app.inject({ url: '/elsewhere' });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json<{ error: string }>().error, 'Not Found');
    await app.close();
    await tracer.close();
  });
});
