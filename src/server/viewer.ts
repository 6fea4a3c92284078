// Serves the web viewer (the Vite build in `viewer-dist/` at the package root) at `/`.
// index.html is never cached (it names the current hashed assets); hashed files under
// /assets/ are immutable. Without a build, `/` is a short page that links the API.
//
// Files go out through @fastify/send (the file sender inside @fastify/static: ETag,
// Last-Modified, conditional GET, Range, HEAD), one route per file found at start-up, so no
// request path ever reaches the file system. @fastify/static itself is not used: its
// current releases depend on content-disposition 3, which declares Node >= 22 and so warns
// (EBADENGINE) in every Node 20 project that installs livetrace, for reply.download(), which
// the viewer never needs.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import send from '@fastify/send';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

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
  for (const file of viewerFiles(root)) {
    app.get(file === 'index.html' ? '/' : `/${file}`, (req, reply) => sendViewerFile(req, reply, root, file));
    if (file === 'index.html') app.get('/index.html', (req, reply) => sendViewerFile(req, reply, root, file));
  }
};

/** Files of the viewer build (POSIX paths relative to root), dotfiles and odd names left out. */
function viewerFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(root, f)).isFile())
    .map((f) => f.split(sep).join('/'))
    .filter((f) => /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(f))
    .sort();
}

/**
 * Sends one file of the viewer build (`file`: a path found at start-up, never a request's).
 * A file gone since start-up is the not-found handler's business.
 */
export async function sendViewerFile(
  req: FastifyRequest,
  reply: FastifyReply,
  root: string,
  file: string,
): Promise<FastifyReply> {
  const r = await send(req.raw, `/${file}`, { root, cacheControl: false, index: false, dotfiles: 'deny' });
  if (r.type !== 'file') {
    r.stream.destroy();
    const status = r.statusCode;
    if (status === 404 && file !== 'index.html') {
      reply.callNotFound();
      return reply;
    }
    return reply.code(status).send(new Error(`cannot send the viewer's ${file}`));
  }
  void reply
    .code(r.statusCode)
    .headers(r.headers)
    .header('cache-control', file.startsWith('assets/') ? IMMUTABLE : 'no-cache');
  return reply.send(r.stream);
}

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

// Not encapsulated (what fastify-plugin does): reply.callNotFound() must reach the root's
// not-found handler, which serves index.html for the viewer's client-side routes.
Object.assign(viewerPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'livetrace-viewer',
});
