// The live HTTP write API: `POST /traces` creates a trace, `POST /traces/:id/ops` applies
// an ordered batch of operations to it. Every operation is one call of the Trace API
// (trace.add, node.parallel, trace.markComplete...), so auto-complete, implicit join,
// sealing, capture and size limits are exactly the library's. This file only parses and
// validates batches, resolves client refs to node ids, remembers answers per idempotency
// key and holds the traces it writes (released when they finish or sit idle).
import { createHash } from 'node:crypto';
import {
  IdempotencyMismatchError,
  InvalidArgumentError,
  LivetraceError,
  TraceClosedError,
  TraceExistsError,
  UnknownNodeError,
  ForbiddenError,
} from '../core/errors.js';
import { assertValidId } from '../core/ids.js';
import type { LogLevel, NodeKind } from '../core/types.js';
import type { UsageInput } from '../core/usage.js';
import type { NodeHandle } from '../tracer/node-handle.js';
import type { NodeOptions, ParallelItem, Trace } from '../tracer/trace.js';
import type { CreateOptions, Tracer } from '../tracer/tracer.js';
import type { Principal } from './auth.js';
import { toHttpError, type ErrorBody } from './http-error.js';
import { intOption } from '../core/int-option.js';
import { SerialQueue } from '../core/serial-queue.js';
import type { Cluster } from './cluster/cluster.js';
import type { StoredAnswer } from './cluster/shared-state.js';
import type { HeavyWork } from './heavy-work.js';

/** Metadata key under which a node keeps the client ref it was created with. */
export const REF_KEY = 'livetrace.ref';

export interface WriteApiOptions {
  /** Most operations in one batch. Default 1000. */
  maxOpsPerBatch?: number;
  /** A trace written over HTTP is released (flushed, lease given back, still resumable) after this long without a batch. Default 600000 (10 min). */
  idleMs?: number;
  /** Traces held open for HTTP writers at once; past it creating or writing another is a 503. Default 10000. */
  maxTraces?: number;
  /** Idempotency keys remembered per trace (the newest). Default 256. */
  maxKeysPerTrace?: number;
}

export interface ResolvedWriteOptions {
  maxOpsPerBatch: number;
  idleMs: number;
  maxTraces: number;
  maxKeysPerTrace: number;
}

export function resolveWriteOptions(o: WriteApiOptions = {}): ResolvedWriteOptions {
  const int = (name: string, v: unknown, d: number): number => intOption(`option write.${name}`, v, d);
  return {
    maxOpsPerBatch: int('maxOpsPerBatch', o.maxOpsPerBatch, 1000),
    idleMs: int('idleMs', o.idleMs, 600_000),
    maxTraces: int('maxTraces', o.maxTraces, 10_000),
    maxKeysPerTrace: int('maxKeysPerTrace', o.maxKeysPerTrace, 256),
  };
}

/** What one operation produced: the seqs of its events and the nodes it created. */
export interface OpResult {
  first_seq?: number;
  last_seq?: number;
  node_id?: string;
  node_ids?: string[];
}

export interface OpsAnswer {
  status: number;
  body: OpsResponse | (ErrorBody & Partial<OpsResponse> & { applied: number });
}

/** Sends a request to the instance holding its trace (several servers); that instance's answer. */
export type ForwardOps = (url: string) => Promise<OpsAnswer>;

export interface OpsResponse {
  trace_id: string;
  /** ref -> node id, for the refs this batch created. */
  refs: Record<string, string>;
  results: OpResult[];
  last_seq: number;
}

// ---- parsing ----------------------------------------------------------------------------

type NodeFields = {
  label?: string;
  kind?: string;
  usage?: UsageInput;
  icon?: string;
  description?: string;
  metadata?: Record<string, unknown>;
};

