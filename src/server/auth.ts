// Bearer-token authentication with tenant scoping. Tokens are kept only as SHA-256 digests
// and compared with crypto.timingSafeEqual over equal-length digests, against every
// configured token (no early exit), so timing says nothing about which bytes matched.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, errorMessage } from '../core/errors.js';
import type { TraceInfo } from '../core/types.js';

export type TokenScope = 'read' | 'write';

export interface TokenEntry {
  token: string;
  tenantId: string;
  teamId?: string;
  /** What the token may do: `['read']` (the default) or `['read', 'write']` (HTTP write API, OTLP). */
  scopes?: readonly TokenScope[];
}

/** Who a request acts as. `undefined` principal = open API (no tokens configured). */
export interface Principal {
  tenantId: string;
  teamId?: string;
  /** Absent: read only. */
  write?: boolean;
}

const SCOPES: ReadonlySet<string> = new Set(['read', 'write']);

interface Digest {
  digest: Buffer;
  principal: Principal;
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenAuth {
  readonly #entries: Digest[];

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = validateTokens(entries).map((e) => ({
      digest: digestOf(e.token),
      principal: {
        tenantId: e.tenantId,
        ...(e.teamId !== undefined ? { teamId: e.teamId } : {}),
        ...(e.scopes?.includes('write') ? { write: true } : {}),
      },
    }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The principal of `token`, or undefined. Constant time in the token's content. */
  verify(token: string | undefined): Principal | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return undefined;
    const d = digestOf(token);
    let found: Principal | undefined;
    for (const e of this.#entries) {
      if (timingSafeEqual(d, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }

  static async fromFile(path: string): Promise<TokenAuth> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`cannot read tokens file ${path}: ${errorMessage(err)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new InvalidArgumentError(`tokens file ${path} is not valid JSON: ${errorMessage(err)}`);
    }
    return new TokenAuth(parsed as TokenEntry[]);
  }
}

export function validateTokens(entries: unknown): TokenEntry[] {
  if (!Array.isArray(entries)) {
    throw new InvalidArgumentError(
      `tokens must be a JSON array of { "token", "tenantId", "teamId"? }, got ${entries === null ? 'null' : typeof entries}`,
    );
  }
  const seen = new Set<string>();
  return entries.map((e: unknown, i) => {
    const o = e as Partial<TokenEntry> | null;
    if (!o || typeof o !== 'object')
      throw new InvalidArgumentError(`tokens[${i}] must be an object { "token", "tenantId", "teamId"? }`);
    if (typeof o.token !== 'string' || o.token.length < 8 || o.token.length > 4096) {
      throw new InvalidArgumentError(`tokens[${i}].token must be a string of 8 to 4096 characters`);
    }
    if (typeof o.tenantId !== 'string' || o.tenantId.length === 0)
      throw new InvalidArgumentError(`tokens[${i}].tenantId must be a non-empty string`);
    if (o.teamId !== undefined && (typeof o.teamId !== 'string' || o.teamId.length === 0)) {
      throw new InvalidArgumentError(`tokens[${i}].teamId must be a non-empty string when present`);
    }
    if (
      o.scopes !== undefined &&
      (!Array.isArray(o.scopes) ||
        o.scopes.length === 0 ||
        o.scopes.some((x: unknown) => typeof x !== 'string' || !SCOPES.has(x)))
    ) {
      throw new InvalidArgumentError(`tokens[${i}].scopes must be ["read"] or ["read", "write"]`);
    }
    if (seen.has(o.token)) throw new InvalidArgumentError(`tokens[${i}]: duplicate token`);
    seen.add(o.token);
    const entry: TokenEntry = { token: o.token, tenantId: o.tenantId };
    if (o.teamId !== undefined) entry.teamId = o.teamId;
    if (o.scopes !== undefined) entry.scopes = [...new Set(o.scopes)];
    return entry;
  });
}

/** True if `principal` may see the trace described by `info` (open API: always). */
export function canSee(principal: Principal | undefined, info: Pick<TraceInfo, 'tenant_id' | 'team_id'>): boolean {
  if (!principal) return true;
  if (info.tenant_id !== principal.tenantId) return false;
  if (principal.teamId !== undefined && info.team_id !== principal.teamId) return false;
  return true;
}

/** True if `principal` may write (open API: always). */
export function canWrite(principal: Principal | undefined): boolean {
  return !principal || principal.write === true;
}

/** The token of a request: `Authorization: Bearer <t>`, or `?access_token=` (EventSource cannot set headers). */
export function tokenOf(authorization: string | undefined, query: unknown, allowQuery: boolean): string | undefined {
  if (typeof authorization === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m ? m[1] : undefined;
  }
  if (!allowQuery) return undefined;
  const q = (query as Record<string, unknown> | undefined)?.['access_token'];
  return typeof q === 'string' ? q : undefined;
}

const LOOPBACK = new Set(['localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK.has(host.toLowerCase())) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}
