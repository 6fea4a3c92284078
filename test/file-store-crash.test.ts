// Crash safety: a child process writing traces is SIGKILLed at random moments (30 times,
// into the same folder). After every kill the store must hold, for each trace, a gapless
// prefix of its events containing every event whose flush() had resolved; a torn last line
// is cut, and the next run resumes traces left running with the right seq.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { reduceEvents } from '../src/core/reducer.js';
import type { TraceInfo } from '../src/core/types.js';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';

const CHILD = fileURLToPath(new URL('./fixtures/file-store-crash-child.js', import.meta.url));
const KILLS = 30;

interface RunResult {
  flushed: Map<string, number>;
  resumed: Map<string, number>;
  torn: number;
  errors: string[];
}

function runAndKill(dir: string, run: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const res: RunResult = { flushed: new Map(), resumed: new Map(), torn: 0, errors: [] };
    let buf = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const onLine = (line: string): void => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'F') res.flushed.set(a!, Math.max(res.flushed.get(a!) ?? 0, Number(b)));
      else if (kind === 'R') res.resumed.set(a!, Number(b));
      else if (kind === 'W' && a === 'LT_WARN_TORN_LINE') res.torn++;
      else if (kind === 'E') res.errors.push(line);
      // Kill at a random moment once the child is writing.
      if (kind === 'F' && killTimer === undefined)
        killTimer = setTimeout(() => child.kill('SIGKILL'), Math.random() * 60);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr.on('data', (c) => (stderr += String(c)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (code ${code}): ${stderr}`));
      else resolve(res);
    });
  });
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test(
  `every flushed event survives ${KILLS} SIGKILLs; logs stay gapless and resumable`,
  { timeout: 240_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-crash-'));
    dirs.push(dir);
    const flushedAll = new Map<string, number>();
    let torn = 0;
    let resumedCount = 0;
    for (let run = 0; run < KILLS; run++) {
      const res = await runAndKill(dir, run);
      assert.deepEqual(res.errors, [], `run ${run}: no store error in the child`);
      torn += res.torn;
      for (const [id, seq] of res.resumed) {
        resumedCount++;
        // A resumed trace continues from a seq that covers everything flushed before.
        assert.ok(
          seq >= (flushedAll.get(id) ?? 0),
          `run ${run}: ${id} resumed at ${seq}, below flushed ${flushedAll.get(id)}`,
        );
      }
      for (const [id, seq] of res.flushed) flushedAll.set(id, Math.max(flushedAll.get(id) ?? 0, seq));

      const store = new FileStore({ dir, onWarning: () => torn++ });
      try {
        for (const [id, seq] of flushedAll) {
          const events = await store.read(id);
          assert.ok(events.length >= seq, `run ${run}: trace ${id} has ${events.length} events, ${seq} were flushed`);
          events.forEach((e, i) => {
            assert.equal(e.seq, i + 1, `run ${run}: trace ${id} gapless`);
            assert.equal(e.trace_id, id);
          });
          const state = reduceEvents(id, events);
          assert.equal(state.last_seq, events.length);
          assert.ok(state.nodes.size >= 1);
        }
        // Every trace the index lists is readable and gapless too.
        let cursor: string | undefined;
        const listed: TraceInfo[] = [];
        do {
          const page = await store.list({ tenantId: 'crash', limit: 200, cursor });
          listed.push(...page.traces);
          cursor = page.nextCursor;
        } while (cursor);
        for (const id of flushedAll.keys())
          assert.ok(
            listed.some((t) => t.id === id),
            `run ${run}: ${id} listed`,
          );
      } finally {
        await store.close();
      }
    }
    assert.ok(flushedAll.size >= KILLS, `traces written: ${flushedAll.size}`);
    assert.ok(resumedCount > 0, 'later runs resumed traces left running');

    // Finally every trace left running loads, continues its seq and completes.
    const tracer = new Tracer({ store: new FileStore({ dir, onWarning: () => torn++ }), exitHook: false });
    const running = await tracer.list({ status: 'running', tenantId: 'crash', limit: 1000 });
    for (const info of running.traces) {
      const t = await tracer.load(info.id);
      const before = t.lastSeq;
      t.add('after crash', { label: 'final' });
      t.markComplete();
      await t.release();
      const events = await tracer.store.read(info.id);
      assert.ok(events.length > before);
      events.forEach((e, i) => assert.equal(e.seq, i + 1));
      assert.equal((await tracer.info(info.id))?.status, 'completed');
    }
    await tracer.close();
    process.stdout.write(
      `# crash test: ${KILLS} kills, ${flushedAll.size} traces, ${resumedCount} resumed, ${torn} torn lines cut\n`,
    );
  },
);
