// examples/python/ (standard library only) run with the machine's python3 against a real
// `livetrace serve` process: the stored trace is the agent's run, and an SSE subscriber
// opened before the first step sees every event arrive live.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { TraceEvent, TraceSnapshot } from '../src/core/types.js';
import { parseFrames } from './server-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l.trim()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing a line`)));
  });
}

/** Collects SSE events of a trace until its `complete` event. */
async function subscribe(
  url: string,
  headers: Record<string, string>,
): Promise<{ events: TraceEvent[]; done: Promise<void>; ready: Promise<void> }> {
  const events: TraceEvent[] = [];
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
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
        if (ev.type === 'init') onReady();
        if (ev.type === 'complete') {
          await reader.cancel();
          return;
        }
      }
    }
  })();
  return { events, done, ready };
}

describe(
  'examples/python against a real livetrace serve',
  { skip: python === undefined ? 'no python3 on this machine' : false },
  () => {
    let dir: string;
    let serve: ChildProcess;
    let origin: string;
    const token = 'py-writer-token-1';

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lt-python-'));
      await writeFile(
        join(dir, 'tokens.json'),
        JSON.stringify([
          { token, tenantId: 'py', scopes: ['read', 'write'] },
          { token: 'py-reader-token', tenantId: 'py' },
        ]),
      );
      serve = spawn(
        process.execPath,
        [bin, 'serve', '--port', '0', '--dir', join(dir, 'store'), '--tokens', join(dir, 'tokens.json')],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      origin = (await firstLine(serve)).replace(/\/$/, '');
    });
    after(async () => {
      if (serve.exitCode === null) {
        serve.kill('SIGTERM');
        await new Promise((r) => serve.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    });

    it('runs the agent: stored trace and live SSE subscriber agree with what it sent', async () => {
      const api = `${origin}/v1/trace`;
      const agent = spawn(python!, [join(root, 'examples/python/agent.py'), api, '--token', token, '--wait-stdin'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      const rl = createInterface({ input: agent.stdout });
      const gotId = new Promise<string>((resolve) =>
        rl.on('line', (l) => (lines.push(l.trim()), lines.length === 1 && resolve(l.trim()))),
      );
      const exited = new Promise<number | null>((r) => agent.once('exit', r));
      const id = await gotId;
      // Subscribe (with a read-only token) before the agent sends its first step.
      const sub = await subscribe(`${api}/traces/${id}/events?stream=true`, {
        authorization: 'Bearer py-reader-token',
      });
      await sub.ready;
      const seenBeforeSteps = sub.events.length;
      agent.stdin.end('go\n');
      assert.equal(await exited, 0, 'the python agent exits 0');
      await sub.done;
      assert.equal(seenBeforeSteps, 1, 'only init existed when the subscriber attached: the rest arrived live');

      const snap = (await (
        await fetch(`${api}/traces/${id}`, { headers: { authorization: 'Bearer py-reader-token' } })
      ).json()) as TraceSnapshot;
      assert.equal(snap.info.status, 'completed');
      assert.equal(snap.info.tenant_id, 'py');
      assert.equal(snap.info.agent_name, 'python-agent');
      assert.equal(String(snap.last_seq), lines[1], 'the last seq the client was told is the stored last seq');
      // The live stream carried exactly the stored events, gapless.
      assert.deepEqual(
        sub.events.map((e) => e.seq),
        Array.from({ length: snap.last_seq }, (_, i) => i + 1),
      );
      const stored = (await (
        await fetch(`${api}/traces/${id}/events?limit=10000`, { headers: { authorization: 'Bearer py-reader-token' } })
      ).json()) as { events: TraceEvent[] };
      assert.deepEqual(sub.events, stored.events);

      const byLabel = new Map(snap.nodes.map((n) => [n.label, n]));
      assert.deepEqual([...byLabel.keys()], ['plan', 'weather', 'convert', 'answer']);
      const plan = byLabel.get('plan')!;
      const weather = byLabel.get('weather')!;
      const convert = byLabel.get('convert')!;
      const answer = byLabel.get('answer')!;
      assert.equal(plan.kind, 'chain');
      assert.deepEqual(plan.input, { question: 'What is the weather in Paris, in Fahrenheit?' });
      assert.equal(plan.status, 'completed', 'auto-completed when the parallel tools started');
      assert.deepEqual(weather.parent_ids, [plan.id]);
      assert.deepEqual(convert.parent_ids, [plan.id]);
      assert.deepEqual(weather.output, { celsius: 21 });
      assert.equal(convert.status, 'failed');
      assert.deepEqual(
        { name: convert.error?.name, message: convert.error?.message },
        { name: 'ValueError', message: 'celsius is None' },
      );
      assert.deepEqual(
        [...answer.parent_ids].sort(),
        [weather.id, convert.id].sort(),
        'the answer joins both branches',
      );
      assert.equal(answer.output, 'It is 21 C in Paris (conversion failed).');
      assert.equal(answer.status, 'completed');
      assert.deepEqual(
        snap.logs.map((l) => [l.level, l.message, l.node_id]),
        [
          ['info', 'deciding which tools to call', plan.id],
          ['debug', 'GET /weather?city=Paris', weather.id],
          ['error', 'no input value', convert.id],
        ],
      );
      assert.deepEqual(
        snap.spaces.map((s) => [s.id, s.data['city']]),
        [['memory', 'Paris']],
      );
    });
  },
);
