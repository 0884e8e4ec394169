/**
 * The next-behavior evaluation's runs: the tuning grid (US, seed 0), the main runs (BehaveGPT
 * with each objective and the context-free ablation, per dataset and seed) and the shipped run's
 * time-head variants. Pure: which runs, not whether they are done.
 */
import type { ObjectiveSpec } from '../../train/losses';
import { sizeConfig } from '../../train/recipe';
import type { RunSpec } from '../../node/run-spec';

export interface NextBehaviorSetup {
  /** The scaling size of every neural run (src/train/recipe.ts SIZES). */
  size: string;
  datasets: readonly string[];
  seeds: readonly number[];
}

/** Hyperparameters are chosen on this dataset's valid split and used for every dataset. */
export const TUNE_DATASET = 'us';

export const CE: ObjectiveSpec = { name: 'ce' };

/** The long-tail objectives compared with cross-entropy, each tuned on valid. */
export const LONG_TAIL_OBJECTIVES = ['dro', 'logit-adjusted', 'class-balanced'] as const;
export type LongTailObjective = (typeof LONG_TAIL_OBJECTIVES)[number];

/** Hyperparameter candidates per long-tail objective, chosen on US valid (seed 0). */
export const CANDIDATES: Record<LongTailObjective, ObjectiveSpec[]> = {
  dro: [
    { name: 'dro', dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', dro: { radius: 0.1, tailMix: 0 } },
    { name: 'dro', dro: { radius: 0.1, tailMix: 0.05 } },
    // A small cap on q/p intersects the KL ball with a CVaR-type set: many tail classes move a little.
    { name: 'dro', dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', dro: { radius: 0.3, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', dro: { radius: 1, tailMix: 0.1, maxWeight: 2 } },
    // A larger tail mix moves the centre of the ball towards balanced classes (more room for the tail).
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.3, maxWeight: 10 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.6, maxWeight: 10 } },
    // The ball centred on the class-balanced (effective-number) distribution: radius 0 would be class-balanced CE.
    { name: 'dro', dro: { radius: 0.02, tailMix: 0, priorBeta: 0.99 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.99 } },
    // Tried at scaling size s: smaller radii and tail mixes, other class-balanced centres.
    { name: 'dro', dro: { radius: 0.02, tailMix: 0.05 } },
    { name: 'dro', dro: { radius: 0.03, tailMix: 0.05 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.02 } },
    { name: 'dro', dro: { radius: 0.03, tailMix: 0, priorBeta: 0.99 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.9 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.95 } },
    // The worst case over logit-adjusted class losses: the margin of Menon et al. plus the DRO tilt.
    { name: 'dro', tau: 0.1, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.05, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.02, tailMix: 0 } },
    { name: 'dro', tau: 0.05, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.02, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.02, tailMix: 0 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.05, tailMix: 0.02 } },
  ],
  'logit-adjusted': [
    { name: 'logit-adjusted', tau: 0.25 },
    { name: 'logit-adjusted', tau: 0.5 },
    { name: 'logit-adjusted', tau: 1 },
  ],
  'class-balanced': [
    { name: 'class-balanced', beta: 0.9 },
    { name: 'class-balanced', beta: 0.99 },
    { name: 'class-balanced', beta: 0.999 },
  ],
};

/** Cross-entropy first, then every candidate: the tuning runs in order. */
export const TUNING_OBJECTIVES: readonly ObjectiveSpec[] = [CE, ...Object.values(CANDIDATES).flat()];

/** A BehaveGPT run at the setup's size (the context-free ablation: `contextFree`). */
export function neuralSpec(
  setup: NextBehaviorSetup,
  dataset: string,
  objective: ObjectiveSpec,
  seed: number,
  contextFree = false,
): RunSpec {
  return { dataset, objective, seed, ...sizeConfig(setup.size, contextFree ? { useContext: false } : {}) };
}

/** The seed-0 US run of an objective on which hyperparameters are chosen. */
export const tuneSpec = (setup: NextBehaviorSetup, objective: ObjectiveSpec): RunSpec =>
  neuralSpec(setup, TUNE_DATASET, objective, 0);

export function tunePlan(setup: NextBehaviorSetup): RunSpec[] {
  return TUNING_OBJECTIVES.map((objective) => tuneSpec(setup, objective));
}

/** Per dataset and seed: cross-entropy, the chosen long-tail objectives, the context-free ablation (CE). */
export function mainPlan(setup: NextBehaviorSetup, chosen: readonly ObjectiveSpec[]): RunSpec[] {
  const plan: RunSpec[] = [];
  for (const dataset of setup.datasets) {
    for (const seed of setup.seeds) {
      for (const objective of [CE, ...chosen]) plan.push(neuralSpec(setup, dataset, objective, seed));
      plan.push(neuralSpec(setup, dataset, CE, seed, true));
    }
  }
  return plan;
}

/**
 * The shipped run retrained with a time head (docs/GENERATION.md): detached (the behavior model
 * trains exactly as the evaluated run) and joint (its gradient shapes the shared layers).
 */
export function timeHeadPlan(shipped: RunSpec): [detached: RunSpec, joint: RunSpec] {
  const detached: RunSpec = { ...shipped, config: { ...shipped.config, timeHead: true } };
  return [detached, { ...detached, train: { ...detached.train, timeHead: { weight: 1, detached: false } } }];
}
