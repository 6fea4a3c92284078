// The one exponential backoff: every retry loop of livetrace (write-behind, the Redis hub,
// the CLI's tail, the browser client) waits `initialMs` after its first failure and twice
// as long after each further one, never longer than `maxMs`. Each loop keeps its own
// constants (named where it calls this).

export interface BackoffPolicy {
  /** Delay after the first failure (ms). */
  readonly initialMs: number;
  /** Longest delay (ms). */
  readonly maxMs: number;
}

/** The delay (ms) before retrying after the `failures`-th failure in a row (1 = the first). */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  // Capping the exponent keeps 2 ** n finite; the result is capped by maxMs anyway.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}
