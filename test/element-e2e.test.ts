// livetrace/element in Debian's headless Chromium: a page on its own origin embeds two
// <livetrace-run> elements (loaded from the one bundled file dist/element.js) following two
// runs that a separate writer process advances, served by the real CLI (`livetrace serve`
// with tokens and a CORS allowlist). The server is stopped and started again mid-run: both
// elements reconnect and finish. Hostile content stays text.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Proc } from './fixtures/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env.LIVETRACE_REQUIRE_SERVICES === '1';
const skip =
  !existsSync(CHROMIUM) && !required ? `element e2e skipped: ${CHROMIUM} is missing (apt-get install chromium)` : false;
const pkgRoot = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(pkgRoot, 'test-artifacts');
const TOKEN = 'embed-token-0001';
const WAIT = { timeout: 20_000 };

/** `livetrace serve` as a user runs it; resolves with its URL (the first line it prints). */
async function serve(
  args: string[],
): Promise<{ proc: ReturnType<typeof spawn>; url: string; exited: Promise<unknown> }> {
  const proc = spawn(process.execPath, [join(pkgRoot, 'bin/livetrace.js'), 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => proc.on('exit', r));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(http:\/\/\S+)/m.exec(out);
      if (m) resolve(m[1]!.replace(/\/$/, ''));
    });
    void exited.then(() => reject(new Error(`serve exited: ${err}`)));
  });
  return { proc, url, exited };
}

