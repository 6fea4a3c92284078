// Size of livetrace/element: the one self-contained file a page loads (dist/element.js,
// built by `npm run build`), gzipped as a server would send it, against the 25 KB goal.
// The viewer's script is listed beside it for scale.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('../..', import.meta.url).pathname;
const GOAL = 25 * 1024;
const gz = (b: Buffer) => gzipSync(b, { level: 9 }).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const element = readFileSync(join(root, 'dist/element.js'));
const viewerJs = readdirSync(join(root, 'viewer-dist/assets')).filter((f) => f.endsWith('.js'));
const viewer = Buffer.concat(viewerJs.map((f) => readFileSync(join(root, 'viewer-dist/assets', f))));

console.log('| file | raw | gzip -9 | vs goal |');
console.log('| --- | ---: | ---: | ---: |');
console.log(
  `| dist/element.js (element + client + reducer + SSE parser) | ${kb(element.length)} | ${kb(gz(element))} | **${(gz(element) / GOAL).toFixed(2)}x** |`,
);
console.log(
  `| viewer-dist JS (the developer viewer, for scale) | ${kb(viewer.length)} | ${kb(gz(viewer))} | ${(gz(viewer) / GOAL).toFixed(2)}x |`,
);
console.log(`\ngoal: dist/element.js gzipped <= ${kb(GOAL)} (ratio <= 1.00x)`);
if (/^\s*import[\s{*]/m.test(element.toString())) {
  console.error('dist/element.js has an import statement: it must be self-contained');
  process.exit(1);
}
