// A value as JSON text, for people to read (the CLI, the viewer, the element): what JSON
// cannot say (undefined, a function, a cycle, a bigint) is shown as String(value).

/** `JSON.stringify(value, null, indent)`, or String(value) when that fails. Never throws. */
export function jsonText(value: unknown, indent?: number): string {
  try {
    const s = JSON.stringify(value, null, indent);
    if (s !== undefined) return s;
  } catch {
    // a cycle, a bigint, a throwing toJSON: the plain string below
  }
  try {
    return String(value);
  } catch {
    return '[unprintable]';
  }
}
