// Server-Sent Events for one trace. The response is written straight to the socket
// (reply.raw) so that backpressure is ours: when write() returns false we stop pulling
// from the subscription until 'drain'. The subscription's buffer is bounded and catches up
// from the store, so a slow client costs at most one subscription buffer plus one write batch
// on the server. A client that stays stalled past `stallTimeoutMs` is disconnected; it
// resumes losslessly with Last-Event-ID. A client with nothing left to send waits with its
// trace's other caught-up clients on one broadcast (sse-broadcast.ts), and follows alone
// again (history, a full socket) until it has caught up.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { Subscription } from '../hub/subscription.js';
import type { Tracer } from '../tracer/tracer.js';
import { SseBroadcast, type ParkedClient } from './sse-broadcast.js';
import { gatherBurst, SSE_DONE_MESSAGE } from './sse-frame.js';

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

export interface SseStreamInfo {
  readonly traceId: string;
  readonly res: ServerResponse;
  /** What the stream reads from now: its own subscription, or the broadcast's while parked. */
  readonly follower: Subscription;
  /** Ends the stream cleanly (shutdown). */
  end(): void;
}

/** Open SSE streams of one API instance: the shutdown path ends them all. */
export class SseRegistry {
  readonly streams = new Set<SseStreamInfo>();
  /** The broadcast of each trace that has caught-up clients (sse-broadcast.ts). */
  readonly broadcasts = new Map<string, SseBroadcast>();
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

  /**
   * The broadcast that serves a trace's caught-up clients (opened at `since` if there is
   * none); undefined while shutting down, or when another tracer's broadcast holds the id
   * (one registry may serve two plugin instances).
   */
  broadcast(tracer: Tracer, traceId: string, since: number, pollMs: number): SseBroadcast | undefined {
    if (this.closing) return undefined;
    const b = this.broadcasts.get(traceId) ?? this.#open(tracer, traceId, since, pollMs);
    return b.tracer === tracer ? b : undefined;
  }

  #open(tracer: Tracer, traceId: string, since: number, pollMs: number): SseBroadcast {
    const b = new SseBroadcast(tracer, traceId, since, pollMs, (done) => {
      if (this.broadcasts.get(traceId) === done) this.broadcasts.delete(traceId);
    });
    this.broadcasts.set(traceId, b);
    return b;
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
  const { res, options, registry, tracer, traceId } = req;
  const abort = new AbortController();
  // tracer.subscribe serves traces loaded here (live), carried by a remote hub, or written
  // by another process on the same store (polled): one mechanism for all three.
  const follow = (since: number): Subscription =>
    tracer.subscribe(traceId, { since, signal: abort.signal, pollMs: options.pollMs });
  let follower = follow(req.since);
  /** Where this client is: the seq of the last event written to it. */
  const client: ParkedClient = { res, position: req.since };
  let parkedIn: SseBroadcast | undefined;
  let waitingDrain = false;
  let ended = false;
  const endStream = (): void => {
    if (ended) return;
    ended = true;
    abort.abort();
    parkedIn?.leave(client);
    if (res.destroyed || res.writableEnded) return;
    // A client that is not reading would hold the shutdown until its stall timeout: cut
    // it now (it resumes by Last-Event-ID); a reading client gets a clean end.
    if (res.writableNeedDrain) res.destroy();
    else res.end();
  };
  const info: SseStreamInfo = {
    traceId,
    res,
    get follower() {
      return parkedIn?.subscription ?? follower;
    },
    end: endStream,
  };
  const onClose = (): void => {
    ended = true;
    abort.abort();
    parkedIn?.leave(client);
  };
  res.on('close', onClose);
  registry.streams.add(info);
  const heartbeat = setInterval(() => {
    if (!waitingDrain && !ended) res.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();
  /** Waits for the socket to drain; false when the stream is over (stalled or closed). */
  const drained = async (): Promise<boolean> => {
    if (!res.writableNeedDrain) return true;
    waitingDrain = true;
    const r = await waitDrain(res, options.stallTimeoutMs);
    waitingDrain = false;
    if (r === 'stalled') {
      registry.stalled++;
      res.destroy();
    }
    return r === 'drained';
  };

  /**
   * Nothing to send: waits with the trace's other caught-up clients, written to in one pass
   * per burst (sse-broadcast.ts). `refused` when the broadcast is behind this client (then
   * it waits alone), `resume` after a full socket has drained (it follows alone again).
   */
  const park = async (): Promise<'refused' | 'stop' | 'resume'> => {
    const broadcast = registry.broadcast(tracer, traceId, client.position, options.pollMs);
    const parked = broadcast?.park(client);
    if (parked === undefined) return 'refused';
    parkedIn = broadcast;
    void follower.return();
    const outcome = await parked;
    parkedIn = undefined;
    if (outcome.kind === 'left' || ended) return 'stop';
    if (outcome.kind === 'failed') throw outcome.error;
    // Resumed after the end: nothing to send but the end marker.
    if (outcome.kind === 'ended' && outcome.reachedEnd) res.write(SSE_DONE_MESSAGE);
    if (outcome.kind !== 'backpressure') {
      await drained();
      return 'stop';
    }
    if (!(await drained())) return 'stop';
    follower = follow(client.position);
    return 'resume';
  };

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
      let last = follower.takeReady();
      if (last === undefined) {
        const step = await park();
        if (step === 'stop') break;
        if (step === 'resume') continue;
        const first = await follower.next();
        if (ended) break;
        if (first.done) {
          if (follower.reachedEnd) res.write(SSE_DONE_MESSAGE);
          break;
        }
        last = first.value;
      }
      if (ended) break;
      // What is ready goes out in one write: one syscall (and no promise) per event burst.
      const burst = gatherBurst(last, follower);
      client.position = burst.last.seq;
      const more = res.write(burst.complete ? burst.frames.join('') + SSE_DONE_MESSAGE : burst.frames.join(''));
      if (burst.complete) {
        await drained();
        break;
      }
      if (!more && !(await drained())) break;
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
