// Reads a text/event-stream body with eventsource-parser (the WHATWG "event stream
// interpretation" rules: fields id/event/data, comments, CR/LF/CRLF line ends). The CLI
// reads the stream itself rather than through EventSource because it needs the HTTP
// status for its exit codes and its own reconnect policy (stop at `data: [DONE]`, resume
// by Last-Event-ID).
import { createParser } from 'eventsource-parser';

export interface SseMessage {
  /** The last event id seen on the stream so far (it carries over, as EventSource's lastEventId). */
  id: string | undefined;
  event: string;
  data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let id: string | undefined;
  let ready: SseMessage[] = [];
  const parser = createParser({
    onEvent: (msg) => {
      id = msg.id ?? id;
      ready.push({ id, event: msg.event ?? 'message', data: msg.data });
    },
  });
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      const out = ready;
      ready = [];
      yield* out;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
