/**
 * The scaling-law grid on US: model sizes × train-data fractions × seeds, cross-entropy, each
 * trained to early stopping on valid and scored on test. Resumable (one record per cell in
 * results/runs; a rerun skips finished cells). The report fits L(N, D) and the 1-D laws and
 * writes docs/SCALING.md, docs/scaling.json (the app's Scaling view) and PNG plots. Grid and
 * report: src/experiments/scaling/.
 *
 *   npm run scaling -- --phase run --shard 0/2 & npm run scaling -- --phase run --shard 1/2
 *   npm run scaling -- --phase report
 */
import { runGrid, writeReport, type ScalingOptions } from '../experiments/scaling/phases';
import { RECORDS_DIR } from '../node/config';
import { initNodeBackend } from '../node/tf';
import { EXPERIMENT_FLAGS, experimentOptions, parseFlags, runIfMain, seedsFlag, selectPhases } from './args';

const PHASES = ['run', 'report'] as const;
const USAGE = `Usage: npm run scaling -- [--phase all|run|report] [--shard I/N] [--seeds N]
  --records DIR   run records (default ${RECORDS_DIR})     --data DIR   SmartThings folder`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags({ ...EXPERIMENT_FLAGS, seeds: { type: 'string' } }, USAGE, args);
  const phases = selectPhases(flags.phase, PHASES);
  const seeds = seedsFlag(flags.seeds, 2);
  const options: ScalingOptions = { ...experimentOptions(flags), seeds };
  await initNodeBackend('wasm');
  if (phases.has('run')) await runGrid(options);
  if (phases.has('report')) await writeReport(options);
}

runIfMain(import.meta.url, main);
