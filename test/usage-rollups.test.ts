// Node kinds, usage, prices, rollups and sessions: the data model of issue 12.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError } from '../src/core/errors.js';
import { DEFAULT_PRICES, computeCost, findPrice, resolvePrices } from '../src/core/prices.js';
import { reduceEvents, toSnapshot } from '../src/core/reducer.js';
import { subtreeRollup } from '../src/core/rollup.js';
import type { TraceEvent } from '../src/core/types.js';
import { withCost } from '../src/core/usage.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { TraceStore } from '../src/store/store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { PG_URL, dropSchema, pgSkip, uniqueName } from './fixtures/services.js';

const PRICES = { 'test-model': { input_per_million: 1, output_per_million: 2, currency: 'USD' } };
const tmp = mkdtempSync(join(tmpdir(), 'lt-usage-'));
const pgSkipped = await pgSkip();
const schemas: string[] = [];
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  if (!pgSkipped) for (const s of schemas) await dropSchema(s);
});

function tracer(store: TraceStore = new MemoryStore(), prices: Record<string, unknown> = PRICES): Tracer {
  return new Tracer({ store, prices: prices as never, exitHook: false });
}

describe('price table', () => {
  it('finds exact keys, provider-prefixed and dated names, never a sibling model', () => {
    const t = resolvePrices(undefined);
    assert.equal(findPrice(t, 'gpt-4o'), DEFAULT_PRICES['gpt-4o']);
    assert.equal(findPrice(t, 'openai/gpt-4o-mini'), DEFAULT_PRICES['gpt-4o-mini']);
    assert.equal(findPrice(t, 'gpt-4o-2024-08-06'), DEFAULT_PRICES['gpt-4o']);
    assert.equal(findPrice(t, 'gpt-4o-mini-2024-07-18'), DEFAULT_PRICES['gpt-4o-mini']);
    assert.equal(findPrice(t, 'claude-3-5-sonnet-20241022'), DEFAULT_PRICES['claude-3-5-sonnet']);
    const noMini = resolvePrices(
      { 'm-1': { input_per_million: 1, output_per_million: 1, currency: 'usd' } },
      'prices',
      false,
    );
    assert.equal(findPrice(noMini, 'm-1-mini'), undefined);
    assert.equal(findPrice(noMini, 'm-1-20250101')?.currency, 'USD');
    assert.equal(findPrice(t, 'no-such-model'), undefined);
    assert.equal(findPrice(t, 'constructor'), undefined);
  });

  it('computes cost with cached input at its own rate', () => {
    const t = resolvePrices({
      m: { input_per_million: 10, output_per_million: 20, cached_input_per_million: 1, currency: 'EUR' },
    });
    assert.deepEqual(computeCost(t, 'm', { input_tokens: 1000, output_tokens: 500, cached_tokens: 400 }), {
      amount: (600 * 10 + 400 * 1 + 500 * 20) / 1e6,
      currency: 'EUR',
      estimated: true,
    });
    assert.equal(computeCost(t, 'unknown-x', { input_tokens: 1, output_tokens: 1 }), undefined);
  });

  it('overrides the defaults and rejects malformed tables naming the model and field', () => {
    const t = resolvePrices({ 'gpt-4o': { input_per_million: 100, output_per_million: 100, currency: 'USD' } });
    assert.equal(t['gpt-4o']!.input_per_million, 100);
    assert.ok(t['gpt-4o-mini']);
    assert.throws(() => resolvePrices([]), InvalidArgumentError);
    assert.throws(
      () => resolvePrices({ x: { input_per_million: -1, output_per_million: 1, currency: 'USD' } }),
      /prices\["x"\]: input_per_million/,
    );
    assert.throws(
      () => resolvePrices({ x: { input_per_million: 1, output_per_million: '2', currency: 'USD' } }),
      /output_per_million/,
    );
    assert.throws(
      () => resolvePrices({ x: { input_per_million: 1, output_per_million: 2, currency: 'dollars' } }),
      /currency/,
    );
    assert.throws(
      () => new Tracer({ store: new MemoryStore(), prices: { x: null } as never, exitHook: false }),
      InvalidArgumentError,
    );
  });

  it('withCost fills a missing cost and keeps a present one', () => {
    const t = resolvePrices(PRICES);
    const u = { model: 'test-model', input_tokens: 1_000_000, output_tokens: 1_000_000, total_tokens: 2_000_000 };
    assert.deepEqual(withCost(u, t).cost, { amount: 3, currency: 'USD', estimated: true });
    const priced = { ...u, cost: { amount: 9, currency: 'USD' } };
    assert.equal(withCost(priced, t), priced);
  });
});

