// A huge trace exports in constant memory, on the real path: a `livetrace serve` process
// started with a 32 MB heap streams the export of a ~96 MB file-store log over HTTP, and the
// real CLI (`livetrace export`, 32 MB heap too) writes it to a file or stdout, from the store
// or from the server. The export must be complete and byte-correct (the events part is
// exactly the log's lines joined by commas), and each process's peak RSS must grow by far
// less than the log's size. Before ranged reads, each export page read the whole log; before
// the CLI streamed, it built the whole document: out of memory either way.
// The big log comes from test/fixtures/big-trace.ts (written straight to disk).
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createStoreFromUrl } from '../src/store/from-url.js';
import { EXPORT_PAGE_SIZE, toExport } from '../src/server/export-trace.js';
import { jsonForTerminal } from '../src/cli/output.js';
import { PG_URL, dropSchema, pgSkip, uniqueName } from './fixtures/services.js';
import { LOG_BYTES, peakRss, readExport, writeBigTrace, type BigLog } from './fixtures/big-trace.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');

const cleanup: (() => Promise<unknown>)[] = [];
after(() => Promise.all(cleanup.map((f) => f())));

test('a `livetrace serve` process with a 32 MB heap exports a ~96 MB file-store log completely, in constant memory', async () => {
  const { dir, big, small } = await fixture();

  const child = spawn(process.execPath, ['--max-old-space-size=32', bin, 'serve', '--dir', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const [first] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(([code]) => assert.fail(`serve exited with ${String(code)} before listening: ${stderr}`)),
  ])) as [string];
  const api = `${first.trim().replace(/\/$/, '')}/v1/trace`;

  const warm = await fetch(`${api}/traces/${small.id}/export`);
  assert.equal(warm.status, 200);
  assert.equal(((await warm.json()) as { events: unknown[] }).events.length, small.lastSeq);
  const info = (await (await fetch(`${api}/traces/${big.id}/info`)).json()) as { last_seq: number };
  assert.equal(info.last_seq, big.lastSeq);
  const before = await peakRss(child.pid!);

  // The export, streamed: the prefix up to `"events":[` holds the snapshot; everything
  // after it, but the closing `]}`, is hashed and must equal the log's lines joined by commas.
  const res = await fetch(`${api}/traces/${big.id}/export`);
  assert.equal(res.status, 200, stderr);
  const { snapshot, eventsHash, total } = await readExport(res.body as unknown as AsyncIterable<Uint8Array>);
  const after = await peakRss(child.pid!);

  assert.equal(snapshot.last_seq, big.lastSeq);
  assert.equal(snapshot.events_count, big.lastSeq);
  assert.equal(snapshot.info.status, 'completed');
  assert.equal(eventsHash, big.eventsHash, 'the events are the log, complete and byte for byte, then `]}`');
  assert.ok(total > big.bytes, `${total} bytes exported`);
  const grew = after - before;
  console.log(
    `export of a ${(big.bytes / 2 ** 20).toFixed(1)} MB log (${big.lastSeq} events): server peak RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MB (+${(grew / 2 ** 20).toFixed(1)} MB)`,
  );
  assert.ok(grew < big.bytes / 3, `peak RSS grew by ${grew} bytes for a ${big.bytes}-byte log`);

  // Still serving.
  const again = await fetch(`${api}/traces/${big.id}/info`);
  assert.equal(again.status, 200);
  assert.equal(child.exitCode, null, stderr);

  // `livetrace export --server`, with a 32 MB heap too: passes the server's stream on to the file.
  const out = join(dir, 'via-server.json');
  const base = await cliPeak(['export', small.id, '--server', first.trim(), '-o', join(dir, 'small.json')]);
  const cli = await cliPeak(['export', big.id, '--server', first.trim(), '-o', out]);
  await checkCliFile(out, big);
  reportCli('export --server -o', big, base, cli);
});

test("`livetrace export <id> --dir -o <file>` with a 32 MB heap writes a ~96 MB log's export completely, in constant memory", async () => {
  const { dir, big, small } = await fixture();
  const out = join(dir, 'export.json');
  const base = await cliPeak(['export', small.id, '--dir', dir, '-o', join(dir, 'small.json')]);
  const cli = await cliPeak(['export', big.id, '--dir', dir, '-o', out]);
  await checkCliFile(out, big);
  reportCli('export --dir -o', big, base, cli);
});

test('`livetrace export <id> --store file:<dir>` to stdout (a pipe) with a 32 MB heap streams the whole export, in constant memory', async () => {
  const { dir, big, small } = await fixture();
  const base = await cliPeak(['export', small.id, '--store', `file:${dir}`]);
  let read: Promise<Awaited<ReturnType<typeof readExport>>> | undefined;
  const cli = await cliPeak(['export', big.id, '--store', `file:${dir}`], (stdout) => {
    read = readExport(stdout);
    read.catch(() => undefined); // awaited below
  });
  const { snapshot, eventsHash, total } = await read!;
  assert.equal(snapshot.last_seq, big.lastSeq);
  assert.equal(snapshot.info.status, 'completed');
  assert.equal(eventsHash, big.eventsHashNewline, 'stdout is the document, complete, then a newline');
  assert.ok(total > big.bytes, `${total} bytes exported`);
  reportCli('export to stdout', big, base, cli);
});

async function checkCliFile(file: string, big: BigLog): Promise<void> {
  const { snapshot, eventsHash, total } = await readExport(createReadStream(file));
  assert.equal(snapshot.last_seq, big.lastSeq);
  assert.equal(snapshot.events_count, big.lastSeq);
  assert.equal(snapshot.info.status, 'completed');
  assert.equal(
    eventsHash,
    big.eventsHashNewline,
    'the file is the document, complete and byte for byte, then a newline',
  );
  assert.ok(total > big.bytes, `${total} bytes written`);
}

