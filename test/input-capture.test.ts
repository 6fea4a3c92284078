// Input from code and from content (issue 10): every value entering the log goes through
// the one capture path (copied, bounded), a failed create() leaves nothing behind, every
// caller-given string is bounded, and hostile option objects give our typed usage errors.
// Each test writes through a real FileStore and reads back what was stored.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TRUNCATED } from '../src/core/capture.js';
import { LivetraceError } from '../src/core/errors.js';
import { createServer } from '../src/server/create-server.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lt-input-'));
});
after(async () => rm(root, { recursive: true, force: true }));

let n = 0;
async function fileTracer(): Promise<{ tracer: Tracer; dir: string; reopen: () => Tracer }> {
  const dir = join(root, `s${n++}`);
  const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
  return { tracer, dir, reopen: () => new Tracer({ store: new FileStore({ dir }), exitHook: false }) };
}

async function duSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  }
  return total;
}

/** A Proxy whose every trap throws. */
function hostile(): object {
  const boom = (): never => {
    throw new TypeError('trap says no');
  };
  return new Proxy(
    {},
    {
      get: boom,
      has: boom,
      ownKeys: boom,
      getOwnPropertyDescriptor: boom,
      getPrototypeOf: boom,
      set: boom,
      defineProperty: boom,
      deleteProperty: boom,
    },
  );
}

describe('one capture path for values', () => {
  it('node.fail(errorLike) records a bounded copy: later mutation changes nothing, a 200 KB field respects the limits', async () => {
    const { tracer, reopen } = await fileTracer();
    const t = await tracer.create();
    const node = t.add(undefined, { label: 'n' });
    const errorLike = {
      name: 'ToolError',
      nested: { a: 1 },
      message: 'x'.repeat(200_000),
      detail: 'y'.repeat(200_000),
    };
    node.fail(errorLike);
    errorLike.name = 'MUTATED';
    errorLike.nested.a = 999;
    const live = t.getNode(node.id)!.error!;
    assert.equal(live.name, 'ToolError');
    assert.deepEqual(live['nested'], { a: 1 });
    await t.release();
    await tracer.close();
    const reader = reopen();
    const stored = (await reader.read(t.id))!.nodes.find((x) => x.id === node.id)!.error!;
    await reader.close();
    assert.equal(stored.name, 'ToolError');
    assert.deepEqual(
      stored['nested'],
      { a: 1 },
      'the caller mutated its object after fail(): the record must not change',
    );
    assert.ok(stored.message.length < 17_000, `message bounded, got ${stored.message.length}`);
    assert.ok(stored.message.includes(TRUNCATED));
    assert.ok(String(stored['detail']).length < 66_000, 'extra fields obey maxValueSize');
    assert.ok(JSON.stringify(stored).length < 90_000, `whole error ${JSON.stringify(stored).length} chars`);
  });

  it('create({ metadata }) with a BigInt, a cycle, a Map and a throwing getter captures them instead of throwing', async () => {
    const { tracer, reopen } = await fileTracer();
    const meta: Record<string, unknown> = { big: 12345678901234567890n, map: new Map([['k', 1]]), when: new Date(0) };
    meta['self'] = meta;
    Object.defineProperty(meta, 'bad', {
      enumerable: true,
      get: () => {
        throw new Error('getter');
      },
    });
    const t = await tracer.create({ metadata: meta });
    meta['big'] = 'MUTATED';
    await t.release();
    await tracer.close();
    const reader = reopen();
    const info = (await reader.info(t.id))!;
    await reader.close();
    assert.deepEqual(info.metadata!['big'], { $type: 'bigint', value: '12345678901234567890' });
    assert.deepEqual(info.metadata!['self'], { $type: 'circular' });
    assert.deepEqual(info.metadata!['map'], { $type: 'map', entries: [['k', 1]] });
    assert.deepEqual(
      info.metadata!['bad'],
      { $type: 'unserializable', error: 'Error: getter' },
      'one throwing getter loses only its own value',
    );
  });
});

