// The live HTTP write API against a real server: ops batches with client refs, idempotent
// replays, typed errors as 4xx JSON, token scopes and tenants, and the same semantics as
// the in-process Trace API (the same calls produce the same stored trace).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NodeData, TraceInfo, TraceSnapshot } from '../src/core/types.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { startTestServer, type TestServer } from './server-helpers.js';
import type { OpsResponse } from '../src/server/write-api.js';

const TOKENS = [
  { token: 'alpha-read-0001', tenantId: 'alpha' },
  { token: 'alpha-write-001', tenantId: 'alpha', scopes: ['read', 'write'] as const },
  { token: 'beta-write-0001', tenantId: 'beta', scopes: ['read', 'write'] as const },
];

/** A write API answer: the ops response, or an error (with what was applied before it). */
type Json = Partial<OpsResponse> & { applied?: number; error?: { code: string; message: string } };

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Json };
}

/** A trace with ids and times taken out: what two runs of the same calls must share. */
function shape(snap: TraceSnapshot): unknown {
  const index = new Map(snap.nodes.map((n, i) => [n.id, i]));
  const node = (n: NodeData) => ({
    label: n.label,
    status: n.status,
    parents: n.parent_ids.map((p) => index.get(p)).sort(),
    input: n.input,
    output: n.output,
    error: n.error ? { name: n.error.name, message: n.error.message } : undefined,
    metadata: Object.fromEntries(Object.entries(n.metadata).filter(([k]) => k !== 'livetrace.ref')),
  });
  return {
    status: snap.info.status,
    nodes: snap.nodes.map(node),
    logs: snap.logs.map((l) => ({
      node: l.node_id === undefined ? undefined : index.get(l.node_id),
      level: l.level,
      message: l.message,
      data: l.data,
    })),
    spaces: snap.spaces.map((s) => ({ id: s.id, label: s.label, data: { ...s.data } })),
    current: snap.current.map((c) => index.get(c)),
    events: snap.events_count,
  };
}

const AGENT_OPS = [
  [
    { op: 'add', ref: 'root', label: 'plan', input: { q: 'weather in Paris?' } },
    { op: 'log', node: 'root', level: 'info', message: 'thinking', data: { step: 1 } },
    {
      op: 'parallel',
      items: [
        { ref: 'search', label: 'search', input: 'paris' },
        { ref: 'calc', label: 'calc', input: '2+2' },
      ],
    },
  ],
  [
    { op: 'log', node: 'search', level: 'debug', message: 'GET /weather' },
    { op: 'complete', node: 'search', output: { temp: 21 } },
    { op: 'fail', node: 'calc', error: { name: 'CalcError', message: 'division by zero' } },
    { op: 'set_metadata', node: 'calc', key: 'retries', value: 2 },
    { op: 'add', ref: 'answer', label: 'answer', input: 'merge' },
    { op: 'space_create', space: 'memory', label: 'Memory' },
    { op: 'space_set', space: 'memory', key: 'city', value: 'Paris' },
    { op: 'space_set', space: 'memory', key: 'city', value: 'Lyon' },
    { op: 'space_delete_key', space: 'memory', key: 'city' },
    { op: 'space_set', space: 'memory', key: 'unit', value: 'C' },
    { op: 'set_output', output: 'It is 21 C' },
    { op: 'mark_complete' },
  ],
];

/** The same run written with the in-process Trace API. */
async function inProcess(tracer: Tracer): Promise<TraceSnapshot> {
  const t = await tracer.create({ agentName: 'http-agent' });
  const root = t.add({ q: 'weather in Paris?' }, { label: 'plan' });
  root.info('thinking', { step: 1 });
  const [search, calc] = t.parallel([
    { label: 'search', input: 'paris' },
    { label: 'calc', input: '2+2' },
  ]);
  search!.debug('GET /weather');
  search!.complete({ temp: 21 });
  calc!.fail({ name: 'CalcError', message: 'division by zero' });
  calc!.setMetadata('retries', 2);
  t.add('merge', { label: 'answer' });
  const sp = t.createSpace({ id: 'memory', label: 'Memory' });
  sp.set('city', 'Paris');
  sp.set('city', 'Lyon');
  sp.delete('city');
  sp.set('unit', 'C');
  t.setOutput('It is 21 C');
  t.markComplete();
  await t.release();
  return (await tracer.read(t.id))!;
}

