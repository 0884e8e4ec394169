/**
 * Calibration formulas (pure): how far a model's average predicted distribution is from a data
 * set's behavior frequencies, as per-behavior log corrections. The tfjs side that measures the
 * model and moves its biases is train/calibration.ts.
 */
import type { Vocabulary } from './vocab';

/**
 * Per-behavior log correction that maps a model's average predicted distribution back onto the
 * empirical frequencies: log((n_k + 1) / (N + V)) − log(mean predicted p_k). A model trained
 * with class reweighting (DRO, class-balanced) over-predicts rare behaviors by design, which is
 * right for ranking them but wrong for sampling realistic trajectories; adding this to its log
 * probabilities before sampling undoes the reweighting on average (a prior correction, as in
 * logit adjustment). Keyed by behavior name so a vocabulary extended later keeps it.
 */
export function marginalCorrection(
  meanPredicted: ArrayLike<number>,
  counts: ReadonlyMap<string, number>,
  vocab: Vocabulary,
): Record<string, number> {
  const names = vocab.tokens.filter((_, i) => !vocab.isSpecial(i));
  const total = names.reduce((n, b) => n + (counts.get(b) ?? 0), 0);
  // Object.fromEntries defines own properties, so "__proto__" or "constructor" is a behavior like any other.
  return Object.fromEntries(
    names.map((name) => {
      const empirical = ((counts.get(name) ?? 0) + 1) / (total + names.length);
      return [
        name,
        Math.round((Math.log(empirical) - Math.log(Math.max(meanPredicted[vocab.id(name)], 1e-9))) * 1e4) / 1e4,
      ];
    }),
  );
}
