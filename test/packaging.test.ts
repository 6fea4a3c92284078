// The package as users get it: `npm pack` (the real tarball, files list and exports map),
// installed into a fresh project that has none of the optional peers (pg, ioredis,
// better-sqlite3, OpenTelemetry, LangChain, AI SDK). Importing livetrace's types there must
// compile with skipLibCheck: false, i.e. our .d.ts files never name a peer's module.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work: string | undefined;

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe(
  'the packed tarball',
  { skip: existsSync(join(root, 'dist/index.d.ts')) ? false : 'needs `npm run build` (dist/)', timeout: 300_000 },
  () => {
    it('installs into a fresh project without the optional peers and without engine warnings on Node 20, and its types compile with skipLibCheck: false', async () => {
      work = await mkdtemp(join(tmpdir(), 'lt-pack-'));
      const packed = run(npm, ['pack', '--ignore-scripts', '--pack-destination', work], root);
      assert.equal(packed.code, 0, packed.out);
      const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball, 'npm pack wrote a tarball');
      const proj = join(work, 'app');
      await rm(proj, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(proj));
      await writeFile(
        join(proj, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
      );
      const installed = run(
        npm,
        [
          'install',
          '--prefer-offline',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          join(work, tarball),
          '@types/node@20',
        ],
        proj,
      );
      assert.equal(installed.code, 0, installed.out);
      // livetrace's runtime tree fits the Node range it declares (>= 20): npm names no
      // package with an unsupported engine, and no installed package asks for a newer major.
      assert.doesNotMatch(installed.out, /EBADENGINE/, `engine warnings on install:\n${installed.out}`);
      const tooNew: string[] = [];
      const scan = async (dir: string): Promise<void> => {
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (name.startsWith('.')) continue;
          if (name.startsWith('@')) {
            await scan(join(dir, name));
            continue;
          }
          const pkg = join(dir, name, 'package.json');
          if (!existsSync(pkg)) continue;
          const { version, engines } = JSON.parse(await readFile(pkg, 'utf8')) as {
            version: string;
            engines?: { node?: string };
          };
          const min = /^\s*>=?\s*v?(\d+)/.exec(engines?.node ?? '');
          if (min && Number(min[1]) > 20) tooNew.push(`${name}@${version} (node ${engines!.node})`);
          await scan(join(dir, name, 'node_modules'));
        }
      };
      await scan(join(proj, 'node_modules'));
      assert.deepEqual(tooNew, [], 'installed packages that declare a Node major above 20');
      assert.ok(existsSync(join(proj, 'node_modules/fastify')), 'the runtime tree was scanned');
      for (const peer of ['pg', 'ioredis', 'better-sqlite3', 'ai', '@opentelemetry/api', '@langchain/core']) {
        assert.equal(
          existsSync(join(proj, 'node_modules', peer)),
          false,
          `${peer} is not installed (an optional peer)`,
        );
      }
      await writeFile(
        join(proj, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
          },
          files: ['index.ts'],
        }),
      );
      await writeFile(
        join(proj, 'index.ts'),
        `import { Tracer, MemoryStore, FileStore, PostgresStore, SqliteStore, RedisHub, type TraceSnapshot, type TracerOptions, type SpaceData } from 'livetrace';
import { createServer, startServer } from 'livetrace/server';
import * as testing from 'livetrace/testing';
const options: TracerOptions = { store: new MemoryStore(), shared: { hub: true } };
const tracer = new Tracer(options);
const snap: TraceSnapshot | undefined = await tracer.read('x');
const space: SpaceData | undefined = snap?.spaces[0];
const value: unknown = space?.data['k'];
void [value, createServer, startServer, testing, FileStore, PostgresStore, SqliteStore, RedisHub];
`,
      );
      const compiled = run(process.execPath, [tsc, '-p', proj], proj);
      assert.equal(compiled.code, 0, `tsc in a project without the optional peers:\n${compiled.out}`);
    });
  },
);
