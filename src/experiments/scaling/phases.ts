/**
 * What each phase of `npm run scaling` does: runs the grid (src/node/plan-runner.ts) or fits
 * the laws and writes docs/SCALING.md, docs/scaling.json and the plots. Node.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ScalingCell } from '../../core/scaling-report';
import { DOCS_DIR, SCALING_JSON, SCALING_MD } from '../../node/config';
import { loadSplits } from '../../node/data';
import { shippedModelInfo } from '../../node/model-files';
import { runPlan, type Shard } from '../../node/plan-runner';
import { runId } from '../../node/run-spec';
import { readRecord, recordLookup } from '../../node/runs';
import { DATASET, scalingPlan } from './plan';
import { cellOf, fitScaling, GridData, scalingMarkdown, shippedPoint } from './report';

export interface ScalingOptions {
  seeds: readonly number[];
  shard: Shard;
  recordsDir: string;
  dataDir: string;
  commit: string;
  log: (line: string) => void;
}

const splits = (o: ScalingOptions) => loadSplits(DATASET, o.dataDir);

/** Trains this shard's cells that have no record (weights are not kept). */
export function runGrid(o: ScalingOptions): Promise<void> {
  const { shard, recordsDir, commit, log } = o;
  return runPlan(
    scalingPlan(o.seeds).map((c) => c.spec),
    { shard, recordsDir, commit, log, data: () => splits(o) },
  );
}

/** Fits the finished cells (at least 6) and writes the report, the JSON and the plots. */
export async function writeReport(o: ScalingOptions, date = new Date()): Promise<void> {
  const records = recordLookup(o.recordsDir);
  const grid = new GridData(splits(o).train);
  const cells: ScalingCell[] = [];
  const missing: string[] = [];
  for (const { size, spec } of scalingPlan(o.seeds)) {
    const record = records(spec);
    if (record) cells.push(cellOf(size, record, grid));
    else missing.push(runId(spec));
  }
  o.log(`report: ${cells.length} cells finished, ${missing.length} missing`);
  if (cells.length < 6) throw new Error(`scaling report: only ${cells.length} finished cells (run --phase run first)`);
  const shippedInfo = shippedModelInfo();
  const shippedRecord = shippedInfo?.run ? readRecord(o.recordsDir, shippedInfo.run) : null;
  const shipped = shippedRecord ? shippedPoint(shippedInfo!.name, shippedRecord, grid) : undefined;
  const report = fitScaling(cells, { date: date.toISOString(), commit: o.commit, dataset: DATASET, shipped });
  mkdirSync(DOCS_DIR, { recursive: true });
  writeFileSync(SCALING_JSON, `${JSON.stringify(report, null, 1)}\n`);
  // Loaded only here: the plots pull in Vega and resvg, which the run phase does not need.
  const { writeScalingPlots } = await import('../../node/scaling-plots');
  const plots = await writeScalingPlots(report, DOCS_DIR);
  writeFileSync(SCALING_MD, scalingMarkdown({ report, missing, plots, seeds: o.seeds.length }));
  o.log(`wrote ${SCALING_MD}, ${SCALING_JSON}, ${plots.join(', ')}`);
}
