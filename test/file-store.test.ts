import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../src/store/file-store.js';
import { runStoreConformance } from '../src/testing/store-conformance.js';

runStoreConformance('FileStore (batch)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-fs-'));
  return { store: new FileStore({ dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

runStoreConformance('FileStore (fsync, 2 open files)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-fs-'));
  return {
    store: new FileStore({ dir, durability: 'fsync', maxOpenFiles: 2 }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
