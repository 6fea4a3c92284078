// A realistic demo agent run, paced so that a person can watch it live (about 6 s at
// timeScale 1): a plan, a parallel fan-out of tool calls with logs, one tool that times
// out and is retried, memory spaces (context, intent, knowledge) whose values change as
// the run goes, an LLM step that streams its output, and a final answer. Nodes carry kinds
// (agent, llm, tool, retriever, embedding, guardrail), the model calls carry usage (tokens,
// time to first token, cost from the default price table) and the synthesis call records its
// conversation (system/user/assistant/tool messages) and streams its text as delta logs.
// Runs of one DemoSession share a session id and continue one conversation.
import { newId } from '../core/ids.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { SpaceHandle } from '../tracer/space-handle.js';
import type { Tracer } from '../tracer/tracer.js';

export interface DemoOptions {
  /** Multiplies every pause: 1 = real time (about 6 s), 0.01 = nearly instant. Default 1. */
  timeScale?: number;
  /** Aborting cancels the run (marked cancelled) and resolves with its id. */
  signal?: AbortSignal;
  /** The user's question. Default: one of a few built-in questions. */
  question?: string;
  /** Tenant/team/creator recorded in the trace info. */
  tenantId?: string;
  teamId?: string;
  createdBy?: string;
  /** Called with the trace id as soon as the trace exists (before the run finishes). */
  onStart?: (traceId: string) => void;
  /** The conversation this run continues (its session id, user and earlier turns). */
  session?: DemoSession;
}

/** A conversation of several demo runs (turns): one session id, the messages so far. */
export interface DemoSession {
  readonly id: string;
  readonly userId: string;
  /** Turns run so far. */
  turns: number;
  history: { role: 'user' | 'assistant'; content: string }[];
}

export function newDemoSession(userId = 'alex'): DemoSession {
  return { id: `demo-session-${newId()}`, userId, turns: 0, history: [] };
}

const FOLLOW_UPS = ['And what about Thursday morning?', 'Thanks. Remind me what I should pack.'];

const QUESTIONS = [
  'Should I bike to the office in Lyon tomorrow morning?',
  'Plan a two-day trip to Porto for a vegetarian on a budget.',
  'Summarize what changed in our Q3 incident reports.',
  'Which of my meetings tomorrow could be moved to make room for a 2-hour focus block?',
];

const ANSWER_WORDS = (
  'Based on the forecast, your calendar and what I know about your commute, tomorrow looks good: ' +
  'light wind, 14 °C at 8:00 and no rain before the afternoon. Your first meeting is at 9:30, so leaving ' +
  'at 8:40 gives you a comfortable margin. Take the river path (18 minutes) and pack a light jacket for the way back.'
).split(' ');

class Aborted extends Error {}

