// The README's quick start: run it with `node examples/quickstart.mjs` after `npm run build`.
import { Tracer, MemoryStore } from 'livetrace';

const tracer = new Tracer({ store: new MemoryStore() }); // omit `store` to persist under ./.livetrace
const trace = await tracer.create({ agentName: 'research-agent', createdBy: 'ann' });

// A subscriber printing every event, live, until the trace completes.
const printed = (async () => {
  for await (const ev of trace.subscribe()) console.log(ev.seq, ev.type, ev.node_id ?? '');
})();

trace.add({ question: 'Why is the sky blue?' }, { label: 'plan' }).info('splitting into 3 searches');

const workers = trace.parallel([
  { label: 'search wikipedia', input: { q: 'rayleigh scattering' } },
  { label: 'search papers', input: { q: 'sky colour' } },
  { label: 'search forums', input: { q: 'why blue not violet' } },
]);
await Promise.all(
  workers.map(async (w, i) => {
    // each worker completes on its own
    await new Promise((r) => setTimeout(r, 10 * (i + 1)));
    w.info('found 3 documents').complete({ docs: 3 });
  }),
);

const memory = trace.createSpace({ label: 'knowledge' });
memory.set('finding', 'shorter wavelengths scatter more');

const answer = trace.add(undefined, { label: 'answer' }); // joins the three workers
console.log('answer parents:', answer.data.parent_ids.length);
answer.complete('Rayleigh scattering');
trace.markComplete();

await printed;
await tracer.close();
