#!/usr/bin/env node
// Counts the type assertions (`x as T`, `<T>x`) in the TypeScript files below a folder, with
// the compiler's own parser; `as const` is not a cast and is not counted.
// Usage: node scripts/count-casts.mjs [dir=src]   (prints the total, then the top files)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const dir = process.argv[2] ?? 'src';
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
const perFile = [];
let total = 0;
for (const f of files) {
  const path = join(dir, f);
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  let n = 0;
  const visit = (node) => {
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
      const t = node.type;
      const isConst = ts.isTypeReferenceNode(t) && t.typeName.getText(source) === 'const';
      if (!isConst) n++;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  total += n;
  if (n) perFile.push([n, path]);
}
console.log(`${total} casts in ${files.length} files under ${dir}`);
for (const [n, path] of perFile.sort((a, b) => b[0] - a[0]).slice(0, 10))
  console.log(`${String(n).padStart(5)}  ${path}`);