export type Op =
  | ({ op: 'add'; ref?: string; parent?: string; input?: unknown; auto_complete_parent?: boolean } & NodeFields)
  | {
      op: 'parallel';
      parent?: string;
      items: ({ ref?: string; input?: unknown } & NodeFields)[];
      auto_complete_parent?: boolean;
    }
  | ({
      op: 'join';
      ref?: string;
      node: string;
      nodes: string[];
      input?: unknown;
      auto_complete_parent?: boolean;
    } & NodeFields)
  | { op: 'log'; node?: string; level: LogLevel; message: string; data?: unknown; hasData: boolean }
  | { op: 'set_output'; node?: string; output: unknown }
  | { op: 'set_metadata'; node?: string; entries: Record<string, unknown> }
  | { op: 'complete'; node?: string; output?: unknown; hasOutput: boolean }
  | { op: 'fail'; node?: string; error: unknown }
  | { op: 'set_usage'; node: string; usage: UsageInput }
  | {
      op: 'space_create';
      space: string;
      label?: string;
      icon?: string;
      description?: string;
      ttl?: number;
      metadata?: Record<string, unknown>;
    }
  | { op: 'space_set'; space: string; key: string; value: unknown; title?: string }
  | { op: 'space_delete_key'; space: string; key: string }
  | { op: 'space_clear'; space: string }
  | { op: 'space_delete'; space: string }
  | { op: 'mark_complete' }
  | { op: 'mark_failed'; error: unknown }
  | { op: 'mark_cancelled'; reason?: string };

export const OP_NAMES = [
  'add',
  'parallel',
  'join',
  'log',
  'set_output',
  'set_metadata',
  'set_usage',
  'complete',
  'fail',
  'space_create',
  'space_set',
  'space_delete_key',
  'space_clear',
  'space_delete',
  'mark_complete',
  'mark_failed',
  'mark_cancelled',
] as const;
const OPS: ReadonlySet<string> = new Set(OP_NAMES);
const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);
const REF_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

type Obj = Record<string, unknown>;
const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isRefList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((n) => typeof n === 'string' && REF_RE.test(n));
}

function bad(i: number, msg: string): never {
  throw new InvalidArgumentError(`ops[${i}]: ${msg}`);
}
function str(o: Obj, k: string, i: number, required: boolean, max = 1024): string | undefined {
  if (!has(o, k) || o[k] === undefined) {
    if (required) bad(i, `"${k}" is required`);
    return undefined;
  }
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    bad(i, `"${k}" must be a string of 1 to ${max} characters`);
  return v;
}
function obj(o: Obj, k: string, i: number): Record<string, unknown> | undefined {
  if (!has(o, k) || o[k] === undefined) return undefined;
  const v = o[k];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(i, `"${k}" must be an object`);
  return v as Record<string, unknown>;
}
function bool(o: Obj, k: string, i: number): boolean | undefined {
  if (!has(o, k) || o[k] === undefined) return undefined;
  if (typeof o[k] !== 'boolean') bad(i, `"${k}" must be true or false`);
  return o[k];
}
function ref(o: Obj, k: string, i: number, required = false): string | undefined {
  const v = str(o, k, i, required, 128);
  if (v !== undefined && !REF_RE.test(v)) bad(i, `"${k}" must match ${REF_RE.source}`);
  return v;
}
function nodeFields(o: Obj, i: number): NodeFields {
  const f: NodeFields = {};
  const label = str(o, 'label', i, false);
  if (label !== undefined) f.label = label;
  const kind = str(o, 'kind', i, false, 32);
  if (kind !== undefined) f.kind = kind;
  const usage = obj(o, 'usage', i);
  if (usage !== undefined) f.usage = usageOf(usage);
  const icon = str(o, 'icon', i, false);
  if (icon !== undefined) f.icon = icon;
  const description = str(o, 'description', i, false, 16_384);
  if (description !== undefined) f.description = description;
  const metadata = obj(o, 'metadata', i);
  if (metadata !== undefined) f.metadata = metadata;
  return f;
}

/** Wire (snake_case) usage -> the Trace API's UsageInput; the Trace API validates the figures. */
function usageOf(u: Record<string, unknown>): UsageInput {
  const out: Record<string, unknown> = {};
  const map: Record<string, string> = {
    model: 'model',
    provider: 'provider',
    input_tokens: 'inputTokens',
    output_tokens: 'outputTokens',
    cached_tokens: 'cachedTokens',
    reasoning_tokens: 'reasoningTokens',
    ttft_ms: 'timeToFirstTokenMs',
    cost: 'cost',
  };
  for (const [k, v] of Object.entries(u)) {
    const key = map[k];
    if (key === undefined)
      throw new InvalidArgumentError(
        `usage: unknown field ${JSON.stringify(k).slice(0, 40)} (model, provider, input_tokens, output_tokens, cached_tokens, reasoning_tokens, ttft_ms, cost)`,
      );
    out[key] = v;
  }
  return out;
}

