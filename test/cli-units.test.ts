import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LivetraceError } from '../src/core/errors.js';
import { apiBaseOf } from '../src/cli/api-client.js';
import { EventPrinter } from '../src/cli/event-line.js';
import { EXIT, exitCodeOf } from '../src/cli/exit-codes.js';
import { parseTraceFile } from '../src/cli/import-trace.js';
import { colorsFor, formatDuration, parseDuration, table } from '../src/cli/output.js';
import { renderTree } from '../src/cli/render-tree.js';
import { readSse } from '../src/cli/sse-reader.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const plain = colorsFor({ isTTY: false }, {});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe('cli building blocks', () => {
  it('reads SSE frames split anywhere, with CRLF, comments and multi-line data', async () => {
    const text =
      'retry: 10\r\n\r\n: heartbeat\n\nid: 1\nevent: init\ndata: {"a":\ndata: 1}\n\nid: 2\r\nevent: complete\r\ndata: x\r\n\r\ndata: [DONE]\n\n';
    for (const size of [1, 3, 7, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const got = [];
      for await (const m of readSse(streamOf(chunks))) got.push(m);
      assert.deepEqual(
        got,
        [
          { id: '1', event: 'init', data: '{"a":\n1}' },
          { id: '2', event: 'complete', data: 'x' },
          { id: '2', event: 'message', data: '[DONE]' },
        ],
        `chunk size ${size}`,
      );
    }
  });

  it('draws a join once, under the common ancestor of its parents, marked with them', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create();
    t.add(undefined, { label: 'root' });
    const plan = t.add(undefined, { label: 'plan' });
    const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
    a!.add(undefined, { label: 'a-child' }).fail(new Error('boom'));
    b!.complete();
    t.add(undefined, { label: 'join' });
    t.add(undefined, { label: 'after' });
    const lines = renderTree(t.nodes(), t.logs(), plain, { now: Date.now() }).map((l) =>
      l.replace(/ {2}#[0-9a-z]{12}$/, '').replace(/\d+ ms/, 'N ms'),
    );
    assert.deepEqual(
      lines.map((l) => l.replace(/\d+ ms/g, 'N ms')),
      [
        '✔ root  N ms',
        '└─ ✔ plan  N ms',
        '   ├─ ✔ a  N ms',
        '   │  └─ ✖ a-child  N ms  failed',
        '   │       Error: boom',
        '   ├─ ✔ b  N ms',
        '   └─ ✔ join  N ms  ⋈ joins a, b',
        '      └─ ◌ after  N ms  running',
      ].map((l) => l),
    );
    void plan;
    t.markComplete();
    await tracer.close();
  });

  it('prints one line per event with labels from the reducer', async () => {
    const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
    const t = await tracer.create({ agentName: 'x' });
    t.add(undefined, { label: 'step' }).info('hello', { n: 1 });
    t.createSpace({ id: 'ctx' }).set('k', 'v');
    t.markComplete();
    const p = new EventPrinter(t.id, plain);
    const lines = t.events().map((e) => p.line(e).replace(/^\S+\s+\+\d+\.\d+s\s+/, ''));
    assert.deepEqual(lines, [
      `● trace ${t.id} (x)`,
      '▶ step',
      '[step] info hello {"n":1}',
      '+ space ctx',
      'ctx.k = "v"',
      lines[5],
      lines[6],
    ]);
    assert.match(lines[5]!, /^✔ step {2}\d+ ms$/);
    assert.match(lines[6]!, /^■ trace completed in \d+ ms$/);
    await tracer.close();
  });

  it('parses durations and formats them', () => {
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2w'), 14 * 86_400_000);
    for (const bad of ['7', 'd', '-1d', '7 days', '']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(formatDuration(999), '999 ms');
    assert.equal(formatDuration(1500), '1.50 s');
    assert.equal(formatDuration(61_000), '1m01s');
    assert.equal(formatDuration(undefined), '-');
  });

  it('aligns tables and keeps colors off when not a TTY', () => {
    assert.equal(
      table(
        ['A', 'LONG'],
        [
          ['xx', '1'],
          ['y', '22'],
        ],
        plain,
      ),
      'A   LONG\nxx  1\ny   22\n',
    );
    const tty = colorsFor({ isTTY: true }, {});
    assert.notEqual(tty.red('x'), 'x');
    assert.equal(colorsFor({ isTTY: true }, { NO_COLOR: '1' }).red('x'), 'x');
    assert.notEqual(colorsFor({ isTTY: false }, { FORCE_COLOR: '1' }).red('x'), 'x');
  });

  it('maps errors to documented exit codes', () => {
    assert.equal(exitCodeOf(new LivetraceError('LT_ERR_TRACE_NOT_FOUND')), EXIT.NOT_FOUND);
    assert.equal(exitCodeOf(new LivetraceError('LT_ERR_INVALID_ID')), EXIT.USAGE);
    assert.equal(exitCodeOf(new LivetraceError('LT_ERR_UNAUTHORIZED')), EXIT.UNAUTHORIZED);
    assert.equal(exitCodeOf(new LivetraceError('LT_ERR_TRACE_EXISTS')), EXIT.CONFLICT);
    assert.equal(exitCodeOf(new LivetraceError('LT_ERR_STORE')), EXIT.ERROR);
    assert.equal(exitCodeOf(new Error('x')), EXIT.ERROR);
  });

  it('validates import files', () => {
    const ev = (seq: number, type = 'log_added', trace_id = 'abc') => ({ seq, type, trace_id, timestamp: 1, data: {} });
    assert.equal(parseTraceFile(JSON.stringify([ev(1, 'init'), ev(2)]), 'f').id, 'abc');
    assert.equal(parseTraceFile([ev(1, 'init'), ev(2)].map((e) => JSON.stringify(e)).join('\n'), 'f').events.length, 2);
    assert.equal(
      parseTraceFile(JSON.stringify({ format: 'livetrace.trace', events: [ev(1, 'init')] }), 'f').events.length,
      1,
    );
    assert.throws(() => parseTraceFile('', 'f'), /empty/);
    assert.throws(() => parseTraceFile('{"x":1}', 'f'), /expected a livetrace export/);
    assert.throws(() => parseTraceFile(JSON.stringify([ev(1), ev(3)]), 'f'), /event 2 has seq 3, expected 2/);
    assert.throws(
      () => parseTraceFile(JSON.stringify([ev(1), ev(2, 'log_added', 'other')]), 'f'),
      /belongs to trace other/,
    );
    assert.throws(() => parseTraceFile(JSON.stringify([ev(1, 'nope')]), 'f'), /unknown type "nope"/);
    assert.throws(() => parseTraceFile(JSON.stringify([ev(1, 'init', 'bad id')]), 'f'), /invalid trace_id/);
  });

  it('derives the API base from --server', () => {
    assert.equal(apiBaseOf('http://127.0.0.1:7411'), 'http://127.0.0.1:7411/v1/trace');
    assert.equal(apiBaseOf('http://127.0.0.1:7411/'), 'http://127.0.0.1:7411/v1/trace');
    assert.equal(apiBaseOf('https://x.example/tracing/'), 'https://x.example/tracing');
    assert.throws(() => apiBaseOf('ftp://x'), /http\(s\) URL/);
    assert.throws(() => apiBaseOf('nope'), /http\(s\) URL/);
  });
});
