// Importing livetrace must not load the optional database drivers: they are peer
// dependencies a user installs only for the store or hub they pick.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