/** Validates a whole batch before anything is applied. */
export function parseOps(body: unknown, maxOps: number): Op[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidArgumentError('the body must be a JSON object { "ops": [...] }');
  const list = (body as Obj)['ops'];
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidArgumentError('"ops" must be a non-empty array of operations');
  if (list.length > maxOps)
    throw new InvalidArgumentError(`a batch holds at most ${maxOps} operations, got ${list.length}`);
  const refs = new Set<string>();
  const declare = (r: string | undefined, i: number): void => {
    if (r === undefined) return;
    if (refs.has(r)) bad(i, `ref ${JSON.stringify(r)} is declared twice in the batch`);
    refs.add(r);
  };
  return list.map((raw: unknown, i): Op => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      bad(i, 'an operation must be an object { "op": ... }');
    const o = raw as Obj;
    const name = o['op'];
    if (typeof name !== 'string' || !OPS.has(name))
      bad(i, `"op" must be one of ${OP_NAMES.join(', ')}, got ${JSON.stringify(name)?.slice(0, 40)}`);
    switch (name) {
      case 'add': {
        const op: Op = { op: 'add', ...nodeFields(o, i) };
        const r = ref(o, 'ref', i);
        declare(r, i);
        if (r !== undefined) op.ref = r;
        const parent = ref(o, 'parent', i);
        if (parent !== undefined) op.parent = parent;
        if (has(o, 'input')) op.input = o['input'];
        const acp = bool(o, 'auto_complete_parent', i);
        if (acp !== undefined) op.auto_complete_parent = acp;
        return op;
      }
      case 'parallel': {
        const items = o['items'];
        if (!Array.isArray(items) || items.length === 0) bad(i, '"items" must be a non-empty array');
        if (items.length > maxOps) bad(i, `"items" holds at most ${maxOps} branches`);
        const op: Op = {
          op: 'parallel',
          items: items.map((it: unknown) => {
            if (it === null || typeof it !== 'object' || Array.isArray(it)) bad(i, 'every item must be an object');
            const io = it as Obj;
            const item: { ref?: string; input?: unknown } & NodeFields = nodeFields(io, i);
            const r = ref(io, 'ref', i);
            declare(r, i);
            if (r !== undefined) item.ref = r;
            if (has(io, 'input')) item.input = io['input'];
            return item;
          }),
        };
        const parent = ref(o, 'parent', i);
        if (parent !== undefined) op.parent = parent;
        const acp = bool(o, 'auto_complete_parent', i);
        if (acp !== undefined) op.auto_complete_parent = acp;
        return op;
      }
      case 'join': {
        const node = ref(o, 'node', i, true)!;
        const nodes = o['nodes'];
        if (!isRefList(nodes)) bad(i, '"nodes" must be an array of node refs or ids');
        const op: Op = { op: 'join', node, nodes, ...nodeFields(o, i) };
        const r = ref(o, 'ref', i);
        declare(r, i);
        if (r !== undefined) op.ref = r;
        if (has(o, 'input')) op.input = o['input'];
        const acp = bool(o, 'auto_complete_parent', i);
        if (acp !== undefined) op.auto_complete_parent = acp;
        return op;
      }
      case 'log': {
        const level = o['level'] ?? 'info';
        if (typeof level !== 'string' || !LEVELS.has(level)) bad(i, '"level" must be debug, info, warn or error');
        const message = o['message'];
        if (typeof message !== 'string') bad(i, '"message" must be a string');
        const op: Op = { op: 'log', level: level as LogLevel, message, data: o['data'], hasData: has(o, 'data') };
        const node = ref(o, 'node', i);
        if (node !== undefined) op.node = node;
        return op;
      }
      case 'set_output': {
        if (!has(o, 'output')) bad(i, '"output" is required');
        const op: Op = { op: 'set_output', output: o['output'] };
        const node = ref(o, 'node', i);
        if (node !== undefined) op.node = node;
        return op;
      }
      case 'set_metadata': {
        let entries = obj(o, 'entries', i);
        if (entries === undefined) {
          const key = str(o, 'key', i, true)!;
          entries = { [key]: o['value'] };
        }
        if (Object.keys(entries).length === 0) bad(i, '"entries" must not be empty');
        const op: Op = { op: 'set_metadata', entries };
        const node = ref(o, 'node', i);
        if (node !== undefined) op.node = node;
        return op;
      }
      case 'set_usage': {
        const usage = obj(o, 'usage', i);
        if (usage === undefined) bad(i, '"usage" is required');
        return { op: 'set_usage', node: ref(o, 'node', i, true)!, usage: usageOf(usage) };
      }
      case 'complete': {
        const op: Op = { op: 'complete', output: o['output'], hasOutput: has(o, 'output') };
        const node = ref(o, 'node', i);
        if (node !== undefined) op.node = node;
        return op;
      }
      case 'fail': {
        if (!has(o, 'error')) bad(i, '"error" is required (a message or { name, message })');
        const op: Op = { op: 'fail', error: o['error'] };
        const node = ref(o, 'node', i);
        if (node !== undefined) op.node = node;
        return op;
      }
      case 'space_create': {
        const op: Op = { op: 'space_create', space: ref(o, 'space', i, true)! };
        const f = nodeFields(o, i);
        Object.assign(op, f);
        if (has(o, 'ttl')) {
          if (typeof o['ttl'] !== 'number' || !Number.isFinite(o['ttl'])) bad(i, '"ttl" must be a number');
          op.ttl = o['ttl'];
        }
        return op;
      }
      case 'space_set': {
        const op: Op = {
          op: 'space_set',
          space: ref(o, 'space', i, true)!,
          key: str(o, 'key', i, true)!,
          value: o['value'],
        };
        const title = str(o, 'title', i, false);
        if (title !== undefined) op.title = title;
        return op;
      }
      case 'space_delete_key':
        return { op: 'space_delete_key', space: ref(o, 'space', i, true)!, key: str(o, 'key', i, true)! };
      case 'space_clear':
        return { op: 'space_clear', space: ref(o, 'space', i, true)! };
      case 'space_delete':
        return { op: 'space_delete', space: ref(o, 'space', i, true)! };
      case 'mark_complete':
        return { op: 'mark_complete' };
      case 'mark_failed':
        if (!has(o, 'error')) bad(i, '"error" is required');
        return { op: 'mark_failed', error: o['error'] };
      default: {
        const reason = str(o, 'reason', i, false);
        return reason === undefined ? { op: 'mark_cancelled' } : { op: 'mark_cancelled', reason };
      }
    }
  });
}

