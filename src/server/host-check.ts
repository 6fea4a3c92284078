// DNS-rebinding guard: a web page on any origin can make the browser send requests to
// 127.0.0.1 under a host name the attacker controls (its DNS answer changes to 127.0.0.1).
// Such requests carry the attacker's name in `Host`, so a server answers only the host
// names it knows: the loopback names (any port) and the ones the operator allowed.
import { HostNotAllowedError, InvalidArgumentError } from '../core/errors.js';

/** Always allowed, with any port. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** The host name of a `Host` header value, lower case, port removed; undefined if malformed. */
export function hostNameOf(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h === '') return undefined;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return h.slice(0, end + 1);
  }
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(h);
  return m ? m[1] : undefined;
}

/** Normalizes `--allowed-hosts` entries: host names (any port), `[v6]` literals. */
export function normalizeAllowedHosts(hosts: readonly string[] | undefined): string[] {
  if (hosts === undefined) return [];
  if (!Array.isArray(hosts)) throw new InvalidArgumentError('option allowedHosts must be an array of host names');
  return hosts.map((raw, i) => {
    if (typeof raw !== 'string')
      throw new InvalidArgumentError(`allowedHosts[${i}] must be a host name, got ${typeof raw}`);
    const s = raw.trim().toLowerCase();
    const v6 = /^[0-9a-f:]+$/.test(s) && s.includes(':') ? `[${s}]` : s;
    const name = hostNameOf(v6);
    if (name === undefined || !/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)$/.test(name)) {
      throw new InvalidArgumentError(
        `allowedHosts[${i}] must be a host name like "traces.example.com" or an IP address, got ${JSON.stringify(raw.slice(0, 100))}`,
      );
    }
    return name;
  });
}

export class HostCheck {
  readonly #allowed: ReadonlySet<string>;

  constructor(extra: readonly string[] = []) {
    this.#allowed = new Set([...LOOPBACK_HOST_NAMES, ...normalizeAllowedHosts(extra)]);
  }

  get names(): string[] {
    return [...this.#allowed];
  }

  allows(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    const name = hostNameOf(header);
    return name !== undefined && this.#allowed.has(name);
  }

  /** Throws HostNotAllowedError unless `header` names an allowed host. */
  assert(header: string | undefined): void {
    if (!this.allows(header)) throw new HostNotAllowedError(header);
  }
}