describe('livetrace/element (headless Chromium)', { skip }, () => {
  let dir: string;
  let profile: string;
  let page: Page;
  let context: BrowserContext;
  let site: Server;
  let siteOrigin: string;
  let writer: Proc;
  let server: Awaited<ReturnType<typeof serve>>;
  let serverArgs: string[];
  let ids: [string, string];
  const pageErrors: string[] = [];

  before(async () => {
    if (!existsSync(join(pkgRoot, 'dist/element.js'))) {
      execFileSync(
        process.execPath,
        [
          join(pkgRoot, 'node_modules/vite/bin/vite.js'),
          'build',
          '--config',
          join(pkgRoot, 'scripts/element.vite.config.ts'),
        ],
        { cwd: pkgRoot, stdio: 'inherit' },
      );
    }
    mkdirSync(artifacts, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'livetrace-element-'));
    profile = mkdtempSync(join(tmpdir(), 'livetrace-element-chromium-'));
    const bundle = readFileSync(join(pkgRoot, 'dist/element.js'));
    assert.ok(!/^\s*import[\s{*]/m.test(bundle.toString()), 'dist/element.js is self-contained (no imports)');

    // The host page, on its own origin: the API is cross-origin, as in a real product.
    let page1 = '';
    site = createServer((req, res) => {
      if (req.url === '/element.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page1);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

    writeFileSync(join(dir, 'tokens.json'), JSON.stringify([{ token: TOKEN, tenantId: 'acme' }]));
    writer = new Proc('element-writer.js', [join(dir, 'store'), 'acme']);
    const m = await writer.line(/^ids (\S+) (\S+)$/);
    ids = [m[1]!, m[2]!];
    serverArgs = ['--dir', join(dir, 'store'), '--tokens', join(dir, 'tokens.json'), '--cors', siteOrigin];
    server = await serve([...serverArgs, '--port', '0']);

    page1 = `<!doctype html><html><head><meta charset="utf-8"><title>Embed test</title>
<style>body{font-family:sans-serif;margin:24px;display:grid;grid-template-columns:1fr 1fr;gap:16px;background:#eef1f5}</style></head>
<body>
<livetrace-run id="a" server="${server.url}" trace-id="${ids[0]}"></livetrace-run>
<livetrace-run id="b" server="${server.url}" trace-id="${ids[1]}" theme="dark"></livetrace-run>
<script type="module">
  // The token is a property, set before the element is defined (the element picks it up).
  for (const el of document.querySelectorAll('livetrace-run')) el.token = ${JSON.stringify(TOKEN)};
  await import('/element.js');
</script></body></html>`;

    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1100, height: 700 },
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      pageErrors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  });

  after(async () => {
    await context?.close();
    writer?.child.stdin?.end('exit\n');
    await writer?.exited;
    server?.proc.kill('SIGTERM');
    await server?.exited;
    await new Promise((r) => site?.close(r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  const status = (id: string) =>
    page.evaluate((i) => (document.getElementById(i) as unknown as { status: string }).status, id);
  const waitStatus = (id: string, s: string) =>
    page.waitForFunction(
      ([i, want]) => (document.getElementById(i!) as unknown as { status: string }).status === want,
      [id, s],
      WAIT,
    );

  it('follows two runs live, through a server restart, to their final answers, with hostile content inert', async () => {
    await page.goto(`${siteOrigin}/`);
    await waitStatus('a', 'live');
    await waitStatus('b', 'live');
    assert.equal(await page.evaluate(() => customElements.get('livetrace-run') !== undefined), true);
    // The token never appears as an attribute.
    assert.equal(await page.locator('livetrace-run[token]').count(), 0);

    writer.child.stdin!.write('next\n');
    await writer.line(/^phase 1$/);
    const a = page.locator('#a');
    const b = page.locator('#b');
    await a.locator('[part="step"]', { hasText: 'Understand the request' }).waitFor(WAIT);
    await a.locator('[part="parallel"]').waitFor(WAIT);
    assert.equal(await a.locator('[part="parallel"] [part="branch"]').count(), 2);
    assert.match((await a.locator('[part="parallel"] .caption').textContent()) ?? '', /2 steps, 2 running/);
    assert.equal(await a.locator('[part="step"][data-status="running"]').count(), 2);
    assert.equal(
      await a.locator('[part="step"][data-status="completed"] [part="preview"]').first().textContent(),
      'A day trip, by bike',
    );
    const hostileLabel = b.locator('[part="step"]', { hasText: '<img src=x onerror="window.__xss=2">' });
    await hostileLabel.waitFor(WAIT);
    await hostileLabel.locator('button').click(); // details: input, output, log
    await b.locator('[part="detail"] pre', { hasText: '<script>window.__xss = 1</script>' }).waitFor(WAIT);
    await b.locator('[part="detail"] pre', { hasText: '<svg onload="window.__xss=3"></svg>' }).waitFor(WAIT);
    assert.equal(await hostileLabel.locator('button').getAttribute('aria-expanded'), 'true');
    await page.screenshot({ path: join(artifacts, 'element-live.png') });

    // The server goes away while the writer keeps going; a new server process takes over.
    const port = new URL(server.url).port;
    server.proc.kill('SIGTERM');
    await server.exited;
    await waitStatus('a', 'reconnecting');
    await waitStatus('b', 'reconnecting');
    writer.child.stdin!.write('next\n');
    await writer.line(/^phase 2$/);
    server = await serve([...serverArgs, '--port', port]);
    await waitStatus('a', 'ended');
    await waitStatus('b', 'ended');

    assert.equal(await a.locator('[part="answer"]').isVisible(), true);
    assert.match(
      (await a.locator('[part="answer"]').textContent()) ?? '',
      /Ride to the Musée des Confluences; it will be sunny\./,
    );
    assert.equal(await a.locator('[part="status"]').textContent(), 'done');
    assert.equal(await a.locator('[part="step"][data-status="completed"]').count(), 4);
    assert.match(
      (await b.locator('[part="answer"]').textContent()) ?? '',
      /<b onmouseover="window.__xss=5">bold<\/b> answer/,
    );
    // Nothing from the trace became markup: no element but the element's own kinds.
    const tags = await page.evaluate(() => {
      const seen = new Set<string>();
      for (const el of Array.from(document.querySelectorAll('livetrace-run')))
        for (const n of Array.from(el.shadowRoot!.querySelectorAll('*'))) seen.add(n.tagName.toLowerCase());
      return [...seen].sort();
    });
    for (const t of ['img', 'script', 'svg', 'iframe', 'b'])
      assert.ok(!tags.includes(t), `a <${t}> from trace content reached the DOM`);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const stats = await page.evaluate(
      () =>
        (
          document.getElementById('a') as unknown as {
            trace: { stats: { reconnects: number; gaps: number }; state: { last_seq: number } };
          }
        ).trace,
    );
    assert.ok(stats.stats.reconnects >= 1);
    assert.deepEqual(pageErrors, []);

    // Keyboard: focus moves to a step button and Enter opens its details.
    const firstStep = a.locator('[part="step-button"]').first();
    await firstStep.focus();
    await page.keyboard.press('Enter');
    assert.equal(await firstStep.getAttribute('aria-expanded'), 'true');
    await page.screenshot({ path: join(artifacts, 'element-ended.png') });
    if (process.env.LIVETRACE_UPDATE_DOCS_IMAGES === '1')
      copyFileSync(join(artifacts, 'element-ended.png'), join(pkgRoot, 'docs/images/element.png'));
    assert.equal(await status('a'), 'ended');
  });
});