/** `POST /traces` body -> tracer.create options, with the caller's tenant enforced. */
export function parseCreate(body: unknown, principal: Principal | undefined): CreateOptions {
  if (body === undefined || body === null) body = {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('the body must be a JSON object');
  const o = body as Obj;
  const opt: CreateOptions = {};
  const s = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024)
      throw new InvalidArgumentError(`"${k}" must be a string of 1 to 1024 characters`);
    return v;
  };
  const id = s('id');
  if (id !== undefined) {
    assertValidId(id);
    opt.id = id;
  }
  const agent = s('agent_name');
  if (agent !== undefined) opt.agentName = agent;
  const createdBy = s('created_by');
  if (createdBy !== undefined) opt.createdBy = createdBy;
  let tenant = s('tenant_id');
  let team = s('team_id');
  if (principal) {
    if (tenant !== undefined && tenant !== principal.tenantId)
      throw new ForbiddenError(`this token writes only traces of tenant ${principal.tenantId}`);
    if (principal.teamId !== undefined && team !== undefined && team !== principal.teamId)
      throw new ForbiddenError(`this token writes only traces of team ${principal.teamId}`);
    tenant = principal.tenantId;
    team = principal.teamId ?? team;
  }
  if (tenant !== undefined) opt.tenantId = tenant;
  if (team !== undefined) opt.teamId = team;
  if (o['metadata'] !== undefined) {
    if (o['metadata'] === null || typeof o['metadata'] !== 'object' || Array.isArray(o['metadata']))
      throw new InvalidArgumentError('"metadata" must be an object');
    opt.metadata = o['metadata'] as Record<string, unknown>;
  }
  if (o['auto_archive'] !== undefined) {
    if (typeof o['auto_archive'] !== 'boolean') throw new InvalidArgumentError('"auto_archive" must be true or false');
    opt.autoArchive = o['auto_archive'];
  }
  // Session fields (COORD conventions) pass through when the Tracer knows them.
  for (const [wire, key] of [
    ['session_id', 'sessionId'],
    ['user_id', 'userId'],
  ] as const) {
    const v = s(wire);
    if (v !== undefined) (opt as Record<string, unknown>)[key] = v;
  }
  return opt;
}

