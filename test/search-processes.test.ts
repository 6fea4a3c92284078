// Search across processes: a writer process (test/fixtures/handover-writer.ts, a real
// Tracer on a store opened by URL) creates and fills a trace while a `livetrace serve`
// process (the real CLI) on the same store answers `q` searches; the server, whose index
// was loaded before the trace existed, finds it while it runs and once it completed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Proc } from './fixtures/processes.js';
import { PG_URL, dropSchema, pgSkip, uniqueName } from './fixtures/services.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');
const pgSkipped = await pgSkip();
const procs: Proc[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const p of procs.reverse()) await p.stop('SIGKILL');
  for (const c of cleanups) await c().catch(() => undefined);
});

/** Sends a writer command; its answer line (an `error ...` answer fails the test). */
async function send(w: Proc, cmd: string, answer: RegExp): Promise<RegExpMatchArray> {
  const n = w.lines.length;
  w.child.stdin!.write(`${cmd}\n`);
  const m = await w.line(new RegExp(`^(?:${answer.source.replace(/^\^|\$$/g, '')}|error .*)$`), 30_000, n);
  assert.doesNotMatch(m[0], /^error /, `writer answered "${cmd}" with ${m[0]}`);
  return m[0].match(answer)!;
}

/** Ids a search returns, asked until `want` holds (the writer's index records arrive within ~100 ms). */
async function searchUntil(base: string, query: string, want: (ids: string[]) => boolean): Promise<string[]> {
  let last: string[] = [];
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${base}v1/trace/traces?${query}`);
    assert.equal(res.status, 200);
    last = ((await res.json()) as { traces: { id: string }[] }).traces.map((t) => t.id);
    if (want(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`search ${query} never satisfied the condition; last answer ${JSON.stringify(last)}`);
}

const cases = [
  {
    name: 'file',
    skip: false as string | false,
    url: async (): Promise<string> => {
      const dir = await mkdtemp(join(tmpdir(), 'lt-search-bp-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return `file:${dir}`;
    },
  },
  {
    name: 'PostgreSQL',
    skip: pgSkipped,
    url: async (): Promise<string> => {
      const schema = uniqueName('lt_search_bp');
      cleanups.push(() => dropSchema(schema));
      return `${PG_URL}?schema=${schema}`;
    },
  },
];

for (const c of cases) {
  describe(`search between processes on the ${c.name} store`, { skip: c.skip, timeout: 120_000 }, () => {
    it('`livetrace serve` finds a trace another process is writing, by its words', async () => {
      const url = await c.url();
      const server = new Proc(bin, ['serve', '--store', url, '--port', '0']);
      procs.push(server);
      const base = (await server.line(/^http:\/\/\S+\/$/))[0];
      // The server has loaded its (empty) index before the trace exists.
      assert.deepEqual(await searchUntil(base, 'q=working', () => true), []);
      const writer = new Proc('./handover-writer.js', [JSON.stringify({ store: url })]);
      procs.push(writer);
      await writer.line(/^ready$/);
      const id = (await send(writer, 'create', /^created (\S+)$/))[1]!;
      await send(writer, 'steps 3', /^stepped (\d+)$/);
      // Running: its words reach the server.
      assert.deepEqual(await searchUntil(base, 'q=STEP%20working', (ids) => ids.includes(id)), [id]);
      assert.deepEqual(await searchUntil(base, 'q=working&status=running', (ids) => ids.length > 0), [id]);
      await send(writer, 'steps 1', /^stepped (\d+)$/);
      await send(writer, 'complete', /^completed (\d+)$/);
      assert.deepEqual(await searchUntil(base, 'q=working&status=completed&sort=-duration', (ids) => ids.length > 0), [
        id,
      ]);
      assert.deepEqual(await searchUntil(base, 'q=nowhere', () => true), []);
      await send(writer, 'close', /^closed$/);
      assert.equal(await writer.exited, 0);
    });
  });
}
