/**
 * What each phase of `npm run adaptation` does: runs a plan (src/node/plan-runner.ts), resamples
 * the gain targets (bootstrap.ts) or writes the report. Node: reads data and records, writes files.
 */
import type { Region } from '../../core/data';
import { RESULTS_JSON, RESULTS_MD, SHIPPED_MODEL_DIR } from '../../node/config';
import { loadSplits } from '../../node/data';
import { shippedModelInfo } from '../../node/model-files';
import { runPlan, waitFor, type Shard } from '../../node/plan-runner';
import { writeSection } from '../../node/report-sections';
import { writeResultRows } from '../../node/results-file';
import { NotFinishedError, runId, type RecordLookup, type RunSpec } from '../../node/run-spec';
import { recordLookup } from '../../node/runs';
import { bootstrapFile, bootstrapGains, readGainBootstraps } from './bootstrap';
import {
  crossDomainPlan,
  gainTargetRuns,
  kShotPlan,
  kShotTunePlan,
  PRETRAIN_WITHOUT,
  tunePlan,
  US_RUN,
  type AdaptationSetup,
} from './plan';
import { adaptationReport, CROSS_DOMAIN_TASK, NEW_BEHAVIOR_TASK } from './report';
import { chosenKShotSetting, settingsChosen } from './select';

export interface AdaptationOptions {
  setup: AdaptationSetup;
  shard: Shard;
  recordsDir: string;
  dataDir: string;
  commit: string;
  log: (line: string) => void;
}

/** Fails when public/models holds another run than US_RUN, the base every fine-tuned arm starts from. */
export function checkShippedBase(): void {
  const shipped = shippedModelInfo();
  if (!shipped) throw new Error(`${SHIPPED_MODEL_DIR}: no shipped model (run npm run experiments -- --phase ship)`);
  if (shipped.run !== runId(US_RUN)) {
    throw new Error(
      `${shipped.path}: the shipped model is run ${shipped.run}, not ${runId(US_RUN)}; update US_RUN in src/experiments/adaptation/plan.ts`,
    );
  }
}

const records = (o: AdaptationOptions): RecordLookup => recordLookup(o.recordsDir);

/** Runs this shard's part of `plan`; `keep(spec)`: keep the run's weights (later runs or the bootstrap read them). */
function run(
  o: AdaptationOptions,
  plan: readonly RunSpec[],
  keep: (spec: RunSpec) => boolean = () => false,
): Promise<void> {
  const { shard, recordsDir, commit, log } = o;
  const pretrainWithout = runId(PRETRAIN_WITHOUT);
  const modelsDir = (spec: RunSpec) => (keep(spec) || runId(spec) === pretrainWithout ? o.setup.modelsDir : undefined);
  return runPlan(plan, {
    shard,
    recordsDir,
    commit,
    log,
    data: (spec) => loadSplits(spec.dataset as Region, o.dataDir),
    modelsDir,
  });
}

/** Cross-domain learning rates (and alignment), per target, arm and fraction. */
export const runTuning = (o: AdaptationOptions) => run(o, tunePlan(o.setup));

/** New behaviors: the pretraining without them (shard 0), the k-shot tuning, then the k-shot runs. */
export async function runKShot(o: AdaptationOptions): Promise<void> {
  await run(o, [PRETRAIN_WITHOUT]);
  const pretrained = () => {
    if (!records(o)(PRETRAIN_WITHOUT)) throw new NotFinishedError('not pretrained yet');
    return kShotTunePlan(o.setup);
  };
  await run(o, await waitFor('the pretraining without the new behaviors', pretrained, o.log));
  await run(
    o,
    await waitFor('the k-shot tuning runs', () => kShotPlan(o.setup, chosenKShotSetting(records(o), o.setup)), o.log),
  );
}

/** Cross-domain runs and zero-shot, with the settings chosen on valid; the gain targets' models are kept for the bootstrap. */
export async function runCrossDomain(o: AdaptationOptions): Promise<void> {
  const chosen = settingsChosen(records(o), o.setup);
  const plan = await waitFor('the learning-rate tuning runs', () => crossDomainPlan(o.setup, chosen), o.log);
  // Their settings exist once the plan could be built.
  const keep = new Set(
    gainTargetRuns(o.setup, chosen).flatMap((g) => [...g.specs['fine-tuned'], ...g.specs.scratch].map(runId)),
  );
  await run(o, plan, (spec) => keep.has(runId(spec)));
}

/** One process resamples, once every shard's gain-target runs are recorded. */
export async function runBootstrap(o: AdaptationOptions): Promise<void> {
  const lookup = records(o);
  const chosen = settingsChosen(lookup, o.setup);
  await waitFor(
    'the cross-domain runs of the gain targets',
    () => {
      const specs = gainTargetRuns(o.setup, chosen).flatMap((g) => [...g.specs['fine-tuned'], ...g.specs.scratch]);
      const missing = specs.filter((spec) => !lookup(spec));
      if (missing.length) throw new NotFinishedError(`${missing.length} runs to go`);
    },
    o.log,
  );
  await bootstrapGains({ ...o, records: lookup, chosen });
}

/** The cross-domain / new-behavior rows of docs/results.json and the adaptation section of docs/RESULTS.md. */
export function writeReport(o: AdaptationOptions, date = new Date()): void {
  const lookup = records(o);
  const file = bootstrapFile(o.recordsDir);
  const { rows, markdown } = adaptationReport({
    setup: o.setup,
    records: lookup,
    chosen: settingsChosen(lookup, o.setup),
    kShot: () => chosenKShotSetting(lookup, o.setup),
    bootstraps: readGainBootstraps(file),
    bootstrapFile: file,
    date,
    commit: o.commit,
    log: o.log,
  });
  const byTask = (task: string) => rows.filter((r) => r.task === task);
  writeResultRows({ [CROSS_DOMAIN_TASK]: byTask(CROSS_DOMAIN_TASK), [NEW_BEHAVIOR_TASK]: byTask(NEW_BEHAVIOR_TASK) });
  writeSection(RESULTS_MD, 'adaptation', markdown);
  o.log(
    `wrote the ${CROSS_DOMAIN_TASK} / ${NEW_BEHAVIOR_TASK} rows of ${RESULTS_JSON} and the adaptation section of ${RESULTS_MD}`,
  );
}
