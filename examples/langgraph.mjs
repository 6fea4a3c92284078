// A LangGraph.js StateGraph traced live by livetrace, offline (FakeListChatModel, no API
// key). Run: `npm run build && node examples/langgraph.mjs` (needs the dev dependencies
// `@langchain/langgraph` and `@langchain/core`). Pass `--dir .livetrace` to keep the trace
// for `livetrace serve`.
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { Tracer, MemoryStore, FileStore } from 'livetrace';
import { LivetraceCallbackHandler } from 'livetrace/langchain';

const dirArg = process.argv.indexOf('--dir');
const tracer = new Tracer({ store: dirArg > 0 ? new FileStore({ dir: process.argv[dirArg + 1] }) : new MemoryStore() });
const handler = new LivetraceCallbackHandler({ tracer });

const State = Annotation.Root({ notes: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }) });
const model = new FakeListChatModel({ responses: ['Rayleigh scattering favours short wavelengths.'] });
const review = new StateGraph(State)
  .addNode('check facts', () => ({ notes: ['facts ok'] }))
  .addEdge(START, 'check facts')
  .addEdge('check facts', END)
  .compile();

const graph = new StateGraph(State)
  .addNode('plan', () => ({ notes: ['plan: search + ask the model'] }))
  .addNode('search', async () => ({ notes: ['search: 3 hits'] }))
  .addNode('ask model', async () => ({ notes: [`model: ${(await model.invoke('Why is the sky blue?')).content}`] }))
  .addNode('merge', () => ({ notes: ['merged'] }))
  .addNode('review', review)
  .addEdge(START, 'plan')
  .addEdge('plan', 'search')
  .addEdge('plan', 'ask model')
  .addEdge(['search', 'ask model'], 'merge')
  .addConditionalEdges('merge', (s) => (s.notes.length > 3 ? 'review' : END), ['review', END])
  .addEdge('review', END)
  .compile();

const out = await graph.invoke({ notes: [] }, { callbacks: [handler], runName: 'sky-research' });
console.log('notes:', out.notes.join(' | '));
await handler.flush();

const { traces } = await tracer.list();
const snap = await tracer.read(traces[0].id);
const label = (id) => snap.nodes.find((n) => n.id === id)?.label;
for (const n of snap.nodes)
  console.log(
    `${n.label} [${n.kind ?? n.icon}] ${n.status}${n.parent_ids.length ? ` <- ${n.parent_ids.map(label).join(' + ')}` : ''}`,
  );
console.log(`trace ${snap.info.id}: ${snap.info.status}`);
await handler.close();
await tracer.close();
