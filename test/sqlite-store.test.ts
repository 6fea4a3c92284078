import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StoreConflictError, TraceLockedError } from '../src/core/errors.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { makeEvents, makeInfo, runStoreConformance } from '../src/testing/store-conformance.js';
import { Tracer } from '../src/tracer/tracer.js';

const root = mkdtempSync(join(tmpdir(), 'lt-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dbPath = (): string => join(root, `t${n++}.db`);

runStoreConformance('SqliteStore', async () => {
  const path = dbPath();
  return { store: new SqliteStore({ path }), cleanup: async () => rmSync(path, { force: true }) };
});

describe('SqliteStore', () => {
  it('uses WAL and keeps data across reopen, sharing one file between two handles', async () => {
    const path = dbPath();
    const a = new SqliteStore({ path });
    const b = new SqliteStore({ path });
    await a.append('x', makeEvents('x', 1, 3), makeInfo('x'));
    assert.equal((await b.read('x')).length, 3);
    // The second handle sees the first one's seq: a fork is a conflict, not a silent overwrite.
    await assert.rejects(b.append('x', makeEvents('x', 3, 1), makeInfo('x')), StoreConflictError);
    await b.append('x', makeEvents('x', 4, 1), makeInfo('x'));
    await a.close();
    await b.close();
    const c = new SqliteStore({ path });
    assert.deepEqual(
      (await c.read('x')).map((e) => e.seq),
      [1, 2, 3, 4],
    );
    await c.close();
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    const plan = raw
      .prepare(
        "EXPLAIN QUERY PLAN SELECT info FROM lt_traces WHERE tenant_id = 'a' ORDER BY created_at DESC, id DESC LIMIT 5",
      )
      .all() as { detail: string }[];
    assert.match(plan.map((p) => p.detail).join(' '), /USING INDEX lt_traces_tenant/);
    raw.close();
  });

  it('lets a second tracer load a trace only after the first released it, and expires a dead writer', async () => {
    const path = dbPath();
    const store1 = new SqliteStore({ path, leaseTtlMs: 300 });
    const store2 = new SqliteStore({ path, leaseTtlMs: 300 });
    const a = new Tracer({ store: store1, exitHook: false, owner: 'a' });
    const b = new Tracer({ store: store2, exitHook: false, owner: 'b' });
    const t = await a.create({ id: 'leased' });
    t.add('x');
    await t.flush();
    await assert.rejects(b.load('leased'), TraceLockedError);
    // The renewal timer keeps the lease alive well past its ttl.
    await new Promise((r) => setTimeout(r, 700));
    await assert.rejects(b.load('leased'), TraceLockedError);
    await t.release();
    const again = await b.load('leased');
    again.markComplete();
    await again.release();
    // A writer that vanished without releasing (SIGKILL: no renewals) loses the lease after its ttl.
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO lt_leases (trace_id, owner, expires_at) VALUES (?, ?, ?)')
      .run('orphan', 'ghost', Date.now() + 200);
    raw.close();
    await assert.rejects(store2.acquire('orphan', 'b'), TraceLockedError);
    const start = Date.now();
    for (;;) {
      try {
        await store2.acquire('orphan', 'b');
        break;
      } catch (err) {
        assert.ok(err instanceof TraceLockedError);
        assert.ok(Date.now() - start < 5000, 'lease never expired');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(Date.now() - start >= 150);
    await a.close();
    await b.close();
  });
});
