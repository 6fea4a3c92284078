// Stores and hubs chosen by URL (CLI flags, environment variables, server options):
//   memory:            MemoryStore
//   file:<path>        FileStore
//   sqlite:<path>      SqliteStore
//   postgres://...     PostgresStore
//   redis://...        RedisHub (as --hub) / Redis Streams store (as --store)
// Drivers are imported lazily so that the core never loads them.
import { InvalidArgumentError } from '../core/errors.js';
import type { EventHub } from '../hub/hub.js';
import { MemoryStore } from './memory-store.js';
import type { TraceStore } from './store.js';

export async function createStoreFromUrl(url: string): Promise<TraceStore> {
  if (url === 'memory:' || url === 'memory') return new MemoryStore();
  if (url.startsWith('file:')) {
    const { FileStore } = await import('./file-store.js');
    // file:<dir>, file:///abs/dir (a URL) or file:relative/dir
    const dir = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url.slice('file:'.length);
    if (dir.length === 0) throw new InvalidArgumentError(`store URL ${JSON.stringify(url)} needs a folder: file:<dir>`);
    return new FileStore({ dir });
  }
  throw new InvalidArgumentError(`unsupported store URL ${JSON.stringify(url)}: use memory:, file:<dir>, sqlite:<path>, postgres://..., redis://...`);
}

export async function createHubFromUrl(url: string): Promise<EventHub> {
  throw new InvalidArgumentError(`unsupported hub URL ${JSON.stringify(url)}: use redis://host:port`);
}