/** The CLI's peak RSS for the big export must exceed its peak for a tiny one by far less than the log. */
function reportCli(what: string, big: BigLog, base: number, peak: number): void {
  const grew = peak - base;
  console.log(
    `CLI ${what} of a ${(big.bytes / 2 ** 20).toFixed(1)} MB log: peak RSS ${(peak / 2 ** 20).toFixed(1)} MB (a tiny export: ${(base / 2 ** 20).toFixed(1)} MB, +${(grew / 2 ** 20).toFixed(1)} MB)`,
  );
  assert.ok(grew < big.bytes / 3, `CLI peak RSS grew by ${grew} bytes for a ${big.bytes}-byte log`);
}

const TIME = '/usr/bin/time';

/**
 * Runs `node --max-old-space-size=32 bin/livetrace.js <args>`, which must exit 0, and returns its
 * peak RSS in bytes: the kernel's exact figure through GNU time where installed, else VmHWM
 * polled while it runs. `onStdout` gets stdout as a stream (else it is drained).
 */
async function cliPeak(args: string[], onStdout?: (stdout: AsyncIterable<Uint8Array>) => void): Promise<number> {
  const node = [process.execPath, '--max-old-space-size=32', bin, ...args];
  const timed = existsSync(TIME);
  const timeFile = join(await tmpDir(), `time-${++runs}`);
  const [cmd, ...rest] = timed ? [TIME, '-f', '%M', '-o', timeFile, ...node] : node;
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (onStdout) onStdout(child.stdout);
  else child.stdout.resume();
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  let polled = 0;
  if (!timed) {
    const poll = setInterval(() => {
      peakRss(child.pid!).then(
        (rss) => (polled = Math.max(polled, rss)),
        () => undefined,
      );
    }, 5);
    void exited.finally(() => clearInterval(poll));
  }
  const [code] = await exited;
  assert.equal(code, 0, `livetrace ${args.join(' ')}: ${stderr}`);
  return timed ? Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop()) * 1024 : polled;
}

let runs = 0;
let scratch: Promise<string> | undefined;
function tmpDir(): Promise<string> {
  return (scratch ??= mkdtemp(join(tmpdir(), 'lt-export-time-')).then((d) => {
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    return d;
  }));
}

interface Fixture {
  dir: string;
  big: BigLog;
  small: { id: string; lastSeq: number };
}

let made: Promise<Fixture> | undefined;
/** One ~96 MB trace and one tiny trace (to warm up / take a baseline), shared by the tests. */
function fixture(): Promise<Fixture> {
  return (made ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lt-export-mem-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const big = await writeBigTrace(dir);
    assert.ok(big.bytes >= LOG_BYTES, `log is ${big.bytes} bytes`);
    const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
    const small = await tracer.create({ agentName: 'small' });
    small.add('x', { label: 'x' }).complete('y');
    small.markComplete();
    await small.release();
    await tracer.close();
    return { dir, big, small: { id: small.id, lastSeq: small.lastSeq } };
  })());
}

// Every store, through the real CLI: pages of events spanning several export pages come out
// complete, in order, and byte for byte in the export format (the document `toExport` builds,
// serialized whole, as the CLI wrote before it streamed), to a file and to stdout alike.
const pgSkipped = await pgSkip();
for (const kind of ['sqlite', 'postgres'] as const) {
  test(
    `\`livetrace export --store ${kind}\` streams a multi-page log in the export format, to a file and to stdout`,
    { skip: kind === 'postgres' ? pgSkipped : false },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), `lt-export-${kind}-`));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      let url = `sqlite:${join(dir, 'traces.db')}`;
      if (kind === 'postgres') {
        const schema = uniqueName('lt_export');
        cleanup.push(() => dropSchema(schema));
        url = `${PG_URL}?schema=${schema}`;
      }
      const tracer = new Tracer({ store: await createStoreFromUrl(url), exitHook: false });
      try {
        const t = await tracer.create({ agentName: 'paged' });
        // Over two export pages of events, with text a terminal must not see raw.
        for (let i = 0; i < EXPORT_PAGE_SIZE; i++) t.add({ i, note: 'bidi \u202e and \u0085' }).complete(i);
        t.markComplete();
        await t.release();
        const events = await tracer.events(t.id);
        assert.ok(events.length > 2 * EXPORT_PAGE_SIZE, `${events.length} events`);
        const snapshot = await tracer.read(t.id);

        const file = join(dir, 'export.json');
        const toFile = await runCli(['export', t.id, '--store', url, '-o', file]);
        assert.equal(toFile.code, 0, toFile.stderr);
        const text = await readFile(file, 'utf8');
        const doc = JSON.parse(text) as { exported_at: number };
        assert.equal(text, JSON.stringify({ ...toExport(snapshot!, events), exported_at: doc.exported_at }) + '\n');

        const toStdout = await runCli(['export', t.id, '--store', url]);
        assert.equal(toStdout.code, 0, toStdout.stderr);
        const shown = JSON.parse(toStdout.stdout) as { exported_at: number };
        assert.equal(
          toStdout.stdout,
          jsonForTerminal(JSON.stringify({ ...toExport(snapshot!, events), exported_at: shown.exported_at })) + '\n',
        );
        assert.doesNotMatch(toStdout.stdout, /[\u202e\u0085]/, 'stdout escapes what a terminal must not see raw');
      } finally {
        await tracer.close();
      }
    },
  );
}

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
