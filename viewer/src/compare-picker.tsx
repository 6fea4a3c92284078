// The compare page's picker: choose trace A (the baseline) and trace B among the latest
// traces, compare them, or swap them.
import { useEffect, useState } from 'preact/hooks';
import type { TraceInfo } from '../../src/core/types.js';
import { listTraces } from './api.js';
import { formatDateTime } from './format.js';
import { compareHref } from './hooks.js';

export function ComparePicker({ a, b }: { a?: string | undefined; b?: string | undefined }) {
  const [traces, setTraces] = useState<TraceInfo[]>([]);
  const [pa, setPa] = useState(a ?? '');
  const [pb, setPb] = useState(b ?? '');
  useEffect(() => {
    const abort = new AbortController();
    listTraces({ limit: 100 }, abort.signal)
      .then((r) => setTraces(r.traces))
      .catch(() => undefined);
    return () => abort.abort();
  }, []);
  const opt = (t: TraceInfo) => (
    <option key={t.id} value={t.id}>
      {t.label ?? t.agent_name ?? t.id} · {formatDateTime(t.created_at)} · {t.id}
    </option>
  );
  return (
    <form
      class="compare-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (pa && pb) location.hash = compareHref(pa, pb);
      }}
    >
      <label class="field">
        A (baseline)
        <select class="input" value={pa} onChange={(e) => setPa(e.currentTarget.value)} aria-label="Trace A">
          <option value="">choose a trace…</option>
          {a && !traces.some((t) => t.id === a) ? <option value={a}>{a}</option> : null}
          {traces.map(opt)}
        </select>
      </label>
      <label class="field">
        B
        <select class="input" value={pb} onChange={(e) => setPb(e.currentTarget.value)} aria-label="Trace B">
          <option value="">choose a trace…</option>
          {b && !traces.some((t) => t.id === b) ? <option value={b}>{b}</option> : null}
          {traces.map(opt)}
        </select>
      </label>
      <button class="btn small primary" type="submit" disabled={!pa || !pb}>
        Compare
      </button>
      {pa && pb ? (
        <button
          class="btn small"
          type="button"
          onClick={() => (location.hash = compareHref(pb, pa))}
          title="Swap A and B"
        >
          ⇄ swap
        </button>
      ) : null}
    </form>
  );
}
