/** Choices the adaptation experiments make on valid, from the tuning runs' records (seed 0). Pure. */
import { NotFinishedError, type RecordLookup, type RunRecord, type RunSpec } from '../../node/run-spec';
import {
  armSettings,
  crossDomainSpec,
  K_SHOT_GRID,
  K_TUNE,
  kShotSpec,
  type AdaptationSetup,
  type Arm,
  type ArmSetting,
  type ChosenSetting,
  type KShotSetting,
} from './plan';

/** The candidate whose run scores highest on valid (`score`); the first of equals. Throws NotFinishedError while a run is missing. */
export function bestOnValid<T>(
  records: RecordLookup,
  what: string,
  candidates: readonly T[],
  spec: (candidate: T) => RunSpec,
  score: (record: RunRecord) => number,
): T {
  const runs = candidates.map((candidate) => ({ candidate, record: records(spec(candidate)) }));
  if (runs.some((r) => !r.record)) throw new NotFinishedError(`${what} is not finished`);
  return runs.reduce((a, b) => (score(b.record!) > score(a.record!) ? b : a)).candidate;
}

/** Lowest valid loss among a target's, arm's and fraction's settings. */
export function chosenSetting(
  records: RecordLookup,
  setup: AdaptationSetup,
  target: string,
  arm: Arm,
  fraction: number,
): ArmSetting {
  const spec = (setting: ArmSetting) => crossDomainSpec(setup, target, arm, fraction, 0, setting);
  return bestOnValid(
    records,
    `tuning for ${target} ${arm} ${fraction} (run --phase tune)`,
    armSettings(arm),
    spec,
    (r) => -r.valid.loss,
  );
}

/** chosenSetting for any target, arm and fraction (as the plans take it). */
export const settingsChosen =
  (records: RecordLookup, setup: AdaptationSetup): ChosenSetting =>
  (target, arm, fraction) =>
    chosenSetting(records, setup, target, arm, fraction);

/** Highest valid macro recall@5 of the selected epoch among the k-shot settings (k = K_TUNE). */
export function chosenKShotSetting(records: RecordLookup, setup: AdaptationSetup): KShotSetting {
  const spec = (setting: KShotSetting) => kShotSpec(setup, K_TUNE, 0, setting);
  return bestOnValid(records, 'k-shot tuning', K_SHOT_GRID, spec, (r) => r.valid['macro_recall@5']);
}
