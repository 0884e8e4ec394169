/**
 * What each phase of `npm run experiments` does: runs a plan (src/node/plan-runner.ts), writes
 * the report, or ships the chosen model. Node: reads data and records, writes files.
 */
import { join } from 'node:path';
import type { Region } from '../../core/data';
import { fitGenerationCorrection } from '../../train/calibration';
import { RESULTS_JSON, RESULTS_MD, SHIPPED_FP32_DIR, SHIPPED_MODEL_DIR } from '../../node/config';
import { loadSplits, type DatasetSplits } from '../../node/data';
import { loadModelDir, saveModelDir } from '../../node/model-files';
import { runPlan, waitFor, type Shard } from '../../node/plan-runner';
import { writeHead } from '../../node/report-sections';
import { writeResultRows } from '../../node/results-file';
import type { RunRecord, RunSpec } from '../../node/run-spec';
import { recordLookup } from '../../node/runs';
import { pct } from '../format';
import { mainPlan, timeHeadPlan, tunePlan, type NextBehaviorSetup } from './plan';
import { baselineRows, neuralRows, nextBehaviorMarkdown, TASK, tuningTable } from './report';
import { bestDroRun, keptTimeHeadRun, selectObjectives } from './select';

export interface NextBehaviorOptions {
  setup: NextBehaviorSetup;
  shard: Shard;
  recordsDir: string;
  /** Where every run's weights are kept (the ship phase reads them). */
  modelsDir: string;
  dataDir: string;
  commit: string;
  log: (line: string) => void;
}

const splits = (o: NextBehaviorOptions, dataset: string): DatasetSplits => loadSplits(dataset as Region, o.dataDir);

/** The main plan, with the long-tail objectives chosen on the tuning records (throws NotFinishedError before). */
function chosenMainPlan(o: NextBehaviorOptions): RunSpec[] {
  const choices = selectObjectives(recordLookup(o.recordsDir), o.setup);
  return mainPlan(
    o.setup,
    Object.values(choices).map((c) => c.spec),
  );
}

function run(o: NextBehaviorOptions, plan: readonly RunSpec[]): Promise<void> {
  const { shard, recordsDir, modelsDir, commit, log } = o;
  return runPlan(plan, {
    shard,
    recordsDir,
    commit,
    log,
    data: (spec) => splits(o, spec.dataset),
    modelsDir: () => modelsDir,
  });
}

export const runTuning = (o: NextBehaviorOptions) => run(o, tunePlan(o.setup));

/** A main shard started early waits for the tune shards. */
export async function runMain(o: NextBehaviorOptions): Promise<void> {
  await run(o, await waitFor('the tune shards', () => chosenMainPlan(o), o.log));
}

export const runTimeHeads = (o: NextBehaviorOptions) => run(o, timeHeadPlan(shippedRun(o).spec));

const shippedRun = (o: NextBehaviorOptions): RunRecord => bestDroRun(recordLookup(o.recordsDir), chosenMainPlan(o));

/** docs/results.json (the next-behavior rows) and the head of docs/RESULTS.md. */
export function writeReport(o: NextBehaviorOptions, date = new Date()): void {
  const records = recordLookup(o.recordsDir);
  const plan = chosenMainPlan(o);
  const finished = plan.map(records).filter((r): r is RunRecord => r !== null);
  o.log(`report: ${finished.length} of ${plan.length} main runs finished`);
  const rows = [...o.setup.datasets.flatMap((d) => baselineRows(d, splits(o, d))), ...neuralRows(finished)];
  writeResultRows({ [TASK]: rows });
  const choices = selectObjectives(records, o.setup);
  const tuning = tuningTable(records, o.setup, choices);
  writeHead(RESULTS_MD, nextBehaviorMarkdown({ setup: o.setup, rows, choices, tuning, date, commit: o.commit }));
  o.log(`wrote ${RESULTS_MD} and ${RESULTS_JSON}`);
}

/**
 * Ships the best DRO model on US (highest valid macro recall@5 over seeds), retrained with the
 * time head that generation needs, the joint variant only if its valid behavior loss is lower:
 * int8 for the app, a float32 reference beside it.
 */
export async function ship(o: NextBehaviorOptions): Promise<void> {
  const records = recordLookup(o.recordsDir);
  const base = shippedRun(o);
  const [detached, joint] = timeHeadPlan(base.spec).map(records);
  if (!detached || !joint) throw new Error('the time-head runs are not finished (run --phase time-head first)');
  for (const r of [detached, joint]) {
    const valid = `valid loss ${r.valid.loss.toFixed(4)} R@1 ${pct(r.valid['weighted_recall@1'])} macro R@5 ${pct(r.valid['macro_recall@5'])}`;
    o.log(`${r.id}: ${valid}; time accuracy valid ${pct(r.time!.valid.accuracy)} test ${pct(r.time!.test.accuracy)}`);
  }
  const [withHead, without] = [detached.test.all['weighted_recall@1'], base.test.all['weighted_recall@1']];
  if (withHead !== without)
    o.log(`note: the detached time head changed the behavior model (test R@1 ${pct(withHead)} vs ${pct(without)})`);
  const best = keptTimeHeadRun(detached, joint);
  const loaded = loadModelDir(join(o.modelsDir, best.id));
  // Sampling correction for generation (docs/GENERATION.md): fitted on train, chosen on valid by `npm run generation`.
  const generation = await fitGenerationCorrection(
    loaded.model,
    splits(o, 'us').train,
    loaded.behaviors,
    loaded.locations,
    'US train',
  );
  const training = {
    data: {
      source: 'Samsung SmartThings action logs (Jeon et al., CIKM 2022)',
      region: 'us',
      split: 'train; early stopping on valid',
    },
    run: best.id,
    objective: best.spec.objective,
    seed: best.spec.seed,
    steps: best.steps,
    epochs: best.epochsRun,
    bestEpoch: best.bestEpoch,
    seconds: best.seconds,
    valid: best.valid,
    test: best.test.all,
    testNoRefresh: best.test['no-refresh'],
    time: best.time,
    generation,
    commit: best.commit,
    date: best.date,
  };
  for (const [dir, dtype] of [
    [SHIPPED_MODEL_DIR, 'uint8'],
    [SHIPPED_FP32_DIR, 'float32'],
  ] as const) {
    const { manifestPath, bytes } = await saveModelDir(dir, { ...loaded, name: 'behavegpt-us', training }, { dtype });
    o.log(`shipped ${best.id} → ${manifestPath} (${bytes} weight bytes, ${dtype})`);
  }
  loaded.model.dispose();
}
