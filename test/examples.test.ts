// The framework examples in examples/ run offline (scripted/mock models) and record the
// shape docs/integrations.md describes. They import the built package (`npm run build`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';

const root = new URL('../../', import.meta.url);
const runExample = (name: string): string =>
  execFileSync(process.execPath, [new URL(`examples/${name}`, root).pathname], {
    encoding: 'utf8',
    cwd: new URL('.', root).pathname,
    env: { ...process.env, NODE_ENV: 'production' },
  });

it('examples/openai-agents.mjs: two tools, a handoff, every node completed', () => {
  const out = runExample('openai-agents.mjs');
  assert.match(out, /final output: Paris is sunny/);
  for (const line of [
    'triage [agent] completed',
    'weather [tool] completed',
    'add [tool] completed',
    'handoff triage → writer',
    'writer [agent] completed',
    'writer-model [llm] completed',
  ]) {
    assert.ok(out.includes(line), `${line} in:\n${out}`);
  }
  assert.match(out, /trace \S+: completed/);
});

it('examples/langgraph.mjs: fan-out, fan-in join, conditional edge into a subgraph', () => {
  const out = runExample('langgraph.mjs');
  for (const line of [
    'search [chain] completed <- plan',
    'ask model [chain] completed <- plan',
    'merge [chain] completed <- search + ask model',
    'review [chain] completed <- merge',
    'FakeListChatModel [llm] completed <- ask model',
  ]) {
    assert.ok(out.includes(line), `${line} in:\n${out}`);
  }
  assert.match(out, /trace \S+: completed/);
});

it('examples/ai-sdk.mjs: operation, steps, model calls with usage, two tools', () => {
  const out = runExample('ai-sdk.mjs');
  for (const line of [
    'weather-agent [agent] completed',
    'mock-model-id [llm] completed 120/30 tokens',
    'weather [tool] completed',
    'add [tool] completed',
    'mock-model-id [llm] completed 180/20 tokens',
  ]) {
    assert.ok(out.includes(line), `${line} in:\n${out}`);
  }
  assert.match(out, /trace \S+: completed, 350 tokens/);
});
