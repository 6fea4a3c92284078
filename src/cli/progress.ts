// Progress bars for long work (cli-progress), drawn on stderr and only on a terminal so
// that pipes and logs stay clean.
import cliProgress from 'cli-progress';
import type { Io } from './output.js';

export interface Progress {
  increment(n?: number): void;
  stop(): void;
}

export function progressBar(io: Io, total: number, label: string, minTotal = 2): Progress {
  const stream = io.err as NodeJS.WriteStream;
  if (!stream.isTTY || total < minTotal) return { increment() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    increment: (n = 1) => bar.increment(n),
    stop: () => bar.stop(),
  };
}