describe('kinds and usage on nodes', () => {
  it('defaults kind to step, accepts kind and usage on add, rejects unknown kinds', async () => {
    const t = await tracer().create();
    const root = t.add('q');
    assert.equal(root.data!.kind, 'step');
    const tool = root.add({ city: 'Paris' }, { kind: 'tool', label: 'weather' });
    assert.equal(tool.data!.kind, 'tool');
    const llm = root.add({ messages: [] }, { usage: { model: 'test-model', inputTokens: 10, outputTokens: 5 } });
    assert.equal(llm.data!.kind, 'llm');
    assert.deepEqual(llm.data!.usage, {
      model: 'test-model',
      input_tokens: 10,
      output_tokens: 5,
      total_tokens: 15,
      cost: { amount: 0.00002, currency: 'USD', estimated: true },
    });
    assert.throws(() => root.add(1, { kind: 'robot' as never }), /option kind must be one of/);
    assert.throws(() => llm.setUsage({ model: 'x', inputTokens: -1 }), /inputTokens/);
    assert.throws(() => llm.setUsage({ model: 'x', inputTokens: Number.NaN }), InvalidArgumentError);
  });

  it('setUsage emits one node_updated with the whole node; a second call replaces, never adds', async () => {
    const t = await tracer().create();
    const call = t.add('prompt', { kind: 'llm' });
    const before = t.lastSeq;
    call.setUsage({
      model: 'test-model',
      provider: 'acme',
      inputTokens: 100,
      outputTokens: 50,
      cachedTokens: 20,
      reasoningTokens: 7,
      timeToFirstTokenMs: 120,
    });
    const evs = t.events({ since: before });
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.type, 'node_updated');
    assert.equal(evs[0]!.data.node.label, undefined);
    assert.equal(evs[0]!.data.node.input, 'prompt');
    assert.deepEqual(evs[0]!.data.node.usage, {
      model: 'test-model',
      provider: 'acme',
      input_tokens: 100,
      output_tokens: 50,
      total_tokens: 150,
      cached_tokens: 20,
      reasoning_tokens: 7,
      ttft_ms: 120,
      cost: { amount: 0.0002, currency: 'USD', estimated: true },
    });
    assert.equal(t.getInfo().usage!.total_tokens, 150);
    call.setUsage({ model: 'test-model', inputTokens: 200, outputTokens: 100 });
    assert.deepEqual(t.getInfo().usage, {
      input_tokens: 200,
      output_tokens: 100,
      total_tokens: 300,
      cost: { amount: 0.0004, currency: 'USD' },
      llm_calls: 1,
      tool_calls: 0,
      failed_nodes: 0,
    });
  });

  it('a reported cost wins over the price table; unknown models have no cost', async () => {
    const t = await tracer().create();
    const a = t
      .add('a')
      .setUsage({ model: 'test-model', inputTokens: 1, outputTokens: 1, cost: { amount: 0.5, currency: 'usd' } });
    assert.deepEqual(a.data!.usage!.cost, { amount: 0.5, currency: 'USD', estimated: false });
    const b = t.add('b').setUsage({ model: 'mystery', inputTokens: 1, outputTokens: 1 });
    assert.equal(b.data!.usage!.cost, undefined);
    assert.equal(b.data!.kind, 'llm');
    assert.deepEqual(t.getInfo().models, ['mystery', 'test-model']);
  });

  it('rollups count llm, tool and failed nodes; mixed currencies give no total cost', async () => {
    const t = await tracer(new MemoryStore(), {
      ...PRICES,
      eur: { input_per_million: 1, output_per_million: 1, currency: 'EUR' },
    }).create();
    const root = t.add('run', { kind: 'agent' });
    root.add('t1', { kind: 'tool' }).fail(new Error('boom'));
    root.add('t2', { kind: 'tool' }).complete();
    const c1 = root.add('c1', { usage: { model: 'test-model', inputTokens: 1000, outputTokens: 1000 } });
    let u = t.getInfo().usage!;
    assert.deepEqual(u, {
      input_tokens: 1000,
      output_tokens: 1000,
      total_tokens: 2000,
      cost: { amount: 0.003, currency: 'USD' },
      llm_calls: 1,
      tool_calls: 2,
      failed_nodes: 1,
    });
    root.add('c2', { usage: { model: 'eur', inputTokens: 1, outputTokens: 1 } });
    u = t.getInfo().usage!;
    assert.equal(u.cost, undefined);
    assert.equal(u.llm_calls, 2);
    c1.fail(new Error('x'));
    assert.equal(t.getInfo().usage!.failed_nodes, 2);
    assert.deepEqual(t.getInfo().kinds, ['agent', 'llm', 'tool']);
  });

  it('subtreeRollup counts a joined node once and only the subtree', async () => {
    const t = await tracer().create();
    const root = t.add('root');
    const [a, b] = t.parallel([
      { input: 'a', kind: 'agent' },
      { input: 'b', kind: 'agent' },
    ]);
    a!.add('x', { usage: { model: 'test-model', inputTokens: 10, outputTokens: 0 } });
    b!.add('y', { usage: { model: 'test-model', inputTokens: 1, outputTokens: 0 } });
    const j = t.add('j', { autoCompleteParent: false }); // after parallel(): a join of both branches
    assert.deepEqual(j.data!.parent_ids, [a!.id, b!.id]);
    j.add('z', { usage: { model: 'test-model', inputTokens: 100, outputTokens: 0 } });
    const nodes = t.nodes();
    assert.equal(subtreeRollup(nodes, root.id).input_tokens, 111);
    assert.equal(subtreeRollup(nodes, a!.id).input_tokens, 110);
    assert.equal(subtreeRollup(nodes, b!.id).llm_calls, 2);
    assert.deepEqual(subtreeRollup(nodes, 'nope'), {
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      llm_calls: 0,
      tool_calls: 0,
      failed_nodes: 0,
    });
  });

  it('events of old writers (no kind) reduce to steps; forged usage is ignored, not thrown', () => {
    // Forged on purpose (missing and wrong-typed fields): hence the cast.
    const evs = [
      { seq: 1, type: 'init', trace_id: 't', timestamp: 1, data: {} },
      {
        seq: 2,
        type: 'node_start',
        trace_id: 't',
        timestamp: 2,
        data: {
          node: {
            id: 'n',
            parent_ids: [],
            children: [],
            metadata: {},
            status: 'running',
            created_at: 2,
            updated_at: 2,
          },
        },
      },
      {
        seq: 3,
        type: 'node_start',
        trace_id: 't',
        timestamp: 3,
        data: {
          node: {
            id: 'm',
            kind: 'bogus',
            parent_ids: ['n'],
            children: [],
            metadata: {},
            status: 'running',
            created_at: 3,
            updated_at: 3,
            usage: { model: 5, input_tokens: 'x', output_tokens: -3, cost: { amount: 'x' } },
          },
        },
      },
    ] as unknown as TraceEvent[];
    const snap = toSnapshot(reduceEvents('t', evs));
    assert.deepEqual(
      snap.nodes.map((n) => n.kind),
      ['step', 'step'],
    );
    assert.deepEqual(snap.info.usage, {
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      llm_calls: 0,
      tool_calls: 0,
      failed_nodes: 0,
    });
  });
});

