// Finished traces served from cache: a finished trace never changes (only archiving, removal
// or re-import change it, and the snapshot cache's stamp sees those), so the JSON of each of
// its views is built once and served as bytes with a strong ETag; a client that sends the
// ETag back in If-None-Match gets a 304 without a body. The bytes live as long as the cached
// snapshot they were built from (WeakMap): the snapshot cache's bounds bound them too.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TraceSnapshot } from '../core/types.js';

/** A view's response, built once per cached snapshot. */
export interface ViewBody {
  readonly bytes: Buffer;
  /** Strong ETag (quoted), a hash of the bytes: equal bytes give equal tags on every server. */
  readonly etag: string;
}

export type ViewName = 'snapshot' | 'nodes' | 'logs' | 'spaces';

export class FinishedViews {
  readonly #bodies = new WeakMap<TraceSnapshot, Map<ViewName, ViewBody>>();
  /** Views built (a miss serializes once; every later request reuses the bytes). */
  built = 0;

  /** The bytes of `view` of a cached (finished) snapshot; `build` makes its JSON value on first use. */
  body(snapshot: TraceSnapshot, view: ViewName, build: (snapshot: TraceSnapshot) => unknown): ViewBody {
    let views = this.#bodies.get(snapshot);
    if (!views) {
      views = new Map();
      this.#bodies.set(snapshot, views);
    }
    let body = views.get(view);
    if (!body) {
      const bytes = Buffer.from(JSON.stringify(build(snapshot)));
      body = { bytes, etag: `"${createHash('sha1').update(bytes).digest('base64url')}"` };
      views.set(view, body);
      this.built++;
    }
    return body;
  }
}

/** True if an If-None-Match header value matches `etag` (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const strong = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of header.split(',')) {
    const t = raw.trim();
    if ((t.startsWith('W/') ? t.slice(2) : t) === strong) return true;
  }
  return false;
}

/** Sends a cached view: 304 if the client already has these bytes, else the bytes. */
export function sendView(req: Pick<FastifyRequest, 'headers'>, reply: FastifyReply, body: ViewBody): FastifyReply {
  void reply.header('etag', body.etag);
  // The trace may be archived or removed later: clients revalidate, which costs a 304.
  void reply.header('cache-control', 'private, no-cache');
  const inm = req.headers['if-none-match'];
  if (etagMatches(Array.isArray(inm) ? inm.join(',') : inm, body.etag)) return reply.code(304).send();
  void reply.header('content-type', 'application/json; charset=utf-8');
  return reply.send(body.bytes);
}
