// GET /traces search over real HTTP: every parameter, typed 400s for bad values, cursors
// bound to their sort, and tenant scoping (a search never returns another tenant's trace).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type ErrorBody, type TestServer, type TracesBody } from './server-helpers.js';

interface Answer {
  status: number;
  body: TracesBody | ErrorBody;
}

async function get(url: string, token?: string): Promise<Answer> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: (await res.json()) as TracesBody | ErrorBody };
}

/** The page of a successful answer (fails the test on an error answer). */
function page(r: Answer): TracesBody {
  assert.ok('traces' in r.body, JSON.stringify(r.body));
  return r.body;
}

/** The error of a failed answer (fails the test on a page). */
function failure(r: Answer): ErrorBody['error'] {
  assert.ok('error' in r.body, JSON.stringify(r.body));
  return r.body.error;
}

const ids = (r: Answer): string[] => page(r).traces.map((t) => t.id);

const TOKENS = [
  { token: 'alpha-token-0001', tenantId: 'alpha' },
  { token: 'beta-token-000001', tenantId: 'beta' },
];

describe('GET /traces search', () => {
  let s: TestServer;
  let dir: string;
  const t: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lt-server-search-'));
    const tracer = new Tracer({
      store: new SqliteStore({ path: join(dir, 'db.sqlite') }),
      exitHook: false,
      prices: { 'gpt-test': { input_per_million: 1000, output_per_million: 1000, currency: 'USD' } },
    });
    s = await startTestServer({ tracer, tokens: TOKENS });
    // alpha: a weather agent with an LLM call (1000 tokens, $1), a failed tool.
    const a = await tracer.create({
      tenantId: 'alpha',
      sessionId: 'chat-1',
      userId: 'ann',
      metadata: { env: 'prod', attempt: 2 },
    });
    const llm = a.add(
      { messages: [{ role: 'user', content: 'Weather in Paris?' }] },
      { label: 'Ask model', kind: 'llm' },
    );
    llm.setUsage({ model: 'gpt-test', inputTokens: 600, outputTokens: 400 });
    llm.complete({ text: 'Sunny, 21°C' });
    const tool = a.add({ city: 'Paris' }, { label: 'weather_lookup', kind: 'tool' });
    tool.error('upstream timeout for Paris');
    tool.fail(new Error('ECONNRESET talking to weather API'));
    a.markFailed(new Error('gave up'));
    await a.release();
    t['alphaWeather'] = a.id;
    // alpha: a small step-only trace, same session, dev.
    const b = await tracer.create({ tenantId: 'alpha', sessionId: 'chat-1', userId: 'bob', metadata: { env: 'dev' } });
    b.add('summarise the Paris notes', { label: 'summary' }).complete('done');
    b.markComplete();
    await b.release();
    t['alphaSummary'] = b.id;
    // beta: mentions Paris too, must never show to alpha.
    const c = await tracer.create({ tenantId: 'beta', sessionId: 'chat-1', metadata: { env: 'prod' } });
    const l2 = c.add('Paris weather', { label: 'Ask model', kind: 'llm' });
    l2.setUsage({ model: 'gpt-test', inputTokens: 10, outputTokens: 10 });
    l2.complete('rain');
    c.markComplete();
    await c.release();
    t['beta'] = c.id;
  });
  after(async () => {
    await s.close();
    await s.tracer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const A = 'alpha-token-0001';
  const B = 'beta-token-000001';

  it('q: whole words, case-insensitive, every word; over labels, inputs, outputs, logs and errors', async () => {
    assert.deepEqual(
      new Set(ids(await get(`${s.api}/traces?q=paris`, A))),
      new Set([t['alphaWeather'], t['alphaSummary']]),
    );
    assert.deepEqual(ids(await get(`${s.api}/traces?q=PARIS%20sunny`, A)), [t['alphaWeather']]); // output
    assert.deepEqual(ids(await get(`${s.api}/traces?q=weather_lookup`, A)), [t['alphaWeather']]); // label
    assert.deepEqual(ids(await get(`${s.api}/traces?q=upstream`, A)), [t['alphaWeather']]); // log message
    assert.deepEqual(ids(await get(`${s.api}/traces?q=econnreset`, A)), [t['alphaWeather']]); // error
    assert.deepEqual(ids(await get(`${s.api}/traces?q=notes`, A)), [t['alphaSummary']]); // input
    assert.deepEqual(ids(await get(`${s.api}/traces?q=par`, A)), [], 'whole words only');
    assert.deepEqual(ids(await get(`${s.api}/traces?q=paris%20rain`, A)), [], 'every word must occur');
  });

  it('tenant scoping: a search never returns another tenant’s trace', async () => {
    assert.deepEqual(ids(await get(`${s.api}/traces?q=rain`, A)), []);
    assert.deepEqual(ids(await get(`${s.api}/traces?q=rain`, B)), [t['beta']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?q=paris`, B)), [t['beta']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?session_id=chat-1&tenant_id=alpha`, B)), []);
    assert.deepEqual(ids(await get(`${s.api}/traces?model=gpt-test&sort=-tokens`, B)), [t['beta']]);
    assert.equal((await get(`${s.api}/traces?q=paris`)).status, 401);
  });

  it('session_id, user_id, kind, model and meta.<key> filters', async () => {
    assert.deepEqual(
      new Set(ids(await get(`${s.api}/traces?session_id=chat-1`, A))),
      new Set([t['alphaWeather'], t['alphaSummary']]),
    );
    assert.deepEqual(ids(await get(`${s.api}/traces?user_id=bob`, A)), [t['alphaSummary']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?kind=tool`, A)), [t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?kind=step`, A)), [t['alphaSummary']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?model=gpt-test`, A)), [t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?model=gpt-other`, A)), []);
    assert.deepEqual(ids(await get(`${s.api}/traces?meta.env=prod`, A)), [t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?meta.attempt=2&meta.env=prod`, A)), [t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?meta.attempt=3`, A)), []);
    assert.deepEqual(ids(await get(`${s.api}/traces?status=completed&q=paris`, A)), [t['alphaSummary']]);
  });

  it('ranges and sorts; a cursor pages within its sort', async () => {
    assert.deepEqual(ids(await get(`${s.api}/traces?min_tokens=1000`, A)), [t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?max_tokens=999`, A)), [t['alphaSummary']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?min_cost=0.5&max_cost=1.5`, A)), [t['alphaWeather']]);
    assert.deepEqual(
      ids(await get(`${s.api}/traces?max_cost=100`, A)),
      [t['alphaWeather']],
      'no cost: out of any cost range',
    );
    assert.deepEqual(
      new Set(ids(await get(`${s.api}/traces?min_duration_ms=0&max_duration_ms=600000`, A))),
      new Set([t['alphaWeather'], t['alphaSummary']]),
    );
    assert.deepEqual(ids(await get(`${s.api}/traces?sort=-tokens`, A)), [t['alphaWeather'], t['alphaSummary']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?sort=tokens`, A)), [t['alphaSummary'], t['alphaWeather']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?sort=created_at`, A)), [t['alphaWeather'], t['alphaSummary']]);
    assert.deepEqual(ids(await get(`${s.api}/traces?sort=-cost`, A)), [t['alphaWeather'], t['alphaSummary']]);
    const p1 = await get(`${s.api}/traces?sort=-tokens&limit=1`, A);
    assert.deepEqual(ids(p1), [t['alphaWeather']]);
    const p2 = await get(`${s.api}/traces?sort=-tokens&limit=1&cursor=${page(p1).next_cursor}`, A);
    assert.deepEqual(ids(p2), [t['alphaSummary']]);
    assert.equal(page(p2).next_cursor, undefined);
    // The cursor of another sort is a typed 400, either way round.
    const plain = await get(`${s.api}/traces?limit=1`, A);
    for (const url of [
      `${s.api}/traces?sort=-cost&cursor=${page(p1).next_cursor}`,
      `${s.api}/traces?cursor=${page(p1).next_cursor}`,
      `${s.api}/traces?sort=-tokens&cursor=${page(plain).next_cursor}`,
    ]) {
      const r = await get(url, A);
      assert.equal(r.status, 400, url);
      assert.equal(failure(r).code, 'LT_ERR_INVALID_ARGUMENT');
      assert.match(failure(r).message, /not a cursor of sort/);
    }
  });

  it('bad values are typed 400s naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['sort=size', /sort must be one of/],
      ['sort=--tokens', /sort must be one of/],
      ['min_tokens=-1', /min_tokens must be a number/],
      ['max_cost=abc', /max_cost must be a number/],
      ['min_duration_ms=10&max_duration_ms=5', /min_duration_ms \(10\) is greater than max_duration_ms/],
      ['kind=robot', /kind must be one of/],
      ['meta.bad%20key=1', /metadata key must match/],
      ['meta.=1', /metadata key must match/],
      [`q=${Array.from({ length: 40 }, (_, i) => `w${i}`).join('%20')}`, /more than 32 words/],
      [`q=${'x'.repeat(1100)}`, /longer than 1024/],
      ['cursor=not-a-cursor!', /cursor/],
    ];
    for (const [q, re] of cases) {
      const r = await get(`${s.api}/traces?${q}`, A);
      assert.equal(r.status, 400, q);
      assert.equal(failure(r).code, 'LT_ERR_INVALID_ARGUMENT', q);
      assert.match(failure(r).message, re, q);
    }
  });

  it('schema failures are typed 400s naming the parameter, the allowed form and the value', async () => {
    const cases: [string, string][] = [
      ['limit=abc', 'query parameter limit must be an integer from 1 to 1000, got "abc"'],
      ['limit=1001', 'query parameter limit must be an integer from 1 to 1000, got 1001'],
      ['limit=1&limit=2', 'query parameter limit must be an integer from 1 to 1000, got ["1","2"]'],
      ['from=yesterday', 'query parameter from must be epoch milliseconds or an ISO-8601 date, got "yesterday"'],
      [
        'status=running,bogus',
        'query parameter status must be one or more of pending, running, completed, failed, cancelled (comma-separated), got "running,bogus"',
      ],
    ];
    for (const [q, message] of cases) {
      const r = await get(`${s.api}/traces?${q}`, A);
      assert.equal(r.status, 400, q);
      assert.deepEqual(failure(r), { code: 'LT_ERR_INVALID_ARGUMENT', message }, q);
    }
    // An empty value is no parameter; status values add up, repeated or comma-separated.
    assert.equal(ids(await get(`${s.api}/traces?limit=&sort=`, A)).length, 2);
    assert.deepEqual(
      ids(await get(`${s.api}/traces?status=completed&status=failed,cancelled`, A)).sort(),
      ids(await get(`${s.api}/traces?status=completed,failed,cancelled`, A)).sort(),
    );
  });

  it('/traces and /info answer every field (open metadata, usage)', async () => {
    const listed = page(await get(`${s.api}/traces?meta.env=prod`, A)).traces[0]!;
    assert.deepEqual(listed.metadata, { env: 'prod', attempt: 2 });
    const info = await get(`${s.api}/traces/${listed.id}/info`, A);
    assert.deepEqual(info.body, JSON.parse(JSON.stringify(await s.tracer.info(listed.id))));
  });

  it('a q without words (only punctuation or emoji) has no text condition', async () => {
    assert.equal(ids(await get(`${s.api}/traces?q=${encodeURIComponent('?! 🙂')}`, A)).length, 2);
  });
});
