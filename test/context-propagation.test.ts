// Cross-process context: a node's context (or its W3C headers) goes to a second node
// process sharing the file store; the work done there hangs under that node. The pattern
// respects the single-writer rule: the first process releases the trace before the second
// writes it, and loads it again afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Tracer } from '../src/tracer/tracer.js';
import { FileStore } from '../src/store/file-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisHub } from '../src/hub/redis-hub.js';
import { REDIS_URL, redisSkip, uniqueName } from './fixtures/services.js';
import {
  contextFromHeaders,
  formatTraceparent,
  formatTracestate,
  headersFor,
  otlpSpanId,
  otlpTraceId,
  parseTraceparent,
  parseTracestate,
  traceContextHeaders,
} from '../src/otel/index.js';
import type { NodeData } from '../src/core/types.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/context-propagation-worker.js', import.meta.url));

/** What the worker prints: the node it saw as current (`run`), the W3C trace it continued (`otel`). */
interface ChildResult {
  parent?: string;
  otelTraceId?: string;
}

async function child(mode: string, dir: string, payload: unknown, hubArgs: string[] = []): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [worker, mode, dir, JSON.stringify(payload), ...hubArgs], {
    timeout: 30_000,
  });
  return JSON.parse(stdout) as ChildResult;
}

function byLabel(nodes: readonly NodeData[], label: string): NodeData {
  const n = nodes.find((x) => x.label === label);
  assert.ok(n, `node ${label} exists (have ${nodes.map((x) => x.label).join(', ')})`);
  return n;
}

