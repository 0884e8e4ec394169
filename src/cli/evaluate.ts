/**
 * Evaluates a model (a folder, or a manifest such as an app export `<stem>.json`) with the
 * full-ranking protocol, all targets and without `:refresh refresh` targets: on a region's split
 * of the SmartThings data folder, or on any behavior log (canonical CSV or timestamped log; its
 * test split when it has a split column, else all of it).
 *
 *   npm run evaluate -- --model public/models/behavegpt-us --region us --split test
 *   npm run evaluate -- --model runs/finetune/my-home-seed0 --data my-home.csv
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { isRefresh, type BehaviorSequence, type Split } from '../core/events';
import { REGIONS, SPLITS, splitSequences, type Region } from '../core/data';
import { evaluateModel } from '../train/evaluate';
import { DEFAULT_DATA_DIR, SHIPPED_MODEL_DIR } from '../node/config';
import { loadRegion, readLogFile } from '../node/data';
import { loadModelDir } from '../node/model-files';
import { initNodeBackend } from '../node/tf';
import { parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run evaluate -- [--model DIR|FILE] [--region us|fr|sp] [--split train|valid|test|all] [--data DIR|FILE] [--json]
  --data FILE   a behavior log: scored on its test split when it has a split column, else on all of it (--split picks another part)
  --data DIR    the SmartThings data folder (default $BEHAVEGPT_DATA or the shared copy), with --region and --split (default test)`;

/** The sequences to score: a log file's split (test when it has one, else all), or a region's split. */
export function evaluationSequences(
  data: string | undefined,
  region: Region,
  split: string | undefined,
): { label: string; sequences: BehaviorSequence[] } {
  if (data !== undefined && isFile(data)) {
    const sequences = readLogFile(data).sequences;
    const hasSplit = sequences.some((s) => s.split !== undefined);
    const part = split ?? (hasSplit ? 'test' : 'all');
    if (part !== 'all' && !SPLITS.includes(part as Split))
      throw new Error(`--split: "${part}" is not one of ${SPLITS.join(', ')}, all`);
    if (part !== 'all' && !hasSplit)
      throw new Error(`${data}: no split column, so there is no ${part} split (use --split all)`);
    const chosen = part === 'all' ? sequences : splitSequences(sequences, part as Split);
    if (chosen.length === 0) throw new Error(`${data}: no ${part} sequences`);
    return { label: `${basename(data)} ${part}`, sequences: chosen };
  }
  const part = (split ?? 'test') as Split;
  if (!SPLITS.includes(part)) throw new Error(`--split: "${part}" is not one of ${SPLITS.join(', ')}`);
  return {
    label: `${region} ${part}`,
    sequences: splitSequences(loadRegion(region, data ?? DEFAULT_DATA_DIR).sequences, part),
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    throw new Error(`--data: ${path}: no such file or folder`);
  }
}

type Figures = Record<string, number>;

/** A table: one line per metric, columns all / no-refresh (target counts as integers). */
export function figuresTable(all: Figures, noRefresh: Figures): string[] {
  const fmt = (k: string, v: number) => (k === 'targets' ? String(v) : v.toFixed(4));
  const lines = [['metric'.padEnd(20), 'all'.padStart(10), 'no-refresh'.padStart(12)].join('')];
  for (const k of Object.keys(all))
    lines.push([k.padEnd(20), fmt(k, all[k]).padStart(10), fmt(k, noRefresh[k]).padStart(12)].join(''));
  return lines;
}

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      model: { type: 'string' },
      region: { type: 'string' },
      split: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
    args,
  );
  const region = (flags.region ?? 'us') as Region;
  if (!REGIONS.includes(region)) throw new Error(`--region: "${region}" is not one of ${REGIONS.join(', ')}`);
  const { label, sequences } = evaluationSequences(flags.data, region, flags.split);

  await initNodeBackend('wasm');
  const { model, behaviors, locations, manifest } = loadModelDir(flags.model ?? SHIPPED_MODEL_DIR);
  const all = await evaluateModel(model, sequences, behaviors, locations);
  const noRefresh = await evaluateModel(model, sequences, behaviors, locations, {
    includeTarget: (b) => !isRefresh(b),
  });
  const rows = {
    all: { loss: all.loss, ...all.metrics },
    'no-refresh': { loss: noRefresh.loss, ...noRefresh.metrics },
  };
  if (flags.json) console.log(JSON.stringify({ model: manifest.name, data: label, ...rows }, null, 1));
  else {
    console.log(`${manifest.name} on ${label} (${sequences.length} sequences)`);
    for (const line of figuresTable(rows.all, rows['no-refresh'])) console.log(line);
  }
  model.dispose();
}

runIfMain(import.meta.url, main);
