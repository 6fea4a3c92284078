// The OTLP receiver with real clients nobody here wrote: @opentelemetry/exporter-trace-otlp-proto
// and @opentelemetry/exporter-trace-otlp-http in a separate process (test/fixtures/otlp-workload.ts)
// export an instrumented workload to a real `livetrace serve` process (the CLI), once to the
// second port (--otlp-port, protobuf + gzip) and once to the server's own port (JSON). A live
// SSE subscriber sees every event; what the SDK sent equals what is stored.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { NodeData, TraceEvent, TraceSnapshot } from '../src/core/types.js';
import { splitAttributes } from '../src/otel/gen-ai-attributes.js';
import { Proc } from './fixtures/processes.js';
import { parseFrames } from './server-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');
const WRITER = 'otlp-writer-token-1';
const READER = 'otlp-reader-token-1';

interface Sent {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
}

/** The child's stdout, line by line: `next()` gives the next line (throws at the end). */
function lines(child: ChildProcess): { next(): Promise<string> } {
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await it.next();
      if (r.done) throw new Error('the child closed its stdout');
      return r.value;
    },
  };
}

/** Collects SSE events of a trace until its `complete` event. */
async function subscribe(url: string, token: string): Promise<{ events: TraceEvent[]; done: Promise<void> }> {
  const events: TraceEvent[] = [];
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      const cut = buf.lastIndexOf('\n\n');
      if (cut < 0) continue;
      const frames = parseFrames(buf.slice(0, cut + 2));
      buf = buf.slice(cut + 2);
      for (const f of frames) {
        if (f.data === undefined || f.event === undefined) continue;
        const ev = JSON.parse(f.data) as TraceEvent;
        events.push(ev);
        if (ev.type === 'complete') {
          await reader.cancel();
          return;
        }
      }
    }
  })();
  return { events, done };
}

