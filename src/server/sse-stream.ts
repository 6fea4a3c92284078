// Server-Sent Events for one trace. The response is written straight to the socket
// (reply.raw) so that backpressure is ours: when write() returns false we stop pulling
// from the subscription until 'drain'. The subscription's buffer is bounded and catches up
// from the store, so a slow client costs at most one subscription buffer plus one write batch
// on the server. A client that stays stalled past `stallTimeoutMs` is disconnected; it
// resumes losslessly with Last-Event-ID.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { TraceEvent } from '../core/types.js';
import type { Subscription } from '../hub/subscription.js';
import type { Tracer } from '../tracer/tracer.js';
import { SSE_DONE } from '../core/sse.js';

const DONE_MESSAGE = `data: ${SSE_DONE}\n\n`;

export interface SseOptions {
  /** Comment line sent when the stream is idle, in ms. Default 15000. */
  heartbeatMs: number;
  /** A client whose socket stays full this long is disconnected, in ms. Default 30000. */
  stallTimeoutMs: number;
  /** `retry:` hint sent to EventSource clients, in ms. Default 2000. */
  retryMs: number;
  /** Poll interval for traces written by another process without a shared hub. Default 250. */
  pollMs: number;
}

/** Most bytes gathered into one socket write. */
const MAX_BATCH_BYTES = 64 * 1024;

// Every live subscriber of a trace receives the same event objects: serialize each once,
// not once per client (1,000 viewers of one run would otherwise stringify 1,000 times).
const frames = new WeakMap<TraceEvent, string>();

export function sseFrame(ev: TraceEvent): string {
  let frame = frames.get(ev);
  if (frame === undefined) {
    frame = `id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
    frames.set(ev, frame);
  }
  return frame;
}

export interface SseStreamInfo {
  readonly traceId: string;
  readonly res: ServerResponse;
  readonly follower: Subscription;
  /** Ends the stream cleanly (shutdown). */
  end(): void;
}

/** Open SSE streams of one API instance: the shutdown path ends them all. */
export class SseRegistry {
  readonly streams = new Set<SseStreamInfo>();
  /** Streams disconnected because the client stalled. */
  stalled = 0;
  /** Set first thing on close: new requests are answered 503. */
  closing = false;

  get size(): number {
    return this.streams.size;
  }

  endAll(): void {
    this.closing = true;
    for (const s of [...this.streams]) s.end();
  }
}

export interface StreamRequest {
  tracer: Tracer;
  traceId: string;
  since: number;
  res: ServerResponse;
  headers: OutgoingHttpHeaders;
  registry: SseRegistry;
  options: SseOptions;
}

/** Writes the stream until `complete` (then `data: [DONE]`), client disconnect, stall or shutdown. */
export async function streamTrace(req: StreamRequest): Promise<void> {
  const { res, options, registry } = req;
  const abort = new AbortController();
  // tracer.subscribe serves traces loaded here (live), carried by a remote hub, or written
  // by another process on the same store (polled): one mechanism for all three.
  const follower = req.tracer.subscribe(req.traceId, {
    since: req.since,
    signal: abort.signal,
    pollMs: options.pollMs,
  });
  let waitingDrain = false;
  let ended = false;
  const endStream = (): void => {
    if (ended) return;
    ended = true;
    abort.abort();
    if (res.destroyed || res.writableEnded) return;
    // A client that is not reading would hold the shutdown until its stall timeout: cut
    // it now (it resumes by Last-Event-ID); a reading client gets a clean end.
    if (res.writableNeedDrain) res.destroy();
    else res.end();
  };
  const info: SseStreamInfo = { traceId: req.traceId, res, follower, end: endStream };
  const onClose = (): void => {
    ended = true;
    abort.abort();
  };
  res.on('close', onClose);
  registry.streams.add(info);
  const heartbeat = setInterval(() => {
    if (!waitingDrain && !ended) res.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();

  try {
    res.writeHead(200, {
      ...req.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${options.retryMs}\n\n`);
    for (;;) {
      const first = await follower.next();
      if (ended) break;
      if (first.done) {
        // Resumed after the end: nothing to send but the end marker.
        if (follower.reachedEnd) res.write(DONE_MESSAGE);
        break;
      }
      let last = first.value;
      let chunk = sseFrame(last);
      // Gather what is ready into one write: one syscall (and no promise) per event burst.
      while (last.type !== 'complete' && chunk.length < MAX_BATCH_BYTES) {
        const ev = follower.takeReady();
        if (ev === undefined) break;
        last = ev;
        chunk += sseFrame(ev);
      }
      if (ended) break;
      if (last.type === 'complete') chunk += DONE_MESSAGE;
      if (!res.write(chunk)) {
        waitingDrain = true;
        const drained = await waitDrain(res, options.stallTimeoutMs);
        waitingDrain = false;
        if (drained === 'stalled') {
          registry.stalled++;
          res.destroy();
          break;
        }
        if (drained === 'closed') break;
      }
      if (last.type === 'complete') break;
    }
  } catch {
    // The subscription failed (store error): close the stream; the client resumes by Last-Event-ID.
    if (!res.headersSent) res.writeHead(500);
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClose);
    registry.streams.delete(info);
    endStream();
    await follower.return();
  }
}

function waitDrain(res: ServerResponse, timeoutMs: number): Promise<'drained' | 'closed' | 'stalled'> {
  return new Promise((resolve) => {
    const done = (r: 'drained' | 'closed' | 'stalled'): void => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClosed);
      resolve(r);
    };
    const onDrain = (): void => done('drained');
    const onClosed = (): void => done('closed');
    const timer = setTimeout(() => done('stalled'), timeoutMs);
    timer.unref();
    res.on('drain', onDrain);
    res.on('close', onClosed);
    if (res.destroyed) done('closed');
  });
}
