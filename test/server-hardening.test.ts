// The server with tenants and an untrusted network (issue 10): visibility decided before
// any heavy read, the Host allowlist, every error in the JSON shape, a store that cannot
// open failing at start. Real HTTP against a real server (and the real CLI binary).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TraceEvent, TraceInfo } from '../src/core/types.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { ReadOptions } from '../src/store/store.js';
import { HeavyWork } from '../src/server/heavy-work.js';
import { Tracer } from '../src/tracer/tracer.js';
import { sampleTrace, startTestServer, type ErrorBody, type TestServer, type TracesBody } from './server-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');

/** A real MemoryStore that counts event-log reads (the heavy part of a request). */
class CountingStore extends MemoryStore {
  logReads = 0;
  override async read(traceId: string, options?: ReadOptions): Promise<TraceEvent[]> {
    this.logReads++;
    return super.read(traceId, options);
  }
}

/** `T`: the JSON body the test expects (an error body unless said otherwise). */
interface RawResponse<T = ErrorBody> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** An HTTP request with full control of the headers (fetch cannot set Host). */
function raw<T = ErrorBody>(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse<T>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: body as T });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and returns the parsed status line and JSON body of the answer. */
function rawBytes(origin: string, text: string): Promise<{ status: number; body: ErrorBody }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (!m) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ status: Number(m[1]), body: JSON.parse(body) as ErrorBody });
    });
    sock.write(text);
  });
}

function assertErrorShape(r: { status: number; body: ErrorBody }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(typeof r.body, 'object', `JSON body expected, got ${JSON.stringify(r.body)}`);
  assert.deepEqual(Object.keys(r.body), ['error']);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  assert.ok(r.body.error.message.length > 0);
}

describe('tenants: visibility from stored info, before any heavy read', () => {
  const store = new CountingStore();
  let s: TestServer;
  let foreignId: string;
  const tokens = [
    { token: 'token-tenant-a', tenantId: 'a' },
    { token: 'token-tenant-b', tenantId: 'b' },
  ];
  before(async () => {
    s = await startTestServer({ tracer: new Tracer({ store, exitHook: false }), tokens, snapshotCache: false });
    const t = await sampleTrace(s.tracer, { tenantId: 'a' });
    foreignId = t.id;
    await t.release();
  });
  after(async () => {
    await s.close();
    await s.tracer.close();
  });

  const routes = [
    '',
    '/info',
    '/nodes',
    '/logs',
    '/spaces',
    '/spaces/context',
    '/export',
    '/export?format=otlp',
    '/events',
    '/events?stream=true',
  ];
  for (const route of routes) {
    it(`GET /traces/:id${route} of another tenant's trace is a 404 that reads no event log, like a missing trace`, async () => {
      const auth = { authorization: 'Bearer token-tenant-b' };
      store.logReads = 0;
      const foreign = await raw(`${s.api}/traces/${foreignId}${route}`, { headers: auth });
      assertErrorShape(foreign, 404, 'LT_ERR_TRACE_NOT_FOUND');
      assert.equal(store.logReads, 0, 'a foreign trace must not cost an event-log read');
      const missing = await raw(`${s.api}/traces/no-such-trace${route}`, { headers: auth });
      assertErrorShape(missing, 404, 'LT_ERR_TRACE_NOT_FOUND');
      assert.equal(store.logReads, 0, 'a missing trace must not cost an event-log read');
      assert.equal(
        foreign.body.error.message.replace(foreignId, 'ID'),
        missing.body.error.message.replace('no-such-trace', 'ID'),
      );
      // The owner still gets it.
      const own = await raw(`${s.api}/traces/${foreignId}${route === '/events?stream=true' ? '/info' : route}`, {
        headers: { authorization: 'Bearer token-tenant-a' },
      });
      assert.equal(own.status, 200);
    });
  }
});

