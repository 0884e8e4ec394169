/**
 * How far the test split's sampling could move the gain targets: the kept models of both arms
 * score the test split again (they must reproduce their records), and the test sequences are
 * resampled with replacement, the same draw for every model (core/bootstrap.ts). Node.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { relativeGainInterval } from '../../core/bootstrap';
import type { Region } from '../../core/data';
import type { RankedTarget } from '../../core/metrics';
import { loadSplits, type DatasetSplits } from '../../node/data';
import { loadModelDir } from '../../node/model-files';
import { runId, type RecordLookup, type RunSpec } from '../../node/run-spec';
import { evaluateOnTest, runOne } from '../../node/runs';
import { BOOTSTRAP_RESAMPLES, GAIN_TARGETS, gainTargetRuns, type AdaptationSetup, type ChosenSetting } from './plan';
import type { GainBootstrap } from './report';

/** What the bootstrap needs from the command. */
export interface BootstrapOptions {
  setup: AdaptationSetup;
  records: RecordLookup;
  chosen: ChosenSetting;
  recordsDir: string;
  dataDir: string;
  commit: string;
  log: (line: string) => void;
}

const CHECKED = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5'] as const;

/** Beside the records folder (results/cross-domain-bootstrap.json for results/runs). */
export const bootstrapFile = (recordsDir: string): string => join(dirname(recordsDir), 'cross-domain-bootstrap.json');

/** What --phase bootstrap wrote (none yet: empty). */
export function readGainBootstraps(file: string): GainBootstrap[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).results as GainBootstrap[]) : [];
}

/**
 * The run's test targets grouped by test sequence (in split order), from its kept model. A model
 * the runs did not keep (records older than keeping) is trained again; either way the model must
 * reproduce the record's test figures exactly (training is deterministic on one backend).
 */
async function testTargetsBySequence(
  o: BootstrapOptions,
  spec: RunSpec,
  splits: DatasetSplits,
): Promise<RankedTarget[][]> {
  const id = runId(spec);
  const committed = o.records(spec);
  if (!committed) throw new Error(`run ${id} has no record (run --phase cross first)`);
  const dir = join(o.setup.modelsDir, id);
  if (!existsSync(join(dir, 'model.json'))) {
    const scratchRecords = mkdtempSync(join(tmpdir(), 'behavegpt-bootstrap-'));
    try {
      o.log(`training ${id} again to keep its model`);
      await runOne(spec, splits, {
        recordsDir: scratchRecords,
        modelsDir: o.setup.modelsDir,
        commit: o.commit,
        log: o.log,
      });
    } finally {
      rmSync(scratchRecords, { recursive: true, force: true });
    }
  }
  const m = loadModelDir(dir);
  try {
    const { targets, metrics } = await evaluateOnTest(spec, m, splits);
    for (const k of CHECKED) {
      if (metrics[k] !== committed.test.all[k]) {
        throw new Error(
          `run ${id}: its kept model gives test ${k} ${metrics[k]}, its record ${committed.test.all[k]} (delete ${dir} and rerun)`,
        );
      }
    }
    const bySequence = new Map<string, RankedTarget[]>(splits.test.map((s) => [s.id, []]));
    for (const t of targets) {
      const group = t.sequence === undefined ? undefined : bySequence.get(t.sequence);
      if (!group)
        throw new Error(
          `run ${id}: a test target of behavior ${t.behavior} has no known test sequence (${t.sequence})`,
        );
      group.push(t);
    }
    return [...bySequence.values()];
  } finally {
    m.model.dispose();
  }
}

/** Paired bootstrap of the relative macro recall@5 gain over the test sequences, for each target with a gain target; writes bootstrapFile(). */
export async function bootstrapGains(o: BootstrapOptions): Promise<void> {
  const results: GainBootstrap[] = [];
  for (const { target, fraction, specs } of gainTargetRuns(o.setup, o.chosen)) {
    const splits = loadSplits(target as Region, o.dataDir);
    const bySequence = async (list: RunSpec[]) => {
      const out: RankedTarget[][][] = [];
      for (const spec of list) out.push(await testTargetsBySequence(o, spec, splits));
      return out;
    };
    const [ft, scratch] = [await bySequence(specs['fine-tuned']), await bySequence(specs.scratch)];
    const options = { resamples: BOOTSTRAP_RESAMPLES, seed: 0, threshold: GAIN_TARGETS.get(fraction) };
    const interval = relativeGainInterval(ft, scratch, 'macro_recall@5', options);
    const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
    const range = `${interval.level * 100}% interval ${percent(interval.low)} … ${percent(interval.high)}`;
    o.log(`${target} ${fraction}: gain ${percent(interval.estimate)}, ${range}, median ${percent(interval.median)}`);
    results.push({ target, fraction, runs: [...specs['fine-tuned'], ...specs.scratch].map(runId), ...interval });
  }
  const file = bootstrapFile(o.recordsDir);
  writeFileSync(file, `${JSON.stringify({ commit: o.commit, date: new Date().toISOString(), results }, null, 1)}\n`);
  o.log(`wrote ${file}`);
}
