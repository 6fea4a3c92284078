#!/usr/bin/env node
// Runs one configuration of a bench suite in a process of its own, as the suite's rounds
// do (bench/support/isolated.ts, whose runChild() this calls), and prints its rate: for A/B
// comparisons of two builds in alternating processes. Compile first
// (npx tsc -p tsconfig.test.json).
// Usage: node scripts/bench-one.mjs <suite, e.g. agent> <configuration, e.g. file> [node flags...]
import { fileURLToPath } from 'node:url';
import { runChild } from '../.build/bench/support/isolated.js';

const [suite, name, ...flags] = process.argv.slice(2);
if (!suite || !name) {
  console.error('usage: node scripts/bench-one.mjs <suite> <configuration> [node flags...]');
  process.exit(2);
}
const path = fileURLToPath(new URL(`../.build/bench/${suite}.bench.js`, import.meta.url));
console.log(`${suite} ${name} ${Math.round(await runChild(path, name, flags))}`);
