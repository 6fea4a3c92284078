// docs/architecture.md points at files by relative links; a file moved or
// renamed must take its links along. Every relative link of these pages must resolve.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

function relativeLinks(page: string): string[] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/i.test(href) && !href.startsWith('#'))
    .map((href) => href.split('#')[0]!);
}

for (const page of ['docs/architecture.md', 'CONTRIBUTING.md', 'README.md']) {
  it(`every relative link in ${page} resolves to a file or folder`, () => {
    const links = relativeLinks(page);
    assert.ok(links.length >= 5, `${page} has only ${links.length} relative links`);
    const broken = links.filter((href) => !existsSync(join(root, dirname(page), href)));
    assert.deepEqual(broken, [], `${page} links to missing files`);
  });
}
