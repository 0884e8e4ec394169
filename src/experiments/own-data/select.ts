/**
 * Choosing the fine-tuning defaults from the tuning records (tune.ts), on valid only, per arm
 * (adapted, from scratch): every candidate (learning rate × check spacing × minimum steps ×
 * patience × budget) is replayed on every log's record under the protocol's stopping rule
 * (simulateStopping: the same checks the trainer makes, from the per-epoch record of a run whose
 * steps do not depend on the rule). A candidate's quality on a log is the relative excess of the
 * valid loss of the epoch it keeps over the lowest valid loss any run reached on that log; its
 * score the mean over the logs. Among the candidates within TOLERANCE of the best score, the
 * one with the fewest training steps summed over the logs wins (every log trains the same
 * architecture at the same batch size, so steps are time, and unlike measured seconds they do not
 * depend on the machine's load; the big logs, where a person waits, dominate the sum).
 * Candidates whose replay runs past the end of a record are left out.
 */
import type { TuneCheck, TuneRecord } from './tune';

export interface StoppingRule {
  maxEpochs: number;
  patience: number;
  minSteps: number;
  evaluateEvery: number;
}

export interface Replay {
  /** The check whose weights the run keeps (lowest valid loss seen). */
  kept: TuneCheck;
  stopEpoch: number;
  steps: number;
  checks: number;
  reason: 'patience' | 'budget';
  /** The record ended before the replayed run would have: the result is a bound, not exact. */
  truncated: boolean;
}

/**
 * The checks and stop of a run under `rule`, replayed from a record that checked every epoch:
 * the trainer's rule exactly (trainModel: a check at an epoch's end once `evaluateEvery` steps
 * have passed since the last one, and always at the last epoch of the budget; the first check
 * replaces the start; stop after `patience` checks without a strictly lower loss).
 */
export function simulateStopping(record: Pick<TuneRecord, 'checks' | 'stepsPerEpoch'>, rule: StoppingRule): Replay {
  const spe = record.stepsPerEpoch;
  const epochs = Math.max(rule.maxEpochs, Math.ceil(rule.minSteps / spe));
  let kept: TuneCheck | null = null;
  let sinceBest = 0;
  let lastEvaluated = 0;
  let checks = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const step = epoch * spe;
    if (epoch < epochs && step - lastEvaluated < rule.evaluateEvery) continue;
    const check = record.checks[epoch - 1];
    if (!check) {
      if (!kept) throw new Error('simulateStopping: the record has no check');
      return {
        kept,
        stopEpoch: record.checks.length,
        steps: record.checks.length * spe,
        checks,
        reason: 'budget',
        truncated: true,
      };
    }
    if (check.epoch !== epoch) throw new Error(`simulateStopping: check ${epoch - 1} is of epoch ${check.epoch}`);
    lastEvaluated = step;
    checks++;
    if (kept === null || check.validLoss < kept.validLoss) {
      kept = check;
      sinceBest = 0;
    } else sinceBest++;
    if (sinceBest >= rule.patience)
      return { kept, stopEpoch: epoch, steps: step, checks, reason: 'patience', truncated: false };
  }
  if (!kept) throw new Error('simulateStopping: no check in the budget');
  return { kept, stopEpoch: epochs, steps: epochs * spe, checks, reason: 'budget', truncated: false };
}

/** Lowest valid loss a record reached. */
export function bestLoss(record: Pick<TuneRecord, 'checks'>): number {
  return Math.min(...record.checks.map((c) => c.validLoss));
}

/** A candidate within this much (absolute, in mean relative excess) of the best score is good enough. */
export const TOLERANCE = 0.005;
export const CHECK_SPACING_GRID = [0, 20] as const;
export const MIN_STEPS_GRID = [0, 300, 600] as const;
export const PATIENCE_GRID = [2, 3, 5, 8, 10] as const;
export const BUDGET_GRID = [10, 20, 30, 40, 60, 80, 100] as const;

export interface Candidate extends StoppingRule {
  learningRate: number;
}

export interface Scored {
  candidate: Candidate;
  /** Mean relative excess of the kept valid loss over each log's lowest. */
  score: number;
  /** Training steps summed over the logs (the cost). */
  steps: number;
  byLog: Record<string, { excess: number; steps: number; reason: Replay['reason']; kept: TuneCheck }>;
}

export function candidates(learningRates: readonly number[]): Candidate[] {
  return learningRates.flatMap((learningRate) =>
    CHECK_SPACING_GRID.flatMap((evaluateEvery) =>
      MIN_STEPS_GRID.flatMap((minSteps) =>
        PATIENCE_GRID.flatMap((patience) =>
          BUDGET_GRID.map((maxEpochs) => ({ learningRate, evaluateEvery, minSteps, patience, maxEpochs })),
        ),
      ),
    ),
  );
}

/** Scores every candidate on one arm's records (one record per log and learning rate); null when a replay runs past a record. */
export function scoreCandidate(
  records: readonly TuneRecord[],
  candidate: Candidate,
  bestByLog: ReadonlyMap<string, number>,
): Scored | null {
  const byLog: Scored['byLog'] = {};
  let steps = 0;
  for (const [log, best] of bestByLog) {
    const record = records.find((r) => r.spec.dataset === log && r.spec.learningRate === candidate.learningRate);
    // A rate not run on every log (tunePlan) is not a candidate.
    if (!record) return null;
    const replay = simulateStopping(record, candidate);
    if (replay.truncated) return null;
    byLog[log] = {
      excess: (replay.kept.validLoss - best) / best,
      steps: replay.steps,
      reason: replay.reason,
      kept: replay.kept,
    };
    steps += replay.steps;
  }
  const values = Object.values(byLog);
  return { candidate, score: values.reduce((a, v) => a + v.excess, 0) / values.length, steps, byLog };
}

export interface DefaultsChoice {
  chosen: Scored;
  /** The best score of any candidate, and how many candidates were within TOLERANCE of it. */
  bestScore: number;
  withinTolerance: number;
  /** The best candidate per learning rate (for the report). */
  perLearningRate: Scored[];
  bestByLog: Record<string, number>;
}

export function chooseDefaults(records: readonly TuneRecord[]): DefaultsChoice {
  const logs = [...new Set(records.map((r) => r.spec.dataset))];
  const bestByLog = new Map(
    logs.map((log) => [log, Math.min(...records.filter((r) => r.spec.dataset === log).map(bestLoss))]),
  );
  const rates = [...new Set(records.map((r) => r.spec.learningRate))].sort((a, b) => a - b);
  const scored = candidates(rates)
    .map((c) => scoreCandidate(records, c, bestByLog))
    .filter((s): s is Scored => s !== null);
  if (scored.length === 0) throw new Error('no candidate could be replayed on every record');
  const bestScore = Math.min(...scored.map((s) => s.score));
  const good = scored.filter((s) => s.score <= bestScore + TOLERANCE);
  const chosen = good.reduce((a, b) => (b.steps < a.steps || (b.steps === a.steps && b.score < a.score) ? b : a));
  const perLearningRate = rates.flatMap((lr) => {
    const mine = scored.filter((s) => s.candidate.learningRate === lr);
    return mine.length ? [mine.reduce((a, b) => (b.score < a.score ? b : a))] : [];
  });
  return { chosen, bestScore, withinTolerance: good.length, perLearningRate, bestByLog: Object.fromEntries(bestByLog) };
}
