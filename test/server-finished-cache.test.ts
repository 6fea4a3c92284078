// Finished traces are served from cache: the JSON of a finished trace's views is built once,
// served as the same bytes with a strong ETag, and a matching If-None-Match gets a 304.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TraceSnapshot } from '../src/core/types.js';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { FinishedViews, acceptsGzip, etagMatches } from '../src/server/finished-views.js';
import { sampleTrace, startTestServer, type TestServer } from './server-helpers.js';

const VIEWS = ['', '/nodes', '/logs', '/spaces'];

describe('finished traces served from cache', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      tokens: [
        { token: 'alpha-token-0001', tenantId: 'alpha' },
        { token: 'beta-token-000001', tenantId: 'beta' },
      ],
    });
  });
  after(async () => s.close());
  const auth = (token = 'alpha-token-0001', extra: Record<string, string> = {}): RequestInit => ({
    headers: { authorization: `Bearer ${token}`, ...extra },
  });

  it('serves every view of a finished store-only trace with a stable ETag and answers If-None-Match with 304', async () => {
    const t = await sampleTrace(s.tracer, { tenantId: 'alpha' });
    const snap = t.snapshot();
    await t.release();
    for (const v of VIEWS) {
      const url = `${s.api}/traces/${t.id}${v}`;
      const first = await fetch(url, auth());
      assert.equal(first.status, 200, v);
      const etag = first.headers.get('etag');
      assert.match(etag ?? '', /^"[A-Za-z0-9_-]{20,}"$/, `${v}: strong ETag`);
      assert.match(first.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(first.headers.get('cache-control'), 'private, no-cache');
      const body1 = await first.text();
      const second = await fetch(url, auth());
      assert.equal(second.headers.get('etag'), etag, `${v}: same bytes, same tag`);
      assert.equal(await second.text(), body1);
      const notModified = await fetch(url, auth('alpha-token-0001', { 'if-none-match': `"other", W/${etag!}` }));
      assert.equal(notModified.status, 304, `${v}: 304 on a matching If-None-Match`);
      assert.equal(notModified.headers.get('etag'), etag);
      assert.equal(await notModified.text(), '');
      const stale = await fetch(url, auth('alpha-token-0001', { 'if-none-match': '"not-it"' }));
      assert.equal(stale.status, 200);
      assert.equal(await stale.text(), body1);
      if (v === '/nodes') assert.deepEqual(JSON.parse(body1), { nodes: snap.nodes });
      if (v === '/logs') assert.deepEqual(JSON.parse(body1), { logs: snap.logs });
    }
  });

  it('sends the bytes gzipped (built once) to a client that accepts gzip, plain to one that does not; either tag gets a 304', async () => {
    const t = await sampleTrace(s.tracer, { tenantId: 'alpha' });
    await t.release();
    const { host, port } = new URL(s.api);
    const path = `${new URL(s.api).pathname}/traces/${t.id}/nodes`;
    // node:http sends no Accept-Encoding of its own (fetch would, and would decompress).
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        request(
          {
            host: host.replace(/:\d+$/, ''),
            port,
            path,
            headers: { authorization: 'Bearer alpha-token-0001', ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
            );
          },
        )
          .on('error', reject)
          .end();
      });
    const plain = await get({});
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers['vary'], 'accept-encoding');
    const gz = await get({ 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.length < plain.body.length, 'smaller');
    assert.deepEqual(gunzipSync(gz.body), plain.body, 'the same bytes, gzipped');
    assert.notEqual(gz.headers['etag'], plain.headers['etag'], 'another representation, another strong tag');
    const refused = await get({ 'accept-encoding': 'gzip;q=0, identity' });
    assert.equal(refused.headers['content-encoding'], undefined, 'gzip;q=0 is a refusal');
    for (const tag of [plain.headers['etag'], gz.headers['etag']] as string[])
      for (const enc of [{}, { 'accept-encoding': 'gzip' }])
        assert.equal((await get({ ...enc, 'if-none-match': tag })).status, 304, `${tag} ${JSON.stringify(enc)}`);
  });

  it('reads Accept-Encoding as RFC 9110 says', () => {
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip('br, GZIP'), true);
    assert.equal(acceptsGzip('gzip;q=0.5'), true);
    assert.equal(acceptsGzip('gzip; q=0'), false);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('gzip;q=0, *'), false, 'an explicit refusal wins over *');
    assert.equal(acceptsGzip('*;q=0'), false);
    assert.equal(acceptsGzip('*, gzip;q=0'), false);
    assert.equal(acceptsGzip(['deflate', 'x-gzip']), true);
  });

  it('never answers 304 or bytes to another tenant: visibility comes first', async () => {
    const t = await sampleTrace(s.tracer, { tenantId: 'alpha' });
    await t.release();
    const ok = await fetch(`${s.api}/traces/${t.id}/nodes`, auth());
    const etag = ok.headers.get('etag')!;
    await ok.arrayBuffer();
    const other = await fetch(`${s.api}/traces/${t.id}/nodes`, auth('beta-token-000001', { 'if-none-match': etag }));
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'LT_ERR_TRACE_NOT_FOUND');
  });

  it('changes the ETag when the finished trace changes (archived) and drops it when removed', async () => {
    const t = await sampleTrace(s.tracer, { tenantId: 'alpha' });
    await t.release();
    const url = `${s.api}/traces/${t.id}`;
    const before = await fetch(url, auth());
    const etag = before.headers.get('etag')!;
    assert.equal(((await before.json()) as TraceSnapshot).info.archived, false);
    await s.tracer.archive(t.id);
    const after = await fetch(url, auth('alpha-token-0001', { 'if-none-match': etag }));
    assert.equal(after.status, 200, 'the old tag no longer matches');
    assert.notEqual(after.headers.get('etag'), etag);
    assert.equal(((await after.json()) as TraceSnapshot).info.archived, true);
    await s.tracer.remove(t.id);
    assert.equal((await fetch(url, auth('alpha-token-0001', { 'if-none-match': etag }))).status, 404);
  });

  it('serves a running trace fresh (no ETag), then cached once it has completed, loaded or not', async () => {
    const t = await sampleTrace(s.tracer, { tenantId: 'alpha', complete: false });
    const url = `${s.api}/traces/${t.id}/nodes`;
    const running = await fetch(url, auth());
    assert.equal(running.headers.get('etag'), null);
    const n1 = ((await running.json()) as { nodes: unknown[] }).nodes.length;
    t.add(undefined, { label: 'more' });
    await t.flush();
    assert.equal(
      ((await (await fetch(url, auth())).json()) as { nodes: unknown[] }).nodes.length,
      n1 + 1,
      'live changes show at once',
    );
    t.markComplete();
    await t.flush();
    const done = await fetch(url, auth());
    const etag = done.headers.get('etag');
    assert.ok(etag, 'a finished trace still loaded here is cached too');
    assert.equal(
      ((await done.json()) as { nodes: { status: string }[] }).nodes.every((n) => n.status !== 'running'),
      true,
    );
    assert.equal((await fetch(url, auth('alpha-token-0001', { 'if-none-match': etag }))).status, 304);
    await t.release();
  });

  it('builds each view of a snapshot once and reuses the bytes', () => {
    const views = new FinishedViews();
    const snap = { nodes: [{ id: 'a' }] } as unknown as TraceSnapshot;
    let builds = 0;
    const build = (sn: TraceSnapshot): unknown => {
      builds++;
      return { nodes: sn.nodes };
    };
    const a = views.body(snap, 'nodes', build);
    const b = views.body(snap, 'nodes', build);
    assert.equal(builds, 1);
    assert.equal(a.bytes, b.bytes);
    assert.equal(a.bytes.toString(), '{"nodes":[{"id":"a"}]}');
    assert.notEqual(views.body(snap, 'logs', () => ({ logs: [] })).etag, a.etag);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    assert.equal(etagMatches('"x"', '"x"'), true);
    assert.equal(etagMatches('W/"x"', '"x"'), true);
    assert.equal(etagMatches('"a" , "x"', '"x"'), true);
    assert.equal(etagMatches('*', '"x"'), true);
    assert.equal(etagMatches('"y"', '"x"'), false);
    assert.equal(etagMatches(undefined, '"x"'), false);
  });
});
