// `npm run bench -- --smoke`: every benchmark suite end to end with tiny sizes, so that a
// change that breaks a bench (an API it uses, a lost event it checks) fails the test suite.
// No timing is asserted: the figures of a smoke run mean nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

it('every bench suite runs to the end in smoke mode and prints its table', async () => {
  // run-tests.mjs already compiled .build/, hence --no-compile.
  const child = spawn(process.execPath, ['--expose-gc', 'scripts/run-bench.mjs', '--smoke', '--no-compile'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, `bench --smoke failed:\n${out.slice(-4000)}\n${err.slice(-4000)}`);
  const suites = readdirSync(new URL('.build/bench', `file://${root}`))
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.replace(/\.bench\.js$/, ''));
  assert.ok(suites.length >= 5, `found suites: ${suites.join(', ')}`);
  for (const s of suites) assert.ok(out.includes(`## ${s}\n`), `suite ${s} ran`);
  // Each suite prints at least one markdown ratio table.
  const tables = out.split(/\n## /).slice(1);
  for (const t of tables) assert.match(t, /\n\| .* \|\n\| ---/, `suite printed a table:\n${t.slice(0, 500)}`);
});
