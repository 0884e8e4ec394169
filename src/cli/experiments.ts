/**
 * Regenerates the next-behavior evaluation: baselines, BehaveGPT with each objective, the
 * context-free ablation, on US and Spain, 3 seeds; writes docs/RESULTS.md and docs/results.json.
 * Resumable: finished runs (results/runs/*.json) are skipped. Plan, choices and report:
 * src/experiments/next-behavior/.
 *
 *   npm run experiments                       # everything, in order (hours on 2 cores)
 *   npm run experiments -- --phase tune --shard 0/2 & npm run experiments -- --phase tune --shard 1/2
 *   npm run experiments -- --phase main --shard 0/2 & npm run experiments -- --phase main --shard 1/2
 *   npm run experiments -- --phase report
 *   npm run experiments -- --phase time-head --shard 0/2 & npm run experiments -- --phase time-head --shard 1/2
 *   npm run experiments -- --phase ship      # best US DRO run, with its time head → the app's model
 */
import {
  runMain,
  runTimeHeads,
  runTuning,
  ship,
  writeReport,
  type NextBehaviorOptions,
} from '../experiments/next-behavior/phases';
import { RECORDS_DIR, RUN_MODELS_DIR } from '../node/config';
import { initNodeBackend } from '../node/tf';
import { SHIPPED_SIZE, SIZES, sizeOverrides } from '../train/recipe';
import { EXPERIMENT_FLAGS, experimentOptions, parseFlags, runIfMain, seedsFlag, selectPhases } from './args';

const PHASES = ['tune', 'main', 'report', 'time-head', 'ship'] as const;
const USAGE = `Usage: npm run experiments -- [--phase all|${PHASES.join('|')}] [--shard I/N] [--datasets us,sp] [--seeds N]
  --size NAME     the scaling size (${Object.keys(SIZES).join(', ')}) of every neural run (default ${SHIPPED_SIZE}, the shipped architecture; m = DEFAULT_CONFIG)
  --records DIR   run records (default ${RECORDS_DIR})     --models DIR   weights (default ${RUN_MODELS_DIR})     --data DIR   SmartThings folder`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      ...EXPERIMENT_FLAGS,
      datasets: { type: 'string' },
      seeds: { type: 'string' },
      models: { type: 'string' },
      size: { type: 'string' },
    },
    USAGE,
    args,
  );
  const phases = selectPhases(flags.phase, PHASES);
  const size = flags.size ?? SHIPPED_SIZE;
  sizeOverrides(size); // a bad --size fails before any work
  const options: NextBehaviorOptions = {
    ...experimentOptions(flags),
    setup: {
      size,
      datasets: (flags.datasets ?? 'us,sp').split(','),
      seeds: seedsFlag(flags.seeds, 3),
    },
    modelsDir: flags.models ?? RUN_MODELS_DIR,
  };
  await initNodeBackend('wasm');
  if (phases.has('tune')) await runTuning(options);
  if (phases.has('main')) await runMain(options);
  if (phases.has('report')) writeReport(options);
  if (phases.has('time-head')) await runTimeHeads(options);
  if (phases.has('ship')) await ship(options);
}

runIfMain(import.meta.url, main);