describe('a failed create() leaves no ghost', () => {
  it('hostile options fail before anything is registered; a retry with the same id works and close() writes only it', async () => {
    const { tracer, reopen } = await fileTracer();
    const bad = {
      id: 'ghost-1',
      get agentName(): string {
        throw new Error('no name for you');
      },
    };
    await assert.rejects(
      tracer.create(bad),
      (e: unknown) => e instanceof LivetraceError && e.code === 'LT_ERR_INVALID_ARGUMENT',
    );
    assert.equal(tracer.isLoaded('ghost-1'), false);
    await assert.rejects(tracer.create({ id: 'ghost-2', signal: 'not a signal' as unknown as AbortSignal }), {
      code: 'LT_ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(tracer.create(hostile()), { code: 'LT_ERR_INVALID_ARGUMENT' });
    // The retry is not "already exists".
    const t = await tracer.create({ id: 'ghost-1', agentName: 'ok' });
    t.add('x').complete();
    t.markComplete();
    await tracer.close();
    const reader = reopen();
    const { traces } = await reader.list();
    await reader.close();
    assert.deepEqual(
      traces.map((i) => i.id),
      ['ghost-1'],
      'close() wrote no other trace',
    );
    assert.ok(traces[0]!.created_at > 1_000_000_000_000, 'not a trace dated 1970');
    assert.equal(traces[0]!.agent_name, 'ok');
  });

  it('a create() refused by the writer lease leaves nothing registered, and close() writes nothing for it', async () => {
    const { tracer: a, reopen } = await fileTracer();
    const holder = await a.create({ id: 'leased' });
    holder.add('x');
    await holder.flush();
    const b = reopen();
    await assert.rejects(b.create({ id: 'leased' }), { code: 'LT_ERR_TRACE_LOCKED' });
    assert.equal(b.isLoaded('leased'), false);
    await b.close();
    holder.markComplete();
    await a.close();
    const reader = reopen();
    const events = await reader.events('leased');
    await reader.close();
    assert.equal(events.filter((e) => e.type === 'complete').length, 1, 'only the holder completed it');
    assert.equal(events.filter((e) => e.type === 'init').length, 1);
  });
});

describe('every caller-given string is bounded', () => {
  const MB = 'z'.repeat(1_000_000);

  it('labels, descriptions, icons, messages, errors, keys, agent and tenant names: stored size stays proportional to bounded input', async () => {
    const { tracer, dir, reopen } = await fileTracer();
    const t = await tracer.create({ agentName: MB, createdBy: MB, teamId: MB, tenantId: MB, metadata: { [MB]: 1 } });
    // Values (input, metadata values) have their own budget (maxValueSize); here: strings only.
    const root = t.add('in', { label: MB, description: MB, icon: MB, metadata: { [MB]: 1 } });
    for (let i = 0; i < 10; i++) root.setMetadata(`${MB}${i}`, i);
    root.info(MB);
    root.warn(MB, { [MB]: 1 });
    const child = root.add(undefined, { label: MB });
    const err = new Error(MB);
    err.name = MB;
    child.fail(err);
    const sp = t.createSpace({ label: MB, description: MB, icon: MB });
    sp.set(MB, 1, { title: MB });
    t.markCancelled(MB);
    await t.release();
    await tracer.close();
    // ~30 MB of caller strings; every node_updated repeats the node (label, icon,
    // description: ~18 KB bounded), yet the store stays small.
    const size = await duSize(dir);
    assert.ok(size < 600_000, `stored ${size} bytes for bounded input`);

    const reader = reopen();
    const snap = (await reader.read(t.id))!;
    const info = (await reader.info(t.id))!;
    await reader.close();
    const node = snap.nodes.find((x) => x.id === root.id)!;
    assert.ok(node.label!.length <= 1024 + 40 && node.label!.includes(TRUNCATED));
    assert.ok(node.description!.length <= 16_384 + 40);
    assert.ok(
      Object.keys(node.metadata).every((k) => k.length <= 256),
      'metadata keys bounded',
    );
    assert.equal(
      Object.keys(node.metadata).length,
      11,
      'ten long keys with one prefix stay ten keys (+ the one from add)',
    );
    assert.ok(snap.logs.every((l) => l.message.length <= 16_384 + 40));
    const failed = snap.nodes.find((x) => x.id === child.id)!;
    assert.ok(failed.error!.name.length <= 1024 + 40 && failed.error!.message.length <= 16_384 + 40);
    assert.ok(info.agent_name!.length <= 1024 + 40);
    assert.ok(info.tenant_id!.length <= 256 && info.tenant_id!.includes(TRUNCATED));
    assert.ok(info.reason!.length <= 16_384 + 40);
    const space = snap.spaces[0]!;
    assert.ok(space.label!.length <= 1024 + 40);
    assert.ok(Object.keys(space.data).every((k) => k.length <= 256));
  });

  it('a truncated key keeps a hash of the whole key: two long keys never merge, and lookups by the long key work', async () => {
    const { tracer } = await fileTracer();
    const t = await tracer.create();
    const prefix = 'p'.repeat(5000);
    const sp = t.createSpace({ id: 'mem' });
    sp.set(`${prefix}A`, 'a');
    sp.set(`${prefix}B`, 'b');
    assert.equal(sp.keys().length, 2);
    assert.equal(sp.get(`${prefix}A`), 'a');
    assert.equal(sp.get(`${prefix}B`), 'b');
    assert.equal(sp.has(`${prefix}C`), false);
    assert.equal(sp.delete(`${prefix}A`), true);
    assert.deepEqual(
      sp.keys().map((k) => k.length <= 256),
      [true],
    );
    const node = t.add(undefined, {
      metadata: { [`${prefix}A`]: 1, [`${prefix}B`]: 2, nested: { [`${prefix}A`]: 1, [`${prefix}B`]: 2 } },
    });
    const meta = node.data!.metadata;
    assert.equal(Object.keys(meta).length, 3);
    assert.equal(Object.keys(meta['nested'] as object).length, 2);
    await tracer.close();
  });

  it('the limits are options (validated) and documented', async () => {
    assert.throws(() => new Tracer({ store: new MemoryStore(), limits: { maxLabelLength: 0 } }), {
      code: 'LT_ERR_INVALID_ARGUMENT',
    });
    const tracer = new Tracer({
      store: new MemoryStore(),
      exitHook: false,
      limits: { maxLabelLength: 20, maxMessageLength: 30, maxKeyLength: 40 },
    });
    const t = await tracer.create();
    const node = t.add(undefined, { label: 'L'.repeat(100) });
    node.info('M'.repeat(100));
    assert.equal(node.data!.label, `${'L'.repeat(20)}${TRUNCATED} (100 chars)`);
    assert.equal(t.logs()[0]!.message, `${'M'.repeat(30)}${TRUNCATED} (100 chars)`);
    await tracer.close();
    const { readFile } = await import('node:fs/promises');
    const api = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const name of ['maxLabelLength', 'maxMessageLength', 'maxKeyLength'])
      assert.match(api, new RegExp(`limits\\.${name}`));
  });
});

describe('hostile option objects give typed usage errors', () => {
  const isUsage = (e: unknown): boolean => e instanceof LivetraceError && e.code === 'LT_ERR_INVALID_ARGUMENT';

  it('every entry point that takes options', async () => {
    const H = (): never => hostile() as never;
    assert.throws(() => new Tracer(H()), isUsage);
    assert.throws(() => new Tracer({ store: new MemoryStore(), limits: H() }), isUsage);
    assert.throws(() => new Tracer({ store: new MemoryStore(), flush: H() }), isUsage);
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    await assert.rejects(tracer.create(H()), isUsage);
    await assert.rejects(
      tracer.create({ metadata: H() }).then(async (t) => {
        // metadata is a value: captured (as unserializable), not an error.
        assert.equal(typeof t.getInfo().metadata, 'object');
        await t.release();
        throw new (await import('../src/core/errors.js')).InvalidArgumentError('ok');
      }),
      isUsage,
    );
    const t = await tracer.create();
    assert.throws(() => t.add('x', H()), isUsage);
    const root = t.add('x');
    assert.throws(() => t.add('x', { label: 'ok', usage: H() }), isUsage);
    assert.throws(() => root.add('x', H()), isUsage);
    assert.throws(() => t.parallel(H()), isUsage);
    assert.throws(() => t.parallel([H()]), isUsage);
    assert.throws(() => root.parallel([H()]), isUsage);
    assert.throws(() => root.join(H()), isUsage);
    assert.throws(() => root.join([], undefined, H()), isUsage);
    assert.throws(() => root.setMetadata(H()), isUsage);
    assert.throws(() => root.setUsage(H()), isUsage);
    assert.throws(() => t.createSpace(H()), isUsage);
    const sp = t.createSpace({ id: 's' });
    assert.throws(() => sp.set('k', 1, H()), isUsage);
    assert.throws(() => t.subscribe(H()), isUsage);
    assert.throws(() => tracer.subscribe(t.id, H()), isUsage);
    assert.throws(() => tracer.run(H(), () => 1), isUsage);
    await assert.rejects(tracer.list(H()), isUsage);
    await assert.rejects(tracer.events(t.id, H()), isUsage);
    await assert.rejects(createServer(H()), isUsage);
    // Values are not options: a hostile value is captured, never thrown.
    const v = root.add(H(), { label: H() as unknown as string });
    assert.deepEqual(v.data!.input, { $type: 'unserializable', error: 'TypeError: trap says no' });
    assert.equal(v.data!.label, '[unprintable]');
    root.info('x', H());
    const leaf = root.add('y');
    leaf.fail(H());
    assert.equal(leaf.data!.status, 'failed');
    assert.match(leaf.data!.error!.message, /unreadable error/);
    await tracer.close();
  });
});
