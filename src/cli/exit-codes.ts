// Exit codes scripts can rely on (documented in docs/cli.md).
import { LivetraceError } from '../core/errors.js';

export const EXIT = {
  OK: 0,
  /** Anything else: store failure, internal error. */
  ERROR: 1,
  /** Bad command line or bad input (unknown option, invalid id, malformed file). */
  USAGE: 2,
  /** The trace (or node/space) does not exist, or is not visible to this token. */
  NOT_FOUND: 3,
  /** The server refused the token (401). */
  UNAUTHORIZED: 4,
  /** The server could not be reached, or is shutting down. */
  UNAVAILABLE: 5,
  /** Conflict: the trace exists already, is still running, or is locked by a writer. */
  CONFLICT: 6,
  /** Stopped by SIGINT/SIGTERM before the work was done. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof LivetraceError) {
    switch (err.code) {
      case 'LT_ERR_TRACE_NOT_FOUND':
      case 'LT_ERR_UNKNOWN_NODE':
      case 'LT_ERR_UNKNOWN_SPACE':
      case 'LT_ERR_NOT_FOUND':
        return EXIT.NOT_FOUND;
      case 'LT_ERR_INVALID_ID':
      case 'LT_ERR_INVALID_ARGUMENT':
      case 'LT_ERR_INVALID_KEY':
      case 'LT_ERR_METHOD_NOT_ALLOWED':
      case 'LT_ERR_PAYLOAD_TOO_LARGE':
        return EXIT.USAGE;
      case 'LT_ERR_UNAUTHORIZED':
        return EXIT.UNAUTHORIZED;
      case 'LT_ERR_TRACER_CLOSED':
        return EXIT.UNAVAILABLE;
      case 'LT_ERR_TRACE_EXISTS':
      case 'LT_ERR_TRACE_RUNNING':
      case 'LT_ERR_TRACE_LOCKED':
      case 'LT_ERR_STORE_CONFLICT':
        return EXIT.CONFLICT;
      default:
        return EXIT.ERROR;
    }
  }
  if ((err as { code?: string } | null)?.code === 'LT_CLI_UNREACHABLE') return EXIT.UNAVAILABLE;
  return EXIT.ERROR;
}
