/**
 * Fine-tuning a model on a behavior log from the command line (`npm run finetune`): the app's
 * protocol as the worker runs it (buildStartMessage's split, the defaults, runFinetune), in
 * Node on the wasm backend, so the same file, settings and seed give the same held-out figures
 * as the Fine-tune tab. Writes the adapted model folder and a JSON file of its figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { MetricSet } from '../core/metrics';
import {
  buildStartMessage,
  type FinetuneOutcome,
  type FinetuneSettings,
  type FromWorker,
  type PreparedInfo,
  type ProgressPoint,
  type ScratchOutcome,
} from '../train/finetune-protocol';
import { runFinetune } from '../train/finetune';
import { readLogFile } from './data';
import { formatDuration } from '../core/format';
import { readModelFiles, writeModelFiles } from './model-files';

export interface FinetuneFileOptions {
  /** The model to adapt: a folder or a manifest. */
  from: string;
  /** A canonical CSV or timestamped log (gzip or not). */
  data: string;
  /** Where the adapted model folder goes. */
  out: string;
  settings: FinetuneSettings;
  log?: (line: string) => void;
}

/** What `npm run finetune` writes beside the model (figures.json) and returns. */
export interface FinetuneFigures {
  data: string;
  from: string;
  model: string;
  settings: FinetuneSettings;
  prepared: PreparedInfo;
  /** Held-out figures: the model it started from, the adapted one, the baselines, the from-scratch arm. */
  heldOut: { before: MetricSet; after: MetricSet; 'markov-2': MetricSet; popularity: MetricSet; scratch?: MetricSet };
  adapted: Omit<FinetuneOutcome, 'files' | 'before' | 'after' | 'baselines'>;
  scratch?: Omit<ScratchOutcome, 'metrics'>;
  /** Validation figures of every check, per arm. */
  checks: ProgressPoint[];
}

export async function finetuneFile(o: FinetuneFileOptions): Promise<FinetuneFigures> {
  const log = o.log ?? (() => {});
  const base = readModelFiles(o.from);
  const parsed = readLogFile(o.data);
  for (const w of parsed.warnings) log(`warning: ${w}`);
  const request = buildStartMessage({
    runId: 1,
    base: { manifestText: base.manifestText, shards: base.shards },
    data: { name: basename(o.data), sequences: parsed.sequences },
    settings: o.settings,
  });
  const checks: ProgressPoint[] = [];
  let prepared: PreparedInfo | null = null;
  let adapted: FinetuneOutcome | null = null;
  let scratch: ScratchOutcome | null = null;
  let failure: string | null = null;
  let lastStepLog = 0;
  await runFinetune(
    request,
    (m: FromWorker) => {
      if (m.type === 'stage') log(m.message);
      else if (m.type === 'prepared') {
        prepared = m.info;
        log(
          `${m.info.trainSequences} training, ${m.info.validationSequences} validation, ${m.info.heldOutSequences} held-out sequences (${m.info.source === 'file' ? "the file's split" : 'split by sequence'}); ` +
            `${m.info.newBehaviors.length} new behaviors; budget ${m.info.budgetEpochs} epochs of ${m.info.stepsPerEpoch} steps`,
        );
      } else if (m.type === 'progress') {
        const p = m.progress;
        if (p.kind === 'epoch') {
          checks.push(p);
          const v = p.validation;
          log(
            `${p.arm} epoch ${p.epoch}: train ${p.loss.toFixed(4)}${v ? ` valid ${v.loss.toFixed(4)} R@1 ${v['weighted_recall@1'].toFixed(4)} macroR@5 ${v['macro_recall@5'].toFixed(4)}${p.improved ? ' *' : ''}` : ''}`,
          );
        } else if (performance.now() - lastStepLog > 15_000) {
          lastStepLog = performance.now();
          log(
            `${p.arm} step ${p.step}/${p.totalSteps} ${p.stepsPerSecond.toFixed(1)} steps/s, at most ${formatDuration(p.etaSeconds)} to go`,
          );
        }
      } else if (m.type === 'adapted') adapted = m.outcome;
      else if (m.type === 'scratch') scratch = m.outcome;
      else if (m.type === 'error') failure = m.message;
      else if (m.type === 'cancelled') failure = 'cancelled';
    },
    new AbortController().signal,
    async () => ({ name: 'wasm', reason: 'Node: the wasm backend', measuredMs: {} }),
  );
  if (failure) throw new Error(`fine-tuning failed: ${failure}`);
  const outcome = adapted as FinetuneOutcome | null;
  const info = prepared as PreparedInfo | null;
  if (!outcome || !info) throw new Error('fine-tuning ended without an adapted model');
  const s = scratch as ScratchOutcome | null;
  const { files, before, after, baselines, ...run } = outcome;
  writeModelFiles(o.out, files);
  const figures: FinetuneFigures = {
    data: o.data,
    from: base.manifestPath,
    model: JSON.parse(files.manifestText).name,
    settings: o.settings,
    prepared: info,
    heldOut: {
      before,
      after,
      'markov-2': baselines['markov-2'],
      popularity: baselines.popularity,
      ...(s ? { scratch: s.metrics } : {}),
    },
    adapted: run,
    ...(s ? { scratch: (({ metrics: _m, ...rest }) => rest)(s) } : {}),
    checks,
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'figures.json'), `${JSON.stringify(figures, null, 1)}\n`);
  return figures;
}
