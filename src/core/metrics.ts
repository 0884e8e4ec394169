/**
 * Ranking metrics for next-behavior prediction, computed from the rank of the true behavior
 * in a full ranking of the vocabulary (no negative sampling). Pure.
 */

/** Rank given to a target the model cannot rank (e.g. a behavior unseen in training): always a miss. */
export const MISS = Number.POSITIVE_INFINITY;

/**
 * 1-based rank of `target` among `candidates` ids by descending score. Ties count against the
 * target (a tie with a higher-ranked id is a loss), so a constant predictor scores no hits by luck.
 */
export function rankOf(scores: ArrayLike<number>, target: number, candidates: ArrayLike<number>): number {
  const s = scores[target];
  let rank = 1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (c !== target && scores[c] >= s) rank++;
  }
  return rank;
}

export interface RankedTarget {
  /** True behavior name. */
  behavior: string;
  rank: number;
  /** Id of the sequence the target is in (evaluateModel sets it; the bootstrap resamples by it). */
  sequence?: string;
}

export interface MetricSet {
  [name: string]: number;
}

export const RECALL_KS = [1, 5, 10] as const;

/**
 * weighted_recall@k (hit rate over targets), macro_recall@k (per-behavior recall averaged over
 * behaviors present among the targets), ndcg@10 and mrr.
 */
export function rankingMetrics(targets: readonly RankedTarget[]): MetricSet {
  const out: MetricSet = { targets: targets.length };
  if (targets.length === 0) return out;
  const byBehavior = new Map<string, number[]>();
  for (const t of targets) {
    const list = byBehavior.get(t.behavior);
    if (list) list.push(t.rank);
    else byBehavior.set(t.behavior, [t.rank]);
  }
  for (const k of RECALL_KS) {
    out[`weighted_recall@${k}`] = targets.filter((t) => t.rank <= k).length / targets.length;
    let macro = 0;
    for (const ranks of byBehavior.values()) macro += ranks.filter((r) => r <= k).length / ranks.length;
    out[`macro_recall@${k}`] = macro / byBehavior.size;
  }
  let ndcg = 0;
  let mrr = 0;
  for (const t of targets) {
    if (t.rank <= 10) ndcg += 1 / Math.log2(t.rank + 1);
    mrr += 1 / t.rank;
  }
  out['ndcg@10'] = ndcg / targets.length;
  out.mrr = mrr / targets.length;
  return out;
}

/** Behaviors covering the first `share` of training events, most frequent first (the "head"). */
export function headBehaviors(counts: ReadonlyMap<string, number>, share = 0.8): Set<string> {
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = sorted.reduce((s, [, c]) => s + c, 0);
  const head = new Set<string>();
  let acc = 0;
  for (const [name, c] of sorted) {
    if (acc >= share * total) break;
    head.add(name);
    acc += c;
  }
  return head;
}
