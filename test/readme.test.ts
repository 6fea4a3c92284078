// The README's quick start is examples/quickstart.mjs, and it works.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const root = new URL('../../', import.meta.url);

it('the README quick start is the example file, and it runs', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const example = readFileSync(new URL('examples/quickstart.mjs', root), 'utf8');
  const block = readme.match(/## Quick start\n\n```js\n([\s\S]*?)```/)?.[1];
  assert.ok(block, 'README has a quick start block');
  const body = example
    .split('\n')
    .filter((l) => !l.startsWith('// The README'))
    .join('\n')
    .trim();
  assert.equal(block.trim(), body);
  const out = execFileSync(process.execPath, [new URL('examples/quickstart.mjs', root).pathname], {
    encoding: 'utf8',
    cwd: new URL('.', root).pathname,
  });
  assert.match(out, /answer parents: 3/);
  const lines = out
    .trim()
    .split('\n')
    .filter((l) => /^\d+ /.test(l));
  assert.equal(lines.length, 16);
  assert.match(lines.at(-1)!, /^16 complete/);
  assert.deepEqual(
    lines.map((l) => Number(l.split(' ')[0])),
    Array.from({ length: 16 }, (_, i) => i + 1),
  );
});

it('the README starts with the two commands', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const first = readme.split('```sh\n')[1]!.split('```')[0]!.trim().split('\n');
  assert.match(first[0]!, /^npm ci && npm start\b/);
  assert.match(first[1]!, /^npm test\b/);
  const ci = readFileSync(new URL('.ci/run', root), 'utf8');
  assert.match(ci, /\nnpm test\n/);
});