describe('HTTP write API (open, loopback)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => s.close());

  it('creates a trace, applies batches with refs and stores what the Trace API would', async () => {
    const created = await post(`${s.api}/traces`, { agent_name: 'http-agent' });
    assert.equal(created.status, 201);
    const id = created.body.trace_id!;
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.equal(created.body.last_seq, 1);

    const first = await post(`${s.api}/traces/${id}/ops`, { ops: AGENT_OPS[0] });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(Object.keys(first.body.refs ?? {}).sort(), ['calc', 'root', 'search']);
    const results = first.body.results ?? [];
    assert.equal(results.length, 3);
    assert.deepEqual([results[0]!['first_seq'], results[0]!['last_seq']], [2, 2]);
    assert.deepEqual([results[1]!['first_seq'], results[1]!['last_seq']], [3, 3]);
    // parallel after add: completes the root (auto-complete) then starts both branches.
    assert.deepEqual([results[2]!['first_seq'], results[2]!['last_seq']], [4, 5]);
    assert.deepEqual(results[2]!['node_ids'], [first.body.refs?.['search'], first.body.refs?.['calc']]);
    assert.equal(first.body.last_seq, 5);

    const second = await post(`${s.api}/traces/${id}/ops`, { ops: AGENT_OPS[1] });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.deepEqual(Object.keys(second.body.refs ?? {}), ['answer']);
    // Seqs are contiguous across batches and cover every event exactly once.
    const seqs = [...results, ...(second.body.results ?? [])].filter((r) => r['first_seq'] !== undefined);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i]!['first_seq'], seqs[i - 1]!['last_seq']! + 1);

    const stored = (await (await fetch(`${s.api}/traces/${id}`)).json()) as TraceSnapshot;
    assert.equal(stored.info.status, 'completed');
    assert.equal(stored.last_seq, second.body.last_seq);
    const byRef = (r: string) => stored.nodes.find((n) => n.id === (first.body.refs?.[r] ?? second.body.refs?.[r]))!;
    assert.equal(byRef('search').output && (byRef('search').output as { temp: number })['temp'], 21);
    assert.equal(byRef('calc').status, 'failed');
    assert.deepEqual(
      [...byRef('answer').parent_ids].sort(),
      [byRef('search').id, byRef('calc').id].sort(),
      'implicit join',
    );

    const reference = new Tracer({ store: new MemoryStore(), exitHook: false });
    try {
      assert.equal(JSON.stringify(shape(stored), null, 1), JSON.stringify(shape(await inProcess(reference)), null, 1));
    } finally {
      await reference.close();
    }
  });

  it('replays a batch with the same idempotency key without applying it twice', async () => {
    const id = (await post(`${s.api}/traces`, {})).body.trace_id!;
    const batch = {
      ops: [
        { op: 'add', ref: 'a', label: 'a' },
        { op: 'log', node: 'a', message: 'once' },
      ],
    };
    const h = { 'idempotency-key': 'batch-1' };
    // Sent three times at once (a client retrying before the first answer) and once later.
    const answers = await Promise.all([
      post(`${s.api}/traces/${id}/ops`, batch, h),
      post(`${s.api}/traces/${id}/ops`, batch, h),
      post(`${s.api}/traces/${id}/ops`, batch, h),
    ]);
    const again = await post(`${s.api}/traces/${id}/ops`, batch, h);
    for (const a of [...answers, again]) assert.deepEqual(a, answers[0]);
    assert.equal(answers[0].status, 200);
    const snap = (await (await fetch(`${s.api}/traces/${id}`)).json()) as TraceSnapshot;
    assert.equal(snap.nodes.length, 1);
    assert.equal(snap.logs.length, 1);
    assert.equal(snap.last_seq, 3);
    // The key may also travel in the body.
    const inBody = { ops: [{ op: 'log', node: 'a', message: 'twice?' }], idempotency_key: 'batch-2' };
    const b1 = await post(`${s.api}/traces/${id}/ops`, inBody);
    const b2 = await post(`${s.api}/traces/${id}/ops`, inBody);
    assert.deepEqual(b2, b1);
    // Same key, another batch: refused, nothing applied.
    const other = await post(`${s.api}/traces/${id}/ops`, { ops: [{ op: 'log', message: 'x' }] }, h);
    assert.equal(other.status, 422);
    assert.equal(other.body.error?.code, 'LT_ERR_IDEMPOTENCY_MISMATCH');
    const after = (await (await fetch(`${s.api}/traces/${id}`)).json()) as TraceSnapshot;
    assert.equal(after.logs.length, 2);
    // A replay of the closing batch after the trace finished still gets its answer.
    const close = { ops: [{ op: 'mark_complete' }] };
    const c1 = await post(`${s.api}/traces/${id}/ops`, close, { 'idempotency-key': 'close' });
    await new Promise((r) => setTimeout(r, 20));
    const c2 = await post(`${s.api}/traces/${id}/ops`, close, { 'idempotency-key': 'close' });
    assert.deepEqual(c2, c1);
    assert.equal(c1.status, 200);
  });

  it('creating with an idempotency key returns the first trace on retry', async () => {
    const h = { 'idempotency-key': 'create-1' };
    const a = await post(`${s.api}/traces`, { agent_name: 'x' }, h);
    const b = await post(`${s.api}/traces`, { agent_name: 'x' }, h);
    assert.equal(a.status, 201);
    assert.deepEqual(b, a);
  });

  it('maps typed errors to 4xx JSON and applies nothing from an invalid batch', async () => {
    const id = (await post(`${s.api}/traces`, {})).body.trace_id!;
    const cases: [unknown, number, string][] = [
      [{ ops: [{ op: 'add', ref: 'a' }, { op: 'teleport' }] }, 400, 'LT_ERR_INVALID_ARGUMENT'],
      [{ ops: [] }, 400, 'LT_ERR_INVALID_ARGUMENT'],
      [
        {
          ops: [
            { op: 'add', ref: 'a' },
            { op: 'add', ref: 'a' },
          ],
        },
        400,
        'LT_ERR_INVALID_ARGUMENT',
      ],
      [
        {
          ops: [
            { op: 'add', ref: 'a' },
            { op: 'complete', node: 'nope' },
          ],
        },
        404,
        'LT_ERR_UNKNOWN_NODE',
      ],
      [{ ops: [{ op: 'log', level: 'loud', message: 'x' }] }, 400, 'LT_ERR_INVALID_ARGUMENT'],
      ['{"ops": [', 400, 'LT_ERR_INVALID_ARGUMENT'],
    ];
    for (const [body, status, code] of cases) {
      const r = await post(`${s.api}/traces/${id}/ops`, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.error?.code, code, JSON.stringify(body));
    }
    assert.equal(
      ((await (await fetch(`${s.api}/traces/${id}`)).json()) as TraceSnapshot).last_seq,
      1,
      'nothing applied',
    );

    // An error of the Trace API itself stops the batch where it happened.
    const noRoot = await post(`${s.api}/traces/${id}/ops`, {
      ops: [
        { op: 'log', message: 'first' },
        { op: 'parallel', items: [{ label: 'x' }] },
        { op: 'log', message: 'never' },
      ],
    });
    assert.equal(noRoot.status, 400);
    assert.equal(noRoot.body.error?.code, 'LT_ERR_NO_ROOT');
    assert.equal(noRoot.body.applied, 1);
    const missingSpace = await post(`${s.api}/traces/${id}/ops`, {
      ops: [{ op: 'space_set', space: 'ghost', key: 'k', value: 1 }],
    });
    assert.equal(missingSpace.status, 404);
    assert.equal(missingSpace.body.error?.code, 'LT_ERR_UNKNOWN_SPACE');

    const done = await post(`${s.api}/traces/${id}/ops`, {
      ops: [{ op: 'mark_complete' }, { op: 'add', label: 'late' }],
    });
    assert.equal(done.status, 409);
    assert.equal(done.body.error?.code, 'LT_ERR_TRACE_CLOSED');
    assert.equal(done.body.applied, 1);
    const late = await post(`${s.api}/traces/${id}/ops`, { ops: [{ op: 'add', label: 'late' }] });
    assert.equal(late.status, 409);
    assert.equal(late.body.error?.code, 'LT_ERR_TRACE_CLOSED');

    const missing = await post(`${s.api}/traces/no-such-trace/ops`, { ops: [{ op: 'mark_complete' }] });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error?.code, 'LT_ERR_TRACE_NOT_FOUND');
    const exists = await post(`${s.api}/traces`, { id });
    assert.equal(exists.status, 409);
    assert.equal(exists.body.error?.code, 'LT_ERR_TRACE_EXISTS');
    const get = await fetch(`${s.api}/traces/${id}/ops`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('refuses a body over the write limit with 413 before reading it', async () => {
    const id = (await post(`${s.api}/traces`, {})).body.trace_id!;
    const big = { ops: [{ op: 'add', input: 'x'.repeat(1024 * 1024 + 10) }] };
    const r = await post(`${s.api}/traces/${id}/ops`, big);
    assert.equal(r.status, 413);
    assert.equal(r.body.error?.code, 'LT_ERR_PAYLOAD_TOO_LARGE');
    const tooMany = await post(`${s.api}/traces/${id}/ops`, {
      ops: Array.from({ length: 1001 }, () => ({ op: 'log', message: 'x' })),
    });
    assert.equal(tooMany.status, 400);
  });

  it('stores values under the library capture limits', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false, limits: { maxValueSize: 1000 } });
    const small = await startTestServer({ tracer });
    try {
      const id = (await post(`${small.api}/traces`, {})).body.trace_id!;
      const r = await post(`${small.api}/traces/${id}/ops`, {
        ops: [{ op: 'add', ref: 'a', input: 'y'.repeat(5000) }],
      });
      assert.equal(r.status, 200);
      const node = ((await (await fetch(`${small.api}/traces/${id}`)).json()) as TraceSnapshot).nodes[0]!;
      assert.ok(JSON.stringify(node.input).length < 2000, 'captured like trace.add() would');
    } finally {
      await small.close();
      await tracer.close();
    }
  });
});

