#!/usr/bin/env node
// Compiles and runs every benchmark suite in bench/ (one process each, sequentially, so
// they do not compete for the 2 cores). Each suite prints its own table of ratios.
// Usage: node --expose-gc scripts/run-bench.mjs [--smoke] [--no-compile] [name-filter ...]
//   --smoke: every suite with tiny sizes and one round (LIVETRACE_BENCH_SMOKE=1), figures
//            meaningless; test/bench-smoke.test.ts runs it so the benches never rot.
//   --no-compile: skip tsc (the caller already compiled .build/).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
if (!args.includes('--no-compile'))
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')],
    { stdio: 'inherit' },
  );
const dir = join(root, '.build/bench');
const filters = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace(/\.bench\.js$/, '')}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], {
    stdio: 'inherit',
    cwd: root,
    env: smoke ? { ...process.env, LIVETRACE_BENCH_SMOKE: '1' } : process.env,
  });
  if (r.status !== 0) {
    failed++;
    console.error(`*** bench ${f} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