// ---- applying -------------------------------------------------------------------------

interface KeyEntry {
  digest: string;
  answer: Promise<OpsAnswer>;
}

interface Held {
  trace: Trace;
  /** client ref -> node id */
  refs: Map<string, string>;
  lastUsed: number;
}

/**
 * The traces this server writes for HTTP clients. One per server; the OTLP receiver has its
 * own (it assembles spans); both call the same Trace API of the same Tracer.
 */
export class TraceWriter {
  readonly tracer: Tracer;
  readonly options: ResolvedWriteOptions;
  readonly #held = new Map<string, Held>();
  /** trace id -> idempotency key -> answer; kept after the trace finishes (bounded, oldest trace first). */
  readonly #keys = new Map<string, Map<string, KeyEntry>>();
  /** Batches of one trace apply one after the other. */
  readonly #chains = new SerialQueue();
  readonly #createKeys = new Map<string, { digest: string; answer: Promise<OpsAnswer> }>();
  readonly #releasing = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Several servers: forwarding to a trace's holder, idempotency answers shared in Redis. Set by the server. */
  cluster: Cluster | undefined;
  /** Bounds loading stored traces (a whole log read and reduced) with the read side's heavy work. Set by the server. */
  heavy: HeavyWork | undefined;
  /** Traces the idle sweep must not release (the OTLP receiver still assembles them). */
  keepLoaded: ((traceId: string) => boolean) | undefined;

  constructor(tracer: Tracer, options: WriteApiOptions = {}) {
    this.tracer = tracer;
    this.options = resolveWriteOptions(options);
  }

  get heldCount(): number {
    return this.#held.size;
  }

