import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TraceEvent } from '../src/core/types.js';
import type { AddressInfo } from 'node:net';
import { Proc } from './fixtures/processes.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line. */
  firstLine: Promise<string>;
  /** Resolves when stdout (or stderr) matches. */
  waitFor(re: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<void>;
  exit: Promise<Result>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...watchers]) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const w of [...watchers]) w();
  });
  const exit = new Promise<Result>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err })),
  );
  const waitFor = (re: RegExp, timeoutMs = 30_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> =>
    new Promise((resolve, reject) => {
      const text = (): string => (stream === 'stdout' ? out : err);
      const check = (): void => {
        if (re.test(text())) {
          watchers.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new Error(`timed out waiting for ${re} in ${stream}: ${out.slice(-500)} / stderr: ${err.slice(-500)}`));
      }, timeoutMs);
      watchers.add(check);
      void exit.then(() => {
        if (watchers.has(check)) {
          watchers.delete(check);
          clearTimeout(timer);
          if (re.test(text())) resolve();
          else reject(new Error(`process exited before ${re}: ${out.slice(-500)} / ${err.slice(-500)}`));
        }
      });
      check();
    });
  const firstLine = waitFor(/\n/).then(() => out.split('\n')[0]!);
  // Most callers never ask for it: a process that prints nothing must not be an unhandled rejection.
  firstLine.catch(() => undefined);
  return { child, stdout: () => out, stderr: () => err, firstLine, waitFor, exit };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return start(args, env).exit;
}

function gapless(events: TraceEvent[]): void {
  events.forEach((e, i) => assert.equal(e.seq, i + 1, `event ${i + 1}`));
}

