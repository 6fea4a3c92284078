// Builds the Tracer of the CLI and the stand-alone server from flags and environment:
// --store <url> | $LIVETRACE_STORE, else --dir <path> (file store) | $LIVETRACE_DIR, else
// the Tracer's default store; --hub <url> | $LIVETRACE_HUB.
import { InvalidArgumentError } from '../core/errors.js';
import type { EventHub } from '../hub/hub.js';
import { createHubFromUrl, createStoreFromUrl } from '../store/from-url.js';
import type { TraceStore } from '../store/store.js';
import type { TracerOptions } from '../tracer/options.js';
import { Tracer } from '../tracer/tracer.js';

export interface OpenTracerOptions {
  dir?: string | undefined;
  store?: string | undefined;
  hub?: string | undefined;
  /** Extra Tracer options (owner, onClose...). */
  tracer?: Omit<TracerOptions, 'store' | 'hub'> | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

export interface OpenedTracer {
  tracer: Tracer;
  /** Closes the tracer: flush, release, then its store and hub. Idempotent. */
  close(): Promise<void>;
}

export async function openTracer(options: OpenTracerOptions = {}): Promise<OpenedTracer> {
  const env = options.env ?? process.env;
  if (options.dir !== undefined && options.store !== undefined) {
    throw new InvalidArgumentError('use either --dir <path> or --store <url>, not both');
  }
  const storeUrl =
    options.store ?? (options.dir !== undefined ? `file:${options.dir}` : nonEmpty(env['LIVETRACE_STORE']));
  const hubUrl = options.hub ?? nonEmpty(env['LIVETRACE_HUB']);
  let store: TraceStore | undefined;
  let hub: EventHub | undefined;
  try {
    if (storeUrl !== undefined) store = await createStoreFromUrl(storeUrl);
    else if (nonEmpty(env['LIVETRACE_DIR']) !== undefined)
      store = await createStoreFromUrl(`file:${env['LIVETRACE_DIR']}`);
    if (hubUrl !== undefined) hub = await createHubFromUrl(hubUrl);
    const opts: TracerOptions = { ...options.tracer };
    if (store) opts.store = store;
    if (hub) opts.hub = hub;
    const tracer = new Tracer(opts);
    // The tracer closes the store and the hub it was given (neither is marked shared).
    return { tracer, close: () => tracer.close() };
  } catch (err) {
    await Promise.allSettled([store?.close(), hub?.close()]);
    throw err;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
