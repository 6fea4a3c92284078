// Terminal injection (issue 10): a trace's content comes from the traced program, an LLM
// or a user. The real CLI binary must print it with every control character escaped, so a
// trace can neither retitle the terminal, clear the screen nor forge lines with CR/LF.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileStore } from '../src/store/file-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import { startTestServer, type TestServer } from './server-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/livetrace.js');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, LIVETRACE_STORE: '', LIVETRACE_HUB: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// Set the window title, clear the screen, hide the cursor, ring the bell, an 8-bit CSI,
// a bidi override and a forged line after CR/LF.
const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J\x1b[H';
const FORGE = '\r\n✔ completed  FORGED LINE';
const HOSTILE = `${TITLE}${CLEAR}evil\x1b[?25l\x9b31m\u202egnp.exe\u2028${FORGE}`;

/** Every character the terminal could act on, except the newlines the CLI prints itself. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function assertTerminalSafe(out: string, what: string): void {
  const m = CONTROL.exec(out);
  assert.equal(
    m,
    null,
    `${what}: raw control character U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m?.index}: ${JSON.stringify(out.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))}`,
  );
  assert.doesNotMatch(out, /^✔ completed {2}FORGED LINE/m, `${what}: a forged line starts a line`);
}

describe('CLI output escapes control characters from trace content', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let id: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-cli-term-'));
    env = { LIVETRACE_DIR: dir };
    const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
    const t = await tracer.create({ agentName: `agent ${HOSTILE}`, metadata: { [`k${HOSTILE}`]: HOSTILE } });
    const root = t.add({ prompt: HOSTILE }, { label: `label ${HOSTILE}`, icon: '\x1b[5m', description: HOSTILE });
    root.info(`log ${HOSTILE}`, { data: HOSTILE });
    root.warn(HOSTILE);
    const child = root.add(HOSTILE, { label: `child ${HOSTILE}` });
    child.setOutput(HOSTILE);
    const err = new Error(`error ${HOSTILE}`);
    err.name = `Name${TITLE}`;
    child.fail(err);
    const sp = t.createSpace({ id: 'memory', label: `space ${HOSTILE}` });
    sp.set(`key ${HOSTILE}`, HOSTILE, { title: HOSTILE });
    t.markCancelled(`reason ${HOSTILE}`);
    id = t.id;
    await t.release();
    await tracer.close();
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('show --logs prints the tree with every control character escaped', async () => {
    const r = await run(['show', id, '--logs'], env);
    assert.equal(r.code, 0, r.stderr);
    assertTerminalSafe(r.stdout, 'show');
    // Escaped, not dropped: the content is still readable.
    assert.match(r.stdout, /label \\e\]0;pwned\\x07\\e\[2J\\e\[Hevil/);
    assert.match(r.stdout, /\\r\\n✔ completed {2}FORGED LINE/);
    assert.match(r.stdout, /\\x9b31m\\u202egnp\.exe\\u2028/);
    assert.match(r.stdout, /error \\e\]0;pwned/);
    assert.match(r.stdout, /reason: reason \\e/);
  });

  it('tail prints each event line escaped', async () => {
    const r = await run(['tail', id], env);
    assert.equal(r.code, 0, r.stderr);
    assertTerminalSafe(r.stdout, 'tail');
    assert.match(r.stdout, /log \\e\]0;pwned/);
    assert.match(r.stdout, /agent \\e\]0;pwned/);
  });

  it('ls prints the table escaped', async () => {
    const r = await run(['ls'], env);
    assert.equal(r.code, 0, r.stderr);
    assertTerminalSafe(r.stdout, 'ls');
    assert.match(r.stdout, new RegExp(`^${id}\\s`, 'm'));
  });

  for (const args of [['show', '--json'], ['tail', '--json'], ['ls', '--json'], ['export']] as const) {
    it(`${args.join(' ')} prints JSON that is terminal-safe and parses to the exact content`, async () => {
      const r = await run(args[0] === 'ls' ? [...args] : [args[0], id, ...args.slice(1)], env);
      assert.equal(r.code, 0, r.stderr);
      assertTerminalSafe(r.stdout, args.join(' '));
      const docs =
        args[0] === 'tail'
          ? r.stdout
              .trim()
              .split('\n')
              .map((l): unknown => JSON.parse(l))
          : [JSON.parse(r.stdout)];
      const text = JSON.stringify(docs);
      assert.ok(
        text.includes(JSON.stringify(`agent ${HOSTILE}`).slice(1, -1)),
        'the hostile string survives intact in the data',
      );
    });
  }

  it('tail --server (SSE from a server) escapes as well', async () => {
    let s: TestServer | undefined;
    const tracer = new Tracer({ store: new FileStore({ dir }), exitHook: false });
    try {
      s = await startTestServer({ tracer });
      const r = await run(['tail', id, '--server', s.origin], env);
      assert.equal(r.code, 0, r.stderr);
      assertTerminalSafe(r.stdout, 'tail --server');
      assert.match(r.stdout, /log \\e\]0;pwned/);
    } finally {
      await s?.close();
      await tracer.close();
    }
  });
});
