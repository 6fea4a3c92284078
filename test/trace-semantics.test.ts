import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidArgumentError,
  InvalidIdError,
  InvalidKeyError,
  NoRootError,
  TraceClosedError,
  TraceExistsError,
  TraceNotFoundError,
  UnknownSpaceError,
} from '../src/core/errors.js';
import { reduceEvents, toSnapshot } from '../src/core/reducer.js';
import type { TraceEvent } from '../src/core/types.js';
import { eventOf } from './fixtures/events.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';

function setup(opts: ConstructorParameters<typeof Tracer>[0] = {}) {
  const store = new MemoryStore();
  const tracer = new Tracer({ store, exitHook: false, ...opts });
  const warnings: string[] = [];
  tracer.on('warning', (w) => warnings.push(w.code));
  return { store, tracer, warnings };
}

const types = (events: TraceEvent[]) => events.map((e) => e.type);

describe('trace semantics', () => {
  it('starts with init (seq 1) and becomes running at the first add', async () => {
    const { tracer } = setup();
    const t = await tracer.create({
      id: 'sem_init',
      agentName: 'bot',
      createdBy: 'ann',
      teamId: 'red',
      tenantId: 'acme',
      metadata: { env: 'test' },
    });
    assert.equal(t.status, 'pending');
    const [init] = t.events();
    assert.deepEqual(
      { ...init, timestamp: 0 },
      {
        seq: 1,
        type: 'init',
        trace_id: 'sem_init',
        timestamp: 0,
        data: {
          trace_id: 'sem_init',
          agent_name: 'bot',
          created_by: 'ann',
          team_id: 'red',
          tenant_id: 'acme',
          metadata: { env: 'test' },
        },
      },
    );
    const root = t.add({ q: 1 }, { label: 'root' });
    assert.equal(t.status, 'running');
    assert.equal(t.root?.id, root.id);
    const info = t.getInfo();
    assert.equal(info.created_by, 'ann');
    assert.equal(info.tenant_id, 'acme');
    assert.equal(info.label, 'root');
    await tracer.close();
  });

  it('chains sequential steps: each add completes the previous one and continues from it', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const a = t.add('a', { label: 'a' });
    const b = t.add('b', { label: 'b' });
    const c = t.add('c', { label: 'c' });
    assert.deepEqual(b.data?.parent_ids, [a.id]);
    assert.deepEqual(c.data?.parent_ids, [b.id]);
    assert.equal(a.data?.status, 'completed');
    assert.equal(b.data?.status, 'completed');
    assert.equal(c.data?.status, 'running');
    assert.deepEqual(a.data?.children, [b.id]);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [c.id],
    );
    assert.deepEqual(types(t.events()), [
      'init',
      'node_start',
      'node_complete',
      'node_start',
      'node_complete',
      'node_start',
    ]);
    await tracer.close();
  });

  it('emits exact payloads for node_start, node_complete, node_failed and log_added', async () => {
    const { tracer } = setup();
    const t = await tracer.create({ id: 'sem_payload' });
    const n = t.add({ x: 1 }, { label: 'step', icon: '🔧', description: 'd', metadata: { m: 1 } });
    const start = t.events({ since: 1 })[0]!;
    assert.equal(start.type, 'node_start');
    assert.equal(start.node_id, n.id);
    const node = start.data.node;
    assert.deepEqual(Object.keys(start.data).sort(), ['cursor', 'node']);
    assert.deepEqual(start.data.cursor, [n.id]);
    assert.deepEqual(
      { ...node, created_at: 0, start_time: 0, updated_at: 0 },
      {
        id: n.id,
        parent_ids: [],
        children: [],
        kind: 'step',
        label: 'step',
        icon: '🔧',
        description: 'd',
        metadata: { m: 1 },
        input: { x: 1 },
        status: 'running',
        created_at: 0,
        start_time: 0,
        updated_at: 0,
      },
    );
    assert.match(n.id, /^[0-9a-z]{12}$/);
    n.info('hello', { k: 'v' });
    const log = t.events({ since: 2 })[0]!;
    assert.deepEqual(
      { ...log, timestamp: 0, data: { ...log.data, timestamp: 0 } },
      {
        seq: 3,
        type: 'log_added',
        trace_id: 'sem_payload',
        node_id: n.id,
        timestamp: 0,
        data: { node_id: n.id, level: 'info', message: 'hello', data: { k: 'v' }, timestamp: 0 },
      },
    );
    n.complete({ done: true });
    const done = t.events({ since: 3 })[0]!;
    assert.equal(done.type, 'node_complete');
    assert.deepEqual(Object.keys(done.data).sort(), ['duration', 'end_time', 'node_id', 'output', 'status']);
    assert.equal(done.data.status, 'success');
    assert.deepEqual(done.data.output, { done: true });
    assert.equal(done.data.duration, done.data.end_time - node!.start_time!);
    const m = t.add(undefined, { label: 'm' });
    m.fail(new TypeError('bad thing'));
    const failed = t.events().at(-1)!;
    assert.equal(failed.type, 'node_failed');
    assert.equal(failed.data.status, 'failed');
    assert.equal(failed.data.error.name, 'TypeError');
    assert.equal(failed.data.error.message, 'bad thing');
    assert.equal(typeof failed.data.error.stack, 'string');
    await tracer.close();
  });

  it('parallel then add joins every branch', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const root = t.add('q', { label: 'root' });
    const branches = t.parallel([
      { label: 'w1', input: 1 },
      { label: 'w2', input: 2 },
      { label: 'w3', input: 3 },
    ]);
    const fan = t.events().at(-1)!;
    assert.equal(fan.type, 'node_start');
    assert.equal(fan.data.nodes!.length, 3);
    assert.equal(fan.node_id, undefined);
    assert.equal(root.data?.status, 'completed', 'parallel auto-completes the current node');
    for (const b of branches) assert.deepEqual(b.data?.parent_ids, [root.id]);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      branches.map((b) => b.id),
    );
    branches[0]!.complete('one');
    branches[1]!.fail('two failed');
    const join = t.add(undefined, { label: 'join' });
    assert.deepEqual(
      join.data?.parent_ids,
      branches.map((b) => b.id),
    );
    assert.equal(branches[1]!.data?.status, 'failed', 'a failed branch stays failed');
    assert.equal(branches[2]!.data?.status, 'completed', 'the open branch is auto-completed');
    for (const b of branches) assert.deepEqual(b.data?.children, [join.id]);
    await tracer.close();
  });

  it('autoCompleteParent: false leaves the current nodes running', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const a = t.add('a');
    const b = t.add('b', { autoCompleteParent: false });
    assert.equal(a.data?.status, 'running');
    assert.deepEqual(b.data?.parent_ids, [a.id]);
    const ps = t.parallel([{ label: 'x', autoCompleteParent: false }, { label: 'y' }]);
    assert.equal(b.data?.status, 'running');
    assert.equal(ps.length, 2);
    await tracer.close();
  });

  it('node.add/parallel/join emit node_start; node.add does not move the cursor; join replaces joined current nodes', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const root = t.add('r');
    const child = root.add('c', { label: 'child' });
    assert.equal(t.events().at(-1)!.type, 'node_start');
    assert.equal(root.data?.status, 'running', 'a child does not end its parent');
    assert.deepEqual(child.data?.parent_ids, [root.id]);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [root.id],
    );
    const kids = root.parallel([{ label: 'k1' }, { label: 'k2' }]);
    assert.equal(eventOf(t.events().at(-1), 'node_start').data.nodes!.length, 2);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [root.id],
    );
    const j = kids[0]!.join([kids[0]!, kids[1]!], { merged: true }, { label: 'merge' });
    assert.deepEqual(j.data?.parent_ids, [kids[0]!.id, kids[1]!.id]);
    assert.equal(kids[0]!.data?.status, 'completed');
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [root.id],
      'kids were not current',
    );
    const [p, q] = t.parallel([{ label: 'p' }, { label: 'q' }]);
    const pq = p!.join([p!, q!]);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [pq.id],
    );
    assert.throws(() => p!.join(['nope']), InvalidArgumentError);
    assert.throws(() => p!.join([]), InvalidArgumentError);
    await tracer.close();
  });

  it('node.join(nodes): the parents are exactly `nodes`; the node it is called on is not added (reference semantics)', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    t.add('root');
    const [a, b, c] = t.parallel([{ label: 'a' }, { label: 'b' }, { label: 'c' }]);
    const bc = a!.join([b!, c!], undefined, { label: 'b+c' });
    assert.deepEqual(bc.data?.parent_ids, [b!.id, c!.id]);
    assert.equal(a!.data?.status, 'running', 'a is not a parent, so it is not completed');
    assert.deepEqual(a!.data?.children, [], 'a has no child');
    assert.deepEqual(b!.data?.children, [bc.id]);
    assert.deepEqual(
      t.currentNodes.map((n) => n.id),
      [a!.id, bc.id],
      'b and c were current: the join takes their place',
    );
    const snap = await tracer.read(t.id);
    assert.deepEqual(
      snap!.nodes.find((n) => n.id === bc.id)!.parent_ids,
      [b!.id, c!.id],
      'the same in the reduced state',
    );
    await tracer.close();
  });

  it('completing or failing an ended node is a no-op without an event', async () => {
    const { tracer, warnings } = setup();
    const t = await tracer.create();
    const n = t.add('x');
    n.fail(new Error('first'));
    const count = t.events().length;
    n.complete('late');
    n.fail(new Error('second'));
    assert.equal(t.events().length, count);
    assert.equal(n.data?.status, 'failed');
    assert.equal(n.data?.error?.message, 'first');
    assert.deepEqual(warnings, [], 'not a late call: the trace is open');
    await tracer.close();
  });

  it('setOutput, setMetadata, setStatus emit node_updated with the whole node', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const n = t.add('x');
    n.setOutput({ partial: 'Hel' });
    let ev = t.events().at(-1)!;
    assert.equal(ev.type, 'node_updated');
    assert.deepEqual(ev.data.node.output, { partial: 'Hel' });
    assert.equal(ev.data.node.id, n.id);
    n.setMetadata('model', 'gpt');
    ev = eventOf(t.events().at(-1), 'node_updated');
    assert.deepEqual(ev.data.node.metadata, { model: 'gpt' });
    assert.deepEqual(ev.data.node.output, { partial: 'Hel' });
    n.setStatus('skipped');
    assert.equal(n.data?.status, 'skipped');
    assert.throws(() => n.setStatus('bogus' as never), InvalidArgumentError);
    t.add('y');
    t.setOutput(1).setMetadata('k', 2);
    assert.equal(t.currentNodes[0]!.data?.output, 1);
    assert.deepEqual(t.currentNodes[0]!.data?.metadata, { k: 2 });
    await tracer.close();
  });

  it('logs go to every current node and are chainable', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    t.info('before root');
    assert.equal(t.logs()[0]!.node_id, undefined);
    t.add('r');
    const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
    t.info('to both', 1, 2).warn('careful').debug('d').error('e');
    assert.equal(t.logs(a!.id).length, 4);
    assert.equal(t.logs(b!.id).length, 4);
    assert.deepEqual(t.logs(a!.id)[0]!.data, [1, 2]);
    assert.deepEqual(
      t.logs(a!.id).map((l) => l.level),
      ['info', 'warn', 'debug', 'error'],
    );
    a!.info('only a');
    assert.equal(t.logs(a!.id).length, 5);
    await tracer.close();
  });

  it('spaces: memory_add vs memory_update, delete, clear, space_deleted', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const s = t.createSpace({ label: 'context', icon: '🧠', description: 'ctx', ttl: 60, metadata: { a: 1 } });
    const created = t.events().at(-1)!;
    assert.equal(created.type, 'space_created');
    assert.equal(created.space_id, s.id);
    assert.deepEqual(
      { ...created.data, created_at: 0 },
      { id: s.id, label: 'context', icon: '🧠', description: 'ctx', ttl: 60, metadata: { a: 1 }, created_at: 0 },
    );
    s.set('user', { name: 'ann' }, { title: 'User' });
    const add = t.events().at(-1)!;
    assert.equal(add.type, 'memory_add');
    assert.deepEqual(
      { ...add.data, item: { ...add.data.item, timestamp: 0 } },
      { type: s.id, item: { id: 'user', type: s.id, title: 'User', content: { name: 'ann' }, timestamp: 0 } },
    );
    s.set('user', { name: 'bob' });
    assert.equal(t.events().at(-1)!.type, 'memory_update');
    assert.deepEqual(s.get('user'), { name: 'bob' });
    // The space's data is key -> value (as the reference's API), live and rebuilt from the
    // store alike; each key's title and time sit beside it in `items`.
    const live = t.snapshot().spaces.find((x) => x.id === s.id)!;
    assert.deepEqual(live.data, { user: { name: 'bob' } });
    assert.deepEqual(Object.keys(live.items), ['user']);
    assert.equal(live.items['user']!.title, undefined, 'the last write had no title');
    assert.equal(typeof live.items['user']!.timestamp, 'number');
    await t.flush();
    const other = new Tracer({ store: tracer.store, exitHook: false, shared: { store: true } });
    assert.deepEqual(
      (await other.read(t.id))!.spaces.find((x) => x.id === s.id),
      live,
      'rebuilt from the store: the same space',
    );
    await other.close();
    assert.equal(s.has('user'), true);
    t.setSpaceValue(s.id, '__proto__', 'safe');
    assert.equal(t.getSpaceValue(s.id, '__proto__'), 'safe');
    assert.deepEqual(s.keys().sort(), ['__proto__', 'user']);
    assert.equal(s.delete('user'), true);
    assert.deepEqual(t.events().at(-1)!.data, { space_id: s.id, key: 'user' });
    assert.equal(s.delete('user'), false);
    s.set('a', 1).set('b', 2).clear();
    assert.deepEqual(t.events().at(-1)!.data, { space_id: s.id, cleared: true });
    assert.deepEqual(s.keys(), []);
    const named = t.createSpace({ id: 'intent', label: 'intent' });
    assert.equal(named.id, 'intent');
    assert.equal(t.hasSpace('intent'), true);
    assert.deepEqual(
      t.listSpaces().map((x) => x.label),
      ['context', 'intent'],
    );
    assert.equal(t.deleteSpace('intent'), true);
    assert.equal(t.events().at(-1)!.type, 'space_deleted');
    assert.equal(t.getSpace('intent'), undefined);
    await tracer.close();
  });

  it('throws typed errors synchronously on bad input', async () => {
    const { tracer } = setup();
    await assert.rejects(tracer.create({ id: '../etc' }), InvalidIdError);
    await assert.rejects(tracer.create({ id: 'x'.repeat(129) }), InvalidIdError);
    await assert.rejects(tracer.load('a b'), InvalidIdError);
    await assert.rejects(tracer.load('missing_trace'), TraceNotFoundError);
    const t = await tracer.create({ id: 'sem_bad' });
    await assert.rejects(tracer.create({ id: 'sem_bad' }), TraceExistsError);
    assert.throws(() => t.parallel([{ label: 'x' }]), NoRootError);
    t.add('root');
    assert.throws(() => t.parallel([]), InvalidArgumentError);
    assert.throws(() => t.parallel(undefined as never), InvalidArgumentError);
    assert.throws(() => t.setSpaceValue('nope', 'k', 1), UnknownSpaceError);
    assert.throws(() => t.getSpaceValue('nope', 'k'), UnknownSpaceError);
    const s = t.createSpace();
    assert.throws(() => s.set(42 as never, 1), InvalidKeyError);
    assert.throws(() => s.set('', 1), InvalidKeyError);
    assert.throws(() => t.createSpace({ id: 'bad id' }), InvalidIdError);
    assert.throws(() => tracer.subscribe('bad/id'), InvalidIdError);
    assert.throws(() => new Tracer({ limits: { subscriberBuffer: 0 } }), InvalidArgumentError);
    await tracer.close();
  });

  it('markComplete completes open nodes, emits complete last, and is idempotent; the trace is then sealed', async () => {
    const { tracer, warnings } = setup();
    const t = await tracer.create();
    t.add('r');
    const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
    b!.fail('b failed');
    t.markComplete();
    const evs = t.events();
    const last = eventOf(evs.at(-1), 'complete');
    assert.equal(last.data.status, 'completed');
    assert.equal(typeof last.data.total_duration, 'number');
    assert.equal(a!.data?.status, 'completed');
    assert.equal(b!.data?.status, 'failed');
    assert.equal(t.status, 'completed');
    assert.equal(t.isComplete, true);
    const n = evs.length;
    t.markComplete();
    assert.equal(t.events().length, n, 'idempotent');
    assert.deepEqual(warnings, []);
    t.add('late');
    t.info('late');
    t.createSpace();
    assert.equal(t.events().length, n, 'sealed');
    assert.equal(t.lateCalls, 3);
    assert.deepEqual(warnings, ['LT_WARN_LATE_CALL'], 'reported once');
    await tracer.close();
  });

  it('markFailed fails open nodes; markCancelled marks them cancelled', async () => {
    const { tracer } = setup();
    const t1 = await tracer.create();
    const n1 = t1.add('x');
    t1.markFailed(new Error('kaput'));
    assert.equal(n1.data?.status, 'failed');
    assert.equal(n1.data?.error?.message, 'kaput');
    assert.equal(t1.status, 'failed');
    assert.equal(eventOf(t1.events().at(-1), 'complete').data.status, 'failed');
    const t2 = await tracer.create();
    const n2 = t2.add('x');
    t2.markCancelled('user stop');
    const failed = t2.events().find((e) => e.type === 'node_failed')!;
    assert.equal(failed.data.status, 'cancelled');
    assert.equal(failed.data.error.message, 'user stop');
    assert.equal(n2.data?.status, 'cancelled');
    assert.equal(t2.status, 'cancelled');
    assert.equal(eventOf(t2.events().at(-1), 'complete').data.reason, 'user stop');
    await tracer.close();
  });

  it('an aborted signal cancels the trace', async () => {
    const { tracer } = setup();
    const ac = new AbortController();
    const t = await tracer.create({ signal: ac.signal });
    t.add('x');
    ac.abort(new Error('timeout'));
    assert.equal(t.status, 'cancelled');
    assert.equal(eventOf(t.events().at(-1), 'complete').data.reason, 'timeout');
    await tracer.close();
  });

  it('strict mode throws TraceClosedError on late calls', async () => {
    const { tracer } = setup({ strict: true });
    const t = await tracer.create();
    t.add('x');
    t.markComplete();
    assert.throws(() => t.add('y'), TraceClosedError);
    await t.release();
    assert.throws(() => t.info('z'), TraceClosedError);
    await tracer.close();
  });

  it('captures values at call time', async () => {
    const { tracer } = setup();
    const t = await tracer.create();
    const input = { list: [1, 2], nested: { v: 'a' } };
    const n = t.add(input);
    input.list.push(3);
    input.nested.v = 'changed';
    const meta = { k: 1 };
    n.setMetadata('m', meta);
    meta.k = 2;
    const s = t.createSpace();
    const val = { x: 1 };
    s.set('k', val);
    val.x = 99;
    assert.deepEqual(n.data?.input, { list: [1, 2], nested: { v: 'a' } });
    assert.deepEqual(n.data?.metadata, { m: { k: 1 } });
    assert.deepEqual(s.get('k'), { x: 1 });
    assert.deepEqual(eventOf(t.events()[1], 'node_start').data.node!.input, { list: [1, 2], nested: { v: 'a' } });
    await tracer.close();
  });

  it('loads from the store and continues seq; a completed trace loads as completed', async () => {
    const { tracer, store } = setup();
    const t = await tracer.create({ id: 'sem_resume' });
    const a = t.add('a', { label: 'a' });
    t.createSpace({ id: 'ctx' }).set('k', 1);
    await t.release();
    assert.equal(tracer.isLoaded('sem_resume'), false);
    assert.equal((await store.read('sem_resume')).length, 4);
    const again = await tracer.create({ id: 'sem_resume' });
    assert.equal(again.lastSeq, 4);
    assert.deepEqual(
      again.currentNodes.map((n) => n.id),
      [a.id],
    );
    assert.equal(again.getSpaceValue('ctx', 'k'), 1);
    const b = again.add('b');
    assert.deepEqual(b.data?.parent_ids, [a.id]);
    assert.equal(again.events().at(-1)!.seq, 6);
    again.markComplete();
    await again.release();
    const events = await store.read('sem_resume');
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const done = await tracer.load('sem_resume');
    assert.equal(done.status, 'completed');
    assert.equal(done.isComplete, true);
    assert.deepEqual(done.snapshot(), toSnapshot(reduceEvents('sem_resume', events)));
    await tracer.close();
  });

  it('tracer.read / info / exists / list work for loaded and stored traces', async () => {
    const { tracer } = setup();
    const t = await tracer.create({ id: 'sem_read', createdBy: 'ann' });
    t.add('x', { label: 'root label' });
    assert.equal(await tracer.exists('sem_read'), true);
    assert.equal(await tracer.exists('sem_nope'), false);
    assert.equal((await tracer.read('sem_read'))?.nodes.length, 1);
    assert.equal(await tracer.read('sem_nope'), undefined);
    await t.flush();
    const listed = await tracer.list({ createdBy: 'ann' });
    assert.deepEqual(
      listed.traces.map((i) => [i.id, i.label, i.node_count]),
      [['sem_read', 'root label', 1]],
    );
    t.markComplete();
    await t.release();
    const info = await tracer.info('sem_read');
    assert.equal(info?.status, 'completed');
    assert.equal((await tracer.read('sem_read'))?.info.status, 'completed');
    await tracer.archive('sem_read');
    assert.equal((await tracer.info('sem_read'))?.archived, true);
    assert.equal(await tracer.remove('sem_read'), true);
    assert.equal(await tracer.exists('sem_read'), false);
    await tracer.close();
  });

  it('close() cancels running traces with reason shutdown, unless onClose is keep', async () => {
    const a = setup();
    const t = await a.tracer.create({ id: 'sem_close' });
    t.add('x');
    await a.tracer.close();
    assert.equal((await a.store.info('sem_close'))?.status, 'cancelled');
    assert.equal(eventOf((await a.store.read('sem_close')).at(-1), 'complete').data.reason, 'shutdown');
    await assert.rejects(a.tracer.create(), /closed/);
    const b = setup({ onClose: 'keep' });
    const u = await b.tracer.create({ id: 'sem_keep' });
    u.add('x');
    const closing = b.tracer.close();
    assert.equal(b.tracer.close(), closing, 'idempotent');
    await closing;
    assert.equal((await b.store.info('sem_keep'))?.status, 'running');
  });
});
