// The store a Tracer uses when none is given: the embedded file store under
// $LIVETRACE_DIR or ./.livetrace.
import { MemoryStore } from './memory-store.js';
import type { TraceStore } from './store.js';

export function createDefaultStore(): TraceStore {
  // Replaced by the FileStore once it lands (issue 3).
  return new MemoryStore();
}
