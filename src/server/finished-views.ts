// Finished traces served from cache: a finished trace never changes (only archiving, removal
// or re-import change it, and the snapshot cache's stamp sees those), so the JSON of each of
// its views is built once and served as bytes with a strong ETag; a client that sends the
// ETag back in If-None-Match gets a 304 without a body. The bytes live as long as the cached
// snapshot they were built from (WeakMap): the snapshot cache's bounds bound them too.
// A client that accepts gzip (every browser) gets the bytes gzipped, also built once: a
// 1,000-node trace's /nodes is about 280 KB of JSON, about a tenth of that gzipped, and
// sending it is what such a request costs. zlib is Node's own; a compression plugin
// (@fastify/compress) would compress again on every request.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TraceSnapshot } from '../core/types.js';

/** A view's response, built once per cached snapshot. */
export class ViewBody {
  readonly bytes: Buffer;
  /** Strong ETag (quoted), a hash of the bytes: equal bytes give equal tags on every server. */
  readonly etag: string;
  /** The ETag of the gzipped representation (another representation, another strong tag). */
  readonly gzipEtag: string;
  #gzipped: Buffer | undefined;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
    const hash = createHash('sha1').update(bytes).digest('base64url');
    this.etag = `"${hash}"`;
    this.gzipEtag = `"${hash}-gzip"`;
  }

  /** The bytes gzipped, on first use. */
  get gzipped(): Buffer {
    this.#gzipped ??= gzipSync(this.bytes);
    return this.#gzipped;
  }
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
      body = new ViewBody(Buffer.from(JSON.stringify(build(snapshot))));
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

/**
 * True if an Accept-Encoding header value accepts gzip (RFC 9110 12.5.3): gzip (or x-gzip)
 * named with a q above 0; if not named, `*` with a q above 0. Codings are case-insensitive.
 * Not @fastify/accept-negotiator: it matches case-sensitively and lets `*` override an
 * explicit `gzip;q=0`.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  let star: boolean | undefined;
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return ok;
    if (coding === '*') star = ok;
  }
  return star === true;
}

/**
 * Sends a cached view: 304 if the client already has these bytes (either representation),
 * else the bytes, gzipped for a client that accepts gzip.
 */
export function sendView(req: Pick<FastifyRequest, 'headers'>, reply: FastifyReply, body: ViewBody): FastifyReply {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  void reply.header('etag', gzip ? body.gzipEtag : body.etag);
  void reply.header('vary', 'accept-encoding');
  // The trace may be archived or removed later: clients revalidate, which costs a 304.
  void reply.header('cache-control', 'private, no-cache');
  const inm = req.headers['if-none-match'];
  const tags = Array.isArray(inm) ? inm.join(',') : inm;
  if (etagMatches(tags, body.etag) || etagMatches(tags, body.gzipEtag)) return reply.code(304).send();
  void reply.header('content-type', 'application/json; charset=utf-8');
  if (!gzip) return reply.send(body.bytes);
  void reply.header('content-encoding', 'gzip');
  return reply.send(body.gzipped);
}
