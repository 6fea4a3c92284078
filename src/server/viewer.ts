// Serves the web viewer (the Vite build in `viewer-dist/` at the package root) at `/`.
// index.html is never cached (it names the current hashed assets); hashed files under
// /assets/ are immutable. Without a build, `/` is a short page that links the API.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

/** `viewer-dist/` of the livetrace package this file belongs to, if it was built. */
export function findViewerDir(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'livetrace') {
          const viewer = join(dir, 'viewer-dist');
          return existsSync(join(viewer, 'index.html')) ? viewer : undefined;
        }
      } catch {
        /* not ours: keep walking up */
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

export interface ViewerOptions {
  /** Folder with index.html and assets/; undefined: the fallback page. */
  root: string | undefined;
  /** Base path of the API, linked from the fallback page. */
  basePath: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export const viewerPlugin: FastifyPluginAsync<ViewerOptions> = async (app: FastifyInstance, options) => {
  const root = options.root;
  if (!root) {
    app.get('/', async (_req, reply) => {
      void reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
      return fallbackPage(options.basePath);
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per file found at startup: no wildcard that could shadow the API's 404s.
    wildcard: false,
    cacheControl: false,
    setHeaders(reply, path) {
      void reply.header('cache-control', path.includes(`${sep}assets${sep}`) ? IMMUTABLE : 'no-cache');
    },
  });
};

function fallbackPage(base: string): string {
  const b = escapeHtml(base);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>livetrace</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .25rem}</style>
</head><body>
<h1>livetrace</h1>
<p>The web viewer is not built in this installation (<code>viewer-dist/</code> is missing). The HTTP API is running:</p>
<ul>
<li><a href="${b}/traces">${b}/traces</a> — list of traces (JSON)</li>
<li><code>${b}/traces/:id</code> — one trace (info, nodes, logs, spaces)</li>
<li><code>${b}/traces/:id/events?stream=true</code> — live events (Server-Sent Events)</li>
</ul>
<p>Follow a run in the terminal: <code>livetrace tail &lt;id&gt; -s ${escapeHtml('http://host:port')}</code></p>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Not encapsulated (what fastify-plugin does): reply.sendFile must reach the root's
// not-found handler, which serves index.html for the viewer's client-side routes.
Object.assign(viewerPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'livetrace-viewer',
});
