/**
 * What each phase of `npm run own-data` does: write the stand-ins, run the tuning plan, choose
 * the defaults (and check the code's against the choice), drive the app for the evidence, write
 * the report. Node: reads data and records, writes files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLogFile } from '../../node/data';
import { loadModelDir } from '../../node/model-files';
import { writeSection } from '../../node/report-sections';
import { writeResultRows } from '../../node/results-file';
import { SHIPPED_MODEL_DIR } from '../../node/config';
import { initNodeBackend } from '../../node/tf';
import { eventCount, STANDINS } from './standins';
import { standinPath, writeStandins } from './files';
import { chooseDefaults, type DefaultsChoice } from './select';
import { runTune, tunePlan, TUNE_RECORDS_DIR, type TuneRecord } from './tune';
import {
  EVIDENCE_LOGS,
  EVIDENCE_RECORDS_DIR,
  readEvidence,
  runEvidence,
  type EvidenceRecord,
} from '../../node/own-data-evidence';
import { defaultsMismatch, OWN_DATA_TASK, ownDataReport } from './report';

export const FINETUNE_MD = 'docs/FINETUNE.md';
export const CHOICE_FILE = 'results/own-data/defaults.json';

export interface OwnDataOptions {
  /** Where the stand-in CSVs are (written by the standins phase). */
  standinDir: string;
  /** The SmartThings data folder the stand-ins are built from. */
  dataDir: string;
  commit: string;
  log: (line: string) => void;
  /** Only these logs (tune) or stand-ins (evidence). */
  only?: string[];
  port: number;
}

export function standins(o: OwnDataOptions): void {
  writeStandins(o.standinDir, o.dataDir, o.log);
}

export async function tune(o: OwnDataOptions): Promise<void> {
  await initNodeBackend('wasm');
  const base = loadModelDir(SHIPPED_MODEL_DIR);
  const cache = new Map<string, ReturnType<typeof readLogFile>['sequences']>();
  try {
    for (const spec of tunePlan()) {
      if (o.only && !o.only.includes(spec.dataset)) continue;
      if (!cache.has(spec.dataset))
        cache.set(spec.dataset, readLogFile(standinPath(o.standinDir, spec.dataset)).sequences);
      await runTune(spec, cache.get(spec.dataset)!, base, {
        recordsDir: TUNE_RECORDS_DIR,
        commit: o.commit,
        log: o.log,
      });
    }
  } finally {
    base.model.dispose();
  }
}

export function readTuneRecords(dir = TUNE_RECORDS_DIR): TuneRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TuneRecord);
}

/** The choice per arm over every planned record (all must exist). */
export function choose(o: Pick<OwnDataOptions, 'log'>): { adapted: DefaultsChoice; scratch: DefaultsChoice } {
  const records = readTuneRecords();
  const missing = tunePlan().filter(
    (s) => !records.some((r) => r.id === `${s.dataset}-${s.arm}-lr${s.learningRate}-s${s.seed}`),
  );
  if (missing.length)
    throw new Error(
      `${missing.length} tuning runs have no record yet (run --phase tune): ${missing.map((s) => `${s.dataset}/${s.arm}/${s.learningRate}`).join(', ')}`,
    );
  const choice = {
    adapted: chooseDefaults(records.filter((r) => r.spec.arm === 'adapted')),
    scratch: chooseDefaults(records.filter((r) => r.spec.arm === 'scratch')),
  };
  mkdirSync('results/own-data', { recursive: true });
  const brief = (c: DefaultsChoice) => ({
    chosen: c.chosen,
    bestScore: c.bestScore,
    withinTolerance: c.withinTolerance,
    perLearningRate: c.perLearningRate.map((p) => ({ candidate: p.candidate, score: p.score, steps: p.steps })),
  });
  writeFileSync(
    CHOICE_FILE,
    `${JSON.stringify({ adapted: brief(choice.adapted), scratch: brief(choice.scratch) }, null, 1)}\n`,
  );
  for (const arm of ['adapted', 'scratch'] as const)
    o.log(
      `${arm}: ${JSON.stringify(choice[arm].chosen.candidate)} (mean excess ${(100 * choice[arm].chosen.score).toFixed(2)}%)`,
    );
  const mismatch = defaultsMismatch(choice);
  if (mismatch.length)
    o.log(`DEFAULT_FINETUNE_SETTINGS (src/train/finetune-protocol.ts) differs from the choice: ${mismatch.join('; ')}`);
  else o.log('DEFAULT_FINETUNE_SETTINGS agrees with the choice');
  o.log(`wrote ${CHOICE_FILE}`);
  return choice;
}

export async function evidence(o: OwnDataOptions): Promise<void> {
  const mismatch = defaultsMismatch(choose(o));
  // The test splits are read once, for the finished defaults only.
  if (mismatch.length)
    throw new Error(
      `the defaults in the code are not the ones chosen on valid (${mismatch.join('; ')}): update them before reading test`,
    );
  await runEvidence({
    dataDir: o.standinDir,
    recordsDir: EVIDENCE_RECORDS_DIR,
    port: o.port,
    commit: o.commit,
    log: o.log,
    logs: o.only,
  });
}

export function report(o: OwnDataOptions, date = new Date()): void {
  const choice = choose(o);
  const records: EvidenceRecord[] = EVIDENCE_LOGS.flatMap((log) =>
    [0, 1, 2]
      .map((seed) => readEvidence(EVIDENCE_RECORDS_DIR, log, seed))
      .filter((r): r is EvidenceRecord => r !== null),
  );
  const logs = EVIDENCE_LOGS.map((name) => {
    const spec = STANDINS.find((s) => s.name === name)!;
    const sequences = readLogFile(standinPath(o.standinDir, spec)).sequences;
    return {
      name,
      behaviors: new Set(sequences.flatMap((s) => s.events.map((e) => e.behavior))).size,
      events: eventCount(sequences),
    };
  });
  const { markdown, rows } = ownDataReport({
    choice,
    tuneRecords: readTuneRecords(),
    evidence: records,
    logs,
    date,
    commit: o.commit,
  });
  writeSection(FINETUNE_MD, OWN_DATA_TASK, markdown);
  writeResultRows({ [OWN_DATA_TASK]: rows });
  o.log(
    `wrote the ${OWN_DATA_TASK} section of ${FINETUNE_MD} and its rows of docs/results.json (${records.length} evidence runs)`,
  );
}
