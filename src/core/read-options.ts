// Option objects come from callers and may be hostile (a Proxy whose traps throw, a getter
// that throws): every public entry point copies its options here, once, so that a failure
// to read them is our typed usage error, never a raw Error/TypeError from inside livetrace,
// and later reads (and later mutation by the caller) cannot surprise the code that uses them.
import { InvalidArgumentError, LivetraceError } from './errors.js';

function reason(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return 'unreadable error';
  }
}

/** The usage error for options that could not be read. */
export function unreadableOptions(call: string, err: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${call}: options could not be read (${reason(err).slice(0, 200)})`);
}

/**
 * A shallow, own-enumerable copy of `options` (undefined -> {}); a non-object is an
 * InvalidArgumentError, and so is any throw while reading it.
 */
export function readOptions<T extends object>(call: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(
      `${call}: options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  try {
    return { ...options };
  } catch (err) {
    throw unreadableOptions(call, err);
  }
}

/** Runs `read` (which reads caller objects); a throw that is not ours becomes a usage error. */
export function guardRead<T>(call: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof LivetraceError) throw err;
    throw unreadableOptions(call, err);
  }
}

/** A copy of parallel() branches, each a copy of its options (null/undefined items: {}). */
export function readItems<T extends object>(call: string, items: readonly T[]): readonly T[] {
  // Array.isArray narrows a typed array to any[]: test an unknown view of the same value.
  const value: unknown = items;
  return guardRead(call, () =>
    Array.isArray(value)
      ? Array.from(items, (i) => (i === undefined || i === null ? ({} as T) : readOptions(call, i)))
      : [],
  );
}
