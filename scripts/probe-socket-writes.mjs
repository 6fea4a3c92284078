#!/usr/bin/env node
// Probe (docs/performance.md, section 14): CPU per socket write to 1,000 SSE-like clients on
// loopback, as livetrace's broadcast writes (cork, write, uncork per client) and as a naive
// broadcaster does (res.write per client; node:http flushes them at the next tick). The
// clients run in a child process that reads every byte and may spin per chunk (SPIN µs) to
// stand for a busy reader.
// Usage: [SPIN=µs] node scripts/probe-socket-writes.mjs <cork|naive> <bytes per write>
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { fileURLToPath } from 'node:url';

const N = 1000;
const PASSES = 400;

if (process.argv[2] === '--clients') {
  const port = Number(process.argv[3]);
  const spin = Number(process.env['SPIN'] ?? 0) / 1000;
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  for (let i = 0; i < N; i++) {
    request({ host: '127.0.0.1', port, agent }, (res) => {
      res.setEncoding('utf8');
      res.on('data', () => {
        const end = performance.now() + spin;
        while (performance.now() < end);
      });
    }).end();
  }
  process.on('disconnect', () => process.exit(0));
} else {
  const mode = process.argv[2] === 'naive' ? 'naive' : 'cork';
  const size = Number(process.argv[3] ?? 1000);
  const payload = Buffer.alloc(size, 120);
  const clients = [];
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    clients.push(res);
    if (clients.length === N) setTimeout(run, 500);
  });
  server.listen(0, '127.0.0.1', () => {
    fork(fileURLToPath(import.meta.url), ['--clients', String(server.address().port)]);
  });
  const run = async () => {
    const cpu0 = process.cpuUsage();
    for (let p = 0; p < PASSES; p++) {
      if (mode === 'naive') for (const c of clients) c.write(payload);
      else
        for (const c of clients) {
          c.cork();
          c.write(payload);
          c.uncork();
        }
      await new Promise((r) => setTimeout(r, 5));
    }
    const cpu = process.cpuUsage(cpu0);
    const perWrite = (cpu.user + cpu.system) / PASSES / N;
    console.log(`${mode}, ${size} bytes per write: ${perWrite.toFixed(2)} µs of server CPU per write`);
    process.exit(0);
  };
}
