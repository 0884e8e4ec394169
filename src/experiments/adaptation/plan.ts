/**
 * The adaptation experiments' runs. Pure: which runs, not whether they are done.
 *
 * - cross-domain: the US model fine-tuned on Spain / France vs the same architecture trained
 *   from scratch, with 100%, 10% and 1% of the target train split, 3 seeds; plus zero-shot.
 * - new-behavior: the US model pretrained without 10 behaviors, then fine-tuned on train
 *   sequences holding k = 5, 20, 100 examples of each; recall on the new and the old behaviors.
 *
 * Both arms of every comparison use the shipped DRO objective and the same schedule; learning
 * rates (and whether the fine-tuned arm starts prior-aligned) are chosen on each target's valid
 * split per arm and data fraction (seed 0), the k-shot learning rate and rehearsal ratio on US
 * valid (k = 20, seed 0): select.ts.
 */
import { join } from 'node:path';
import type { ObjectiveSpec } from '../../train/losses';
import { SHIPPED_SIZE, SIZES } from '../../train/recipe';
import { runId, type RunSpec } from '../../node/run-spec';

/** Where kept models are: fine-tuned runs start from a folder there (their ids name only the folder, not where it is). */
export interface AdaptationSetup {
  modelsDir: string;
}

/**
 * The shipped objective and architecture (docs/RESULTS.md), and the US run the shipped model is
 * (its time head trained jointly: chosen on valid by `experiments --phase ship`); the command
 * fails when public/models holds another run.
 */
export const DRO: ObjectiveSpec = { name: 'dro', tau: 0.1, dro: { radius: 0.03, tailMix: 0.02 } };
export const BASE_CONFIG = SIZES[SHIPPED_SIZE];
export const US_RUN: RunSpec = {
  dataset: 'us',
  objective: DRO,
  seed: 0,
  config: { ...BASE_CONFIG, timeHead: true },
  train: { timeHead: { weight: 1, detached: false } },
};
export const TARGETS = ['sp', 'fr'] as const;
export const FRACTIONS = [1, 0.1, 0.01];
export const SEEDS = [0, 1, 2];
/** Wide enough that no choice sits at an edge of the grid (3e-4 … 3e-3 alone left several choices on its edges). */
export const LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
/**
 * Small splits make short epochs (1% of France is one step): every run gets ≥ 600 steps, is
 * evaluated on valid at most every 20 steps (at epoch ends), and stops after 10 evaluations
 * without a better valid loss; the best evaluated weights are kept.
 */
export const SCHEDULE = { minSteps: 600, patience: 10, evaluateEvery: 20 };
/** The relative macro recall@5 targets per fraction (fine-tuned over scratch). */
export const GAIN_TARGETS: ReadonlyMap<number, number> = new Map([
  [1, 0.1],
  [0.1, 0.25],
]);
/** Resamples of the test sequences in the bootstrap of the gain targets. */
export const BOOTSTRAP_RESAMPLES = 1000;

/**
 * Withheld from pretraining: 3 head behaviors (ranks 7–10 of US train; the top 5 hold 77% of
 * events and would leave little to pretrain on) and 7 tail ones spread over ranks 12–32, each
 * with ≥ 300 train events so that k = 100 examples exist. Most have a sibling command of the
 * same device left in pretraining (Other, Television, Fan, GarageDoor, Dryer, Light,
 * Thermostat); Camera has none of its own commands left among the frequent ones.
 */
export const NEW_BEHAVIORS = [
  'Other:switch on',
  'Television:setChannel',
  'None:location',
  'GarageDoor:switch on',
  'Television:volumeDown',
  'Fan:switch on',
  'Camera:notification',
  'Dryer:switch on',
  'Light:setColor',
  'Thermostat:switch on',
];
export const KS = [5, 20, 100];

/**
 * k-shot fine-tuning is judged on the new behaviors without losing the old ones, which valid
 * loss (dominated by old behaviors) cannot see: epochs are picked by valid macro recall@5 (every
 * behavior counts alike) among those whose valid weighted recall@5 on the old behaviors is at
 * most 1 point below the starting model's (the "no collapse" bound, enforced on valid),
 * with a short warm-up as the app's fine-tuning uses. Learning rate and rehearsal ratio are
 * chosen together the same way (k = 20, seed 0).
 */
export const MAX_OLD_DROP = 0.01;
export const REHEARSALS = [0, 1, 4, 16];
export const K_SHOT_LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3];
export const K_TUNE = 20;

export type Arm = 'fine-tuned' | 'scratch';
export const ARMS: readonly Arm[] = ['fine-tuned', 'scratch'];

/** What is chosen on valid for one target, arm and fraction: the learning rate and, for the fine-tuned arm, the alignment. */
export interface ArmSetting {
  learningRate: number;
  aligned: boolean;
}

export interface KShotSetting {
  learningRate: number;
  rehearsal: number;
}

/** The setting chosen on valid for a target, arm and fraction (select.ts). */
export type ChosenSetting = (target: string, arm: Arm, fraction: number) => ArmSetting;

/** The folder a run's weights are kept in. */
export const modelDir = (setup: AdaptationSetup, spec: RunSpec): string => join(setup.modelsDir, runId(spec));

const withLr = (spec: RunSpec, learningRate: number): RunSpec => ({ ...spec, train: { ...SCHEDULE, learningRate } });

/**
 * The fine-tuned arm starts from the US model with the target's new behaviors added and, when
 * `aligned`, its output biases moved to the target's behavior frequencies (alignOutputPrior: a
 * label-shift correction; docs/FINETUNE.md). Its start competes with the trained epochs on valid.
 * Both arms rank the same candidates on test: the behaviors of the target's train split (the
 * scratch model knows no others).
 */
