// The two ways the client reads a server-sent event stream: the platform's EventSource
// (browsers; the token rides as ?access_token= because it cannot send headers), or fetch
// with eventsource-parser (Node 20 has no EventSource; sends the token as a header). Both
// hand every message's data to the same handlers and report the stream's end once;
// reconnecting is the caller's job, so both transports resume the same way.
import { createParser } from 'eventsource-parser';
import { EVENT_TYPES } from '../core/types.js';
import { errorOf, fetchOf, tokenOf, type Endpoint } from './http.js';

export interface StreamHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  /** Called once when the stream ends for any reason but `close()`. */
  onEnd(error?: unknown): void;
}

/** The subset of the EventSource API the client uses. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: string }) => void) | null;
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
}

export type EventSourceCtor = new (url: string) => EventSourceLike;

export type StreamCloser = () => void;

export function openEventSource(Ctor: EventSourceCtor, ep: Endpoint, url: string, h: StreamHandlers): StreamCloser {
  const token = tokenOf(ep);
  const es = new Ctor(token ? `${url}&access_token=${encodeURIComponent(token)}` : url);
  let ended = false;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    es.close();
    h.onEnd(err);
  };
  const onData = (ev: { data: string }) => {
    if (!ended) h.onMessage(ev.data);
  };
  es.onopen = () => {
    if (!ended) h.onOpen();
  };
  es.onmessage = onData;
  for (const type of EVENT_TYPES) es.addEventListener(type, onData);
  // The browser would reconnect by itself; the client resumes through its own path
  // (history, then stream) so that both transports and a server restart behave alike.
  es.onerror = () => end(new Error('event stream interrupted'));
  return () => {
    ended = true;
    es.close();
  };
}

export function openFetchStream(ep: Endpoint, url: string, h: StreamHandlers): StreamCloser {
  const abort = new AbortController();
  let ended = false;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    abort.abort();
    h.onEnd(err);
  };
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  const token = tokenOf(ep);
  if (token) headers.authorization = `Bearer ${token}`;
  const parser = createParser({ onEvent: (msg) => !ended && h.onMessage(msg.data) });
  void (async () => {
    const res = await fetchOf(ep)(url, { headers, signal: abort.signal, cache: 'no-store' });
    if (!res.ok || !res.body) throw res.ok ? new Error('event stream without a body') : await errorOf(res);
    if (ended) return;
    h.onOpen();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (ended) return void reader.cancel().catch(() => {});
    }
    end();
  })().catch((err: unknown) => end(err));
  return () => {
    ended = true;
    abort.abort();
  };
}
