#!/usr/bin/env node
// Compiles the tests and runs them with node's own runner (node:test).
// Usage: node scripts/run-tests.mjs [name-filter ...]
// Without a filter it also runs ESLint and `prettier --check .` (see below).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Type errors fail the run, but the tests still run (tsc emits anyway) so that one broken
// file does not hide every other result.
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) console.error('\n*** type check failed (tests run anyway; the run will fail) ***\n');
const filters = process.argv.slice(2);
// The full run (no filter: `npm test`, which CI runs) also lints and checks the formatting;
// either failing fails the run, after the tests have run, like a type error.
const checks = [];
if (filters.length === 0) {
  for (const [name, bin, args] of [
    ['eslint', 'node_modules/eslint/bin/eslint.js', ['--max-warnings=0', '.']],
    ['prettier --check', 'node_modules/prettier/bin/prettier.cjs', ['--check', '--log-level=warn', '.']],
  ]) {
    console.log(`> ${name}`);
    const r = spawnSync(process.execPath, [join(root, bin), ...args], { stdio: 'inherit', cwd: root });
    if (r.status !== 0) {
      console.error(`\n*** ${name} failed (tests run anyway; the run will fail) ***\n`);
      checks.push(name);
    }
  }
}
const dir = join(root, '.build/test');
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join(dir, f));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--expose-gc', '--test', '--test-concurrency=2', '--test-timeout=240000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
if (checks.length > 0) console.error(`\n*** failed: ${checks.join(', ')} (see above) ***`);
process.exit(tsc.status !== 0 || checks.length > 0 ? 1 : (r.status ?? 1));
