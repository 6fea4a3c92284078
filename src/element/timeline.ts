// The end-user timeline of a run, derived from the reducer's state by one pure function:
// steps in the order they started; siblings that share their parents and overlap in time
// grouped as parallel branches, each branch carrying the steps that descend from it alone;
// a join (several parents) closes the group and is an ordinary step again.
import type { TraceState } from '../core/reducer.js';
import type { NodeData } from '../core/types.js';
import { jsonText } from '../core/json-text.js';

export interface StepRow {
  readonly type: 'step';
  readonly node: NodeData;
}

export interface ParallelRow {
  readonly type: 'parallel';
  /** One list per branch: the branch's first step, then the steps under it. */
  readonly branches: NodeData[][];
}

export type Row = StepRow | ParallelRow;

export interface Timeline {
  rows: Row[];
  /** What the run answered, once it completed (see `finalAnswer`). */
  answer: unknown;
  hasAnswer: boolean;
}

const ended = (n: NodeData): boolean => n.end_time !== undefined;

/** Two siblings ran in parallel when the later one started before the earlier one ended. */
function overlaps(a: NodeData, b: NodeData): boolean {
  const aStart = a.start_time ?? a.created_at;
  const bStart = b.start_time ?? b.created_at;
  const [first, , secondStart] = aStart <= bStart ? [a, b, bStart] : [b, a, aStart];
  return (
    first.end_time === undefined ||
    secondStart < first.end_time ||
    (first.start_time ?? first.created_at) === secondStart
  );
}

export function timelineOf(state: TraceState): Timeline {
  const rows: Row[] = [];
  /** Node id → the branch (of an open parallel group) it belongs to. */
  const branchOf = new Map<string, NodeData[]>();
  let group: ParallelRow | undefined;
  let groupKey = '';
  let prev: StepRow | undefined;
  let prevKey = '';

  for (const node of state.nodes.values()) {
    const key = node.parent_ids.join('\u0000');
    // A step that descends from exactly one branch stays inside that branch.
    const parent = node.parent_ids.length === 1 ? node.parent_ids[0]! : undefined;
    const branch = parent === undefined ? undefined : branchOf.get(parent);
    if (branch && !(group && key === groupKey)) {
      branch.push(node);
      branchOf.set(node.id, branch);
      continue;
    }
    if (group && key === groupKey && group.branches.some((b) => overlaps(b[0]!, node))) {
      const b = [node];
      group.branches.push(b);
      branchOf.set(node.id, b);
      continue;
    }
    if (prev && key === prevKey && node.parent_ids.length > 0 && overlaps(prev.node, node)) {
      // The previous step has a sibling running beside it: they become a parallel group.
      const first = [prev.node];
      const second = [node];
      group = { type: 'parallel', branches: [first, second] };
      groupKey = key;
      rows[rows.length - 1] = group;
      branchOf.set(prev.node.id, first);
      branchOf.set(node.id, second);
      prev = undefined;
      continue;
    }
    group = undefined;
    branchOf.clear();
    prev = { type: 'step', node };
    prevKey = key;
    rows.push(prev);
  }
  const answer = finalAnswer(state);
  return { rows, answer: answer.value, hasAnswer: answer.found };
}

/**
 * A completed run's answer: the root's output when the root contains the run (it has
 * children, an output, and ended last), else the output of the last step that has no children.
 */
export function finalAnswer(state: TraceState): { found: boolean; value: unknown } {
  if (state.info.status !== 'completed') return { found: false, value: undefined };
  const root = state.root === undefined ? undefined : state.nodes.get(state.root);
  let last: NodeData | undefined;
  let latestEnd = -Infinity;
  for (const n of state.nodes.values()) {
    if (n.end_time !== undefined && n !== root) latestEnd = Math.max(latestEnd, n.end_time);
    if (n.children.length === 0 && ended(n) && n.output !== undefined) last = n;
  }
  if (root && root.children.length > 0 && root.output !== undefined && (root.end_time ?? -Infinity) > latestEnd)
    return { found: true, value: root.output };
  return last ? { found: true, value: last.output } : { found: false, value: undefined };
}

const TEXT_FIELDS = ['answer', 'text', 'content', 'message', 'result', 'output', 'summary'];

/** A short, single-line text for a value: strings as they are, `{ answer: "…" }` as its text. */
export function previewText(value: unknown, max = 160): string {
  let text: string;
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') text = value;
  else if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const field = TEXT_FIELDS.find((f) => typeof o[f] === 'string');
    text = field ? (o[field] as string) : jsonText(value);
  } else text = jsonText(value);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
