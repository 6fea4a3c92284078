#!/usr/bin/env node
// Serves the embedding examples on http://127.0.0.1:8080 and forwards /v1 to a livetrace
// server (default http://127.0.0.1:7411, the one `npm start` runs with its demo agent), so
// the pages and the API share an origin and need no CORS.
//   npm start                      # in one terminal: server + demo runs
//   node examples/embed/serve.mjs  # in another; open http://127.0.0.1:8080/ and /react/
// The React page is built with Vite on start (react and react-dom are dev dependencies).
import { createReadStream, existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../..');
const api = new URL(process.env.LIVETRACE_URL ?? 'http://127.0.0.1:7411');
const port = Number(process.env.PORT ?? 8080);
const element = join(root, 'dist/element.js');
if (!existsSync(element)) {
  console.error('dist/element.js is missing: run `npm run build` first');
  process.exit(1);
}

const { build } = await import('vite');
const reactOut = join(root, '.build/embed-react');
await build({
  root: join(here, 'react'),
  base: '/react/',
  logLevel: 'warn',
  resolve: { alias: { 'livetrace/element': element } },
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: reactOut, emptyOutDir: true },
});

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/v1/')) {
    const up = request(
      {
        host: api.hostname,
        port: api.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: api.host },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (e) => res.writeHead(502).end(`livetrace server unreachable at ${api.origin}: ${e.message}`));
    res.on('close', () => up.destroy()); // the browser went away: drop the upstream stream too
    return void req.pipe(up);
  }
  let file;
  if (url.pathname === '/element.js') file = element;
  else if (url.pathname === '/' || url.pathname === '/index.html') file = join(here, 'index.html');
  else if (url.pathname === '/react/' || url.pathname === '/react') file = join(reactOut, 'index.html');
  else if (url.pathname.startsWith('/react/assets/') && !url.pathname.includes('..'))
    file = join(reactOut, url.pathname.slice('/react/'.length));
  if (!file || !existsSync(file)) return void res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () =>
  console.log(
    `http://127.0.0.1:${port}/  (plain HTML)\nhttp://127.0.0.1:${port}/react/  (React)\nAPI forwarded to ${api.origin}`,
  ),
);
