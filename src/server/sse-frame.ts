// The SSE wire format of trace events, in one place for the streams and the broadcast:
// an event's frame, the end marker, and a burst of ready events gathered into one write.
import type { TraceEvent } from '../core/types.js';
import type { Subscription } from '../hub/subscription.js';
import { SSE_DONE } from '../core/sse.js';

/** Most bytes gathered into one socket write. */
export const MAX_BATCH_BYTES = 64 * 1024;

/** The end marker, after `complete`. */
export const SSE_DONE_MESSAGE = `data: ${SSE_DONE}\n\n`;

// Every live subscriber of a trace receives the same event objects: serialize each once,
// not once per client (1,000 viewers of one run would otherwise stringify 1,000 times).
const frames = new WeakMap<TraceEvent, string>();

/** `id:`, `event:` and `data:` lines of one event. */
export function sseFrame(ev: TraceEvent): string {
  let frame = frames.get(ev);
  if (frame === undefined) {
    frame = `id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
    frames.set(ev, frame);
  }
  return frame;
}

/** Events ready at once, framed for one write. */
export interface Burst {
  frames: string[];
  /** The seq of each frame's event, increasing. */
  seqs: number[];
  last: TraceEvent;
  /** It ends with the trace's `complete`. */
  complete: boolean;
  /** Stopped at MAX_BATCH_BYTES: more may be ready. */
  full: boolean;
}

/**
 * `first` and what `sub` has ready after it (takeReady: no promise per event), up to the
 * trace's `complete` or MAX_BATCH_BYTES of frames.
 */
export function gatherBurst(first: TraceEvent, sub: Subscription): Burst {
  let last = first;
  const frames = [sseFrame(last)];
  const seqs = [last.seq];
  let bytes = frames[0]!.length;
  let full = false;
  while (last.type !== 'complete') {
    if (bytes >= MAX_BATCH_BYTES) {
      full = true;
      break;
    }
    const ev = sub.takeReady();
    if (ev === undefined) break;
    last = ev;
    const frame = sseFrame(ev);
    frames.push(frame);
    seqs.push(ev.seq);
    bytes += frame.length;
  }
  return { frames, seqs, last, complete: last.type === 'complete', full };
}
