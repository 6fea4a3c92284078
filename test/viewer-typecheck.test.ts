// The viewer is bundled by Vite, which strips types without checking them: this keeps the
// SPA (viewer/tsconfig.json, strict, with the shared core it imports) type-correct.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgRoot = fileURLToPath(new URL('../..', import.meta.url));

it('viewer sources type-check (tsc -p viewer/tsconfig.json)', () => {
  const r = spawnSync(
    process.execPath,
    [join(pkgRoot, 'node_modules/typescript/bin/tsc'), '-p', join(pkgRoot, 'viewer/tsconfig.json')],
    { cwd: pkgRoot, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