describe('sessions', () => {
  it('create({ sessionId, userId }) lands in TraceInfo', async () => {
    const tr = tracer();
    const t = await tr.create({ sessionId: 'conv-1', userId: 'user-9' });
    assert.equal(t.getInfo().session_id, 'conv-1');
    assert.equal(t.getInfo().user_id, 'user-9');
    assert.deepEqual(t.events()[0]!.data, { trace_id: t.id, session_id: 'conv-1', user_id: 'user-9' });
    t.markComplete();
    await t.release();
    assert.equal((await tr.info(t.id))!.session_id, 'conv-1');
  });
});

// Live == stored: the info the tracer hands to the store, the info the store returns, and
// the info rebuilt from the stored events agree exactly, for every store.
const stores: [string, () => TraceStore, boolean][] = [
  ['MemoryStore', () => new MemoryStore(), false],
  ['FileStore', () => new FileStore({ dir: join(tmp, 'fs') }), false],
  ['SqliteStore', () => new SqliteStore({ path: join(tmp, 'db.sqlite') }), false],
  [
    'PostgresStore',
    () => {
      const schema = uniqueName('lt_usage');
      schemas.push(schema);
      return new PostgresStore({ url: PG_URL, schema });
    },
    Boolean(pgSkipped),
  ],
];

for (const [name, make, skip] of stores) {
  describe(`rollups live == stored (${name})`, { skip }, () => {
    it('agree after usage changes, failures and completion', async () => {
      const tr = tracer(make());
      const t = await tr.create({ sessionId: 's1', userId: 'u1' });
      const root = t.add('ask', { kind: 'agent' });
      const c = root.add({ messages: [{ role: 'user', content: 'hi' }] }, { kind: 'llm' });
      c.setUsage({ model: 'test-model', inputTokens: 3, outputTokens: 1 });
      await t.flush();
      const mid = (await tr.store.info(t.id))!;
      assert.deepEqual(mid.usage, t.getInfo().usage);
      c.setUsage({ model: 'test-model', inputTokens: 333, outputTokens: 111, cachedTokens: 3 });
      c.complete({ role: 'assistant', content: 'hello' });
      root.add('search', { kind: 'tool' }).fail(new Error('down'));
      root.add('embed', { kind: 'embedding', usage: { model: 'text-embedding-3-small', inputTokens: 1000 } });
      t.markComplete();
      const live = t.getInfo();
      await t.release();
      const stored = (await tr.store.info(t.id))!;
      const rebuilt = reduceEvents(t.id, await tr.store.read(t.id)).info;
      for (const info of [stored, rebuilt]) {
        assert.deepEqual(info.usage, live.usage);
        assert.deepEqual(info.kinds, live.kinds);
        assert.deepEqual(info.models, live.models);
        assert.equal(info.session_id, 's1');
        assert.equal(info.user_id, 'u1');
      }
      assert.deepEqual(live.usage, {
        input_tokens: 1333,
        output_tokens: 111,
        total_tokens: 1444,
        cost: { amount: 0.000575, currency: 'USD' },
        llm_calls: 1,
        tool_calls: 1,
        failed_nodes: 1,
      });
      const snap = (await tr.read(t.id))!;
      assert.deepEqual(snap.info.usage, live.usage);
      await tr.close();
    });
  });
}
