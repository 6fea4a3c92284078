import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedError } from '../src/core/errors.js';
import { LocalHub } from '../src/hub/local-hub.js';
import { RedisHub } from '../src/hub/redis-hub.js';
import { createHubFromUrl, createStoreFromUrl } from '../src/store/from-url.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

describe('store and hub URLs for scale-out', () => {
  it('sqlite:<path> and sqlite:///abs/path build a SqliteStore', async () => {
    const a = await createStoreFromUrl('sqlite:./data/traces.db');
    assert.ok(a instanceof SqliteStore);
    assert.equal(a.path, './data/traces.db');
    const b = await createStoreFromUrl('sqlite:///var/lib/lt/t.db');
    assert.ok(b instanceof SqliteStore);
    assert.equal(b.path, '/var/lib/lt/t.db');
  });

  it('postgres:// and postgresql:// build a PostgresStore; ?schema= picks the schema', async () => {
    const a = await createStoreFromUrl('postgres://u:secret@db:5432/app?schema=traces_v1');
    assert.ok(a instanceof PostgresStore);
    assert.equal(a.schema, 'traces_v1');
    assert.ok(!a.name.includes('secret'), 'the password is not in the name');
    const b = await createStoreFromUrl('postgresql://db/app');
    assert.ok(b instanceof PostgresStore);
    assert.equal(b.schema, 'livetrace');
  });

  it('redis:// is a hub, not a store', async () => {
    const hub = await createHubFromUrl('redis://127.0.0.1:6379/0?prefix=lt');
    assert.ok(hub instanceof RedisHub);
    assert.equal(hub.remote, true);
    await hub.close();
    assert.ok((await createHubFromUrl('local:')) instanceof LocalHub);
    await assert.rejects(createStoreFromUrl('redis://127.0.0.1:6379'), UnsupportedError);
    await assert.rejects(createHubFromUrl('amqp://x'), /redis:\/\//);
  });
});
