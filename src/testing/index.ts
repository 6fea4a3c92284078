// livetrace/testing: the store conformance suite, for anyone writing a store.
export {
  runStoreConformance,
  makeEvents,
  makeInfo,
  type ConformanceFixture,
  type ConformanceOptions,
} from './store-conformance.js';
export { MemoryStore } from '../store/memory-store.js';
