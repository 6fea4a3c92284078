// `livetrace serve --prices file.json`: a real server process fills in the costs missing
// from traces another process wrote (a model its writer had no price for), and a bad
// prices file fails the start with what to fix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TraceSnapshot } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const bin = join(new URL('../..', import.meta.url).pathname, 'bin/livetrace.js');
const dir = await mkdtemp(join(tmpdir(), 'lt-prices-'));
after(() => rm(dir, { recursive: true, force: true }));

function serve(args: string[]): {
  url: Promise<string>;
  exit: Promise<{ code: number | null; stderr: string }>;
  stop: () => Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr: err })),
  );
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    void exit.then((r) => reject(new Error(`serve exited ${r.code}: ${r.stderr}`)));
  });
  url.catch(() => undefined);
  return {
    url,
    exit,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

test('serve --prices fills missing costs in served snapshots; known costs are kept', async () => {
  const storeDir = join(dir, 'store');
  const writer = new Tracer({ store: new FileStore({ dir: storeDir }), exitHook: false });
  const t = await writer.create({ sessionId: 's' });
  const root = t.add('run', { kind: 'agent', label: 'run' });
  root
    .add('a', {
      label: 'a',
      usage: { model: 'acme-large-2025-01-01', inputTokens: 2_000_000, outputTokens: 1_000_000 },
    })
    .complete();
  root
    .add('b', { label: 'b', usage: { model: 'acme-small', inputTokens: 10, outputTokens: 10, cost: 1.5 } })
    .complete();
  t.markComplete();
  await t.release();
  await writer.close();
  assert.equal(t.getInfo().usage!.cost?.amount, 1.5, 'the writer knew only the reported cost');

  const pricesFile = join(dir, 'prices.json');
  await writeFile(
    pricesFile,
    JSON.stringify({ 'acme-large': { input_per_million: 3, output_per_million: 4, currency: 'USD' } }),
  );
  const s = serve(['--dir', storeDir, '--prices', pricesFile]);
  try {
    const base = (await s.url) + 'v1/trace';
    const snap = (await (await fetch(`${base}/traces/${t.id}`)).json()) as TraceSnapshot;
    const byLabel = (l: string) => snap.nodes.find((n) => n.label === l)!;
    assert.deepEqual(byLabel('a').usage!.cost, { amount: 10, currency: 'USD', estimated: true });
    assert.deepEqual(byLabel('b').usage!.cost, { amount: 1.5, currency: 'USD', estimated: false });
    assert.deepEqual(snap.info.usage!.cost, { amount: 11.5, currency: 'USD' });
    const nodes = (await (await fetch(`${base}/traces/${t.id}/nodes`)).json()) as { nodes: TraceSnapshot['nodes'] };
    assert.equal(
      nodes.nodes.find((n) => n.label === 'a')!.usage!.cost!.amount,
      10,
      'the nodes view (cached bytes) too',
    );
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test('a bad prices file fails serve at start, naming the file and the field', async () => {
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ m: { input_per_million: 'cheap', output_per_million: 1, currency: 'USD' } }));
  const r = await serve(['--dir', join(dir, 'x'), '--prices', bad]).exit;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /prices file .*bad\.json\["m"\]: input_per_million/);
  const missing = await serve(['--dir', join(dir, 'x'), '--prices', join(dir, 'nope.json')]).exit;
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /cannot read the prices file/);
});
