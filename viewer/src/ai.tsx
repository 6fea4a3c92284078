// AI-native bits shared by the list, the trace page, the session and compare pages: node
// kinds (icons), usage (model, tokens, cost) chips, number formats. Totals come from the
// shared rollups (TraceInfo.usage from the reducer, subtreeRollup from src/core/rollup.ts).
// Field names follow the shared data model (docs/events.md): `kind` and `usage` on nodes,
// `usage` (rollup), `session_id`, `user_id` on TraceInfo.
import type { NodeData, NodeKind, NodeUsage, TraceInfo, UsageRollup } from '../../src/core/types.js';

export const KINDS: readonly NodeKind[] = [
  'llm',
  'tool',
  'retriever',
  'embedding',
  'agent',
  'chain',
  'guardrail',
  'step',
];

export const KIND_LABEL: Record<NodeKind, string> = {
  llm: 'LLM call',
  tool: 'Tool',
  retriever: 'Retriever',
  embedding: 'Embedding',
  agent: 'Agent',
  chain: 'Chain',
  guardrail: 'Guardrail',
  step: 'Step',
};

/** The node's kind (`step` when an old writer left it out). */
export function kindOf(n: NodeData): NodeKind {
  return n.kind ?? 'step';
}

export function usageOf(n: NodeData): NodeUsage | undefined {
  const u = n.usage;
  return u && typeof u === 'object' && typeof u.model === 'string' ? u : undefined;
}

/** Small monochrome icon per kind (inline SVG: no font or emoji needed). */
export function KindIcon({ kind, size = 13 }: { kind: NodeKind; size?: number }) {
  if (kind === 'step') return null;
  let body;
  switch (kind) {
    case 'llm':
      body = <path d="M8 1.2 9.7 6.3 14.8 8 9.7 9.7 8 14.8 6.3 9.7 1.2 8 6.3 6.3Z" class="kf" />;
      break;
    case 'tool':
      body = (
        <path
          d="M10.6 1.6a3.6 3.6 0 0 0-3.4 4.7L2.1 11.4a1.4 1.4 0 0 0 2 2l5.1-5.1a3.6 3.6 0 0 0 4.7-3.4l-2.1 2.1-2-.5-.5-2 2.1-2.1a3.6 3.6 0 0 0-.8-.8Z"
          class="kf"
        />
      );
      break;
    case 'retriever':
      body = (
        <>
          <circle cx="6.6" cy="6.6" r="4.2" class="ks" />
          <path d="M9.8 9.8 14.2 14.2" class="ks" />
        </>
      );
      break;
    case 'embedding':
      body = (
        <>
          {[3, 8, 13].flatMap((x) =>
            [3, 8, 13].map((y) => <circle key={`${x}.${y}`} cx={x} cy={y} r={x === y ? 1.9 : 1.2} class="kf" />),
          )}
        </>
      );
      break;
    case 'agent':
      body = (
        <>
          <rect x="2.5" y="5" width="11" height="8.5" rx="2.2" class="ks" />
          <path d="M8 2v3" class="ks" />
          <circle cx="5.8" cy="9.2" r="1.1" class="kf" />
          <circle cx="10.2" cy="9.2" r="1.1" class="kf" />
        </>
      );
      break;
    case 'chain':
      body = (
        <>
          <rect x="1.5" y="5.5" width="7.5" height="5" rx="2.5" class="ks" />
          <rect x="7" y="5.5" width="7.5" height="5" rx="2.5" class="ks" />
        </>
      );
      break;
    case 'guardrail':
      body = <path d="M8 1.5 13.5 3.6V8c0 3-2.4 5.4-5.5 6.5C4.9 13.4 2.5 11 2.5 8V3.6Z" class="ks" />;
      break;
  }
  return (
    <svg class={`kind-icon k-${kind}`} viewBox="0 0 16 16" width={size} height={size} aria-hidden="true">
      {body}
    </svg>
  );
}

/** 950, 12.3k, 4.56M */
export function formatTokens(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (n < 1000) return String(Math.round(n));
  if (n < 100_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1).replace(/\.?0+$/, '')}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(2).replace(/\.?0+$/, '')}M`;
}

const SYMBOL: Record<string, string> = { USD: '$', EUR: '€', GBP: '£', JPY: '¥' };

/** $0.0123, $1.25, 3.40 CHF. Small amounts keep 2 significant digits. */
export function formatCost(c: { amount: number; currency: string } | undefined): string {
  if (!c || !Number.isFinite(c.amount)) return '–';
  const a = c.amount;
  const abs = Math.abs(a);
  const num = abs === 0 ? '0' : abs >= 1 ? a.toFixed(2) : abs >= 0.01 ? a.toFixed(3) : a.toPrecision(2);
  const sym = SYMBOL[c.currency];
  if (!sym) return `${num} ${c.currency}`;
  return a < 0 ? `-${sym}${num.slice(1)}` : `${sym}${num}`;
}

export const EMPTY_ROLLUP: UsageRollup = {
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  llm_calls: 0,
  tool_calls: 0,
  failed_nodes: 0,
};

/** A trace's totals: the reducer's rollup (TraceInfo.usage). */
export function traceUsage(info: TraceInfo): UsageRollup {
  return info.usage ?? EMPTY_ROLLUP;
}

/** The model, token and cost chips of an LLM node (or a subtree total, marked Σ). */
export function UsageChips({ usage, subtree }: { usage?: NodeUsage | undefined; subtree?: UsageRollup | undefined }) {
  if (usage) {
    return (
      <span class="chips-inline">
        <span class="uchip model" title={`model${usage.provider ? ` (${usage.provider})` : ''}`}>
          {usage.model}
        </span>
        <span class="uchip tok" title={`${usage.input_tokens} input + ${usage.output_tokens} output tokens`}>
          {formatTokens(usage.total_tokens)} <span class="unit">tok</span>
        </span>
        {usage.cost ? (
          <span class="uchip cost" title="estimated cost">
            {formatCost(usage.cost)}
          </span>
        ) : null}
      </span>
    );
  }
  if (subtree && subtree.total_tokens > 0) {
    return (
      <span class="chips-inline">
        <span
          class="uchip tok"
          title={`subtree: ${subtree.llm_calls} LLM call(s), ${subtree.input_tokens} input + ${subtree.output_tokens} output tokens`}
        >
          Σ {formatTokens(subtree.total_tokens)} <span class="unit">tok</span>
        </span>
        {subtree.cost ? (
          <span class="uchip cost" title="subtree, estimated cost">
            {formatCost(subtree.cost)}
          </span>
        ) : null}
      </span>
    );
  }
  return null;
}
