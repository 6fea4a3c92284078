// Collapsible, searchable JSON tree. Values are rendered as text nodes only (Preact escapes
// them); long arrays and strings are paged so a 64 KB output does not flood the DOM.
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { jsonText } from '../../src/core/json-text.js';

const PAGE = 100;
const LONG_STRING = 2000;

/** Text with every case-insensitive occurrence of `q` marked. */
export function Highlight({ text, q }: { text: string; q: string }) {
  if (!q) return <>{text}</>;
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  const parts: ComponentChildren[] = [];
  let at = 0;
  let k = 0;
  for (let i = lower.indexOf(needle); i >= 0 && k < 200; i = lower.indexOf(needle, i + needle.length), k++) {
    if (i > at) parts.push(text.slice(at, i));
    parts.push(<mark key={k}>{text.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

function primitiveText(v: unknown): string {
  // Real line breaks (stack traces, LLM output) read better than \n escapes.
  if (typeof v === 'string') return v.includes('\n') ? `"${v}"` : JSON.stringify(v);
  if (v === undefined) return 'undefined';
  return jsonText(v);
}

/** Whether `v` (a key or any value below) contains `q`; memoized per object. */
function makeMatcher(q: string) {
  const memo = new WeakMap<object, boolean>();
  const test = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return primitiveText(v).toLowerCase().includes(q);
    const hit = memo.get(v);
    if (hit !== undefined) return hit;
    memo.set(v, false); // cycles cannot occur in captured JSON, but stay safe
    let r = false;
    for (const [k, c] of Object.entries(v)) {
      if (k.toLowerCase().includes(q) || test(c)) {
        r = true;
        break;
      }
    }
    memo.set(v, r);
    return r;
  };
  return test;
}

interface Ctx {
  q: string;
  match: ((v: unknown) => boolean) | null;
}

function Entry({ name, value, depth, ctx }: { name?: string; value: unknown; depth: number; ctx: Ctx }) {
  const isObj = value !== null && typeof value === 'object';
  const [open, setOpen] = useState<boolean | null>(null);
  const [limit, setLimit] = useState(PAGE);
  const [fullString, setFullString] = useState(false);
  const label =
    name !== undefined ? (
      <span class="j-key">
        <Highlight text={name} q={ctx.q} />
        <span class="j-colon">: </span>
      </span>
    ) : null;
  if (!isObj) {
    let text = primitiveText(value);
    const long = typeof value === 'string' && text.length > LONG_STRING && !fullString;
    if (long) text = `${text.slice(0, LONG_STRING)}…`;
    return (
      <div class="j-line" style={{ paddingLeft: `${depth * 14 + 14}px` }}>
        {label}
        <span class={`j-${value === null ? 'null' : typeof value}`}>
          <Highlight text={text} q={ctx.q} />
        </span>
        {long ? (
          <button class="link small" onClick={() => setFullString(true)}>
            show all {String(value).length.toLocaleString()} chars
          </button>
        ) : null}
      </div>
    );
  }
  const arr = Array.isArray(value);
  let entries: [string, unknown][] = Object.entries(value);
  const total = entries.length;
  if (ctx.match) entries = entries.filter(([k, v]) => k.toLowerCase().includes(ctx.q) || ctx.match!(v));
  const expanded = open ?? (ctx.match ? true : depth < 2 && total <= 50);
  const tag = (value as { $type?: unknown }).$type;
  const summary = arr ? `[${total}]` : typeof tag === 'string' ? `${tag} {…}` : `{${total}}`;
  return (
    <div class="j-node">
      <div class="j-line j-toggle" style={{ paddingLeft: `${depth * 14}px` }} onClick={() => setOpen(!expanded)}>
        <span class="j-caret">{total ? (expanded ? '▾' : '▸') : ' '}</span>
        {label}
        <span class="j-summary">{total === 0 ? (arr ? '[]' : '{}') : summary}</span>
        {ctx.match && entries.length < total ? (
          <span class="j-hint">
            {' '}
            {entries.length} of {total} match
          </span>
        ) : null}
      </div>
      {expanded && total > 0 ? (
        <div>
          {entries.slice(0, limit).map(([k, v]) => (
            <Entry key={k} name={k} value={v} depth={depth + 1} ctx={ctx} />
          ))}
          {entries.length > limit ? (
            <div class="j-line" style={{ paddingLeft: `${depth * 14 + 14}px` }}>
              <button class="link small" onClick={() => setLimit(limit + PAGE)}>
                show {Math.min(PAGE, entries.length - limit)} more of {entries.length - limit}
              </button>
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export function JsonView({ value, search = '' }: { value: unknown; search?: string }) {
  const q = search.trim().toLowerCase();
  const ctx = useMemo<Ctx>(() => ({ q, match: q ? makeMatcher(q) : null }), [q]);
  if (ctx.match && !ctx.match(value)) return <div class="j-empty">no match</div>;
  return (
    <div class="json">
      <Entry value={value} depth={0} ctx={ctx} />
    </div>
  );
}

/** Whether a value contains the search text (used to hide sections with no match). */
export function jsonContains(value: unknown, search: string): boolean {
  const q = search.trim().toLowerCase();
  return !q || makeMatcher(q)(value);
}
