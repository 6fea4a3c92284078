// What opens under a compared node's row: links to the node in each run, and text diffs of
// its output, error and input (or the output of a node found in one run only).
import { asText, type CompareRow } from './compare-model.js';
import { traceHref } from './hooks.js';
import { TextDiff } from './text-diff.js';

export function CompareRowDetails({ row, idA, idB }: { row: CompareRow; idA: string; idB: string }) {
  const { a, b } = row;
  return (
    <div class="cmp-details" data-testid="compare-details">
      <div class="cmp-links small">
        {a ? <a href={traceHref(idA, { node: a.id })}>open in A</a> : null}{' '}
        {b ? <a href={traceHref(idB, { node: b.id })}>open in B</a> : null}
      </div>
      {row.change === 'added' || row.change === 'removed' ? (
        <div class="muted small">{row.change === 'added' ? 'Only in B.' : 'Only in A.'}</div>
      ) : null}
      {a && b && row.outputChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">output (A → B)</div>
          <TextDiff a={asText(a.output)} b={asText(b.output)} />
        </div>
      ) : null}
      {a && b && row.errorChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">error (A → B)</div>
          <TextDiff
            a={asText(a.error ? `${a.error.name}: ${a.error.message}` : '')}
            b={asText(b.error ? `${b.error.name}: ${b.error.message}` : '')}
          />
        </div>
      ) : null}
      {a && b && row.inputChanged ? (
        <div class="cmp-block">
          <div class="tool-sub">input (A → B)</div>
          <TextDiff a={asText(a.input)} b={asText(b.input)} />
        </div>
      ) : null}
      {a && b && !row.outputChanged && !row.errorChanged && !row.inputChanged ? (
        <div class="muted small">Same input and output.</div>
      ) : null}
      {(row.change === 'added' || row.change === 'removed') && (a ?? b)!.output !== undefined ? (
        <div class="cmp-block">
          <div class="tool-sub">output</div>
          <pre class="md-plain">{asText((a ?? b)!.output)}</pre>
        </div>
      ) : null}
    </div>
  );
}
