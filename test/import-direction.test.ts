// The layering of src/, read from the real import graph (every import, export-from and dynamic
// import() of every file, parsed with the TypeScript compiler). docs/architecture.md draws the
// same layers; this test is the rule:
//
//   core  →  hub  →  store  →  tracer  →  otel, integrations, demo, testing  →  server  →  cli
//   core  →  client  →  element, viewer          (browser code)
//
// An arrow reads "may be imported by"; nothing imports a layer to its right, core imports
// nothing (neither ours nor a package), and the browser code (core, client, element, viewer)
// imports no Node.js built-in and only the browser packages listed below.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import { it } from 'node:test';
import ts from 'typescript';

const root = new URL('../..', import.meta.url).pathname;

/** For each layer, the layers it may import (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  hub: ['core'],
  store: ['core', 'hub'], // from-url.ts builds a store and its hub from one URL
  tracer: ['core', 'hub', 'store'],
  otel: ['core', 'tracer'],
  integrations: ['core', 'tracer'],
  demo: ['core', 'tracer'],
  testing: ['core', 'store', 'tracer'],
  server: ['core', 'hub', 'store', 'tracer', 'otel', 'demo'],
  cli: ['core', 'hub', 'store', 'tracer', 'server', 'demo'],
  client: ['core'],
  element: ['core', 'client'],
  viewer: ['core', 'client'],
  index: ['core', 'hub', 'store', 'tracer'], // src/index.ts, the package's main entry
};
const BROWSER = new Set(['core', 'client', 'element', 'viewer']);
/** Packages the browser code may import (bundled by Vite into the viewer and dist/element.js). */
const BROWSER_PACKAGES = new Set([
  'eventsource-parser',
  'preact',
  'diff',
  'mdast',
  'mdast-util-from-markdown',
  'mdast-util-gfm',
  'micromark-extension-gfm',
]);

interface Edge {
  from: string; // file, relative to the repository
  fromLayer: string;
  spec: string;
  toLayer?: string; // ours
  pkg?: string; // a package or a Node.js built-in
}

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

function layerOf(file: string): string {
  if (file.startsWith('viewer/src/')) return 'viewer';
  const parts = file.split('/');
  assert.equal(parts[0], 'src', `${file} is outside src/ and viewer/src/`);
  return parts.length === 2 ? 'index' : parts[1]!;
}

function packageOf(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

function edgesOf(file: string): Edge[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: spec }): Edge => {
    const fromLayer = layerOf(file);
    if (!spec.startsWith('.')) return { from: file, fromLayer, spec, pkg: packageOf(spec) };
    const target = normalize(join(dirname(file), spec));
    const ts_ = target.replace(/\.js$/, '.ts');
    assert.ok(
      [target, ts_, ts_ + 'x', target.replace(/\.js$/, '.tsx')].some((t) => existsSync(join(root, t))),
      `${file} imports ${spec}, which does not exist`,
    );
    return { from: file, fromLayer, spec, toLayer: layerOf(relative('.', target)) };
  });
}

const all = [...files('src'), ...files('viewer/src')].flatMap(edgesOf);
const show = (e: Edge): string => `${e.from} (${e.fromLayer}) imports ${e.spec}`;

it('the import graph is read (a test that reads nothing cannot fail)', () => {
  assert.ok(all.length > 300, `only ${all.length} imports found`);
  assert.ok(all.some((e) => e.fromLayer === 'tracer' && e.toLayer === 'core'));
  assert.ok(all.some((e) => e.fromLayer === 'viewer' && e.toLayer === 'client'));
  const layers = new Set(all.map((e) => e.fromLayer));
  for (const l of Object.keys(MAY_IMPORT)) assert.ok(layers.has(l), `no file in layer ${l}`);
  for (const l of layers) assert.ok(l in MAY_IMPORT, `src/${l}/ is a new layer: place it in MAY_IMPORT and docs`);
});

it('the allowed imports form layers: no layer reaches itself through another', () => {
  const reach = (from: string, seen = new Set<string>()): Set<string> => {
    for (const to of MAY_IMPORT[from] ?? [])
      if (!seen.has(to)) {
        seen.add(to);
        reach(to, seen);
      }
    return seen;
  };
  for (const l of Object.keys(MAY_IMPORT)) assert.ok(!reach(l).has(l), `${l} can reach itself`);
});

it('no import runs back up the layers', () => {
  const wrong = all.filter(
    (e) => e.toLayer !== undefined && e.toLayer !== e.fromLayer && !MAY_IMPORT[e.fromLayer]!.includes(e.toLayer),
  );
  assert.deepEqual(wrong.map(show), []);
});

it('core imports nothing: no package, no Node.js built-in', () => {
  assert.deepEqual(all.filter((e) => e.fromLayer === 'core' && e.pkg !== undefined).map(show), []);
});

it('the browser code (core, client, element, viewer) imports only what a browser runs', () => {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const wrong = all.filter(
    (e) => BROWSER.has(e.fromLayer) && e.pkg !== undefined && (builtins.has(e.pkg) || !BROWSER_PACKAGES.has(e.pkg)),
  );
  assert.deepEqual(wrong.map(show), []);
});
