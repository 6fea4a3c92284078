// Small pieces the framework integrations share. Imports nothing optional.
import type { NodeHandle } from '../tracer/node-handle.js';
import { kPatch } from '../tracer/symbols.js';

/** The shared node kinds (COORD convention; the core's `NodeOptions.kind`). */
export type IntegrationKind = 'llm' | 'tool' | 'retriever' | 'embedding' | 'agent' | 'chain' | 'guardrail' | 'step';

export interface UsageInput {
  model: string;
  provider?: string | undefined;
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number | undefined;
  reasoningTokens?: number | undefined;
  timeToFirstTokenMs?: number | undefined;
}

/** node.setUsage (the shared usage API) when the tracer has it; else the same figures as metadata `usage`. */
export function setUsage(node: NodeHandle, usage: UsageInput): void {
  const clean = Object.fromEntries(Object.entries(usage).filter(([, v]) => v !== undefined)) as unknown as UsageInput;
  const withUsage = node as NodeHandle & { setUsage?: (u: UsageInput) => unknown };
  if (typeof withUsage.setUsage === 'function') withUsage.setUsage(clean);
  else node.setMetadata('usage', clean);
}

/** Input and/or label of a running node, learnt after its start (one node_updated event). */
export function patchNode(node: NodeHandle, patch: { input?: unknown; label?: string }): void {
  node.trace?.[kPatch](node.id, patch);
}

/** Where integration problems go: a callback or process.emitWarning; never throws. */
export function warner<C extends string>(
  code: C,
  prefix: string,
  onWarning: ((w: { code: C; message: string; cause?: unknown }) => void) | undefined,
): (message: string, cause?: unknown) => void {
  return (message, cause) => {
    const w = { code, message: `${prefix}: ${message}`, cause };
    try {
      if (onWarning) onWarning(w);
      else process.emitWarning(w.message, { code });
    } catch {
      /* never reaches the framework */
    }
  };
}