test('node.context() -> another process -> tracer.run: the work hangs under the node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-ctx-'));
  const tracer = new Tracer({ store: new FileStore({ dir }) });
  try {
    let trace = await tracer.create({ agentName: 'dispatcher' });
    trace.add({ job: 1 }, { label: 'root' });
    const dispatch = trace.add(undefined, { label: 'dispatch' });
    const ctx = dispatch.context();
    assert.deepEqual(
      JSON.parse(JSON.stringify(ctx)),
      { trace_id: trace.id, node_id: dispatch.id },
      'small and serializable',
    );
    // Single writer: hand the trace over before the other process writes it.
    await trace.release();
    const result = await child('run', dir, ctx);
    assert.equal(result.parent, dispatch.id, 'currentNode() in the child is the node from the context');

    // A third writer (a fresh tracer and store, as another process would have) loads the
    // trace again and finishes it. (Reloading with the first FileStore instance currently
    // fails with LT_ERR_STORE_CONFLICT: it keeps the old append position of a trace that
    // another process extended; reported to the FileStore owner.)
    const third = new Tracer({ store: new FileStore({ dir }) });
    trace = await third.load(ctx.trace_id);
    const step = byLabel(trace.nodes(), 'worker step');
    assert.deepEqual(step.parent_ids, [dispatch.id]);
    assert.equal(step.status, 'completed');
    assert.deepEqual(step.output, { parent: dispatch.id, inner: 'inner result' });
    assert.deepEqual(byLabel(trace.nodes(), 'inner').parent_ids, [step.id]);
    assert.equal(trace.logs(step.id)[0]!.message, 'working in the child');
    trace.node(dispatch.id)!.complete('dispatched');
    trace.markComplete();
    await trace.release();
    await third.close();
    assert.equal((await tracer.info(ctx.trace_id))?.status, 'completed');
  } finally {
    await tracer.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("with a shared Redis hub, this process follows the other process's work live", async (t) => {
  const skip = await redisSkip();
  if (skip) return t.skip(skip);
  const dir = await mkdtemp(join(tmpdir(), 'lt-ctx-'));
  const prefix = uniqueName('ltctx');
  const hub = new RedisHub({ url: REDIS_URL, prefix });
  const tracer = new Tracer({ store: new FileStore({ dir }), hub });
  try {
    const trace = await tracer.create({ agentName: 'dispatcher' });
    const dispatch = trace.add(undefined, { label: 'dispatch' });
    const ctx = dispatch.context();
    await trace.release();
    const labels = new Map<string, string>();
    const seen: string[] = [];
    const following = (async () => {
      for await (const ev of tracer.subscribe(ctx.trace_id, { since: 0 })) {
        if (ev.type === 'node_start') {
          seen.push(ev.data.node!.label!);
          labels.set(ev.data.node!.id, ev.data.node!.label!);
        }
        if (ev.type === 'node_complete' && labels.get(ev.node_id!) === 'worker step') break;
      }
    })();
    await child('run', dir, ctx, [REDIS_URL, prefix]);
    await following;
    assert.deepEqual(seen, ['dispatch', 'worker step', 'inner']);
  } finally {
    await tracer.close(); // closes the hub it was given too
    await rm(dir, { recursive: true, force: true });
  }
});

test('W3C traceparent/tracestate -> OTel spans in another process land under the node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-ctx-'));
  const tracer = new Tracer({ store: new FileStore({ dir }) });
  try {
    const trace = await tracer.create({ agentName: 'caller' });
    const call = trace.add({ url: '/work' }, { label: 'call service' });
    const headers = headersFor(call);
    assert.equal(headers.traceparent, `00-${otlpTraceId(trace.id)}-${otlpSpanId(trace.id, call.id)}-01`);
    assert.equal(headers.tracestate, `livetrace=${trace.id}.${call.id}`);
    await trace.release();

    const { otelTraceId } = await child('otel', dir, headers);
    assert.equal(otelTraceId, otlpTraceId(trace.id), 'the child continues the same W3C trace');
    const snap = (await tracer.read(trace.id))!;
    const remote = byLabel(snap.nodes, 'remote work');
    assert.deepEqual(remote.parent_ids, [call.id]);
    assert.equal(remote.metadata['otel.parent_span_id'], otlpSpanId(trace.id, call.id));
    assert.equal(remote.input, 'hello');
    assert.equal(remote.output, 'world');
    assert.equal(remote.status, 'completed');
    assert.deepEqual(byLabel(snap.nodes, 'remote child').parent_ids, [remote.id]);
    assert.equal(snap.info.status, 'running', 'the child did not complete a trace it only joined');
  } finally {
    await tracer.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('traceparent parse/format follow the W3C rules', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.deepEqual(parseTraceparent(tp), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 1,
  });
  assert.equal(formatTraceparent(parseTraceparent(tp)!), tp);
  assert.equal(
    formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false }),
    tp.slice(0, -2) + '00',
  );
  for (const bad of [
    '',
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero span id
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // extra on version 00
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // uppercase
    42,
  ])
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  // A future version may carry more fields.
  assert.equal(
    parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more')?.spanId,
    '00f067aa0ba902b7',
  );
  assert.throws(
    () => formatTraceparent({ traceId: 'abc', spanId: '00f067aa0ba902b7' }),
    /traceId must be 32 lowercase hex/,
  );

  assert.deepEqual(parseTracestate('congo=t61rcWkgMzE,livetrace=20261125000000000001.abc123def456'), {
    trace_id: '20261125000000000001',
    node_id: 'abc123def456',
  });
  assert.deepEqual(parseTracestate('livetrace=T1'), { trace_id: 'T1' });
  assert.equal(parseTracestate('livetrace=bad id!'), undefined);
  assert.equal(parseTracestate('congo=x'), undefined);
  assert.equal(formatTracestate({ trace_id: 'T1', node_id: 'n1' }, 'livetrace=old,congo=x'), 'livetrace=T1.n1,congo=x');
  assert.deepEqual(contextFromHeaders({ traceparent: tp, tracestate: 'livetrace=T1.n1' }), {
    trace_id: 'T1',
    node_id: 'n1',
  });
  assert.deepEqual(contextFromHeaders({ traceparent: tp }), { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
  assert.equal(contextFromHeaders({}), undefined);
  assert.throws(() => traceContextHeaders({ trace_id: 'bad id' }), /invalid livetrace trace id/);
});

test('headersFor(node) uses the original OTel ids of nodes that came from OTel spans', async () => {
  const tracer = new Tracer({ store: new MemoryStore() });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const trace = await tracer.create({ id: traceId });
  const node = trace.add(undefined, { label: 'span', metadata: { 'otel.span_id': '00f067aa0ba902b7' } });
  assert.equal(headersFor(node).traceparent, `00-${traceId}-00f067aa0ba902b7-01`);
  assert.equal(headersFor(node.context()).traceparent.split('-')[1], traceId, 'a 32-hex trace id is used verbatim');
  await tracer.close();
});
