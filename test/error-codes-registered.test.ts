// Every LT_* code that livetrace can emit is registered in src/core/errors.ts (ERROR_CODES or
// WARNING_CODES) and documented in docs/errors.md. The codes are read from the source with the
// TypeScript parser: every string literal and template text in src/ and viewer/src/, so a code
// thrown, returned, emitted with process.emitWarning or sent by the server is found wherever it
// is written, and a code assembled at run time (`LT_ERR_${x}`) fails the test.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import ts from 'typescript';
import { ERROR_CODES, WARNING_CODES } from '../src/core/errors.js';

const root = new URL('../..', import.meta.url).pathname;
const CODE = /LT_(?:ERR|WARN)_[A-Z0-9_]*[A-Z0-9]/g;
const PREFIX = /LT_(?:ERR|WARN)_[A-Z0-9_]*$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

interface Use {
  code: string;
  where: string;
}

/** Every LT_* code in a string or template literal of `file`, and every code left open by a `${}`. */
function codesIn(file: string): { uses: Use[]; dynamic: string[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const uses: Use[] = [];
  const dynamic: string[] = [];
  const at = (n: ts.Node): string => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteralLike(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      for (const m of n.text.matchAll(CODE)) uses.push({ code: m[0], where: at(n) });
      if ((ts.isTemplateHead(n) || ts.isTemplateMiddle(n)) && PREFIX.test(n.text)) dynamic.push(at(n));
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { uses, dynamic };
}

const files = [...sourceFiles('src'), ...sourceFiles('viewer/src')];
const found = files.map(codesIn);
const uses = found.flatMap((f) => f.uses);

it('every LT_* code written in src/ and viewer/src/ is registered in src/core/errors.ts', () => {
  // The scan must see the codes the registry's own error classes throw, or it reads nothing.
  assert.ok(uses.some((u) => u.code === 'LT_ERR_INVALID_ARGUMENT' && u.where.startsWith('src/core/errors.ts')));
  assert.ok(uses.length > 50, `only ${uses.length} uses found`);
  const unregistered = uses.filter((u) => !(u.code in ERROR_CODES) && !(u.code in WARNING_CODES));
  assert.deepEqual(
    unregistered.map((u) => `${u.code} at ${u.where}`),
    [],
    'add these codes to ERROR_CODES or WARNING_CODES in src/core/errors.ts and to docs/errors.md',
  );
});

it('no LT_* code is assembled at run time', () => {
  assert.deepEqual(
    found.flatMap((f) => f.dynamic),
    [],
  );
});

it('every registered code is documented in docs/errors.md and emitted somewhere', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const emitted = new Set(uses.map((u) => u.code));
  for (const code of [...Object.keys(ERROR_CODES), ...Object.keys(WARNING_CODES)]) {
    assert.ok(doc.includes(`| \`${code}\` |`), `${code} is not in the tables of docs/errors.md`);
    assert.ok(emitted.has(code), `${code} is registered but nothing in src/ uses it`);
  }
});
