/**
 * Choices the next-behavior evaluation makes on valid, from run records: each long-tail
 * objective's hyperparameters, the run that ships, and its time-head variant. Pure.
 */
import type { ObjectiveSpec } from '../../train/losses';
import { isContextFree, NotFinishedError, type RecordLookup, type RunRecord, type RunSpec } from '../../node/run-spec';
import { CANDIDATES, CE, LONG_TAIL_OBJECTIVES, tuneSpec, type LongTailObjective, type NextBehaviorSetup } from './plan';

export interface ObjectiveChoice {
  spec: ObjectiveSpec;
  /** Which branch of the rule chose it, as the report says. */
  why: string;
}

/**
 * The valid-set rule, the same for every long-tail objective: the highest valid macro recall@5
 * among candidates whose valid weighted recall@1 is within 1 point of cross-entropy's; when none
 * is, the candidate closest to that bound. The first of equals wins.
 */
export function selectObjective(
  records: RecordLookup,
  setup: NextBehaviorSetup,
  name: LongTailObjective,
): ObjectiveChoice {
  const ce = records(tuneSpec(setup, CE));
  const runs = CANDIDATES[name].map((spec) => ({ spec, record: records(tuneSpec(setup, spec)) }));
  if (!ce || runs.some((r) => !r.record))
    throw new NotFinishedError(`tuning for ${name} is not finished (run --phase tune first)`);
  const bound = ce.valid['weighted_recall@1'] - 0.01;
  const valid = (r: (typeof runs)[number], key: string) => r.record!.valid[key];
  const ok = runs.filter((r) => valid(r, 'weighted_recall@1') >= bound);
  if (ok.length) {
    const best = ok.reduce((a, b) => (valid(b, 'macro_recall@5') > valid(a, 'macro_recall@5') ? b : a));
    return { spec: best.spec, why: 'best valid macro R@5 within 1 point of CE valid R@1' };
  }
  const closest = runs.reduce((a, b) => (valid(b, 'weighted_recall@1') > valid(a, 'weighted_recall@1') ? b : a));
  return { spec: closest.spec, why: 'no candidate within 1 point of CE valid R@1: closest one' };
}

/** The choice for every long-tail objective, in LONG_TAIL_OBJECTIVES order. */
export function selectObjectives(
  records: RecordLookup,
  setup: NextBehaviorSetup,
): Record<LongTailObjective, ObjectiveChoice> {
  const entries = LONG_TAIL_OBJECTIVES.map((name) => [name, selectObjective(records, setup, name)] as const);
  return Object.fromEntries(entries) as Record<LongTailObjective, ObjectiveChoice>;
}

/** The finished US DRO run of the main plan with the best valid macro recall@5 over seeds: the model that ships. */
export function bestDroRun(records: RecordLookup, mainPlan: readonly RunSpec[]): RunRecord {
  const runs = mainPlan
    .filter((s) => s.dataset === 'us' && !isContextFree(s) && s.objective.name === 'dro')
    .map(records)
    .filter((r): r is RunRecord => r !== null);
  if (runs.length === 0) throw new Error('no finished US DRO run to ship');
  return runs.reduce((a, b) => (b.valid['macro_recall@5'] > a.valid['macro_recall@5'] ? b : a));
}

/** The joint time head is kept only if its valid behavior loss is lower than the detached one's. */
export function keptTimeHeadRun(detached: RunRecord, joint: RunRecord): RunRecord {
  return joint.valid.loss < detached.valid.loss ? joint : detached;
}
