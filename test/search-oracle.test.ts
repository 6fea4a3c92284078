// Search oracle: random traces (random words, kinds, models, metadata, usage, sessions)
// written by a real Tracer to each store, random queries (q, filters, ranges, sorts, page
// sizes); every store's pages, following cursors to the end, equal a brute-force scan of
// every trace's full events and info with the same tokenizer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { batchTokens, metaFacets, metaFacet, tokenize } from '../src/core/search.js';
import type { ListQuery, ListSort, NodeKind, TraceInfo, TraceStatus } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { TraceStore } from '../src/store/store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { PG_URL, dropSchema, pgSkip, uniqueName } from './fixtures/services.js';

const pgSkipped = await pgSkip();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

// Words with the edge cases of the tokenizer: case, apostrophes, underscores, digits,
// accents, CJK, emoji glued to a word.
const VOCAB = [
  'Alpha',
  'beta',
  'GAMMA',
  "don't",
  'snake_case',
  'x42',
  '42',
  'café',
  'Ünïcode',
  '東京',
  'タワー',
  '🙂smile',
  'e-mail',
  '3.14',
];
const MODELS = ['m-priced', 'm-cheap', 'm-free'];
const KINDS: NodeKind[] = ['llm', 'tool', 'retriever', 'step', 'agent'];

interface NodeSpec {
  kind: NodeKind;
  label: string;
  input: string;
  output: string;
  log?: string;
  fail?: string;
  usage?: { model: string; inputTokens: number; outputTokens: number };
}
interface TraceSpec {
  sessionId?: string;
  userId?: string;
  env?: string;
  attempt?: number;
  tenant?: string;
  nodes: NodeSpec[];
  end: 'complete' | 'fail' | 'running';
}

