// Stores and hubs chosen by URL (CLI flags, environment variables, server options):
//   memory:            MemoryStore
//   file:<path>        FileStore
//   sqlite:<path>      SqliteStore
//   postgres://...     PostgresStore
//   redis://...        RedisHub (as --hub)
// Drivers are imported lazily so that the core never loads them.
import { InvalidArgumentError, UnsupportedError } from '../core/errors.js';
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
  if (url.startsWith('sqlite:')) {
    const { SqliteStore } = await import('./sqlite-store.js');
    // sqlite:<path>, sqlite:///abs/path, sqlite::memory:
    const path = url.startsWith('sqlite://') ? decodeURIComponent(new URL(url).pathname) : url.slice('sqlite:'.length);
    if (path.length === 0)
      throw new InvalidArgumentError(`store URL ${JSON.stringify(url)} needs a file: sqlite:<path>`);
    return new SqliteStore({ path });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { PostgresStore } = await import('./postgres-store.js');
    // ?schema=<name> and ?leaseTtlMs=<ms> are ours; every other parameter is pg's (sslmode, application_name...).
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? undefined;
    const ttl = u.searchParams.get('leaseTtlMs') ?? undefined;
    u.searchParams.delete('schema');
    u.searchParams.delete('leaseTtlMs');
    const leaseTtlMs = ttl === undefined ? undefined : Number(ttl);
    if (leaseTtlMs !== undefined && !(Number.isSafeInteger(leaseTtlMs) && leaseTtlMs >= 100))
      throw new InvalidArgumentError(
        `store URL: leaseTtlMs must be an integer of at least 100 (ms), got ${JSON.stringify(ttl)}`,
      );
    return new PostgresStore({
      url: u.toString(),
      ...(schema !== undefined ? { schema } : {}),
      ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
    });
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    throw new UnsupportedError(
      `store URL ${JSON.stringify(url)}: Redis carries live events (--hub redis://...), it does not store traces here; use --store postgres://... or sqlite:<path> with --hub redis://...`,
    );
  }
  throw new InvalidArgumentError(
    `unsupported store URL ${JSON.stringify(url)}: use memory:, file:<dir>, sqlite:<path>, postgres://...`,
  );
}

/** `local:` (or empty) is the in-process hub; redis://host:port[/db][?prefix=name] the Redis hub. */
export async function createHubFromUrl(url: string): Promise<EventHub> {
  if (url === '' || url === 'local:' || url === 'local') {
    const { LocalHub } = await import('../hub/local-hub.js');
    return new LocalHub();
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { RedisHub } = await import('../hub/redis-hub.js');
    const u = new URL(url);
    const prefix = u.searchParams.get('prefix') ?? undefined;
    u.searchParams.delete('prefix');
    return new RedisHub({ url: u.toString(), ...(prefix !== undefined ? { prefix } : {}) });
  }
  throw new InvalidArgumentError(`unsupported hub URL ${JSON.stringify(url)}: use redis://host:port or local:`);
}
