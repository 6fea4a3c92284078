// A text diff of two strings, word by word (line by line when long or multi-line), drawn
// with <ins>/<del>. The `diff` library is its own chunk, loaded with the first diff shown.
import { useMemo } from 'preact/hooks';
import type { ChangeObject } from 'diff';
import { lazyChunk, useLazyChunk } from './hooks.js';

/** Past this many characters a diff is shown line by line only (word diffs are quadratic). */
const WORD_DIFF_MAX = 4000;

const diffChunk = lazyChunk(() => import('diff'));

export function TextDiff({ a, b }: { a: string; b: string }) {
  const diffLib = useLazyChunk(diffChunk);
  const parts = useMemo((): ChangeObject<string>[] => {
    if (!diffLib) return [];
    const long = a.length + b.length > WORD_DIFF_MAX || a.includes('\n') || b.includes('\n');
    return long ? diffLib.diffLines(a, b) : diffLib.diffWordsWithSpace(a, b);
  }, [a, b, diffLib]);
  if (!diffLib) return <pre class="text-diff muted">computing the diff…</pre>;
  return (
    <pre class="text-diff" data-testid="text-diff">
      {parts.map((p, i) =>
        p.added ? (
          <ins key={i}>{p.value}</ins>
        ) : p.removed ? (
          <del key={i}>{p.value}</del>
        ) : (
          <span key={i}>{p.value}</span>
        ),
      )}
    </pre>
  );
}
