/**
 * Adaptation experiments (resumable; records in results/runs): cross-domain (US → Spain, France;
 * 100/10/1% data; zero-shot) and new behaviors (k = 5/20/100). Writes the "cross-domain" and
 * "new-behavior" rows of docs/results.json and the "adaptation" section of docs/RESULTS.md.
 * Plan, choices and report: src/experiments/adaptation/.
 *
 *   npm run adaptation -- --phase tune     (cross-domain learning rates)
 *   npm run adaptation -- --phase kshot    (new behaviors: pretraining without them, tuning, k-shot runs)
 *   npm run adaptation -- --phase cross    (cross-domain runs and zero-shot; run = kshot + cross)
 *   npm run adaptation -- --phase run --shard 0/2 & npm run adaptation -- --phase run --shard 1/2
 *   npm run adaptation -- --phase bootstrap  (after the runs: how far the test split's sampling could move the gain targets)
 *   npm run adaptation -- --phase report
 */
import {
  checkShippedBase,
  runBootstrap,
  runCrossDomain,
  runKShot,
  runTuning,
  writeReport,
  type AdaptationOptions,
} from '../experiments/adaptation/phases';
import { RECORDS_DIR, RUN_MODELS_DIR } from '../node/config';
import { initNodeBackend } from '../node/tf';
import { EXPERIMENT_FLAGS, experimentOptions, parseFlags, runIfMain, selectPhases } from './args';

const PHASES = ['tune', 'kshot', 'cross', 'bootstrap', 'report'] as const;
const GROUPS = { run: ['kshot', 'cross'] } as const;
const USAGE = `Usage: npm run adaptation -- [--phase all|run|${PHASES.join('|')}] [--shard I/N] [--records DIR] [--models DIR] [--data DIR]
  all: every phase (the bootstrap on shard 0 only); run: kshot + cross. Defaults: --records ${RECORDS_DIR} --models ${RUN_MODELS_DIR}`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags({ ...EXPERIMENT_FLAGS, models: { type: 'string' } }, USAGE, args);
  const phases = selectPhases(flags.phase, PHASES, GROUPS);
  const options: AdaptationOptions = {
    ...experimentOptions(flags),
    setup: { modelsDir: flags.models ?? RUN_MODELS_DIR },
  };
  checkShippedBase();
  await initNodeBackend('wasm');
  if (phases.has('tune')) await runTuning(options);
  if (phases.has('kshot')) await runKShot(options);
  if (phases.has('cross')) await runCrossDomain(options);
  // With every phase, one process resamples: shard 0.
  if (phases.has('bootstrap') && (flags.phase === 'bootstrap' || options.shard.index === 0))
    await runBootstrap(options);
  if (phases.has('report')) writeReport(options);
}

runIfMain(import.meta.url, main);
