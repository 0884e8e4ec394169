/**
 * Measures the explanations (docs/EXPLAIN.md): the deletion test of occlusion and attention
 * against random and most-recent events, and the week check of the "when" heatmaps against the
 * data. On the test split with the default removal it writes the "explain" rows of
 * docs/results.json and the generated section of docs/EXPLAIN.md; other runs only print. Design
 * and report: src/experiments/explain/.
 *
 *   npm run explain-eval                               # US test: deletion test and week check
 *   npm run explain-eval -- --phase choose             # the removal choice, on US valid
 *   npm run explain-eval -- --split valid --removal unknown --phase deletion
 */
import { REGIONS, type Region } from '../core/data';
import { DEFAULT_REMOVAL, REMOVALS, type Removal } from '../core/explain';
import { EXPLAIN_PHASES, runExplainEval, type ExplainPhase } from '../experiments/explain/phases';
import { DEFAULT_DATA_DIR, gitCommit, SHIPPED_MODEL_DIR } from '../node/config';
import { log } from '../node/log';
import { initNodeBackend } from '../node/tf';
import { numberFlag, parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run explain-eval -- [--phase ${EXPLAIN_PHASES.join('|')}] [--split test|valid] [--removal ${REMOVALS.join('|')}]
                            [--model DIR] [--dataset us] [--limit N] [--resamples N] [--data DIR]
  --phase choose   the removal choice on valid: log-probability of the true next event with one random event removed
  --limit N        only the first N positions (quick checks; nothing is written)`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      phase: { type: 'string' },
      split: { type: 'string' },
      removal: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      limit: { type: 'string' },
      resamples: { type: 'string' },
      data: { type: 'string' },
    },
    USAGE,
    args,
  );
  const phase = (flags.phase ?? 'all') as ExplainPhase;
  if (!EXPLAIN_PHASES.includes(phase))
    throw new Error(`--phase: "${phase}" is not one of ${EXPLAIN_PHASES.join(', ')}`);
  const split = flags.split ?? (phase === 'choose' ? 'valid' : 'test');
  if (split !== 'test' && split !== 'valid') throw new Error(`--split: "${split}" is not test or valid`);
  const removal = (flags.removal ?? DEFAULT_REMOVAL) as Removal;
  if (!REMOVALS.includes(removal)) throw new Error(`--removal: "${removal}" is not one of ${REMOVALS.join(', ')}`);
  const dataset = (flags.dataset ?? 'us') as Region;
  if (!REGIONS.includes(dataset)) throw new Error(`--dataset: "${dataset}" is not one of ${REGIONS.join(', ')}`);
  await initNodeBackend('wasm');
  await runExplainEval({
    phase,
    split,
    removal,
    dataset,
    modelDir: flags.model ?? SHIPPED_MODEL_DIR,
    dataDir: flags.data ?? DEFAULT_DATA_DIR,
    limit: flags.limit === undefined ? undefined : numberFlag(flags.limit, 'limit', 0),
    resamples: numberFlag(flags.resamples, 'resamples', 1000),
    commit: gitCommit(),
    log,
  });
}

runIfMain(import.meta.url, main);