describe('HTTP write API with tokens: scopes and tenants', () => {
  let s: TestServer;
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  before(async () => {
    s = await startTestServer({ tokens: TOKENS });
  });
  after(async () => s.close());

  it('needs a token with the write scope (401 without, 403 read-only)', async () => {
    assert.equal((await post(`${s.api}/traces`, {})).status, 401);
    const ro = await post(`${s.api}/traces`, {}, auth('alpha-read-0001'));
    assert.equal(ro.status, 403);
    assert.equal(ro.body.error?.code, 'LT_ERR_FORBIDDEN');
  });

  it('writes traces of the token tenant only', async () => {
    const a = await post(`${s.api}/traces`, { agent_name: 'a' }, auth('alpha-write-001'));
    assert.equal(a.status, 201);
    const id = a.body.trace_id!;
    const info = (await (
      await fetch(`${s.api}/traces/${id}/info`, { headers: auth('alpha-read-0001') })
    ).json()) as TraceInfo;
    assert.equal(info['tenant_id'], 'alpha', 'the tenant comes from the token');
    const other = await post(`${s.api}/traces`, { tenant_id: 'beta' }, auth('alpha-write-001'));
    assert.equal(other.status, 403);
    // Another tenant's trace is a 404, as on the read side; the read token of its tenant gets 403.
    const cross = await post(
      `${s.api}/traces/${id}/ops`,
      { ops: [{ op: 'add', label: 'x' }] },
      auth('beta-write-0001'),
    );
    assert.equal(cross.status, 404);
    assert.equal(cross.body.error?.code, 'LT_ERR_TRACE_NOT_FOUND');
    const ro = await post(`${s.api}/traces/${id}/ops`, { ops: [{ op: 'add', label: 'x' }] }, auth('alpha-read-0001'));
    assert.equal(ro.status, 403);
    const own = await post(
      `${s.api}/traces/${id}/ops`,
      { ops: [{ op: 'add', label: 'x' }, { op: 'mark_complete' }] },
      auth('alpha-write-001'),
    );
    assert.equal(own.status, 200);
    const snap = (await (
      await fetch(`${s.api}/traces/${id}`, { headers: auth('alpha-read-0001') })
    ).json()) as TraceSnapshot;
    assert.equal(snap.nodes.length, 1);
  });

  it('rejects an invalid scopes entry at start', async () => {
    await assert.rejects(
      startTestServer({ tokens: [{ token: 'xxxxxxxxxxxx', tenantId: 'a', scopes: ['admin' as 'read'] }] }),
      /scopes/,
    );
  });
});