describe('Host allowlist (DNS rebinding) on an open API', () => {
  let s: TestServer;
  let id: string;
  before(async () => {
    s = await startTestServer();
    id = (await sampleTrace(s.tracer)).id;
  });
  after(async () => s.close());

  for (const host of ['localhost', 'LOCALHOST:7411', '127.0.0.1', '127.0.0.1:1', '[::1]', '[::1]:7411']) {
    it(`answers Host: ${host}`, async () => {
      const r = await raw<TraceInfo>(`${s.api}/traces/${id}/info`, { headers: { host } });
      assert.equal(r.status, 200);
      assert.equal(r.body.id, id);
    });
  }
  for (const host of [
    'evil.example',
    'evil.example:80',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    '[::2]',
    '10.0.0.1',
    'localhost:abc',
  ]) {
    it(`refuses Host: ${host} with a JSON 403, for the API and the viewer`, async () => {
      const r = await raw(`${s.api}/traces/${id}/info`, { headers: { host } });
      assertErrorShape(r, 403, 'LT_ERR_HOST_NOT_ALLOWED');
      const list = await raw(`${s.api}/traces`, { headers: { host } });
      assertErrorShape(list, 403, 'LT_ERR_HOST_NOT_ALLOWED');
      const viewer = await raw(`${s.origin}/`, { headers: { host, accept: 'text/html' } });
      assertErrorShape(viewer, 403, 'LT_ERR_HOST_NOT_ALLOWED');
    });
  }

  it('allowedHosts adds names (any port); others stay refused', async () => {
    const s2 = await startTestServer({ allowedHosts: ['traces.example.com', '10.0.0.5'] });
    try {
      for (const host of ['traces.example.com', 'Traces.Example.com:8443', '10.0.0.5:80', 'localhost']) {
        const r = await raw(`${s2.api}/traces`, { headers: { host } });
        assert.equal(r.status, 200, host);
      }
      assertErrorShape(
        await raw(`${s2.api}/traces`, { headers: { host: 'other.example.com' } }),
        403,
        'LT_ERR_HOST_NOT_ALLOWED',
      );
    } finally {
      await s2.close();
    }
  });
});