/** Runs one demo agent and resolves with its trace id once the trace is complete and stored. */
export async function runDemoAgent(tracer: Tracer, options: DemoOptions = {}): Promise<string> {
  const scale = options.timeScale ?? 1;
  const signal = options.signal;
  const sleep = (ms: number): Promise<void> => pause(ms * scale, signal);
  const session = options.session;
  const turn = session ? session.turns : 0;
  const question =
    options.question ??
    (turn > 0 ? FOLLOW_UPS[(turn - 1) % FOLLOW_UPS.length]! : QUESTIONS[Math.floor(Math.random() * QUESTIONS.length)]!);
  const trace = await tracer.create({
    agentName: 'research-assistant',
    createdBy: options.createdBy ?? 'demo',
    ...(options.tenantId !== undefined ? { tenantId: options.tenantId } : {}),
    ...(options.teamId !== undefined ? { teamId: options.teamId } : {}),
    ...(session ? { sessionId: session.id, userId: session.userId } : {}),
    metadata: { demo: true, model: 'gpt-4o', question, ...(session ? { turn: turn + 1 } : {}) },
  });
  try {
    options.onStart?.(trace.id);
    const context = trace.createSpace({
      id: 'context',
      label: 'Context',
      icon: '📋',
      description: 'What the agent knows about the request',
    });
    const intent = trace.createSpace({
      id: 'intent',
      label: 'Intent',
      icon: '🎯',
      description: "The agent's reading of the goal",
    });
    const knowledge = trace.createSpace({
      id: 'knowledge',
      label: 'Knowledge',
      icon: '📚',
      description: 'Facts gathered by tools',
      ttl: 3600,
    });

    const request = trace.add({ question }, { label: 'User request', icon: '💬', kind: 'agent' });
    request.info('request received', { channel: 'chat', locale: 'en-GB' });
    context.set('question', question, { title: 'Question' });
    context.set('user', { name: 'Alex', city: 'Lyon', commute: 'bike' }, { title: 'User profile' });
    const guard = request.add({ text: question }, { label: 'input guardrail', icon: '🛡️', kind: 'guardrail' });
    await sleep(150);
    guard.complete({ allowed: true, pii: false });
    await sleep(150);

    const system = 'You are a concise assistant. Use the tools, then answer in two or three sentences.';
    const plan = trace.add(
      {
        messages: [
          { role: 'system', content: 'Pick the tools needed to answer.' },
          ...(session?.history ?? []),
          { role: 'user', content: question },
        ],
      },
      { label: 'Plan', icon: '🧭', kind: 'llm', description: 'Decide which tools to call' },
    );
    plan.info('planning with gpt-4o-mini', { temperature: 0.2 });
    intent.set('goal', 'decide whether to commute by bike', { title: 'Goal' });
    intent.set('confidence', 0.35, { title: 'Confidence' });
    await sleep(500);
    const steps = ['web_search', 'weather_api', 'calendar', 'vector_lookup'];
    const toolCalls = steps.map((name, i) => ({
      id: `call_${i + 1}`,
      name,
      arguments: name === 'weather_api' ? { city: 'Lyon', when: 'tomorrow 08:00' } : { query: question },
    }));
    plan.debug('tool selection', { steps });
    plan.setUsage({
      model: 'gpt-4o-mini',
      provider: 'openai',
      inputTokens: 420 + 60 * turn,
      outputTokens: 64,
      timeToFirstTokenMs: Math.round(180 * scale),
    });
    plan.complete({ role: 'assistant', content: '', tool_calls: toolCalls });
    intent.set('confidence', 0.5);

    const tools = trace.parallel([
      { label: 'web_search', icon: '🔎', kind: 'tool', input: { query: 'Lyon cycling conditions' } },
      { label: 'weather_api', icon: '🌦️', kind: 'tool', input: { city: 'Lyon', when: 'tomorrow 08:00' } },
      { label: 'calendar', icon: '📅', kind: 'tool', input: { day: 'tomorrow' } },
      { label: 'vector_lookup', icon: '🧠', kind: 'retriever', input: { collection: 'user-notes', k: 3 } },
    ]);
    await Promise.all([
      webSearch(tools[0]!, knowledge, sleep),
      weather(tools[1]!, knowledge, sleep),
      calendar(tools[2]!, knowledge, sleep),
      vectorLookup(tools[3]!, knowledge, context, sleep),
    ]);
    intent.set('confidence', 0.8);

    // add() after parallel() joins every branch. The model call records its conversation and
    // streams its text as delta logs; usage (and so cost) arrives when it ends.
    const messages = [
      { role: 'system', content: system },
      ...(session?.history ?? []),
      { role: 'user', content: question },
      { role: 'assistant', content: '', tool_calls: toolCalls },
      ...toolCalls.map((tc) => ({
        role: 'tool',
        tool_call_id: tc.id,
        content: JSON.stringify(
          knowledge.get(
            tc.name === 'weather_api'
              ? 'forecast'
              : tc.name === 'calendar'
                ? 'first_meeting'
                : tc.name === 'web_search'
                  ? 'routes'
                  : 'preferences',
          ) ?? null,
        ),
      })),
    ];
    const llm = trace.add({ messages }, { label: 'LLM: synthesize answer', icon: '🤖', kind: 'llm' });
    llm.setMetadata('model', 'gpt-4o');
    const callStarted = Date.now();
    await sleep(250);
    const ttft = Date.now() - callStarted;
    let text = '';
    let chunk = '';
    for (let i = 0; i < ANSWER_WORDS.length; i++) {
      const word = (i === 0 ? '' : ' ') + ANSWER_WORDS[i];
      text += word;
      chunk += word;
      if (i % 3 === 2 || i === ANSWER_WORDS.length - 1) {
        llm.info(chunk, { delta: true });
        chunk = '';
      }
      await sleep(45);
    }
    llm.setUsage({
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 812 + 140 * turn,
      outputTokens: ANSWER_WORDS.length * 2,
      cachedTokens: turn > 0 ? 512 : 0,
      timeToFirstTokenMs: ttft,
    });
    llm.complete({ role: 'assistant', content: text });
    context.set('draft', text, { title: 'Draft answer' });
    intent.set('confidence', 0.93);
    if (session) {
      session.history.push({ role: 'user', content: question }, { role: 'assistant', content: text });
      session.turns++;
    }

    const answer = trace.add({ text }, { label: 'Final answer', icon: '✅' });
    await sleep(200);
    answer.info('answer delivered');
    answer.complete({ answer: text });
    intent.set('status', 'answered', { title: 'Status' });
    knowledge.delete('raw_search_results');
    trace.markComplete();
  } catch (err) {
    if (err instanceof Aborted) trace.markCancelled(String(signal?.reason ?? 'aborted'));
    else trace.markFailed(err);
  } finally {
    await trace.release();
  }
  return trace.id;
}

