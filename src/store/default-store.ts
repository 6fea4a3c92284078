// The store a Tracer uses when none is given: the embedded file store under
// $LIVETRACE_DIR or ./.livetrace.
import { FileStore } from './file-store.js';
import type { TraceStore } from './store.js';

export function createDefaultStore(): TraceStore {
  return new FileStore({ dir: process.env['LIVETRACE_DIR'] ?? './.livetrace' });
}
