// Keeps the event table of docs/events.md and the event types (src/core/events.ts) in
// sync: the same event types, and for each the same data fields, optional ones marked `?`.
// The types are read with the TypeScript compiler, so a field added on one side only fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { EVENT_TYPES } from '../src/core/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** type -> its data shapes, each a sorted list of fields (`name` or `name?`). */
type Table = Map<string, string[][]>;

function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The top-level `{ ... }` groups of a table cell. */
function braceGroups(cell: string): string[] {
  const groups: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < cell.length; i++) {
    if (cell[i] === '{') {
      if (depth === 0) start = i + 1;
      depth++;
    } else if (cell[i] === '}') {
      depth--;
      if (depth === 0) groups.push(cell.slice(start, i));
    }
  }
  return groups;
}

function fieldsOf(group: string): string[] {
  return splitTopLevel(group, ',')
    .map((part) => part.split(':')[0]!.trim())
    .filter((name) => name.length > 0)
    .sort();
}

function docsTable(): Table {
  const doc = readFileSync(join(root, 'docs/events.md'), 'utf8');
  const table: Table = new Map();
  const same: [string, string][] = [];
  // The table that starts with the header `| type | data | notes |` and ends at a blank line.
  const start = doc.indexOf('| type | data | notes |');
  assert.ok(start >= 0, 'docs/events.md has no `| type | data | notes |` table');
  const end = doc.indexOf('\n\n', start);
  for (const line of doc.slice(start, end < 0 ? undefined : end).split('\n')) {
    // Cells are separated by pipes that are not escaped (`\|` is a pipe inside a cell).
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const m = /^`(\w+)`$/.exec(cells[1] ?? '');
    if (!line.startsWith('|') || !m) continue;
    const type = m[1]!;
    const cell = cells[2] ?? '';
    const alias = /same as `(\w+)`/.exec(cell);
    if (alias) same.push([type, alias[1]!]);
    else table.set(type, braceGroups(cell.replaceAll('\\|', '|')).map(fieldsOf).sort());
  }
  for (const [type, of] of same) table.set(type, table.get(of) ?? []);
  return table;
}

let typesCache: Table | undefined;

function typesTable(): Table {
  typesCache ??= readTypes();
  return typesCache;
}

function readTypes(): Table {
  const file = join(root, 'src/core/events.ts');
  const program = ts.createProgram([file], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source, 'src/core/events.ts not found');
  const map = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'EventDataMap',
  );
  assert.ok(map, 'interface EventDataMap not found in src/core/events.ts');
  const table: Table = new Map();
  for (const member of map.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const type = checker.getTypeFromTypeNode(member.type);
    const shapes = type.isUnion() ? type.types : [type];
    table.set(
      member.name.getText(source),
      shapes
        .map((shape) =>
          checker
            .getPropertiesOfType(shape)
            // `field?: never` only says that a field of the other shape is absent here.
            .filter(
              (p) =>
                !(
                  p.valueDeclaration &&
                  ts.isPropertySignature(p.valueDeclaration) &&
                  p.valueDeclaration.type?.kind === ts.SyntaxKind.NeverKeyword
                ),
            )
            .map((p) => p.name + (p.flags & ts.SymbolFlags.Optional ? '?' : ''))
            .sort(),
        )
        .sort(),
    );
  }
  return table;
}

it('docs/events.md lists exactly the event types of the code', () => {
  const docs = docsTable();
  assert.deepEqual([...docs.keys()].sort(), [...EVENT_TYPES].sort());
  assert.deepEqual([...typesTable().keys()].sort(), [...EVENT_TYPES].sort());
});

it('each event type has the same data fields in docs/events.md and in EventDataMap', () => {
  const docs = docsTable();
  const types = typesTable();
  for (const type of EVENT_TYPES) {
    assert.deepEqual(docs.get(type), types.get(type), `data of \`${type}\`: docs/events.md vs src/core/events.ts`);
  }
});

it('the checker sees a drifted field (the comparison can fail)', () => {
  const docs = docsTable();
  const init = docs.get('init')!;
  const drifted = new Map(docs).set('init', [[...init[0]!, 'not_a_field?'].sort()]);
  assert.notDeepEqual(drifted.get('init'), typesTable().get('init'));
});
