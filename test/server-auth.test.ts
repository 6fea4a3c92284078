import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventSource } from 'eventsource';
import { LivetraceError } from '../src/core/errors.js';
import type { TraceEvent, TraceInfo } from '../src/core/types.js';
import { TokenAuth, isLoopbackHost, validateTokens } from '../src/server/auth.js';
import { startServer } from '../src/server/start-server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { sampleTrace, startTestServer, type TestServer } from './server-helpers.js';

const TOKENS = [
  { token: 'alpha-token-0001', tenantId: 'alpha' },
  { token: 'alpha-team-red-01', tenantId: 'alpha', teamId: 'red' },
  { token: 'beta-token-000001', tenantId: 'beta' },
];
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('server auth and tenant isolation', () => {
  let s: TestServer;
  let alphaRed: string;
  let alphaBlue: string;
  let beta: string;

  before(async () => {
    s = await startTestServer({ tokens: TOKENS, cors: ['https://viewer.example'] });
    alphaRed = (await sampleTrace(s.tracer, { tenantId: 'alpha', teamId: 'red' })).id;
    alphaBlue = (await sampleTrace(s.tracer, { tenantId: 'alpha', teamId: 'blue' })).id;
    beta = (await sampleTrace(s.tracer, { tenantId: 'beta' })).id;
  });
  after(async () => s.close());

  it('refuses requests without a valid bearer token with 401', async () => {
    for (const init of [
      {},
      auth('wrong-token-000000'),
      auth('alpha-token-000'),
      { headers: { authorization: 'Basic abc' } },
    ]) {
      const r = await fetch(`${s.api}/traces`, init);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="livetrace"');
      assert.deepEqual(await r.json(), {
        error: { code: 'LT_ERR_UNAUTHORIZED', message: 'missing or invalid bearer token' },
      });
    }
  });

  it("lists only the token tenant's traces (and team, when the token has one)", async () => {
    const alpha = (await (await fetch(`${s.api}/traces`, auth('alpha-token-0001'))).json()) as { traces: TraceInfo[] };
    assert.deepEqual(new Set(alpha.traces.map((t) => t.id)), new Set([alphaRed, alphaBlue]));
    const red = (await (await fetch(`${s.api}/traces`, auth('alpha-team-red-01'))).json()) as { traces: TraceInfo[] };
    assert.deepEqual(
      red.traces.map((t) => t.id),
      [alphaRed],
    );
    const b = (await (await fetch(`${s.api}/traces?tenant_id=alpha`, auth('beta-token-000001'))).json()) as {
      traces: TraceInfo[];
    };
    assert.deepEqual(b.traces, [], 'asking for another tenant gives nothing');
  });

  it("answers another tenant's trace with 404 on every route, stream included", async () => {
    for (const path of ['info', 'nodes', 'logs', 'spaces', 'events', 'events?stream=true', 'export', '']) {
      const r = await fetch(`${s.api}/traces/${beta}${path ? '/' + path : ''}`, auth('alpha-token-0001'));
      assert.equal(r.status, 404, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'LT_ERR_TRACE_NOT_FOUND', path);
    }
    const own = await fetch(`${s.api}/traces/${beta}/info`, auth('beta-token-000001'));
    assert.equal(own.status, 200);
    await own.text();
    const otherTeam = await fetch(`${s.api}/traces/${alphaBlue}/info`, auth('alpha-team-red-01'));
    assert.equal(otherTeam.status, 404);
    await otherTeam.text();
  });

  it('accepts ?access_token= on GET routes (EventSource cannot send headers), not on other methods', async () => {
    const r = await fetch(`${s.api}/traces/${alphaRed}/info?access_token=alpha-token-0001`);
    assert.equal(r.status, 200);
    await r.text();
    const post = await fetch(`${s.api}/traces?access_token=alpha-token-0001`, { method: 'POST' });
    assert.equal(post.status, 401);
    await post.text();
    const es = new EventSource(`${s.api}/traces/${alphaRed}/events?stream=true&access_token=alpha-token-0001`);
    const types: string[] = [];
    await new Promise<void>((resolve, reject) => {
      es.addEventListener('complete', (e: MessageEvent<string>) => types.push((JSON.parse(e.data) as TraceEvent).type));
      es.onmessage = (e) => {
        if (e.data === '[DONE]') {
          es.close();
          resolve();
        }
      };
      es.onerror = (e) => {
        es.close();
        reject(new Error(`EventSource failed: ${e.message}`));
      };
    });
    assert.deepEqual(types, ['complete']);
  });

  it('applies the CORS allowlist, including preflight', async () => {
    const ok = await fetch(`${s.api}/traces`, {
      headers: { origin: 'https://viewer.example', ...auth('alpha-token-0001').headers },
    });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://viewer.example');
    await ok.text();
    const denied = await fetch(`${s.api}/traces`, {
      headers: { origin: 'https://evil.example', ...auth('alpha-token-0001').headers },
    });
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    await denied.text();
    const pre = await fetch(`${s.api}/traces`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://viewer.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://viewer.example');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
    // SSE responses are written directly on the socket: they must carry the CORS header too.
    const stream = await fetch(`${s.api}/traces/${alphaRed}/events?stream=true`, {
      headers: { origin: 'https://viewer.example', ...auth('alpha-token-0001').headers },
    });
    assert.equal(stream.headers.get('access-control-allow-origin'), 'https://viewer.example');
    await stream.text();
  });

  it('sends no CORS headers when CORS is off (the default)', async () => {
    const open = await startTestServer();
    try {
      const r = await fetch(`${open.api}/traces`, { headers: { origin: 'https://viewer.example' } });
      assert.equal(r.status, 200, 'no tokens: open API');
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      await r.text();
    } finally {
      await open.close();
    }
  });
});

describe('server auth configuration', () => {
  it('verifies tokens by digest and rejects near misses', () => {
    const a = new TokenAuth(TOKENS);
    assert.deepEqual(a.verify('alpha-token-0001'), { tenantId: 'alpha' });
    assert.deepEqual(a.verify('alpha-team-red-01'), { tenantId: 'alpha', teamId: 'red' });
    for (const t of ['alpha-token-0002', 'alpha-token-00011', '', undefined, 'x'.repeat(5000)])
      assert.equal(a.verify(t), undefined, String(t));
  });

  it('validates the tokens file with clear errors', async () => {
    assert.throws(() => validateTokens({}), /JSON array/);
    assert.throws(
      () => validateTokens([{ token: 'short', tenantId: 'a' }]),
      /tokens\[0\]\.token must be a string of 8/,
    );
    assert.throws(() => validateTokens([{ token: 'long-enough-1', tenantId: '' }]), /tokens\[0\]\.tenantId/);
    assert.throws(
      () =>
        validateTokens([
          { token: 'long-enough-1', tenantId: 'a' },
          { token: 'long-enough-1', tenantId: 'b' },
        ]),
      /duplicate/,
    );
    const dir = await mkdtemp(join(tmpdir(), 'lt-tokens-'));
    try {
      await writeFile(join(dir, 'bad.json'), '[{');
      await assert.rejects(TokenAuth.fromFile(join(dir, 'bad.json')), /not valid JSON/);
      await assert.rejects(TokenAuth.fromFile(join(dir, 'missing.json')), /cannot read tokens file/);
      await writeFile(join(dir, 'ok.json'), JSON.stringify(TOKENS));
      assert.equal((await TokenAuth.fromFile(join(dir, 'ok.json'))).size, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start an open API on a non-loopback host', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    try {
      await assert.rejects(startServer({ tracer, host: '0.0.0.0', port: 0 }), (err: unknown) => {
        assert.ok(err instanceof LivetraceError);
        assert.equal(err.code, 'LT_ERR_INVALID_ARGUMENT');
        assert.match(err.message, /refusing to serve an open API on 0\.0\.0\.0/);
        return true;
      });
      assert.ok(
        isLoopbackHost('127.0.0.1') &&
          isLoopbackHost('::1') &&
          isLoopbackHost('localhost') &&
          isLoopbackHost('127.8.0.1'),
      );
      assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('10.0.0.1') && !isLoopbackHost('::'));
    } finally {
      await tracer.close();
    }
  });
});
