/** Display helpers. Pure. */
import { formatBytes } from '../../core/data';

export { formatBytes };

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatPercent(p: number, digits = 1): string {
  return `${(p * 100).toFixed(digits)}%`;
}

export interface SplitRecall {
  recall1?: number;
  recall5?: number;
  recall10?: number;
  loss?: number;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Recall@k of one split from the model's training record (`training.valid` / `training.test`). */
export function splitRecall(training: Record<string, unknown>, split: 'valid' | 'test'): SplitRecall | null {
  const m = training[split];
  if (!m || typeof m !== 'object') return null;
  const r = m as Record<string, unknown>;
  const out: SplitRecall = {
    recall1: num(r['weighted_recall@1']),
    recall5: num(r['weighted_recall@5']),
    recall10: num(r['weighted_recall@10']),
    loss: num(r.loss),
  };
  return Object.values(out).some((v) => v !== undefined) ? out : null;
}

/** 1-based rank of `behavior` in predictions sorted by probability, or null when absent. */
export function rankIn(predictions: readonly { behavior: string }[], behavior: string): number | null {
  const i = predictions.findIndex((p) => p.behavior === behavior);
  return i < 0 ? null : i + 1;
}

/** What the fine-tuning run did with the behavior frequencies, for the run summary. */
export function formatFrequencies(f: {
  matched: boolean;
  validationLoss?: { unmatched: number; matched: number };
}): string {
  const losses = f.validationLoss
    ? ` (validation loss ${f.validationLoss.matched.toFixed(3)} matched vs ${f.validationLoss.unmatched.toFixed(3)} not)`
    : '';
  return f.matched
    ? `output biases matched to the data's behavior frequencies${losses}`
    : `the model's own behavior frequencies kept${losses}`;
}

export { formatDuration } from '../../core/format';
