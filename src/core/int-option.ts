// The one validator of integer options (sizes, counts, intervals): bad configuration
// throws at construction with a message that names the option, the allowed range, the
// value and its type.
import { InvalidArgumentError, shownValue } from './errors.js';

export interface IntRange {
  /** Smallest allowed value. Default 1. */
  min?: number;
  /** Largest allowed value. Default: none. */
  max?: number;
  /** The error thrown (integrations throw TypeError). Default InvalidArgumentError. */
  error?: new (message: string) => Error;
}

/**
 * `value` if it is an integer within the range, `fallback` if it is undefined (and a
 * fallback is given); throws otherwise. `label` names the option as the caller knows it,
 * e.g. "option maxBatch" or "LivetraceSpanProcessor option maxQueuedPerTrace".
 */
export function intOption(label: string, value: unknown, fallback?: number, range: IntRange = {}): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const min = range.min ?? 1;
  const max = range.max;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const allowed = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    const Err = range.error ?? InvalidArgumentError;
    throw new Err(`${label} must be an integer ${allowed}, got ${shownValue(value)}`);
  }
  return value;
}
