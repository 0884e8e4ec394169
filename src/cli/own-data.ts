/**
 * Fine-tuning on a vendor's log the model has never seen: the stand-ins, the choice of the
 * fine-tuning defaults on valid parts, the evidence on the stand-ins' test splits driven through
 * the app, and its report (docs/FINETUNE.md, rows `task: "own-data"` of docs/results.json).
 * The work: src/experiments/own-data/.
 *
 *   npm run own-data -- --phase standins     # writes runs/own-data/data/*.csv from the data folder
 *   npm run own-data -- --phase tune         # resumable; results/own-data/tune/*.json
 *   npm run own-data -- --phase choose       # the choice, checked against DEFAULT_FINETUNE_SETTINGS
 *   npm run own-data -- --phase evidence     # the app in Chromium, 3 seeds per stand-in; results/own-data/evidence/*.json
 *   npm run own-data -- --phase report
 */
import { DEFAULT_DATA_DIR, gitCommit } from '../node/config';
import { log } from '../node/log';
import { STANDIN_DIR } from '../experiments/own-data/files';
import { choose, evidence, report, standins, tune, type OwnDataOptions } from '../experiments/own-data/phases';
import { numberFlag, parseFlags, runIfMain, selectPhases } from './args';

const PHASES = ['standins', 'tune', 'choose', 'evidence', 'report'] as const;
const USAGE = `Usage: npm run own-data -- [--phase ${PHASES.join('|')}|all] [--data DIR] [--standins DIR] [--only NAME,...] [--port N]
  --data DIR       the SmartThings data folder (default $BEHAVEGPT_DATA or ${DEFAULT_DATA_DIR})
  --standins DIR   where the stand-in CSVs are written and read (default ${STANDIN_DIR}; never commit them)
  --only A,B       tune only these logs / drive only these stand-ins
  --port N         the vite preview port of the evidence phase (default 4175)`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      phase: { type: 'string' },
      data: { type: 'string' },
      standins: { type: 'string' },
      only: { type: 'string' },
      port: { type: 'string' },
    },
    USAGE,
    args,
  );
  const phases = selectPhases(flags.phase, PHASES);
  const o: OwnDataOptions = {
    standinDir: flags.standins ?? STANDIN_DIR,
    dataDir: flags.data ?? DEFAULT_DATA_DIR,
    commit: gitCommit(),
    log,
    ...(flags.only ? { only: flags.only.split(',') } : {}),
    port: numberFlag(flags.port, 'port', 4175),
  };
  if (phases.has('standins')) standins(o);
  if (phases.has('tune')) await tune(o);
  if (phases.has('choose') && !phases.has('evidence') && !phases.has('report')) choose(o);
  if (phases.has('evidence')) await evidence(o);
  if (phases.has('report')) report(o);
}

runIfMain(import.meta.url, main);