type Sleep = (ms: number) => Promise<void>;

async function webSearch(node: NodeHandle, knowledge: SpaceHandle, sleep: Sleep): Promise<void> {
  node.info('GET https://search.example/api?q=Lyon+cycling');
  await sleep(700);
  node.debug('8 results', { took_ms: 640 });
  knowledge.set('raw_search_results', ['river path reopened', 'new bike lanes on Rue Garibaldi'], {
    title: 'Search hits',
  });
  await sleep(300);
  knowledge.set('routes', { river_path: '18 min', garibaldi: '22 min' }, { title: 'Bike routes' });
  node.complete({ results: 8, top: 'River path reopened after works' });
}

async function weather(node: NodeHandle, knowledge: SpaceHandle, sleep: Sleep): Promise<void> {
  const first = node.add({ attempt: 1 }, { label: 'attempt 1', icon: '🔁' });
  first.info('GET https://weather.example/v2/forecast?city=Lyon');
  await sleep(900);
  first.warn('no response after 900 ms');
  const timeout = Object.assign(new Error('weather API timed out after 900 ms'), { code: 'ETIMEDOUT' });
  first.fail(timeout);
  node.warn('retrying in 200 ms', { attempt: 2 });
  await sleep(200);
  const second = node.add({ attempt: 2 }, { label: 'attempt 2', icon: '🔁' });
  second.info('GET https://weather.example/v2/forecast?city=Lyon');
  await sleep(400);
  const forecast = { temp_c: 14, wind_kmh: 9, rain_probability: 0.1, at: '08:00' };
  second.complete(forecast);
  knowledge.set('forecast', forecast, { title: 'Forecast 08:00' });
  node.complete({ forecast, attempts: 2 });
}

async function calendar(node: NodeHandle, knowledge: SpaceHandle, sleep: Sleep): Promise<void> {
  node.info('reading calendar');
  await sleep(400);
  const events = [
    { at: '09:30', title: 'Design review' },
    { at: '14:00', title: '1:1' },
  ];
  knowledge.set('first_meeting', events[0], { title: 'First meeting' });
  node.complete({ events });
}

async function vectorLookup(
  node: NodeHandle,
  knowledge: SpaceHandle,
  context: SpaceHandle,
  sleep: Sleep,
): Promise<void> {
  const embed = node.add(
    { input: 'user commute preferences' },
    { label: 'embed query', icon: '🔢', kind: 'embedding' },
  );
  embed.info('embedding query', { dims: 1536 });
  await sleep(250);
  embed.setUsage({ model: 'text-embedding-3-small', provider: 'openai', inputTokens: 6, outputTokens: 0 });
  embed.complete({ dims: 1536 });
  node.debug('top-3 similarity', { scores: [0.91, 0.84, 0.77] });
  await sleep(250);
  knowledge.set('preferences', { avoids: 'rain', prefers: 'river path' }, { title: 'User preferences' });
  context.set('user', { name: 'Alex', city: 'Lyon', commute: 'bike', prefers: 'river path' });
  node.complete({ matches: 3 });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new Aborted());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
