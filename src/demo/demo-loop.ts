// Keeps demo runs going: one starts at once, then one every `everyMs` (the next starts
// when the previous has finished if it took longer). stop() cancels the running one and
// resolves when it is stored.
import type { Tracer } from '../tracer/tracer.js';
import { newDemoSession, runDemoAgent, type DemoOptions, type DemoSession } from './agent.js';

export interface DemoLoopOptions extends Omit<DemoOptions, 'signal'> {
  /** Interval between run starts, in ms. Default 20000. */
  everyMs?: number;
  /** Called with each finished run's trace id. */
  onRun?: (traceId: string) => void;
  /** Called when a run fails to start (e.g. the store is down); the loop keeps going. */
  onError?: (err: unknown) => void;
  /** Runs per session: consecutive runs continue one conversation (one session id). Default 3. */
  turnsPerSession?: number;
}

export interface DemoLoop {
  stop(): Promise<void>;
}

export function startDemoLoop(tracer: Tracer, options: DemoLoopOptions = {}): DemoLoop {
  const everyMs = options.everyMs ?? 20_000;
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const turns = options.turnsPerSession ?? 3;
  let session: DemoSession = newDemoSession();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      const started = Date.now();
      if (session.turns >= turns) session = newDemoSession();
      try {
        const id = await runDemoAgent(tracer, { ...options, session, signal: abort.signal });
        options.onRun?.(id);
      } catch (err) {
        if (abort.signal.aborted) break;
        options.onError?.(err);
      }
      if (abort.signal.aborted) break;
      await wait(Math.max(0, everyMs - (Date.now() - started)));
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        abort.abort('demo stopped');
        if (timer) clearTimeout(timer);
        wake?.();
        await loop;
      })();
      return stopping;
    },
  };
}
