// Route overhead before/after, in one process and one run: the same requests against two
// builds of livetrace (e.g. main's dist/ and this tree's), interleaved round by round so
// that the shared machine's load falls on both alike. In-process (fastify.inject): it
// measures routing, input validation, the handler and serialization, not the network.
//   node scripts/bench-routes.mjs <before-dist> <after-dist> [requests per round] [rounds]
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [beforeDir, afterDir] = [process.argv[2], process.argv[3]];
if (!beforeDir || !afterDir) {
  console.error('usage: node scripts/bench-routes.mjs <before-dist> <after-dist> [requests] [rounds]');
  process.exit(2);
}
const REQUESTS = Number(process.argv[4] ?? 2000);
const ROUNDS = Number(process.argv[5] ?? 3);
const TRACES = 200;

async function setup(dir) {
  const url = (p) => pathToFileURL(resolve(dir, p)).href;
  const { Tracer, MemoryStore } = await import(url('index.js'));
  const { createServer } = await import(url('server/index.js'));
  const tracer = new Tracer({ store: new MemoryStore(), exitHook: false });
  let id;
  for (let i = 0; i < TRACES; i++) {
    const t = await tracer.create({
      agentName: `agent-${i % 7}`,
      metadata: { run: i, env: 'bench', tags: ['a', 'b'] },
    });
    t.complete();
    id = t.id;
  }
  const app = await createServer({ tracer, viewer: false, closeTracer: true });
  await app.ready();
  return { app, id };
}

async function rate(app, url) {
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const r = await app.inject({ method: 'GET', url });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
  }
  return Math.round(REQUESTS / ((performance.now() - t0) / 1000));
}

const builds = { before: await setup(beforeDir), after: await setup(afterDir) };
const routes = {
  'GET /traces?limit=50': () => `/v1/trace/traces?limit=50`,
  'GET /traces/:id/info': (id) => `/v1/trace/traces/${id}/info`,
};
// Warm-up (JIT, schema compilation).
for (const b of Object.values(builds))
  for (const r of Object.values(routes)) for (let i = 0; i < 300; i++) await b.app.inject(r(b.id));
const results = {};
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, route] of Object.entries(routes)) {
    for (const [label, b] of round % 2 ? Object.entries(builds) : Object.entries(builds).reverse()) {
      ((results[name] ??= {})[label] ??= []).push(await rate(b.app, route(b.id)));
    }
  }
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${REQUESTS} requests per round, ${ROUNDS} rounds; req/s`,
);
for (const [name, r] of Object.entries(results)) {
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(
    `${name.padEnd(22)} before ${r.before.join(' / ')} (median ${med(r.before)})  after ${r.after.join(' / ')} (median ${med(r.after)})  ratio ${(med(r.after) / med(r.before)).toFixed(2)}`,
  );
}
for (const b of Object.values(builds)) await b.app.close();