describe('livetrace CLI end to end', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let id: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-cli-'));
    env = { LIVETRACE_DIR: join(dir, 'store'), LIVETRACE_STORE: '', LIVETRACE_HUB: '' };
    const r = await run(['demo', '--time-scale', '0.02'], env);
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
    assert.match(id, /^\d{20}$/);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('ls lists the demo run (table, --json, filters)', async () => {
    const table = await run(['ls'], env);
    assert.equal(table.code, 0);
    const [header, row] = table.stdout.split('\n');
    assert.match(header!, /^ID\s+STATUS\s+AGENT\s+ROOT\s+NODES\s+DURATION\s+CREATED$/);
    assert.match(row!, new RegExp(`^${id}\\s+✔ completed\\s+research-assistant\\s+.*User request\\s+12\\s`));
    assert.ok(!table.stdout.includes('\x1b['), 'no colors when not a TTY');
    const json = JSON.parse((await run(['ls', '--json'], env)).stdout) as { traces: { id: string; status: string }[] };
    assert.deepEqual(
      json.traces.map((t) => [t.id, t.status]),
      [[id, 'completed']],
    );
    const failed = JSON.parse((await run(['ls', '--json', '--status', 'failed'], env)).stdout) as { traces: unknown[] };
    assert.deepEqual(failed.traces, []);
    const bad = await run(['ls', '--status', 'nope'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /LT_ERR_INVALID_ARGUMENT: --status: unknown status "nope"/);
  });

  it('show prints the tree with status, durations, the retried failure and the join', async () => {
    const r = await run(['show', id, '--logs'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out.split('\n')[0]!, new RegExp(`^trace ${id}  ✔ completed  \\d`));
    assert.match(out, /^✔ 💬 User request {2}\d+ ms {2}#[0-9a-z]{12}$/m);
    assert.match(out, /├─ ✔ 🌦️ weather_api/);
    assert.match(out, /│ {2}├─ ✖ 🔁 attempt 1 {2}\d+ ms {2}failed/);
    assert.match(out, /Error: weather API timed out after 900 ms/);
    assert.match(out, /└─ ✔ 🤖 LLM: synthesize answer .* ⋈ joins web_search, weather_api, calendar, vector_lookup/);
    assert.match(out, /· warn retrying in 200 ms/);
    assert.match(out, /^spaces$/m);
    assert.match(out, /confidence = 0\.93/);
    const json = JSON.parse((await run(['show', id, '--json'], env)).stdout) as { nodes: unknown[] };
    assert.equal(json.nodes.length, 12);
  });

  it('export, rm, import, archive with exit codes scripts can trust', async () => {
    const file = join(dir, 'export.json');
    const exp = await run(['export', id, '-o', file], env);
    assert.equal(exp.code, 0, exp.stderr);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { format: string; events: TraceEvent[] };
    assert.equal(doc.format, 'livetrace.trace');
    gapless(doc.events);
    const otlp = await run(['export', id, '--format', 'otlp'], env);
    assert.equal(otlp.code, 0);
    assert.equal(
      (JSON.parse(otlp.stdout) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }).resourceSpans[0]!
        .scopeSpans[0]!.spans.length,
      12,
    );
    assert.equal((await run(['export', id, '--format', 'xml'], env)).code, 2);

    assert.equal((await run(['rm', id], env)).code, 0);
    const again = await run(['rm', id], env);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /LT_ERR_TRACE_NOT_FOUND/);
    assert.equal((await run(['show', id], env)).code, 3);

    const imp = await run(['import', file], env);
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.stdout.trim(), id);
    const dup = await run(['import', file], env);
    assert.equal(dup.code, 6);
    assert.match(dup.stderr, /LT_ERR_TRACE_EXISTS.*--replace/);
    assert.equal((await run(['import', '--replace', file], env)).code, 0);
    const reexported = JSON.parse((await run(['export', id], env)).stdout) as { events: TraceEvent[] };
    assert.deepEqual(reexported.events, doc.events, 'import restores the exact event log');

    await writeFile(
      join(dir, 'broken.json'),
      JSON.stringify({ format: 'livetrace.trace', events: [doc.events[0], doc.events[2]] }),
    );
    const broken = await run(['import', join(dir, 'broken.json')], env);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /event 2 has seq 3, expected 2/);

    const arch = await run(['archive', id], env);
    assert.equal(arch.code, 0, arch.stderr);
    assert.match((await run(['ls'], env)).stdout, /\(archived\)/);
    assert.equal((await run(['show', id], env)).code, 0, 'archived traces stay readable');
    const older = await run(['archive', '--older-than', '0s'], env);
    assert.equal(older.code, 0);
    assert.match(older.stderr, /archived 0 trace\(s\)/);
    assert.equal((await run(['archive', '--older-than', 'soon'], env)).code, 2);
  });

  it('imports many files and archives many traces (with --older-than)', async () => {
    const dir2 = join(dir, 'many');
    const env2 = { ...env, LIVETRACE_DIR: dir2 };
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(['demo', '--time-scale', '0.01'], env2);
      const tid = r.stdout.trim();
      const f = join(dir, `many-${i}.json`);
      assert.equal((await run(['export', tid, '-o', f], env2)).code, 0);
      files.push(f);
    }
    const env3 = { ...env, LIVETRACE_DIR: join(dir, 'many-copy') };
    const imp = await run(['import', ...files], env3);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stderr, /imported 3 of 3 file\(s\)/);
    const arch = await run(['archive', '--older-than', '1ms'], env3);
    assert.equal(arch.code, 0, arch.stderr);
    assert.match(arch.stderr, /archived 3 trace\(s\)/);
  });

  it('export --otlp-endpoint POSTs OTLP/JSON', async () => {
    let received: { type: string | undefined; body: string } | undefined;
    const srv = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        received = { type: req.headers['content-type'], body };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { port } = srv.address() as AddressInfo;
      const r = await run(['export', id, '--otlp-endpoint', `http://127.0.0.1:${port}/v1/traces`], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(received?.type, 'application/json');
      assert.ok(Array.isArray((JSON.parse(received.body) as { resourceSpans: unknown }).resourceSpans));
      const refused = await run(['export', id, '--otlp-endpoint', `http://127.0.0.1:1/v1/traces`], env);
      assert.equal(refused.code, 5);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('reports usage errors with exit code 2', async () => {
    const unknown = await run(['bogus'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'bogus'/);
    const badId = await run(['show', 'bad$id'], env);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /LT_ERR_INVALID_ID/);
    assert.equal((await run(['serve', '--port', 'x'], env)).code, 2);
    const open = await run(['serve', '--host', '0.0.0.0', '--port', '0'], env);
    assert.equal(open.code, 2);
    assert.match(open.stderr, /refusing to serve an open API on 0\.0\.0\.0/);
    const help = await run(['--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /tail \[options\] <id>/);
  });

  it('tail follows a demo run on the local store while it happens', async () => {
    const demo = start(['demo', '--time-scale', '0.3'], env);
    const tid = (await demo.firstLine).trim();
    const tail = start(['tail', tid, '--json'], env);
    const [d, t] = await Promise.all([demo.exit, tail.exit]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(t.code, 0, t.stderr);
    const events = t.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceEvent);
    gapless(events);
    assert.equal(events.at(-1)!.type, 'complete');
    // The tail started while the run was still going: it saw events as they were written.
    assert.ok(events.at(-1)!.timestamp > Date.now() - 60_000);
    const human = await run(['tail', tid], env);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /● trace \d{20} \(research-assistant\)/);
    assert.match(human.stdout, /✖ 🔁 attempt 1 {2}weather API timed out/);
    assert.match(human.stdout, /■ trace completed in/);
    assert.equal((await run(['tail', '20990101000000000000'], env)).code, 3);
  });

  it('serve prints its URL first; tail -s follows a run through the server live and resumes after the server restarts', async () => {
    // Sequenced by what each process shows, never by the clock: the writer (a real Tracer in
    // its own process, test/fixtures/handover-writer.ts) takes its next step only once the
    // tail has printed the last one, so the tail provably follows the run while it runs,
    // whatever the machine's load (process start-up alone can outlast a time-paced run).
    // The tail follows one address that never changes hands: a proxy's port, held all along,
    // in front of each server (each picks a free port itself, so no port is ever freed and
    // rebound, which another process could take in between).
    const proxy = new TcpProxy('127.0.0.1', 1);
    const front = `http://127.0.0.1:${await proxy.up()}`;
    const writer = new Proc('./handover-writer.js', [JSON.stringify({ store: `file:${env.LIVETRACE_DIR!}` })]);
    /** A `livetrace serve` on a port of its choosing, behind the proxy once it listens. */
    const serveBehindProxy = async (): Promise<{ serve: Running; api: string }> => {
      const serve = start(['serve', '--port', '0'], env);
      const url = await serve.firstLine;
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(url);
      assert.ok(m, `serve prints its URL first, got ${url}`);
      proxy.retarget(Number(m[1]));
      return { serve, api: `${url}v1/trace` };
    };
    try {
      const send = async (cmd: string, answer: RegExp): Promise<RegExpMatchArray> => {
        const n = writer.lines.length;
        writer.child.stdin!.write(`${cmd}\n`);
        const m = await writer.line(new RegExp(`${answer.source}|^(?:tracer-)?error .*$`), 30_000, n);
        assert.doesNotMatch(m[0], /^(?:tracer-)?error /, `writer answered "${cmd}" with ${m[0]}`);
        return m;
      };
      await writer.line(/^ready$/);
      const [, tid] = await send('create', /^created (\S+)$/);
      const [, first] = await send('steps 2', /^stepped (\d+)$/);
      const up = await serveBehindProxy();
      let serve = up.serve;
      const list = (await (await fetch(`${up.api}/traces?status=running`)).json()) as { traces: { id: string }[] };
      assert.ok(
        list.traces.some((t) => t.id === tid),
        'the server lists the run written by another process',
      );

      const tail = start(['tail', tid!, '-s', front, '--json'], env);
      const printed = (seq: string): Promise<void> => tail.waitFor(new RegExp(`"seq":${seq},`));
      await printed(first!); // the history
      const [, live] = await send('steps 2', /^stepped (\d+)$/);
      await printed(live!); // written after the tail had the history: it came live
      serve.child.kill('SIGTERM');
      const stopped = await serve.exit;
      assert.equal(stopped.code, 0, stopped.stderr);
      await tail.waitFor(new RegExp(`connection lost; resuming after seq ${live}\\b`), 30_000, 'stderr');
      // Written while no server runs: the tail gets it after the restart.
      const [, offline] = await send('steps 2', /^stepped (\d+)$/);
      ({ serve } = await serveBehindProxy());
      await printed(offline!);
      const [, again] = await send('steps 1', /^stepped (\d+)$/);
      await printed(again!); // live again through the new server
      const [, last] = await send('complete', /^completed (\d+)$/);
      const t = await tail.exit;
      assert.equal(t.code, 0, t.stderr);
      const events = t.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as TraceEvent);
      gapless(events);
      assert.equal(events.length, Number(last));
      assert.equal(events.at(-1)!.type, 'complete');
      await send('close', /^closed$/);
      assert.equal(await writer.exited, 0);
      serve.child.kill('SIGINT');
      assert.equal((await serve.exit).code, 0);
    } finally {
      await writer.stop('SIGKILL');
      await proxy.close();
    }
    const unauthorizedTail = await run(['tail', '20990101000000000000', '-s', 'http://127.0.0.1:1'], env);
    assert.equal(unauthorizedTail.code, 5, 'unreachable server');
  });
});
