// Shared by the server tests: a real server on 127.0.0.1:0 and a small independent SSE
// frame parser (so the tests do not rely on the CLI's reader they also test).
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type CreateServerOptions, type LivetraceServer } from '../src/server/create-server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { Tracer } from '../src/tracer/tracer.js';
import type { Trace } from '../src/tracer/trace.js';
import type { LogEntry, NodeData, SpaceData, TraceEvent, TraceInfo } from '../src/core/types.js';

// The JSON bodies of the HTTP API (docs/server.md), as the tests read them.
export interface ErrorBody {
  error: { code: string; message: string };
}
export interface TracesBody {
  traces: TraceInfo[];
  next_cursor?: string;
}
export interface NodesBody {
  nodes: NodeData[];
}
export interface LogsBody {
  logs: LogEntry[];
}
export interface SpacesBody {
  spaces: (Omit<SpaceData, 'data' | 'items'> & { keys: string[] })[];
}
export interface EventsBody {
  events: TraceEvent[];
  next_since: number | null;
}

export interface TestServer {
  app: LivetraceServer;
  tracer: Tracer;
  /** http://127.0.0.1:port */
  origin: string;
  /** origin + base path */
  api: string;
  close(): Promise<void>;
}

export async function startTestServer(options: CreateServerOptions = {}): Promise<TestServer> {
  const tracer = options.tracer ?? new Tracer({ store: new MemoryStore(), exitHook: false });
  const app = await createServer({ viewer: false, ...options, tracer });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    app,
    tracer,
    origin,
    api: origin + app.livetrace.basePath,
    async close() {
      await app.close();
      if (!options.tracer) await tracer.close();
    },
  };
}

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Splits an SSE text into frames (blank-line separated); comment-only blocks become { comment }. */
export function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    const f: Frame = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) f.comment = line.slice(1).trim();
      else {
        const i = line.indexOf(': ');
        const key = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 2);
        if (key === 'id' || key === 'event' || key === 'data') f[key] = val;
      }
    }
    frames.push(f);
  }
  return frames;
}

/** A small finished trace: root, a parallel fan-out with logs, a join, a space. */
export async function sampleTrace(
  tracer: Tracer,
  options: { tenantId?: string; teamId?: string; id?: string; complete?: boolean } = {},
): Promise<Trace> {
  const t = await tracer.create({ agentName: 'sample', ...options });
  const root = t.add({ q: 'hi' }, { label: 'root' });
  root.info('starting', { a: 1 });
  const [a, b] = t.parallel([{ label: 'a' }, { label: 'b' }]);
  a!.info('in a');
  a!.complete('A');
  b!.fail(new Error('b broke'));
  t.add(undefined, { label: 'join' });
  const sp = t.createSpace({ id: 'context', label: 'Context' });
  sp.set('k', 1);
  sp.set('k', 2);
  if (options.complete !== false) t.markComplete();
  await t.flush();
  return t;
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Resolves when `cond` holds, checking every 5 ms (no fixed sleeps); fails after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Opens an SSE stream with node:http and pauses it at once: the client reads nothing. */
export function openPaused(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads the rest of a response; returns the seqs of complete frames and whether [DONE] came. */
export function drain(res: IncomingMessage): Promise<{ seqs: number[]; done: boolean }> {
  return new Promise((resolve) => {
    let buf = '';
    const seqs: number[] = [];
    let done = false;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const id = /^id: (\d+)$/m.exec(frame);
        if (id) seqs.push(Number(id[1]));
        else if (frame === 'data: [DONE]') done = true;
      }
    });
    const end = (): void => resolve({ seqs, done });
    res.on('end', end);
    res.on('error', end);
    res.on('aborted', end);
    res.on('close', end);
    res.resume();
  });
}