  /** Creates a trace; `key` (Idempotency-Key) makes a retry return the first answer. */
  create(options: CreateOptions, key: string | undefined, rawBody: Buffer): Promise<OpsAnswer> {
    if (key === undefined) return this.#create(options);
    const digest = digestOf(rawBody);
    const entry = this.#createKeys.get(key);
    if (entry) {
      if (entry.digest !== digest) throw new IdempotencyMismatchError(key);
      return entry.answer;
    }
    const cluster = this.cluster;
    // Keys of creates are per tenant (no trace id yet).
    const scope = `create:${options.tenantId ?? ''}`;
    const answer = cluster
      ? (async () => {
          const stored = await cluster.answerOf(scope, key);
          if (stored) return sharedAnswer(stored, digest, key);
          const out = await this.#create(options);
          await cluster.remember(scope, key, { digest, status: out.status, body: out.body });
          return out;
        })()
      : this.#create(options);
    const fresh = { digest, answer };
    this.#createKeys.set(key, fresh);
    forgetOnRetryable(answer, () => {
      if (this.#createKeys.get(key) === fresh) this.#createKeys.delete(key);
    });
    if (this.#createKeys.size > 10_000) this.#createKeys.delete(this.#createKeys.keys().next().value!);
    return answer;
  }

  async #create(options: CreateOptions): Promise<OpsAnswer> {
    try {
      this.#checkCapacity();
      // Creating over HTTP never resumes a stored trace (it could be another tenant's).
      if (options.id !== undefined && (await this.tracer.exists(options.id))) throw new TraceExistsError(options.id);
      const trace = await this.tracer.create(options);
      this.#hold(trace);
      await trace.flush();
      return { status: 201, body: { trace_id: trace.id, refs: {}, results: [], last_seq: trace.lastSeq } };
    } catch (err) {
      if (isClientError(err))
        return { status: toHttpError(err).status, body: { ...toHttpError(err).body, applied: 0 } };
      throw err;
    }
  }

  /**
   * Applies a parsed batch to trace `id` (visibility already checked by the caller). With an
   * idempotency key, a batch seen before is not applied again: its first answer is returned.
   * Batches of one trace run one after another, in arrival order.
   */
  apply(id: string, ops: Op[], key: string | undefined, rawBody: Buffer, forward?: ForwardOps): Promise<OpsAnswer> {
    let keys: Map<string, KeyEntry> | undefined;
    const digest = key === undefined ? '' : digestOf(rawBody);
    if (key !== undefined) {
      keys = this.#keysOf(id);
      const seen = keys.get(key);
      if (seen) {
        if (seen.digest !== digest) return Promise.reject(new IdempotencyMismatchError(key));
        return seen.answer;
      }
    }
    const cluster = this.cluster;
    const scope = `ops:${id}`;
    const local = async (): Promise<OpsAnswer> => {
      const held = await this.#acquire(id);
      const out = this.#applyNow(held, ops);
      held.lastUsed = Date.now();
      try {
        await held.trace.flush();
      } finally {
        if (held.trace.isComplete) this.#finish(held);
      }
      // Stored before the answer leaves: a replay reaching any instance finds it.
      if (key !== undefined && cluster) await cluster.remember(scope, key, { digest, ...out });
      return out;
    };
    const run = async (): Promise<OpsAnswer> => {
      if (!cluster) return local();
      if (key !== undefined) {
        const stored = await cluster.answerOf(scope, key);
        if (stored) return sharedAnswer(stored, digest, key);
      }
      // Held by another instance: forwarded there (or taken over once its lease expired).
      return cluster.route(id, local, forward);
    };
    const answer = this.#chains.run(id, run);
    // Registered at once, so that a replay arriving before the answer waits for it.
    if (key !== undefined) {
      const entry = { digest, answer };
      remember(keys!, key, entry, this.options.maxKeysPerTrace);
      // Nothing was applied (the holder did not answer, or failed mid-request): a retry runs again.
      forgetOnRetryable(answer, () => {
        if (keys!.get(key) === entry) keys!.delete(key);
      });
    }
    return answer;
  }

  #keysOf(id: string): Map<string, KeyEntry> {
    let keys = this.#keys.get(id);
    if (keys) {
      // Most recently used last: the oldest trace's keys go first.
      this.#keys.delete(id);
      this.#keys.set(id, keys);
      return keys;
    }
    this.#keys.set(id, (keys = new Map<string, KeyEntry>()));
    if (this.#keys.size > this.options.maxTraces + 1000) this.#keys.delete(this.#keys.keys().next().value!);
    return keys;
  }

  /** Stops the idle sweep and releases every held trace (flushed, resumable). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const all = [...this.#held.values()];
    this.#held.clear();
    await Promise.allSettled([...all.map((h) => h.trace.release()), ...this.#releasing]);
  }

  async #acquire(id: string): Promise<Held> {
    const held = this.#held.get(id);
    if (held && !held.trace.isReleased) return held;
    this.#checkCapacity();
    const loaded = this.tracer.get(id);
    // Released by the idle sweep a moment ago: let the release finish, then load again.
    if (loaded?.isReleased) await loaded.release().catch(() => undefined);
    const trace =
      loaded && !loaded.isReleased
        ? loaded
        : await (this.heavy ? this.heavy.run('trace loads', () => this.tracer.load(id)) : this.tracer.load(id));
    return this.#held.get(id) ?? this.#hold(trace);
  }

  #hold(trace: Trace): Held {
    const refs = new Map<string, string>();
    for (const n of trace.nodes()) {
      const r = n.metadata?.[REF_KEY];
      if (typeof r === 'string') refs.set(r, n.id);
    }
    const held: Held = { trace, refs, lastUsed: Date.now() };
    this.#held.set(trace.id, held);
    this.#arm();
    return held;
  }

  #checkCapacity(): void {
    if (this.#closed) throw new LivetraceError('LT_ERR_TRACER_CLOSED', 'the server is shutting down');
    if (this.#held.size >= this.options.maxTraces) {
      throw new LivetraceError(
        'LT_ERR_TRACER_CLOSED',
        `this server already holds ${this.options.maxTraces} traces open for HTTP writers; retry later`,
      );
    }
  }

  /** Sealed: flush and release in the background (its idempotency keys stay answerable). */
  #finish(held: Held): void {
    if (this.#held.get(held.trace.id) !== held) return;
    this.#held.delete(held.trace.id);
    this.#track(held.trace.release());
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.#releasing.delete(q));
    this.#releasing.add(q);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const every = Math.max(50, Math.min(60_000, Math.floor(this.options.idleMs / 4)));
    this.#timer = setInterval(() => this.#sweep(), every);
    this.#timer.unref?.();
  }

  #sweep(): void {
    const limit = Date.now() - this.options.idleMs;
    for (const held of [...this.#held.values()]) {
      if (held.trace.isReleased || held.trace.isComplete) this.#finish(held);
      else if (held.lastUsed <= limit && !this.keepLoaded?.(held.trace.id)) {
        this.#held.delete(held.trace.id);
        const h = held;
        this.#track(this.#chains.idle(h.trace.id).then(() => h.trace.release()));
      }
    }
    if (this.#held.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Runs the batch synchronously on the trace: nothing else interleaves. */
  #applyNow(held: Held, ops: Op[]): OpsAnswer {
    const { trace } = held;
    const created: Record<string, string> = {};
    const results: OpResult[] = [];
    // Every node reference must resolve before anything is applied.
    const declared = new Set<string>();
    const known = (r: string): boolean => declared.has(r) || held.refs.has(r) || trace.getNode(r) !== undefined;
    ops.forEach((op, i) => {
      const refsOf: string[] = [];
      if ('parent' in op && op.parent !== undefined) refsOf.push(op.parent);
      if ('node' in op && op.node !== undefined) refsOf.push(op.node);
      if (op.op === 'join') refsOf.push(...op.nodes);
      for (const r of refsOf) if (!known(r)) throw new UnknownNodeError(trace.id, `${r} (ops[${i}])`);
      const newRefs = op.op === 'parallel' ? op.items.map((it) => it.ref) : 'ref' in op ? [op.ref] : [];
      for (const r of newRefs) {
        if (r === undefined) continue;
        if (held.refs.has(r))
          throw new InvalidArgumentError(
            `ops[${i}]: ref ${JSON.stringify(r)} already names a node of trace ${trace.id}`,
          );
        declared.add(r);
      }
    });
    if (trace.isComplete || trace.isReleased)
      throw new TraceClosedError(trace.id, trace.isComplete ? 'completed' : 'released', ops[0]!.op);

    const resolve = (r: string): string => held.refs.get(r) ?? r;
    const node = (r: string): NodeHandle => {
      const h = trace.node(resolve(r));
      if (!h) throw new UnknownNodeError(trace.id, r);
      return h;
    };
    const options = (op: NodeFields & { ref?: string; auto_complete_parent?: boolean }): NodeOptions => {
      const o: NodeOptions = {};
      if (op.label !== undefined) o.label = op.label;
      if (op.kind !== undefined) o.kind = op.kind as NodeKind;
      if (op.usage !== undefined) o.usage = op.usage;
      if (op.icon !== undefined) o.icon = op.icon;
      if (op.description !== undefined) o.description = op.description;
      if (op.metadata !== undefined || op.ref !== undefined)
        o.metadata = { ...op.metadata, ...(op.ref !== undefined ? { [REF_KEY]: op.ref } : {}) };
      if (op.auto_complete_parent !== undefined) o.autoCompleteParent = op.auto_complete_parent;
      return o;
    };
    const name = (r: string | undefined, id: string): void => {
      if (r === undefined || id === '') return;
      held.refs.set(r, id);
      created[r] = id;
    };

    let applied = 0;
    try {
      for (const op of ops) {
        if (trace.isComplete) throw new TraceClosedError(trace.id, 'completed', op.op);
        const before = trace.lastSeq;
        const result: OpResult = {};
        switch (op.op) {
          case 'add': {
            const o = options(op);
            const h = op.parent !== undefined ? node(op.parent).add(op.input, o) : trace.add(op.input, o);
            name(op.ref, h.id);
            result.node_id = h.id;
            break;
          }
          case 'parallel': {
            const items: ParallelItem[] = op.items.map((it) => {
              const o: ParallelItem = options(it);
              if ('input' in it) o.input = it.input;
              if (op.auto_complete_parent !== undefined) o.autoCompleteParent = op.auto_complete_parent;
              return o;
            });
            const hs = op.parent !== undefined ? node(op.parent).parallel(items) : trace.parallel(items);
            hs.forEach((h, k) => name(op.items[k]!.ref, h.id));
            result.node_ids = hs.map((h) => h.id);
            break;
          }
          case 'join': {
            const h = node(op.node).join(op.nodes.map(resolve), op.input, options(op));
            name(op.ref, h.id);
            result.node_id = h.id;
            break;
          }
          case 'log': {
            const target: Pick<Trace, LogLevel> | NodeHandle = op.node !== undefined ? node(op.node) : trace;
            if (op.hasData) target[op.level](op.message, op.data);
            else target[op.level](op.message);
            break;
          }
          case 'set_output':
            if (op.node !== undefined) node(op.node).setOutput(op.output);
            else trace.setOutput(op.output);
            break;
          case 'set_metadata':
            if (op.node !== undefined) node(op.node).setMetadata(op.entries);
            else for (const [k, v] of Object.entries(op.entries)) trace.setMetadata(k, v);
            break;
          case 'complete':
            if (op.node !== undefined) {
              const h = node(op.node);
              if (op.hasOutput) h.complete(op.output);
              else h.complete();
            } else if (op.hasOutput) trace.complete(op.output);
            else trace.complete();
            break;
          case 'set_usage':
            node(op.node).setUsage(op.usage);
            break;
          case 'fail':
            if (op.node !== undefined) node(op.node).fail(op.error);
            else trace.fail(op.error);
            break;
          case 'space_create': {
            const { op: _o, space, ...rest } = op;
            trace.createSpace({ id: space, ...rest });
            break;
          }
          case 'space_set':
            trace.setSpaceValue(op.space, op.key, op.value, op.title !== undefined ? { title: op.title } : {});
            break;
          case 'space_delete_key':
            trace.deleteSpaceValue(op.space, op.key);
            break;
          case 'space_clear':
            trace.clearSpaceValues(op.space);
            break;
          case 'space_delete':
            trace.deleteSpace(op.space);
            break;
          case 'mark_complete':
            trace.markComplete();
            break;
          case 'mark_failed':
            trace.markFailed(op.error);
            break;
          case 'mark_cancelled':
            trace.markCancelled(op.reason);
            break;
        }
        if (trace.lastSeq > before) {
          result.first_seq = before + 1;
          result.last_seq = trace.lastSeq;
        }
        results.push(result);
        applied++;
      }
    } catch (err) {
      if (!isClientError(err)) throw err;
      const e = toHttpError(err);
      return {
        status: e.status,
        body: { ...e.body, applied, trace_id: trace.id, refs: created, results, last_seq: trace.lastSeq },
      };
    }
    return { status: 200, body: { trace_id: trace.id, refs: created, results, last_seq: trace.lastSeq } };
  }
}

/** A stored answer for a replay: the same request gets it, another one with the same key a 422. */
function sharedAnswer(stored: StoredAnswer, digest: string, key: string): OpsAnswer {
  if (stored.digest !== digest) throw new IdempotencyMismatchError(key);
  return { status: stored.status, body: stored.body as OpsAnswer['body'] };
}

/** Calls `forget` when `answer` fails with a 502/503 (nothing applied here, or unknown: a retry must run again). */
function forgetOnRetryable(answer: Promise<unknown>, forget: () => void): void {
  answer.catch((err: unknown) => {
    if (err instanceof LivetraceError && (err.status === 502 || err.status === 503)) forget();
  });
}

function remember(keys: Map<string, KeyEntry>, key: string, entry: KeyEntry, max: number): void {
  keys.set(key, entry);
  if (keys.size > max) keys.delete(keys.keys().next().value!);
}

function digestOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url');
}

function isClientError(err: unknown): boolean {
  return err instanceof LivetraceError && err.status >= 400 && err.status < 500;
}

/** The idempotency key of a request: the `Idempotency-Key` header or the body's `idempotency_key`. */
export function idempotencyKeyOf(header: string | string[] | undefined, body: unknown): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const b = body !== null && typeof body === 'object' ? (body as Obj)['idempotency_key'] : undefined;
  const k = h ?? b;
  if (k === undefined) return undefined;
  if (typeof k !== 'string' || k.length === 0 || k.length > 256)
    throw new InvalidArgumentError('the idempotency key must be a string of 1 to 256 characters');
  return k;
}
