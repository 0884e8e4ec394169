/**
 * Evaluates a model folder on a region's split with the full-ranking protocol, all targets and
 * without `:refresh refresh` targets.
 *
 *   npm run evaluate -- --model public/models/behavegpt-us --region us --split test
 */
import { isRefresh, type Split } from '../core/events';
import { REGIONS, SPLITS, splitSequences, type Region } from '../core/data';
import { evaluateModel } from '../train/evaluate';
import { DEFAULT_DATA_DIR, SHIPPED_MODEL_DIR } from '../node/config';
import { loadRegion } from '../node/data';
import { loadModelDir } from '../node/model-files';
import { initNodeBackend } from '../node/tf';
import { parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run evaluate -- [--model DIR] [--region us|fr|sp] [--split valid|test] [--data DIR] [--json]`;

type Figures = Record<string, number>;

/** A table: one line per metric, columns all / no-refresh (target counts as integers). */
export function figuresTable(all: Figures, noRefresh: Figures): string[] {
  const fmt = (k: string, v: number) => (k === 'targets' ? String(v) : v.toFixed(4));
  const lines = [['metric'.padEnd(20), 'all'.padStart(10), 'no-refresh'.padStart(12)].join('')];
  for (const k of Object.keys(all)) lines.push([k.padEnd(20), fmt(k, all[k]).padStart(10), fmt(k, noRefresh[k]).padStart(12)].join(''));
  return lines;
}

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    { model: { type: 'string' }, region: { type: 'string' }, split: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
    args,
  );
  const region = (flags.region ?? 'us') as Region;
  const split = (flags.split ?? 'test') as Split;
  if (!REGIONS.includes(region)) throw new Error(`--region: "${region}" is not one of ${REGIONS.join(', ')}`);
  if (!SPLITS.includes(split)) throw new Error(`--split: "${split}" is not one of ${SPLITS.join(', ')}`);

  await initNodeBackend('wasm');
  const { model, behaviors, locations, manifest } = loadModelDir(flags.model ?? SHIPPED_MODEL_DIR);
  const sequences = splitSequences(loadRegion(region, flags.data ?? DEFAULT_DATA_DIR).sequences, split);
  const all = await evaluateModel(model, sequences, behaviors, locations);
  const noRefresh = await evaluateModel(model, sequences, behaviors, locations, { includeTarget: (b) => !isRefresh(b) });
  const rows = { all: { loss: all.loss, ...all.metrics }, 'no-refresh': { loss: noRefresh.loss, ...noRefresh.metrics } };
  if (flags.json) console.log(JSON.stringify({ model: manifest.name, region, split, ...rows }, null, 1));
  else {
    console.log(`${manifest.name} on ${region} ${split} (${sequences.length} sequences)`);
    for (const line of figuresTable(rows.all, rows['no-refresh'])) console.log(line);
  }
  model.dispose();
}

runIfMain(import.meta.url, main);
