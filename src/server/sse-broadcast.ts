// The caught-up SSE clients of one trace, served together. A client whose stream has
// nothing left to send parks here instead of waiting on a subscription of its own: the
// broadcast follows the trace with one subscription, frames each burst of events once,
// encodes it once, and writes the same bytes to every parked client in one pass. Per event,
// 1,000 viewers then cost 1,000 socket writes and nothing else: no promise, string or
// encoding per client (docs/performance.md, section 10).
//
// Each client's bytes go to its socket as they are written, not at the end of the pass.
//
// A client leaves as soon as its socket is full (write() returned false): it waits for
// 'drain' and follows alone from where it is, with its own bounded subscription, until it
// has caught up and parks again. The broadcast never waits for anyone.
import type { ServerResponse } from 'node:http';
import type { Subscription } from '../hub/subscription.js';
import type { Tracer } from '../tracer/tracer.js';
import { gatherBurst, SSE_DONE_MESSAGE } from './sse-frame.js';

/** Why a parked client was handed back to its stream. */
export type ParkOutcome =
  /** Its socket is full: wait for 'drain', then follow alone from `position`. */
  | { kind: 'backpressure' }
  /** `complete` and the end marker were written: the stream is over. */
  | { kind: 'complete' }
  /** The trace's stream ended without `complete` here (released), or resumed after the end. */
  | { kind: 'ended'; reachedEnd: boolean }
  /** The stream left (client gone, shutdown): nothing more to do. */
  | { kind: 'left' }
  /** The broadcast's subscription failed (a store error). */
  | { kind: 'failed'; error: unknown };

export interface ParkedClient {
  readonly res: ServerResponse;
  /** Seq of the last event written to this client. */
  position: number;
}

interface Parked {
  client: ParkedClient;
  resolve: (outcome: ParkOutcome) => void;
}

export class SseBroadcast {
  readonly tracer: Tracer;
  readonly traceId: string;
  /** The broadcast's own cursor on the trace. */
  readonly subscription: Subscription;
  readonly #parked = new Map<ParkedClient, Parked>();
  readonly #onEmpty: (b: SseBroadcast) => void;
  /** Seq of the last event written to the parked clients (its subscription may have taken more). */
  #written: number;
  #closed = false;

  constructor(tracer: Tracer, traceId: string, since: number, pollMs: number, onEmpty: (b: SseBroadcast) => void) {
    this.tracer = tracer;
    this.traceId = traceId;
    this.#onEmpty = onEmpty;
    this.#written = since;
    this.subscription = tracer.subscribe(traceId, { since, pollMs });
    void this.#run();
  }

  get size(): number {
    return this.#parked.size;
  }

  /**
   * Parks a caught-up client until something happens to it. Undefined when it cannot park
   * here: the broadcast has written past the client's position (then it follows alone).
   */
  park(client: ParkedClient): Promise<ParkOutcome> | undefined {
    if (this.#closed || client.position < this.#written) return undefined;
    return new Promise((resolve) => this.#parked.set(client, { client, resolve }));
  }

  /** The stream gave up its place (client closed, shutdown): its park() resolves `left`. */
  leave(client: ParkedClient): void {
    this.#hand(client, { kind: 'left' });
  }

  #hand(client: ParkedClient, outcome: ParkOutcome): void {
    const p = this.#parked.get(client);
    if (p === undefined) return;
    this.#parked.delete(client);
    p.resolve(outcome);
    if (this.#parked.size === 0) this.#close();
  }

  /** Nobody left: stop following (a client that parks later starts a new broadcast). */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onEmpty(this);
    void this.subscription.return();
  }

  async #run(): Promise<void> {
    const sub = this.subscription;
    try {
      for (;;) {
        const first = await sub.next();
        if (this.#closed) return;
        if (first.done) {
          this.#handAll({ kind: 'ended', reachedEnd: sub.reachedEnd });
          return;
        }
        const burst = gatherBurst(first.value, sub);
        this.#write(burst.frames, burst.seqs, burst.complete);
        this.#written = burst.last.seq;
        if (this.#closed) return;
        // A backlog goes out in rounds: let sockets drain and requests in between.
        if (burst.full) await new Promise((r) => setImmediate(r));
      }
    } catch (error) {
      this.#handAll({ kind: 'failed', error });
    }
  }

  /**
   * One round: the frames (of the events `seqs`) to every parked client, the same bytes for
   * all those the last round left where it ended.
   */
  #write(frames: string[], seqs: number[], complete: boolean): void {
    const from = this.#written;
    const to = seqs[seqs.length - 1]!;
    let shared: Buffer | undefined;
    for (const p of [...this.#parked.values()]) {
      const { client } = p;
      const res = client.res;
      if (res.destroyed || res.writableEnded) {
        this.#hand(client, { kind: 'left' });
        continue;
      }
      if (client.position >= to) continue;
      let bytes: Buffer;
      if (client.position === from) bytes = shared ??= encode(frames, 0, complete);
      // Parked a little ahead of the broadcast (it had written those events itself).
      else bytes = encode(frames, firstAfter(seqs, client.position), complete);
      client.position = to;
      // Corked, the bytes would leave on the next tick, after the whole pass and after the
      // continuations it resolves: with 1,000 clients, the last pass's `complete` waited for
      // 1,000 stream teardowns before its first byte left (docs/performance.md, section 13).
      res.cork();
      const more = res.write(bytes);
      res.uncork();
      if (complete) this.#hand(client, { kind: 'complete' });
      else if (!more) this.#hand(client, { kind: 'backpressure' });
    }
  }

  #handAll(outcome: ParkOutcome): void {
    for (const client of [...this.#parked.keys()]) this.#hand(client, outcome);
    this.#close();
  }
}

/** Index of the first of `seqs` (increasing) above `position`. */
function firstAfter(seqs: number[], position: number): number {
  let i = 0;
  while (seqs[i]! <= position) i++;
  return i;
}

function encode(frames: string[], start: number, complete: boolean): Buffer {
  const text = (start === 0 ? frames : frames.slice(start)).join('');
  return Buffer.from(complete ? text + SSE_DONE_MESSAGE : text, 'utf8');
}
