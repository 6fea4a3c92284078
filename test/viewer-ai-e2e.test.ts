// End-to-end, AI-native views (issue 12): node kinds and usage chips, trace totals, kind and
// model filters, the conversation of an LLM node (markdown rendered safely, tool calls with
// results, streamed text growing live), list totals and sorting, server-side search, the
// session page and the comparison of two runs. The built viewer in Debian's headless
// Chromium (playwright-core) against the real server; runs are recorded by a real Tracer
// step by step, so every assertion waits for a known state. Screenshots: test-artifacts/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/server/index.js';
import type { Trace } from '../src/tracer/trace.js';
import type { TraceInfo } from '../src/core/types.js';
import { generateText, stepCountIs, tool } from 'ai7';
import { MockLanguageModelV4 } from 'ai7/test';
import { z } from 'zod';
import { livetraceTelemetry } from '../src/integrations/ai-sdk.js';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env.LIVETRACE_REQUIRE_SERVICES === '1';
const haveChromium = existsSync(CHROMIUM);
const skip =
  !haveChromium && !required ? `viewer AI e2e skipped: ${CHROMIUM} is missing (apt-get install chromium)` : false;

const pkgRoot = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(pkgRoot, 'test-artifacts');
const WAIT = { timeout: 15_000 };

const HOSTILE_SCRIPT = '<script>window.__xss = 1</script>';
const HOSTILE_IMG = '<img src=x onerror="window.__xss = 2">';
const HOSTILE_LINK = '[click me](javascript:window.__xss=3)';
const HOSTILE_DATA_LINK = '[data link](data:text/html,<script>window.__xss=4</script>)';
const HOSTILE_IMAGE_MD = '![tracker](https://example.com/pixel.png)';

