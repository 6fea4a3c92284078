import { MemoryStore } from '../src/store/memory-store.js';
import { runStoreConformance } from '../src/testing/store-conformance.js';

runStoreConformance('MemoryStore', async () => ({ store: new MemoryStore() }));
