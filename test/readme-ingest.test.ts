// The README's "Traces from any language" lines work as written, against a real
// `livetrace serve` process: the OTLP environment variables configure a real OpenTelemetry
// exporter (no URL in code), and the curl lines run in bash.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { TraceSnapshot } from '../src/core/types.js';

const root = new URL('../../', import.meta.url).pathname;
const curl = spawnSync('curl', ['--version']).status === 0;

async function section(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const part = readme.split('## Traces from any language (OTLP, HTTP)\n')[1]!.split('\n## ')[0]!;
  return [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README: OTLP and curl lines', () => {
  let dir: string;
  let serve: ChildProcess;
  let origin: string;
  let otlpPort: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-readme-ingest-'));
    serve = spawn(
      process.execPath,
      [
        join(root, 'bin/livetrace.js'),
        'serve',
        '--port',
        '0',
        '--otlp-port',
        '0',
        '--otlp-quiet-ms',
        '200',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines = createInterface({ input: serve.stdout! })[Symbol.asyncIterator]();
    origin = ((await lines.next()).value as string).trim().replace(/\/$/, '');
    otlpPort = /OTLP http:\/\/127\.0\.0\.1:(\d+)\/v1\/traces/.exec((await lines.next()).value as string)![1]!;
  });
  after(async () => {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  });

  const read = async (id: string): Promise<TraceSnapshot> => {
    for (let i = 0; i < 100; i++) {
      const snap = (await (await fetch(`${origin}/v1/trace/traces/${id}`)).json()) as TraceSnapshot;
      if (snap.info?.status === 'completed') return snap;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`trace ${id} did not complete`);
  };

  it('the OTEL_EXPORTER_OTLP_* lines point a real OpenTelemetry exporter at livetrace', async () => {
    const [otlp] = await section();
    assert.match(otlp!, /^livetrace serve --otlp-port 4318$/m);
    const env: Record<string, string> = {};
    for (const m of otlp!.matchAll(/^export (\w+)=(\S+)$/gm)) env[m[1]!] = m[2]!.replace(':4318', `:${otlpPort}`);
    assert.ok(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
    const out = execFileSync(process.execPath, [join(root, '.build/test/fixtures/otlp-env-export.js')], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    const id = /^trace ([0-9a-f]{32})$/m.exec(out)![1]!;
    const snap = await read(id);
    assert.deepEqual(snap.nodes.map((n) => n.label).sort(), ['readme agent', 'step']);
  });

  it(
    'the curl lines create a trace and apply a batch',
    { skip: curl ? false : 'no curl on this machine' },
    async () => {
      const [, block] = await section();
      assert.match(block!, /^LT=http:\/\/127\.0\.0\.1:7411$/m);
      const script = block!.replace(/^LT=.*$/m, `LT=${origin}`) + '\necho "ID=$ID"\n';
      const out = execFileSync('bash', ['-e', '-c', script], { encoding: 'utf8' });
      const id = /ID=(\S+)/.exec(out)![1]!;
      assert.match(out, /"refs":\{"plan":"/);
      const snap = await read(id);
      assert.equal(snap.info.agent_name, 'my-agent');
      assert.equal(snap.nodes.length, 1);
      assert.deepEqual(snap.nodes[0]!.input, { q: 'weather?' });
      assert.equal(snap.nodes[0]!.output, 'look it up');
    },
  );
});