describe('real OpenTelemetry OTLP exporters -> a real livetrace serve', () => {
  let dir: string;
  let serve: ChildProcess;
  let origin: string;
  let otlpUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-otlp-'));
    await writeFile(
      join(dir, 'tokens.json'),
      JSON.stringify([
        { token: WRITER, tenantId: 'acme', scopes: ['read', 'write'] },
        { token: READER, tenantId: 'acme' },
      ]),
    );
    serve = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--port',
        '0',
        '--otlp-port',
        '0',
        '--otlp-quiet-ms',
        '300',
        '--dir',
        join(dir, 'store'),
        '--tokens',
        join(dir, 'tokens.json'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const it = lines(serve);
    origin = (await it.next()).trim().replace(/\/$/, '');
    const second = await it.next();
    otlpUrl = /OTLP (\S+)/.exec(second)![1]!;
    assert.match(otlpUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);
    assert.notEqual(new URL(otlpUrl).port, new URL(origin).port);
  });

  after(async () => {
    if (serve.exitCode === null) {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  });

  for (const [protocol, compression, target] of [
    ['proto', 'gzip', 'otlp-port'],
    ['json', 'none', 'main-port'],
  ] as const) {
    it(`exporter-trace-otlp-${protocol === 'proto' ? 'proto' : 'http'} (${compression}) on the ${target}: SSE and the stored trace equal what was sent`, async () => {
      const url = target === 'otlp-port' ? otlpUrl : `${origin}/v1/traces`;
      const workload = new Proc('./otlp-workload.js', [url, protocol, compression, WRITER]);
      try {
        const [, traceId] = await workload.line(/^started ([0-9a-f]{32})$/);
        // The trace exists (its first span was answered): subscribe before the rest arrives.
        const sse = await subscribe(`${origin}/v1/trace/traces/${traceId}/events?stream=1`, READER);
        workload.child.stdin!.write('go\n');
        await workload.line(/^done$/, 30_000);
        assert.equal(await workload.exited, 0, workload.stderr);
        await sse.done;

        const sent = workload.lines.filter((l) => l.startsWith('sent ')).map((l) => JSON.parse(l.slice(5)) as Sent);
        assert.equal(sent.length, 6);
        const res = await fetch(`${origin}/v1/trace/traces/${traceId}`, {
          headers: { authorization: `Bearer ${READER}` },
        });
        assert.equal(res.status, 200);
        const snap = (await res.json()) as TraceSnapshot;
        assert.equal(snap.info.status, 'completed');
        assert.equal(snap.info.tenant_id, 'acme');
        // The root span arrived last: the trace is named after the service of its first spans.
        assert.equal(snap.info.agent_name, 'otlp-workload');

        // The live stream is the stored log, event for event.
        const stored = (await (
          await fetch(`${origin}/v1/trace/traces/${traceId}/events?limit=10000`, {
            headers: { authorization: `Bearer ${READER}` },
          })
        ).json()) as { events: TraceEvent[] };
        assert.deepEqual(
          sse.events.map((e) => e.seq),
          stored.events.map((e) => e.seq),
        );
        assert.deepEqual(sse.events, stored.events);

        // Span by span: ids, parents, names, attributes, status, events.
        const bySpan = new Map<string, NodeData>();
        for (const n of snap.nodes) bySpan.set(String(n.metadata?.['otel.span_id']), n);
        assert.equal(snap.nodes.length, sent.length);
        const logsOf = (n: NodeData) => snap.logs.filter((l) => l.node_id === n.id);
        for (const s of sent) {
          assert.equal(s.traceId, traceId);
          const node = bySpan.get(s.spanId);
          assert.ok(node, `span ${s.name} stored`);
          assert.equal(node.label, s.name);
          if (s.parentSpanId === undefined) assert.deepEqual(node.parent_ids, []);
          else assert.deepEqual(node.parent_ids, [bySpan.get(s.parentSpanId)!.id], `parent of ${s.name}`);
          const split = splitAttributes(s.attributes as never);
          const { 'otel.span_id': _s, 'otel.kind': kind, 'otel.scope': scope, ...meta } = node.metadata ?? {};
          assert.equal(kind, s.kind);
          assert.equal(scope, 'otlp-workload');
          assert.deepEqual(meta, split.metadata, `attributes of ${s.name}`);
          if (split.hasInput) assert.deepEqual(node.input, split.input);
          if (split.hasOutput && s.status.code !== 2) assert.deepEqual(node.output, split.output);
          if (s.status.code === 2) {
            assert.equal(node.status, 'failed');
            assert.equal((node.error as { message: string }).message, s.status.message);
            assert.equal((node.error as { name: string }).name, 'TypeError');
          } else assert.equal(node.status, 'completed');
          assert.deepEqual(
            logsOf(node).map((l) => [l.level, l.message]),
            s.events.map((e) => [e.name === 'exception' ? 'error' : 'info', e.name]),
          );
        }
        // GenAI semantics: kinds and token usage.
        const byName = (name: string) => snap.nodes.find((n) => n.label === name)!;
        assert.equal(byName('support agent').kind, 'agent');
        assert.equal(byName('plan').kind, 'llm');
        assert.equal(byName('search orders').kind, 'tool');
        assert.deepEqual(byName('search orders').input, { order: 42 });
        assert.deepEqual(byName('search orders').output, { status: 'shipped' });
        assert.equal(byName('plan').usage?.input_tokens, 120);
        assert.equal(byName('plan').usage?.output_tokens, 45);
        assert.equal(byName('answer').usage?.input_tokens, 300);
        assert.deepEqual(byName('answer').metadata?.['llm.flags'], ['stream', 'json']);
        assert.equal(byName('answer').metadata?.['llm.temperature'], 0.25);
        assert.equal(byName('answer').metadata?.['llm.cached'], false);
        assert.equal(snap.info.usage?.input_tokens, 420);
        // The two tools ran in parallel under `tools`.
        assert.deepEqual(byName('search orders').parent_ids, [byName('tools').id]);
        assert.deepEqual(byName('fetch invoice').parent_ids, [byName('tools').id]);
      } finally {
        if (workload.child.exitCode === null) workload.child.kill();
      }
    });
  }
});
