// Keeps docs/errors.md in sync with the error registry (fastify does the same).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { ERROR_CODES, WARNING_CODES } from '../src/core/errors.js';

it('docs/errors.md lists every error and warning code with its HTTP status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(
      doc,
      new RegExp(`\\| \`${code}\` \\| ${spec.status} \\|`),
      `${code} missing or wrong status in docs/errors.md`,
    );
  }
  for (const code of Object.keys(WARNING_CODES))
    assert.ok(doc.includes(`\`${code}\``), `${code} missing in docs/errors.md`);
  const documented = [...doc.matchAll(/`(LT_(?:ERR|WARN)_\w+)`/g)].map((m) => m[1]!);
  for (const code of documented)
    assert.ok(code in ERROR_CODES || code in WARNING_CODES, `${code} is documented but does not exist`);
});
