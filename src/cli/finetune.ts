/**
 * Fine-tunes a model on a behavior log with the app's protocol (the same split, defaults,
 * selection and seed as the Fine-tune tab; src/node/finetune.ts), and writes the adapted model
 * folder with figures.json (held-out figures of the adapted model, the model it started from,
 * Markov-2, popularity and, with --scratch, the same architecture from scratch).
 *
 *   npm run finetune -- --from public/models/behavegpt-us --data my-home.csv
 */
import { basename } from 'node:path';
import { dataStem } from '../core/finetune';
import { DEFAULT_FINETUNE_SETTINGS, type FinetuneSettings } from '../train/finetune-protocol';
import { SHIPPED_MODEL_DIR } from '../node/config';
import { finetuneFile } from '../node/finetune';
import { log } from '../node/log';
import { initNodeBackend } from '../node/tf';
import { numberFlag, parseFlags, runIfMain } from './args';

const d = DEFAULT_FINETUNE_SETTINGS;
const USAGE = `Usage: npm run finetune -- --data FILE [options]
  --data FILE          canonical CSV (sequence_id,step,weekday,time_slot,behavior[,split][,location]) or timestamped log; gzip accepted.
                       A split column with train/valid/test is used as it is; otherwise ${d.heldOutFraction * 100}% of the sequences are held out and ${d.validationFraction * 100}% pick the epoch
  --from DIR|FILE      the model to adapt: a folder (model.json, or its one .json manifest) or a manifest (default ${SHIPPED_MODEL_DIR})
  --out DIR            the adapted model folder (default runs/finetune/<data>-seed<seed>)
  --seed N             (default ${d.seed})
  --lr X               learning rate (default ${d.learningRate})
  --epochs N           budget in epochs (default ${d.maxEpochs}; on small logs at least ${d.schedule.minSteps} steps; early stopping can end a run sooner)
  --patience N         validation checks without improvement before stopping (default ${d.patience})
  --objective dro|ce   (default ${d.objective})
  --trainable all|head+embeddings   (default ${d.trainable})
  --scratch            also train the same architecture from scratch for the comparison (lr ${d.scratch.learningRate}, ${d.scratch.maxEpochs} epochs, patience ${d.scratch.patience})
  --json               print the figures as JSON`;

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      data: { type: 'string' },
      from: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      lr: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      objective: { type: 'string' },
      trainable: { type: 'string' },
      scratch: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
    args,
  );
  if (!flags.data) throw new Error(`--data is required\n\n${USAGE}`);
  const objective = flags.objective ?? d.objective;
  if (objective !== 'dro' && objective !== 'ce') throw new Error(`--objective: "${objective}" is not dro or ce`);
  const trainable = flags.trainable ?? d.trainable;
  if (trainable !== 'all' && trainable !== 'head+embeddings')
    throw new Error(`--trainable: "${trainable}" is not all or head+embeddings`);
  const settings: FinetuneSettings = {
    ...d,
    seed: numberFlag(flags.seed, 'seed', d.seed),
    learningRate: numberFlag(flags.lr, 'lr', d.learningRate),
    maxEpochs: numberFlag(flags.epochs, 'epochs', d.maxEpochs),
    patience: numberFlag(flags.patience, 'patience', d.patience),
    objective,
    trainable,
    compareScratch: flags.scratch ?? false,
    backend: 'wasm',
  };
  const out = flags.out ?? `runs/finetune/${dataStem(basename(flags.data))}-seed${settings.seed}`;
  await initNodeBackend('wasm');
  const figures = await finetuneFile({ from: flags.from ?? SHIPPED_MODEL_DIR, data: flags.data, out, settings, log });
  if (flags.json) {
    console.log(JSON.stringify(figures.heldOut, null, 1));
    return;
  }
  log(`wrote ${out}/model.json and ${out}/figures.json: ${figures.model}`);
  const columns = Object.keys(figures.heldOut) as (keyof typeof figures.heldOut)[];
  console.log(['held-out'.padEnd(20), ...columns.map((c) => c.padStart(11))].join(''));
  for (const k of ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5']) {
    console.log([k.padEnd(20), ...columns.map((c) => (100 * figures.heldOut[c]![k]).toFixed(2).padStart(11))].join(''));
  }
  const a = figures.adapted;
  console.log(
    `stopped: ${a.stop.reason}${a.stop.stillImproving ? ' (still improving: continue in the app, or run again with a larger --epochs)' : ''}; kept epoch ${a.bestEpoch} of ${a.epochsRun}, ${a.steps} steps, ${a.seconds.toFixed(1)} s of training`,
  );
}

runIfMain(import.meta.url, main);