describe('livetrace serve --allowed-hosts (the real CLI binary)', () => {
  it('answers loopback names and the named hosts (any port), refuses others with a JSON 403', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-hosts-'));
    const child = spawn(
      process.execPath,
      [bin, 'serve', '--dir', dir, '--port', '0', '--allowed-hosts', 'traces.example.com,10.0.0.5'],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${String(code)}: ${stderr}`)));
      });
      const api = `${url.replace(/\/$/, '')}/v1/trace/traces`;
      for (const host of ['traces.example.com', 'TRACES.example.com:8443', '10.0.0.5:80', 'localhost', '127.0.0.1:9']) {
        const r = await raw(api, { headers: { host } });
        assert.equal(r.status, 200, `Host: ${host}`);
      }
      for (const host of ['other.example.com', 'traces.example.com.evil.example', '10.0.0.6']) {
        assertErrorShape(await raw(api, { headers: { host } }), 403, 'LT_ERR_HOST_NOT_ALLOWED');
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('every error answers { error: { code, message } }', () => {
  let s: TestServer;
  let id: string;
  before(async () => {
    s = await startTestServer();
    id = (await sampleTrace(s.tracer)).id;
  });
  after(async () => s.close());

  it('414 for a path parameter longer than the router accepts', async () => {
    assertErrorShape(await raw(`${s.api}/traces/${'a'.repeat(300)}/info`), 414, 'LT_ERR_URI_TOO_LONG');
  });

  it('431 for headers larger than the HTTP parser accepts', async () => {
    const r = await rawBytes(
      s.origin,
      `GET ${new URL(s.api).pathname}/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
    );
    assertErrorShape(r, 431, 'LT_ERR_HEADERS_TOO_LARGE');
    const longUrl = await rawBytes(
      s.origin,
      `GET ${new URL(s.api).pathname}/traces?q=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    );
    assert.ok(longUrl.status === 414 || longUrl.status === 431, String(longUrl.status));
    assert.equal(typeof longUrl.body.error.code, 'string');
  });

  it('400 for a malformed request line or URL encoding', async () => {
    assertErrorShape(await rawBytes(s.origin, 'NOT A REQUEST\r\n\r\n'), 400, 'LT_ERR_BAD_REQUEST');
    assertErrorShape(await raw(`${s.api}/traces/%E0%A4%A/info`), 400, 'LT_ERR_BAD_REQUEST');
  });

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'TRACE']) {
    it(`405 with Allow for ${method} on API routes`, async () => {
      for (const path of ['/traces', `/traces/${id}`, `/traces/${id}/export`]) {
        // POST /traces is the write API (docs/ingest.md).
        if (path === '/traces' && method === 'POST') continue;
        const r = await raw(`${s.api}${path}`, { method });
        assertErrorShape(r, 405, 'LT_ERR_METHOD_NOT_ALLOWED');
        assert.equal(r.headers['allow'], path === '/traces' ? 'GET, HEAD, POST' : 'GET, HEAD');
      }
    });
  }

  it('400 for an unparsable cursor (not page 1), in every form', async () => {
    for (const cursor of [
      'garbage!',
      'abc',
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('["x","y"]').toString('base64url'),
    ]) {
      const r = await raw(`${s.api}/traces?cursor=${encodeURIComponent(cursor)}`);
      assertErrorShape(r, 400, 'LT_ERR_INVALID_ARGUMENT');
      assert.match(r.body.error.message, /cursor/);
    }
    // A real cursor still pages.
    await sampleTrace(s.tracer);
    const page1 = await raw<TracesBody>(`${s.api}/traces?limit=1`);
    const page2 = await raw<TracesBody>(`${s.api}/traces?limit=1&cursor=${page1.body.next_cursor ?? ''}`);
    assert.equal(page2.status, 200);
    assert.notEqual(page2.body.traces[0]?.id, page1.body.traces[0]?.id);
  });

  it('an unparsable cursor is an InvalidArgumentError from the store itself', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    await assert.rejects(tracer.list({ cursor: 'nope' }), { code: 'LT_ERR_INVALID_ARGUMENT' });
    await tracer.close();
  });
});

describe('livetrace serve with a store that cannot open fails at start', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-serve-bad-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  function serve(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
        env: { ...process.env, NO_COLOR: '1', LIVETRACE_DIR: '', LIVETRACE_STORE: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        // A server that started anyway: stop it so the test fails on the assertions, not a timeout.
        if (stdout.includes('\n')) child.kill('SIGTERM');
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('--dir pointing at a file: exit code 1, a clear message, no URL printed', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const r = await serve(['--dir', file]);
    assert.equal(r.stdout, '', 'nothing may be served');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /LT_ERR_STORE: cannot open store file:.*not-a-dir/);
  });

  it('--dir under a file: same', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const r = await serve(['--dir', join(file, 'sub')]);
    assert.equal(r.stdout, '');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot open store/);
  });

  it('a sqlite store whose file is not a database: same', async () => {
    const file = join(dir, 'junk.db');
    await writeFile(file, 'this is not a sqlite database, not even close'.repeat(100));
    const r = await serve(['--store', `sqlite:${file}`]);
    assert.equal(r.stdout, '');
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /livetrace: LT_ERR_/);
  });
});

/** A real MemoryStore whose log reads can be held at a gate, and that records read limits. */
class GatedStore extends MemoryStore {
  gate: Promise<void> | undefined;
  blocked = 0;
  limits: (number | undefined)[] = [];
  override async read(traceId: string, options?: ReadOptions): Promise<TraceEvent[]> {
    this.limits.push(options?.limit);
    if (this.gate) {
      this.blocked++;
      await this.gate;
      this.blocked--;
    }
    return super.read(traceId, options);
  }
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('heavy work: streamed exports, bounded concurrency, light requests stay served', () => {
  const store = new GatedStore();
  const heavy = new HeavyWork({ concurrency: 1, queue: 1 });
  let s: TestServer;
  let id: string;
  const N = 25_000;
  before(async () => {
    s = await startTestServer({
      tracer: new Tracer({ store, exitHook: false }),
      snapshotCache: false,
      heavyWork: heavy,
    });
    const t = await s.tracer.create();
    const node = t.add('x', { label: 'big' });
    for (let i = 0; i < N; i++) node.info(`line ${i}`);
    t.markComplete();
    id = t.id;
    await t.release();
  });
  after(async () => {
    await s.close();
    await s.tracer.close();
  });

  it('GET /export streams the whole log in pages: the same document, never one read of every event for the events part', async () => {
    store.limits = [];
    const res = await fetch(`${s.api}/traces/${id}/export`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const doc = (await res.json()) as {
      format: string;
      version: number;
      trace: { last_seq: number; nodes: unknown[] };
      events: TraceEvent[];
    };
    assert.equal(doc.format, 'livetrace.trace');
    assert.equal(doc.version, 1);
    assert.equal(doc.events.length, doc.trace.last_seq);
    doc.events.forEach((e, i) => assert.equal(e.seq, i + 1));
    const paged = store.limits.filter((l) => l !== undefined);
    assert.ok(paged.length >= 3, `events read in pages: ${JSON.stringify(store.limits)}`);
    assert.ok(paged.every((l) => l <= 10_000));
    await until(() => heavy.active === 0);
  });

  it('beyond concurrency + queue a heavy request gets 503 LT_ERR_BUSY with Retry-After, while /info and listings answer', async () => {
    let open!: () => void;
    store.gate = new Promise<void>((r) => (open = r));
    const a = fetch(`${s.api}/traces/${id}/export`);
    await until(() => store.blocked === 1);
    const b = fetch(`${s.api}/traces/${id}/nodes`);
    await until(() => heavy.waiting === 1);
    const c = await raw(`${s.api}/traces/${id}/logs`);
    assertErrorShape(c, 503, 'LT_ERR_BUSY');
    assert.equal(c.headers['retry-after'], '1');
    // Light requests do not wait for heavy work.
    const info = await raw(`${s.api}/traces/${id}/info`);
    assert.equal(info.status, 200);
    const list = await raw(`${s.api}/traces`);
    assert.equal(list.status, 200);
    open();
    store.gate = undefined;
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.status, 200);
    assert.equal(((await ra.json()) as { events: unknown[] }).events.length, N + 4);
    assert.equal(rb.status, 200);
    assert.equal(((await rb.json()) as { nodes: unknown[] }).nodes.length, 1);
    await until(() => heavy.active === 0 && heavy.waiting === 0);
    assert.equal(heavy.refused, 1);
  });
});