const phrase = fc.array(fc.constantFrom(...VOCAB), { maxLength: 3 }).map((ws) => ws.join(' '));
const nodeSpec: fc.Arbitrary<NodeSpec> = fc.record(
  {
    kind: fc.constantFrom(...KINDS),
    label: phrase,
    input: phrase,
    output: phrase,
    log: phrase,
    fail: phrase,
    usage: fc.record({
      model: fc.constantFrom(...MODELS),
      inputTokens: fc.integer({ min: 0, max: 50 }),
      outputTokens: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { requiredKeys: ['kind', 'label', 'input', 'output'] },
);
const traceSpec: fc.Arbitrary<TraceSpec> = fc.record(
  {
    sessionId: fc.constantFrom('s1', 's2'),
    userId: fc.constantFrom('u1', 'u2'),
    env: fc.constantFrom('prod', 'dev'),
    attempt: fc.constantFrom(1, 2),
    tenant: fc.constantFrom('t1', 't2'),
    nodes: fc.array(nodeSpec, { maxLength: 4 }),
    end: fc.constantFrom('complete' as const, 'fail' as const, 'running' as const),
  },
  { requiredKeys: ['nodes', 'end'] },
);

const SORT_LIST: ListSort[] = [
  '-created_at',
  'created_at',
  '-duration',
  'duration',
  '-tokens',
  'tokens',
  '-cost',
  'cost',
];
const querySpec: fc.Arbitrary<ListQuery> = fc.record(
  {
    q: fc
      .array(fc.oneof(fc.constantFrom(...VOCAB), fc.constantFrom('ALPHA', 'Café', 'nowhere', 'don', 's', 'smile')), {
        maxLength: 2,
      })
      .map((ws) => ws.join(' ')),
    status: fc.constantFrom<TraceStatus>('running', 'completed', 'failed'),
    tenantId: fc.constantFrom('t1', 't2'),
    sessionId: fc.constantFrom('s1', 's2'),
    userId: fc.constantFrom('u1', 'u2'),
    kind: fc.constantFrom(...KINDS),
    model: fc.constantFrom(...MODELS),
    meta: fc.oneof(
      fc.constant({ env: 'prod' }),
      fc.constant({ attempt: '2' }),
      fc.constant({ env: 'dev', attempt: '1' }),
    ),
    minTokens: fc.integer({ min: 0, max: 60 }),
    maxTokens: fc.integer({ min: 0, max: 150 }),
    minCost: fc.constantFrom(0, 0.00001, 0.0001),
    maxCost: fc.constantFrom(0, 0.0001, 0.001),
    minDurationMs: fc.constantFrom(0, 1),
    maxDurationMs: fc.constantFrom(0, 10_000),
    sort: fc.constantFrom(...SORT_LIST),
    limit: fc.integer({ min: 1, max: 4 }),
  },
  { requiredKeys: ['limit'] },
);

const PRICES = {
  'm-priced': { input_per_million: 3, output_per_million: 15, currency: 'USD' },
  'm-cheap': { input_per_million: 0.1, output_per_million: 0.4, currency: 'USD' },
};

async function writeTraces(store: TraceStore, specs: TraceSpec[]): Promise<void> {
  const tracer = new Tracer({
    store,
    prices: PRICES,
    flush: { intervalMs: 1 },
    exitHook: false,
    shared: { store: true },
  });
  tracer.on('warning', () => undefined);
  for (const spec of specs) {
    const metadata: Record<string, unknown> = {};
    if (spec.env !== undefined) metadata['env'] = spec.env;
    if (spec.attempt !== undefined) metadata['attempt'] = spec.attempt;
    const trace = await tracer.create({
      ...(spec.sessionId !== undefined ? { sessionId: spec.sessionId } : {}),
      ...(spec.userId !== undefined ? { userId: spec.userId } : {}),
      ...(spec.tenant !== undefined ? { tenantId: spec.tenant } : {}),
      metadata,
    });
    for (const n of spec.nodes) {
      const node = trace.add({ text: n.input, n: 7 }, { label: n.label, kind: n.kind });
      if (n.usage) node.setUsage(n.usage);
      if (n.log) node.info(n.log);
      await trace.flush(); // several batches per trace
      if (n.fail) node.fail(new Error(n.fail));
      else node.complete({ answer: n.output });
    }
    if (spec.end === 'complete') trace.markComplete();
    else if (spec.end === 'fail') trace.markFailed(new Error('gave up'));
    await trace.flush();
    await trace.release();
  }
  await tracer.close();
}

/** Brute force: every trace's full events and info, the same tokenizer, no index. */
async function oracle(store: TraceStore, ids: string[], q: ListQuery): Promise<string[]> {
  const terms = [...new Set(tokenize(q.q ?? ''))];
  const sort = q.sort ?? '-created_at';
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  const value = (i: TraceInfo): number => {
    const num = (v: unknown, missing: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : missing);
    if (field === 'created_at') return i.created_at;
    if (field === 'duration') return num(i.duration, -1);
    if (field === 'tokens') return num(i.usage?.total_tokens, 0);
    return num(i.usage?.cost?.amount, -1);
  };
  const range = (v: number, min?: number, max?: number): boolean =>
    (min === undefined && max === undefined) ||
    (v >= 0 && (min === undefined || v >= min) && (max === undefined || v <= max));
  const hits: TraceInfo[] = [];
  for (const id of ids) {
    const info = (await store.info(id))!;
    const words = batchTokens(await store.read(id));
    if (!terms.every((t) => words.has(t))) continue;
    if (q.status !== undefined && info.status !== q.status) continue;
    if (q.tenantId !== undefined && info.tenant_id !== q.tenantId) continue;
    if (q.sessionId !== undefined && info.session_id !== q.sessionId) continue;
    if (q.userId !== undefined && info.user_id !== q.userId) continue;
    if (q.kind !== undefined && !info.kinds?.includes(q.kind)) continue;
    if (q.model !== undefined && !info.models?.includes(q.model)) continue;
    if (q.meta && !Object.entries(q.meta).every(([k, v]) => metaFacets(info).includes(metaFacet(k, v)))) continue;
    const dur = typeof info.duration === 'number' ? info.duration : -1;
    const tok = info.usage?.total_tokens ?? 0;
    const cost = info.usage?.cost?.amount ?? -1;
    if (!range(dur, q.minDurationMs, q.maxDurationMs)) continue;
    if (!range(tok, q.minTokens, q.maxTokens)) continue;
    if (!range(cost, q.minCost, q.maxCost)) continue;
    hits.push(info);
  }
  hits.sort((a, b) => {
    const c = value(a) - value(b) || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return desc ? -c : c;
  });
  return hits.map((i) => i.id);
}

/** Every page of a query, following cursors to the end. */
async function allPages(store: TraceStore, q: ListQuery): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const r = await store.list({ ...q, ...(cursor !== undefined ? { cursor } : {}) });
    assert.ok(r.traces.length <= (q.limit ?? 50));
    out.push(...r.traces.map((t) => t.id));
    if (r.nextCursor === undefined) return out;
    assert.equal(r.traces.length, q.limit, 'a page before the last is full');
    cursor = r.nextCursor;
  }
  throw new Error('too many pages');
}

function validQuery(q: ListQuery): ListQuery {
  const out = { ...q };
  for (const [a, b] of [
    ['minTokens', 'maxTokens'],
    ['minCost', 'maxCost'],
    ['minDurationMs', 'maxDurationMs'],
  ] as const) {
    if (out[a] !== undefined && out[b] !== undefined && out[a] > out[b]) delete out[b];
  }
  return out;
}

interface Kind {
  name: string;
  skip: string | false;
  open: () => Promise<TraceStore>;
}

const kinds: Kind[] = [
  { name: 'MemoryStore', skip: false, open: async () => new MemoryStore() },
  {
    name: 'FileStore',
    skip: false,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lt-search-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return new FileStore({ dir, durability: 'none' });
    },
  },
  {
    name: 'SqliteStore',
    skip: false,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lt-search-sqlite-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return new SqliteStore({ path: join(dir, 'db.sqlite') });
    },
  },
  {
    name: 'PostgresStore',
    skip: pgSkipped,
    open: async () => {
      const schema = uniqueName('lt_search');
      cleanups.push(() => dropSchema(schema));
      return new PostgresStore({ url: PG_URL, schema });
    },
  },
];

describe('search: every store equals a brute-force oracle', () => {
  for (const k of kinds) {
    it(`${k.name}: random traces and queries, paged to the end`, { skip: k.skip }, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(traceSpec, { minLength: 1, maxLength: 12 }),
          fc.array(querySpec, { minLength: 15, maxLength: 25 }),
          async (specs, queries) => {
            const store = await k.open();
            try {
              await writeTraces(store, specs);
              const ids: string[] = [];
              for (let r = await store.list({ limit: 1000 }); ;) {
                ids.push(...r.traces.map((t) => t.id));
                if (!r.nextCursor) break;
                r = await store.list({ limit: 1000, cursor: r.nextCursor });
              }
              assert.equal(ids.length, specs.length);
              for (const raw of queries) {
                const q = validQuery(raw);
                const want = await oracle(store, ids, q);
                const got = await allPages(store, q);
                assert.deepEqual(got, want, `query ${JSON.stringify(q)}`);
              }
            } finally {
              await store.close();
            }
          },
        ),
        { numRuns: 4 },
      );
    });
  }
});
