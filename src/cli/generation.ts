/**
 * Realism of generated trajectories: for every test sequence longer than the prefix, continue
 * its first `--prefix` events with as many generated events as the real sequence has left, by
 * BehaveGPT (the shipped model; its sampling chosen on valid) and by two non-neural generators;
 * compare the pooled continuations with the real ones (core/realism.ts). Writes the
 * "generation" rows of docs/results.json and its section of docs/RESULTS.md. Design and
 * report: src/experiments/generation/.
 *
 *   npm run generation [-- --model public/models/behavegpt-us --prefix 5 --seeds 3]
 */
import { runGeneration } from '../experiments/generation/phases';
import { DEFAULT_DATA_DIR, gitCommit, SHIPPED_MODEL_DIR } from '../node/config';
import { log } from '../node/log';
import { initNodeBackend } from '../node/tf';
import { numberFlag, parseFlags, seedsFlag, runIfMain } from './args';

const USAGE = `Usage: npm run generation -- [--model DIR] [--dataset us] [--prefix N] [--seeds N] [--limit N] [--data DIR]
  --limit N   only the first N eligible test sequences (quick checks; the report uses all, and nothing is written)`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      model: { type: 'string' },
      dataset: { type: 'string' },
      prefix: { type: 'string' },
      seeds: { type: 'string' },
      limit: { type: 'string' },
      data: { type: 'string' },
    },
    USAGE,
    args,
  );
  const setup = {
    dataset: flags.dataset ?? 'us',
    prefixLength: numberFlag(flags.prefix, 'prefix', 5),
    seeds: seedsFlag(flags.seeds, 3),
    ...(flags.limit !== undefined ? { limit: numberFlag(flags.limit, 'limit', 0) } : {}),
  };
  await initNodeBackend('wasm');
  await runGeneration({
    setup,
    modelDir: flags.model ?? SHIPPED_MODEL_DIR,
    dataDir: flags.data ?? DEFAULT_DATA_DIR,
    commit: gitCommit(),
    log,
  });
}

runIfMain(import.meta.url, main);