export function crossDomainSpec(
  setup: AdaptationSetup,
  target: string,
  arm: Arm,
  fraction: number,
  seed: number,
  setting: ArmSetting,
): RunSpec {
  const spec = withLr(
    { dataset: target, objective: DRO, seed, ...(fraction !== 1 ? { fraction } : {}) },
    setting.learningRate,
  );
  if (arm === 'scratch') return { ...spec, config: BASE_CONFIG };
  // Fine-tuning that does not beat the start on valid is not kept.
  const start = {
    init: modelDir(setup, US_RUN),
    ...(setting.aligned ? { alignPrior: true } : {}),
    rankTrainBehaviors: true,
  };
  return { ...spec, ...start, train: { ...spec.train, startCompetes: true } };
}

/** The settings tried per target, arm and fraction (seed 0): what suits 1% of the data need not suit all of it. */
export function armSettings(arm: Arm): ArmSetting[] {
  const alignments = arm === 'fine-tuned' ? [true, false] : [false];
  return alignments.flatMap((aligned) => LEARNING_RATES.map((learningRate) => ({ learningRate, aligned })));
}

/** The cross-domain learning-rate (and alignment) tuning runs. */
export function tunePlan(setup: AdaptationSetup): RunSpec[] {
  return TARGETS.flatMap((t) =>
    FRACTIONS.flatMap((f) =>
      ARMS.flatMap((arm) => armSettings(arm).map((setting) => crossDomainSpec(setup, t, arm, f, 0, setting))),
    ),
  );
}

/** The base as it is on a target: scored without training. */
export function zeroShotSpec(setup: AdaptationSetup, target: string): RunSpec {
  return {
    dataset: target,
    objective: DRO,
    seed: 0,
    init: modelDir(setup, US_RUN),
    rankTrainBehaviors: true,
    train: { epochs: 0 },
  };
}

/** The US run pretrained without the new behaviors: the k-shot runs start from it. */
export const PRETRAIN_WITHOUT: RunSpec = { ...US_RUN, seed: 0, withhold: NEW_BEHAVIORS };

export function kShotSpec(setup: AdaptationSetup, k: number, seed: number, setting: KShotSetting): RunSpec {
  return {
    dataset: 'us',
    objective: DRO,
    seed,
    init: modelDir(setup, PRETRAIN_WITHOUT),
    kShot: {
      behaviors: NEW_BEHAVIORS,
      k,
      maxOldDrop: MAX_OLD_DROP,
      ...(setting.rehearsal ? { rehearsal: setting.rehearsal } : {}),
    },
    train: { ...SCHEDULE, learningRate: setting.learningRate, selectBy: 'macro_recall@5', warmupSteps: 20 },
  };
}

export const K_SHOT_GRID: readonly KShotSetting[] = K_SHOT_LEARNING_RATES.flatMap((learningRate) =>
  REHEARSALS.map((rehearsal) => ({ learningRate, rehearsal })),
);

/** The pretrained model with the 10 added (docs/FINETUNE.md initialisation), before any training: the k-shot runs' starting point. */
export function kShotStart(setup: AdaptationSetup): RunSpec {
  const kShot = { behaviors: NEW_BEHAVIORS, k: 0 };
  return {
    dataset: 'us',
    objective: { name: 'ce' },
    seed: 0,
    init: modelDir(setup, PRETRAIN_WITHOUT),
    kShot,
    train: { epochs: 0 },
  };
}

/** The k-shot tuning runs (k = K_TUNE, seed 0, every setting), after the untrained start. */
export function kShotTunePlan(setup: AdaptationSetup): RunSpec[] {
  return [kShotStart(setup), ...K_SHOT_GRID.map((setting) => kShotSpec(setup, K_TUNE, 0, setting))];
}

/** The k-shot runs with the chosen setting: every k and seed. */
export function kShotPlan(setup: AdaptationSetup, chosen: KShotSetting): RunSpec[] {
  return KS.flatMap((k) => SEEDS.map((seed) => kShotSpec(setup, k, seed, chosen)));
}

/** Both arms' runs of a target and fraction, every seed, with the chosen settings. */
export function armRuns(
  setup: AdaptationSetup,
  chosen: ChosenSetting,
  target: string,
  fraction: number,
): Record<Arm, RunSpec[]> {
  const specs = (arm: Arm) =>
    SEEDS.map((seed) => crossDomainSpec(setup, target, arm, fraction, seed, chosen(target, arm, fraction)));
  return { 'fine-tuned': specs('fine-tuned'), scratch: specs('scratch') };
}

/** The pretraining without the new behaviors, zero-shot, and every cross-domain run with the chosen settings. */
export function crossDomainPlan(setup: AdaptationSetup, chosen: ChosenSetting): RunSpec[] {
  const plan: RunSpec[] = [PRETRAIN_WITHOUT, ...TARGETS.map((t) => zeroShotSpec(setup, t))];
  for (const seed of SEEDS)
    for (const target of TARGETS)
      for (const fraction of FRACTIONS)
        for (const arm of ARMS)
          plan.push(crossDomainSpec(setup, target, arm, fraction, seed, chosen(target, arm, fraction)));
  return plan;
}

/** The runs behind each gain target: both arms, every seed (the bootstrap resamples their test targets). */
export function gainTargetRuns(
  setup: AdaptationSetup,
  chosen: ChosenSetting,
): { target: string; fraction: number; specs: Record<Arm, RunSpec[]> }[] {
  return TARGETS.flatMap((target) =>
    [...GAIN_TARGETS.keys()].map((fraction) => ({ target, fraction, specs: armRuns(setup, chosen, target, fraction) })),
  );
}
