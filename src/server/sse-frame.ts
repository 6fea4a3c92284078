// The SSE wire format of trace events, in one place for the streams and the broadcast.
import type { TraceEvent } from '../core/types.js';
import { SSE_DONE } from '../core/sse.js';

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