describe('viewer AI views end-to-end (headless Chromium)', { skip }, () => {
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let dataDir: string;
  let profileDir: string;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const requests: string[] = [];

  before(async () => {
    assert.ok(haveChromium, `${CHROMIUM} is required (LIVETRACE_REQUIRE_SERVICES=1)`);
    if (!existsSync(join(pkgRoot, 'viewer-dist', 'index.html'))) {
      execFileSync(
        process.execPath,
        [
          join(pkgRoot, 'node_modules/vite/bin/vite.js'),
          'build',
          '--config',
          join(pkgRoot, 'viewer/vite.config.ts'),
          '--logLevel',
          'warn',
        ],
        { cwd: pkgRoot, stdio: 'inherit' },
      );
    }
    mkdirSync(artifacts, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'livetrace-ai-e2e-data-'));
    profileDir = mkdtempSync(join(tmpdir(), 'livetrace-ai-e2e-chromium-'));
    server = await startServer({ port: 0, host: '127.0.0.1', dir: dataDir });
    context = await chromium.launchPersistentContext(profileDir, {
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
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  const card = (id: string, status?: string) =>
    `.card[data-node-id="${id}"]${status ? `[data-status="${status}"]` : ''}`;
  const xss = () => page.evaluate(() => (window as unknown as { __xss?: number }).__xss);

  it('LLM node: kind icons, usage chips, totals, filters, conversation with tool calls, live streamed text, hostile content inert', async () => {
    const tracer = server.tracer;
    const trace = await tracer.create({ agentName: 'weather-agent', sessionId: 'conv-e2e', userId: 'user-7' });
    const agent = trace.add({ question: 'weather in Paris?' }, { label: 'Weather agent', kind: 'agent' });
    const llm1 = agent.add(
      {
        messages: [
          { role: 'system', content: `You are **helpful**. ${HOSTILE_SCRIPT}` },
          {
            role: 'user',
            content: `Weather in Paris? ${HOSTILE_IMG} ${HOSTILE_LINK} ${HOSTILE_DATA_LINK} ${HOSTILE_IMAGE_MD} see [the docs](https://example.com/docs)`,
          },
        ],
      },
      { label: 'chat #1', kind: 'llm', autoCompleteParent: false },
    );
    llm1.setUsage({ model: 'gpt-4o-mini', provider: 'openai', inputTokens: 1200, outputTokens: 80 });
    llm1.complete({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const tool = agent.add(
      { city: 'Paris' },
      { label: 'get_weather', kind: 'tool', metadata: { tool_call_id: 'call_1' }, autoCompleteParent: false },
    );
    tool.complete({ temp_c: 21, sky: 'sunny' });
    const llm2 = agent.add(
      {
        messages: [
          { role: 'system', content: 'You are **helpful**.' },
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c":21,"sky":"sunny"}' },
        ],
      },
      { label: 'chat #2', kind: 'llm', autoCompleteParent: false },
    );

    await page.goto(`${server.url}#/traces/${trace.id}?node=${llm1.id}`);
    // Card: kind icon, model, tokens (and cost when the model has a price).
    await page.waitForSelector(`${card(llm1.id, 'completed')}[data-kind="llm"] .kind-icon.k-llm`, WAIT);
    assert.equal(await page.textContent(`${card(llm1.id)} .uchip.model`), 'gpt-4o-mini');
    assert.equal(await page.textContent(`${card(llm1.id)} .uchip.tok`), '1.28k tok');
    await page.waitForSelector(`${card(tool.id)}[data-kind="tool"] .kind-icon.k-tool`, WAIT);
    await page.waitForSelector(`${card(agent.id)}[data-kind="agent"] .kind-icon.k-agent`, WAIT);
    // The agent shows its subtree's total.
    assert.match((await page.textContent(`${card(agent.id)} .uchip.tok`)) ?? '', /Σ 1\.28k tok/);

    // Header totals, from the reducer's rollup.
    await page.waitForSelector('[data-testid="trace-tokens"]:has-text("1.28k")', WAIT);
    // Two LLM nodes (the second one is still running), one tool call.
    assert.equal(await page.textContent('[data-testid="trace-llm-calls"]'), '2');
    assert.equal(await page.textContent('[data-testid="trace-tool-calls"]'), '1');
    await page.waitForSelector('[data-testid="session-link"]:has-text("conv-e2e")', WAIT);

    // The conversation of the first call: roles, markdown, tool call with its result.
    const conv = '.details [data-testid="conversation"]';
    await page.waitForSelector(`${conv} .msg[data-role="system"] strong:has-text("helpful")`, WAIT);
    await page.waitForSelector(`${conv} .msg[data-role="user"]`, WAIT);
    await page.waitForSelector(
      `${conv} .tool-call[data-tool-call-id="call_1"] .tool-name:has-text("get_weather")`,
      WAIT,
    );
    assert.match((await page.textContent(`${conv} .tool-call[data-tool-call-id="call_1"] .tool-args`)) ?? '', /Paris/);
    // Its result comes from the tool node carrying the call id.
    assert.match(
      (await page.textContent(`${conv} .tool-call[data-tool-call-id="call_1"] [data-testid="tool-result"]`)) ?? '',
      /sunny/,
    );

    // Hostile content: shown literally, no element comes out of it, nothing runs, no request.
    const systemText = (await page.textContent(`${conv} .msg[data-role="system"]`)) ?? '';
    assert.ok(systemText.includes(HOSTILE_SCRIPT), systemText);
    const userText = (await page.textContent(`${conv} .msg[data-role="user"]`)) ?? '';
    assert.ok(userText.includes(HOSTILE_IMG), userText);
    assert.equal(await page.locator(`${conv} script`).count(), 0);
    assert.equal(await page.locator(`${conv} img`).count(), 0);
    assert.equal(await page.locator(`${conv} iframe, ${conv} object, ${conv} embed`).count(), 0);
    assert.equal(await page.locator('a[href^="javascript:" i], a[href^="data:" i]').count(), 0);
    assert.equal(await page.locator(`${conv} .md-unsafe-link:has-text("click me")`).count(), 1);
    assert.equal(await page.locator(`${conv} .md-unsafe-link:has-text("data link")`).count(), 1);
    const docs = page.locator(`${conv} a:has-text("the docs")`);
    assert.equal(await docs.getAttribute('href'), 'https://example.com/docs');
    assert.match((await docs.getAttribute('rel')) ?? '', /noopener/);
    // Every attribute of every element in the conversation: no event handler, no script URL.
    const bad = await page.$$eval(`${conv} *`, (els) =>
      els.flatMap((e) =>
        Array.from(e.attributes)
          .filter((a) => /^on/i.test(a.name) || /^\s*(javascript|data):/i.test(a.value))
          .map((a) => `${e.tagName} ${a.name}=${a.value}`),
      ),
    );
    assert.deepEqual(bad, []);
    assert.equal(requests.filter((u) => u.includes('example.com')).length, 0, 'no request to URLs from trace data');
    await page.screenshot({ path: join(artifacts, 'viewer-ai-conversation-hostile.png') });

    // The second call streams: its text grows live while it runs.
    await page.click(card(llm2.id));
    await page.waitForSelector(`.details[data-node-id="${llm2.id}"] .msg[data-role="tool"]:has-text("sunny")`, WAIT);
    await page.waitForSelector(`.details .msg.streaming[data-from="stream"]`, WAIT);
    llm2.info('It is **21 °C**', { delta: true });
    await page.waitForSelector('.details .msg.streaming strong:has-text("21 °C")', WAIT);
    llm2.info(` and sunny ${HOSTILE_IMG}`, { delta: true });
    await page.waitForSelector('.details .msg.streaming:has-text("and sunny")', WAIT);
    assert.equal(await page.locator('.details .msg.streaming img').count(), 0);
    await page.locator('.details .msg.streaming').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'viewer-ai-streaming.png') });
    llm2.setUsage({ model: 'claude-sonnet-4', provider: 'anthropic', inputTokens: 1500, outputTokens: 40 });
    llm2.complete({ role: 'assistant', content: 'It is **21 °C** and sunny in Paris.' });
    await page.waitForSelector('.details .msg[data-from="output"] strong:has-text("21 °C")', WAIT);
    assert.equal(await page.locator('.details .msg.streaming').count(), 0);
    await page.waitForSelector('[data-testid="trace-tokens"]:has-text("2.82k")', WAIT);
    assert.equal(await page.textContent('[data-testid="trace-llm-calls"]'), '2');
    assert.equal(await page.textContent('[data-testid="node-model"]'), 'claude-sonnet-4 · anthropic');
    agent.complete({ answer: 'sunny' });
    trace.markComplete();
    await page.waitForSelector('[data-testid="trace-status"]:has-text("completed")', WAIT);
    await page.locator('.details .msg[data-from="output"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'viewer-ai-conversation.png') });

    // Filters: by kind (chips) and by model.
    await page.click('.kind-chip[data-kind="llm"]');
    await page.waitForSelector(card(tool.id), { state: 'detached', ...WAIT });
    assert.ok(await page.locator(card(llm1.id)).count());
    assert.ok(await page.locator(card(llm2.id)).count());
    await page.click('.kind-chip[data-kind="llm"]');
    await page.waitForSelector(card(tool.id), WAIT);
    await page.selectOption('select[aria-label="Filter by model"]', 'claude-sonnet-4');
    await page.waitForSelector(card(llm1.id), { state: 'detached', ...WAIT });
    assert.ok(await page.locator(card(llm2.id)).count());
    await page.screenshot({ path: join(artifacts, 'viewer-ai-filter-model.png') });
    await page.selectOption('select[aria-label="Filter by model"]', '');
    await page.waitForSelector(card(llm1.id), WAIT);

    assert.equal(await xss(), undefined);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);
  });

  it('a conversation recorded by the real AI SDK 7 integration: tool calls with results, failed tool, final text', async () => {
    const usage = (input: number, output: number) => ({
      inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: output, reasoning: undefined },
    });
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            { type: 'tool-call', toolCallId: 'w1', toolName: 'weather', input: JSON.stringify({ city: 'Paris' }) },
            { type: 'tool-call', toolCallId: 'b1', toolName: 'broken', input: JSON.stringify({}) },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: usage(10, 7),
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'It is **sunny** in Paris. <img src=x onerror="window.__xss = 5">' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: usage(30, 9),
          warnings: [],
        },
      ],
    });
    const telemetry = livetraceTelemetry({ tracer: server.tracer });
    await generateText({
      model,
      system: 'You are a weather bot.',
      prompt: 'Weather in Paris?',
      stopWhen: stepCountIs(3),
      tools: {
        weather: tool({
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, sky: 'sunny' }),
        }),
        broken: tool({
          inputSchema: z.object({}),
          execute: async (): Promise<string> => {
            throw new Error('tool exploded');
          },
        }),
      },
      telemetry: { integrations: [telemetry], functionId: 'sdk-weather' },
    });
    await telemetry.flush();
    const { traces } = await server.tracer.list({ limit: 50 });
    const info = traces.find((t) => t.label === 'sdk-weather' || t.agent_name === 'sdk-weather');
    assert.ok(info, 'the AI SDK run is listed');
    const snap = (await server.tracer.read(info.id))!;
    const llms = snap.nodes.filter((n) => n.kind === 'llm');
    assert.equal(llms.length, 2);

    // First call: its output asks for two tools; their results come from the tool nodes.
    await page.goto(`${server.url}#/traces/${info.id}?node=${llms[0]!.id}`);
    const conv = `.details[data-node-id="${llms[0]!.id}"] [data-testid="conversation"]`;
    await page.waitForSelector(`${conv} .msg[data-role="user"]:has-text("Weather in Paris?")`, WAIT);
    await page.waitForSelector(`${conv} .msg[data-role="system"]:has-text("weather bot")`, WAIT);
    assert.match(
      (await page.textContent(`${conv} .tool-call[data-tool-call-id="w1"] [data-testid="tool-result"]`)) ?? '',
      /sunny/,
    );
    const broken = page.locator(`${conv} .tool-call[data-tool-call-id="b1"] [data-testid="tool-result"]`);
    assert.match((await broken.textContent()) ?? '', /tool exploded/);
    assert.match((await broken.getAttribute('class')) ?? '', /failed/);

    // Second call: the tool round trip as input messages, then the final text as markdown.
    await page.click(`.card[data-node-id="${llms[1]!.id}"]`);
    const conv2 = `.details[data-node-id="${llms[1]!.id}"] [data-testid="conversation"]`;
    await page.waitForSelector(`${conv2} .msg[data-from="output"] strong:has-text("sunny")`, WAIT);
    await page.waitForSelector(`${conv2} .msg[data-role="tool"]:has-text("sunny")`, WAIT);
    assert.equal(await page.locator(`${conv2} img`).count(), 0);
    assert.equal(await page.textContent('[data-testid="trace-tokens"]').then((t) => t?.split(' ')[0]), '56');
    assert.equal(await xss(), undefined);
    await page.screenshot({ path: join(artifacts, 'viewer-ai-sdk-conversation.png') });
    assert.deepEqual(pageErrors, []);
  });

  /** A finished run with two LLM calls of the given sizes, in a session. */
  async function run(label: string, sessionId: string, tokens: [number, number], words: string, fail = false) {
    const trace = await server.tracer.create({ agentName: 'support-bot', sessionId, userId: 'user-9' });
    const root = trace.add({ question: words }, { label, kind: 'agent' });
    const a = root.add(
      { messages: [{ role: 'user', content: words }] },
      { label: 'draft', kind: 'llm', autoCompleteParent: false },
    );
    a.setUsage({ model: 'gpt-4o-mini', inputTokens: tokens[0], outputTokens: 10 });
    a.complete('draft answer');
    const b = root.add(
      { messages: [{ role: 'user', content: 'refine' }] },
      { label: 'refine', kind: 'llm', autoCompleteParent: false },
    );
    b.setUsage({ model: 'gpt-4o-mini', inputTokens: tokens[1], outputTokens: 10 });
    if (fail) b.fail(new Error('rate limited'));
    else b.complete('final answer');
    root.complete();
    if (fail) trace.markFailed(new Error('rate limited'));
    else trace.markComplete();
    return trace;
  }

  let turns: { session: string; t1: Trace; t2: Trace; t3: Trace } | undefined;

  it('list: token and cost columns per trace', async () => {
    const session = `sess-${Date.now()}`;
    const t1 = await run('turn one', session, [100, 200], 'hello there');
    const t2 = await run('turn two', session, [5000, 1000], 'what about zanzibar weather', true);
    const t3 = await run('turn three', session, [40, 50], 'thanks bye');
    turns = { session, t1, t2, t3 };

    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${t3.id}"]`, WAIT);
    assert.equal(await page.textContent(`tr[data-trace-id="${t2.id}"] td[data-col="tokens"]`), '6.02k');
    assert.equal(await page.textContent(`tr[data-trace-id="${t1.id}"] td[data-col="tokens"]`), '320');
    // gpt-4o-mini is in the default price table: every row has an estimated cost.
    assert.match((await page.textContent(`tr[data-trace-id="${t2.id}"] td[data-col="cost"]`)) ?? '', /^\$0\.\d+/);
    await page.screenshot({ path: join(artifacts, 'viewer-ai-list.png') });
    assert.deepEqual(pageErrors, []);
  });

  it('list: sort by tokens (header click, both directions)', async () => {
    const { t1, t2, t3 } = turns!;
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${t3.id}"]`, WAIT);

    // Sort by tokens, descending: the biggest first.
    await page.click('th .sort-btn[data-sort="tokens"]');
    await page.waitForFunction(
      (id) => document.querySelector('tbody tr.trace-row')?.getAttribute('data-trace-id') === id,
      t2.id,
      WAIT,
    );
    const order = await page.$$eval('tbody tr.trace-row', (rows) => rows.map((r) => r.getAttribute('data-trace-id')));
    assert.ok(
      order.indexOf(t2.id) < order.indexOf(t1.id) && order.indexOf(t1.id) < order.indexOf(t3.id),
      order.join(' '),
    );
    // The server is asked to sort (sort=-tokens); the page is kept in that order.
    assert.ok(
      requests.some((u) => /\/traces\?.*sort=-tokens/.test(u)),
      'the list query carries sort',
    );
    await page.screenshot({ path: join(artifacts, 'viewer-ai-list-sorted.png') });
    // Ascending on a second click.
    await page.click('th .sort-btn[data-sort="tokens"]');
    await page.waitForFunction(
      (ids) => {
        const rows = Array.from(document.querySelectorAll('tbody tr.trace-row')).map((r) =>
          r.getAttribute('data-trace-id'),
        );
        return rows.indexOf(ids[0]!) >= 0 && rows.indexOf(ids[0]!) < rows.indexOf(ids[1]!);
      },
      [t3.id, t2.id],
      WAIT,
    );
    await page.click('th .sort-btn[data-sort="created_at"]');
    assert.deepEqual(pageErrors, []);
  });

  it('list: the search box sends q (and filters the loaded page on a server without q)', async () => {
    const { t3 } = turns!;
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${t3.id}"]`, WAIT);
    await page.fill('input[aria-label="Search traces"]', 'three');
    await page.waitForFunction(
      (id) => {
        const rows = Array.from(document.querySelectorAll('tbody tr.trace-row')).map((r) =>
          r.getAttribute('data-trace-id'),
        );
        return rows.length === 1 && rows[0] === id;
      },
      t3.id,
      WAIT,
    );
    assert.ok(
      requests.some((u) => /\/traces\?.*q=three/.test(u)),
      'the list query carries q',
    );
    await page.fill('input[aria-label="Search traces"]', '');
    await page.waitForFunction(() => document.querySelectorAll('tbody tr.trace-row').length > 1, undefined, WAIT);
    assert.deepEqual(pageErrors, []);
  });

  it('list: the search box is the server-side query q, with the kind and model filters; hostile text stays inert', async () => {
    const { t2, t3 } = turns!;
    // A trace whose label is markup: found by its words, rendered (and highlighted) as text.
    const hostile = await server.tracer.create({ agentName: 'hostile' });
    hostile
      .add('nothing to see', { label: `<img src=x onerror="window.__xss=5"> zanzibar ${HOSTILE_SCRIPT}`, kind: 'tool' })
      .complete('ok');
    hostile.markComplete();
    await hostile.flush();
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${t2.id}"]`, WAIT);
    const debug = async (what: string, err: unknown): Promise<never> => {
      const rows = await page.$$eval('tbody tr.trace-row', (rs) =>
        rs.map((r) => `${r.getAttribute('data-trace-id')} ${r.textContent?.slice(0, 60)}`),
      );
      const api = async (q: string) =>
        JSON.stringify(
          ((await (await fetch(`${server.url}v1/trace/traces?${q}`)).json()) as { traces: TraceInfo[] }).traces.map(
            (t) => [t.id, t.kinds, t.models, t.status],
          ),
        );
      const asked = requests.filter((u) => u.includes('/traces?')).slice(-4);
      throw new Error(
        `${what}: rows ${JSON.stringify(rows)} (${String(err)}); requests ${asked.join(' ')}; server: ${[
          await api('q=zanzibar'),
          await api('q=zanzibar&kind=llm'),
          await api('q=zanzibar&model=no-such-model'),
        ].join(' | ')}`,
      );
    };
    const rowsAre = (ids: string[]) =>
      page
        .waitForFunction(
          (want) => {
            const rows = Array.from(document.querySelectorAll('tbody tr.trace-row')).map((r) =>
              r.getAttribute('data-trace-id'),
            );
            return rows.length === want.length && want.every((id, i) => rows[i] === id);
          },
          ids,
          WAIT,
        )
        .catch((err: unknown) => debug(`rows are not ${JSON.stringify(ids)}`, err));
    const noMatch = () =>
      page
        .waitForSelector('.empty:has-text("No trace matches these filters.")', WAIT)
        .catch((err: unknown) => debug('no empty state', err));

    // The search box asks the server (`q`): a word only in t2's input (and the hostile label).
    await page.fill('input[aria-label="Search traces"]', 'zanzibar');
    await rowsAre([hostile.id, t2.id]);
    assert.ok(
      requests.some((u) => /\/traces\?.*q=zanzibar/.test(u)),
      'the list query carries q',
    );
    // Whole words, every word: case does not matter, a word prefix finds nothing.
    await page.fill('input[aria-label="Search traces"]', 'ZANZIBAR weather');
    await rowsAre([t2.id]);
    await page.fill('input[aria-label="Search traces"]', 'zanzi');
    await noMatch();

    // Kind and model filters go to the server too.
    await page.fill('input[aria-label="Search traces"]', 'zanzibar');
    await rowsAre([hostile.id, t2.id]);
    await page.selectOption('select[aria-label="Node kind"]', 'llm');
    await rowsAre([t2.id]);
    assert.ok(
      requests.some((u) => /\/traces\?.*kind=llm/.test(u)),
      'the list query carries kind',
    );
    await page.selectOption('select[aria-label="Node kind"]', '');
    await page.fill('input[aria-label="Model"]', 'no-such-model');
    await page.dispatchEvent('input[aria-label="Model"]', 'change'); // committed (Enter or blur)
    await noMatch();
    assert.ok(
      requests.some((u) => /\/traces\?.*model=no-such-model/.test(u)),
      'the list query carries model',
    );
    await page.fill('input[aria-label="Model"]', 'gpt-4o-mini');
    await page.dispatchEvent('input[aria-label="Model"]', 'change'); // committed (Enter or blur)
    await rowsAre([t2.id]);
    await page.fill('input[aria-label="Model"]', '');
    await page.dispatchEvent('input[aria-label="Model"]', 'change'); // committed (Enter or blur)

    // Hostile text in the query itself: its words find the hostile trace; nothing runs,
    // no element is made of it, the label shows as text.
    await page.fill('input[aria-label="Search traces"]', `<img src=x onerror="window.__xss=5"> ${HOSTILE_SCRIPT}`);
    await rowsAre([hostile.id]);
    const row = `tr[data-trace-id="${hostile.id}"]`;
    assert.equal(await page.locator(`${row} img, ${row} script`).count(), 0);
    assert.match((await page.textContent(row)) ?? '', /<img src=x onerror=/);
    assert.equal(await xss(), undefined);
    await page.screenshot({ path: join(artifacts, 'viewer-ai-search.png') });
    await page.fill('input[aria-label="Search traces"]', '');
    await page.waitForSelector(`tr[data-trace-id="${t3.id}"]`, WAIT);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);
  });

  it('session page: its traces in time order with status, duration, tokens, cost and totals', async () => {
    const { session, t1, t2, t3 } = turns!;
    // A trace of another session is not listed.
    await run('other session', `other-${Date.now()}`, [1, 1], 'elsewhere');
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${t1.id}"] .session-link`, WAIT);
    await page.click(`tr[data-trace-id="${t1.id}"] .session-link`);
    await page.waitForSelector(`.session-page tr[data-trace-id="${t3.id}"]`, WAIT);
    const sessionOrder = await page.$$eval('.session-page tbody tr.trace-row', (rows) =>
      rows.map((r) => r.getAttribute('data-trace-id')),
    );
    assert.deepEqual(sessionOrder, [t1.id, t2.id, t3.id]);
    assert.equal(await page.getAttribute(`.session-page tr[data-trace-id="${t2.id}"]`, 'data-status'), 'failed');
    assert.equal(await page.textContent(`.session-page tr[data-trace-id="${t3.id}"] td[data-col="tokens"]`), '110');
    assert.notEqual(await page.textContent(`.session-page tr[data-trace-id="${t1.id}"] td[data-col="duration"]`), '–');
    assert.equal(await page.textContent('[data-testid="session-turns"]'), '3');
    assert.equal(await page.textContent('[data-testid="session-tokens"]'), '6.45k');
    assert.match(page.url(), new RegExp(`#/sessions/${session}$`));
    await page.screenshot({ path: join(artifacts, 'viewer-ai-session.png') });
    assert.deepEqual(pageErrors, []);
  });

  it('compare two runs: picked in the list; added, removed, changed status and output (text diff), deltas', async () => {
    const build = async (variant: 'a' | 'b') => {
      const trace = await server.tracer.create({ agentName: 'researcher' });
      const root = trace.add({ topic: 'answer' }, { label: 'Research', kind: 'agent' });
      const plan = root.add({ goal: 'find it' }, { label: 'plan', kind: 'llm', autoCompleteParent: false });
      plan.setUsage({ model: 'gpt-4o-mini', inputTokens: variant === 'a' ? 1000 : 1500, outputTokens: 100 });
      plan.complete('search the web');
      const search = root.add({ q: 'answer' }, { label: 'web search', kind: 'tool', autoCompleteParent: false });
      if (variant === 'a') search.complete({ hits: 3 });
      else search.fail(new Error('timeout'));
      if (variant === 'b')
        root
          .add({ q: 'answer' }, { label: 'web search', kind: 'tool', autoCompleteParent: false })
          .complete({ hits: 5 });
      if (variant === 'a')
        root
          .add(undefined, { label: 'cache lookup', kind: 'retriever', autoCompleteParent: false })
          .complete({ hit: false });
      const write = root.add(undefined, { label: 'write answer', kind: 'llm', autoCompleteParent: false });
      write.setUsage({ model: 'gpt-4o-mini', inputTokens: 500, outputTokens: 50 });
      write.complete(
        variant === 'a' ? 'The answer is 41, said the <b>oracle</b>.' : 'The answer is 42, said the <b>oracle</b>.',
      );
      root.complete();
      trace.markComplete();
      return { trace, plan, search, write };
    };
    const A = await build('a');
    const B = await build('b');

    await page.goto(server.url);
    await page.waitForSelector(`tr[data-trace-id="${B.trace.id}"]`, WAIT);
    await page.check(`tr[data-trace-id="${B.trace.id}"] input[type="checkbox"]`);
    await page.check(`tr[data-trace-id="${A.trace.id}"] input[type="checkbox"]`);
    await page.click('[data-testid="compare-go"]');
    await page.waitForSelector('[data-testid="compare"]', WAIT);
    // The older run is the baseline A.
    assert.match(page.url(), new RegExp(`#/compare\\?a=${A.trace.id}&b=${B.trace.id}`));

    await page.waitForSelector('[data-testid="cmp-added"]:has-text("+ 1 added")', WAIT);
    assert.equal(await page.textContent('[data-testid="cmp-removed"]'), '− 1 removed');
    assert.equal(await page.textContent('[data-testid="cmp-status-changed"]'), '1 changed status');
    // Output of "web search" (failed, none) and "write answer" changed.
    assert.equal(await page.textContent('[data-testid="cmp-output-changed"]'), '2 changed output');
    const row = (path: string) => `.cmp-row[data-path="${path}"]`;
    assert.equal(await page.getAttribute(row('Research › web search #2'), 'data-change'), 'added');
    assert.equal(await page.getAttribute(row('Research › cache lookup'), 'data-change'), 'removed');
    assert.match((await page.getAttribute(row('Research › web search'), 'data-flags')) ?? '', /status/);
    assert.equal(await page.getAttribute(row('Research › plan'), 'data-change'), 'same');
    // Totals: B used 500 more input tokens; one more node.
    assert.equal(await page.textContent('[data-testid="cmp-tokens-delta"]'), '+500');
    assert.equal(await page.textContent('[data-testid="cmp-nodes-delta"]'), '±0');
    assert.equal(await page.textContent('[data-testid="cmp-tool-calls-delta"]'), '+1');
    assert.equal(await page.textContent('[data-testid="cmp-failed-delta"]'), '+1');
    assert.match((await page.textContent(`${row('Research › plan')} td:nth-child(5)`)) ?? '', /\+500/);

    // The output diff of the answer: 41 removed, 42 added, the markup shown as text.
    await page.click(row('Research › write answer'));
    await page.waitForSelector('[data-testid="text-diff"] del:has-text("41")', WAIT);
    await page.waitForSelector('[data-testid="text-diff"] ins:has-text("42")', WAIT);
    assert.equal(await page.locator('[data-testid="text-diff"] b').count(), 0);
    assert.match((await page.textContent('[data-testid="text-diff"]')) ?? '', /<b>oracle<\/b>/);
    await page.screenshot({ path: join(artifacts, 'viewer-ai-compare.png'), fullPage: true });

    // Only changes hides unchanged rows.
    await page.check('.cmp-summary input[type="checkbox"]');
    await page.waitForSelector(row('Research › plan'), { state: 'detached', ...WAIT });
    assert.deepEqual(pageErrors, []);
  });
});
