// Importing livetrace must not load the optional database drivers: they are peer
// dependencies a user installs only for the store or hub they pick.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// .build/test/ -> .build/src/index.js (the same sources dist/ is built from).
const entry = pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), '../src/index.js')).href;

// The drivers are CommonJS: importing them from ESM goes through the CJS loader, so they
// show up in the shared require.cache.
const script = (after: string): string => `
  import { createRequire } from 'node:module';
  const lt = await import(${JSON.stringify(entry)});
  ${after}
  const require = createRequire(import.meta.url);
  const loaded = Object.keys(require.cache).map((k) => /node_modules\\/(pg|ioredis|better-sqlite3)\\//.exec(k)?.[1]).filter(Boolean);
  console.log(JSON.stringify([...new Set(loaded)].sort()));
`;

function run(code: string): string[] {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: process.cwd() });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

describe('optional drivers', () => {
  it('importing livetrace (and building its stores) loads none of pg, ioredis, better-sqlite3', () => {
    const loaded = run(
      script(`
        new lt.SqliteStore({ path: ':memory:' });
        new lt.PostgresStore({ url: 'postgres://127.0.0.1/x' });
        new lt.RedisHub({ url: 'redis://127.0.0.1:1' });
      `),
    );
    assert.deepEqual(loaded, []);
  });

  it('loads a driver on first use (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-drv-'));
    try {
      const loaded = run(
        script(`
          const s = new lt.SqliteStore({ path: ${JSON.stringify(join(dir, 'x.db'))} });
          await s.info('x');
          await s.close();
        `),
      );
      assert.deepEqual(loaded, ['better-sqlite3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The framework integrations are optional peers too. Most of them are ESM, which never
// shows up in require.cache: a module.register() resolve hook records every package a
// process resolves (into a file: hooks run on their own thread).
const PEERS_RE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;
const FRAMEWORKS = [
  'ai',
  'ai7',
  '@langchain/core',
  '@langchain/langgraph',
  '@openai/agents',
  '@openai/agents-core',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  'zod',
  'openai',
];

function packagesResolvedBy(importer: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lt-peers-'));
  try {
    const out = join(dir, 'resolved.txt');
    const hooks = `
      import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        appendFileSync(${JSON.stringify(out)}, r.url + '\\n');
        return r;
      }`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hooks))});`;
    const r = spawnSync(
      process.execPath,
      ['--import', 'data:text/javascript,' + encodeURIComponent(register), '--input-type=module', '-e', importer],
      { encoding: 'utf8', cwd: process.cwd() },
    );
    assert.equal(r.status, 0, r.stderr);
    const urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    return [...new Set(urls.map((u) => PEERS_RE.exec(u)?.[1]).filter((p): p is string => p !== undefined))].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const built = (rel: string): string =>
  pathToFileURL(join(fileURLToPath(new URL('.', import.meta.url)), '../src', rel)).href;

describe('optional framework peers', () => {
  it('importing livetrace, livetrace/ai-sdk and livetrace/openai-agents loads no framework package', () => {
    const loaded = packagesResolvedBy(`
      await import(${JSON.stringify(built('index.js'))});
      await import(${JSON.stringify(built('integrations/ai-sdk.js'))});
      await import(${JSON.stringify(built('integrations/openai-agents.js'))});
    `);
    assert.deepEqual(
      loaded.filter((p) => FRAMEWORKS.includes(p)),
      [],
    );
  });

  it('livetrace/langchain loads @langchain/core and nothing else optional (the check above can fail)', () => {
    const loaded = packagesResolvedBy(`await import(${JSON.stringify(built('integrations/langchain.js'))});`);
    assert.ok(loaded.includes('@langchain/core'), `resolved: ${loaded.join(', ')}`);
    assert.deepEqual(
      loaded.filter((p) => FRAMEWORKS.includes(p) && p !== '@langchain/core'),
      [],
    );
  });
});
