/**
 * Pretrains BehaveGPT on a SmartThings region's train split with early stopping on valid, then
 * exports it (int8 for the app, float32 beside it for reference). The work: src/node/pretrain.ts.
 *
 *   npm run pretrain -- --region us --out public/models/behavegpt-us
 */
import { REGIONS, type Region } from '../core/data';
import type { BehaveGPTConfig } from '../model/behavegpt';
import { OBJECTIVES, type ObjectiveName, type ObjectiveSpec } from '../train/losses';
import { SHIPPED_SIZE, SIZES, sizeOverrides } from '../train/recipe';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../train/trainer';
import { appModelDir, DEFAULT_DATA_DIR, fp32ModelDir } from '../node/config';
import { pretrain, type PretrainOptions } from '../node/pretrain';
import { initNodeBackend } from '../node/tf';
import { numberFlag, parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run pretrain -- [options]
  --data DIR          data folder (default: $BEHAVEGPT_DATA or ${DEFAULT_DATA_DIR})
  --region us|fr|sp   training region (default us)
  --out DIR           output folder for the int8 model (default ${appModelDir('us')})
  --fp32-out DIR      also write float32 weights here (default ${fp32ModelDir('us')})
  --seed N            (default 0)
  --epochs N          maximum epochs (default ${DEFAULT_TRAIN_OPTIONS.epochs})
  --patience N        early-stopping patience in epochs (default ${DEFAULT_TRAIN_OPTIONS.patience})
  --size NAME         architecture: a scaling size (${Object.keys(SIZES).join(', ')}; default ${SHIPPED_SIZE}, the shipped one; m = DEFAULT_CONFIG)
  --batch N  --lr X  --dropout X  --layers N  --heads N  --behavior-dim N  --context N   (override the size)
  --label-smoothing X --weight-decay X
  --no-context        context-free ablation (behavior stream only)
  --no-time-head      no time head (the model then cannot generate trajectories; default: a detached time head, docs/GENERATION.md)
  --joint-time-head   train the time head jointly (its gradient reaches the shared layers), as the shipped model
  --objective ce|dro|logit-adjusted|class-balanced   (default ce)
  --tau X             logit-adjustment strength (logit-adjusted: default 1; with dro: DRO over adjusted losses, default off)
  --beta X            class-balanced beta (default 0.999)
  --dro-radius X --dro-tail-mix X --dro-ema X --dro-max-weight X --dro-prior-beta X   (see docs/DRO.md)
  --select-by loss|weighted_recall@1|macro_recall@5   valid criterion for early stopping
  --name NAME         model name in the manifest`;

const FLAGS = {
  data: { type: 'string' },
  region: { type: 'string' },
  out: { type: 'string' },
  'fp32-out': { type: 'string' },
  seed: { type: 'string' },
  epochs: { type: 'string' },
  patience: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  dropout: { type: 'string' },
  size: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  'behavior-dim': { type: 'string' },
  context: { type: 'string' },
  'label-smoothing': { type: 'string' },
  'weight-decay': { type: 'string' },
  'no-context': { type: 'boolean' },
  'no-time-head': { type: 'boolean' },
  'joint-time-head': { type: 'boolean' },
  objective: { type: 'string' },
  tau: { type: 'string' },
  beta: { type: 'string' },
  'dro-radius': { type: 'string' },
  'dro-tail-mix': { type: 'string' },
  'dro-ema': { type: 'string' },
  'dro-max-weight': { type: 'string' },
  'dro-prior-beta': { type: 'string' },
  'select-by': { type: 'string' },
  name: { type: 'string' },
} as const;
type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

function objectiveFromFlags(f: Flags): ObjectiveSpec {
  const name = (f.objective ?? 'ce') as ObjectiveName;
  if (!OBJECTIVES.includes(name)) throw new Error(`--objective: "${name}" is not one of ${OBJECTIVES.join(', ')}`);
  const dro = {
    ...(f['dro-radius'] !== undefined && { radius: numberFlag(f['dro-radius'], 'dro-radius', 0) }),
    ...(f['dro-tail-mix'] !== undefined && { tailMix: numberFlag(f['dro-tail-mix'], 'dro-tail-mix', 0) }),
    ...(f['dro-ema'] !== undefined && { emaRate: numberFlag(f['dro-ema'], 'dro-ema', 0) }),
    ...(f['dro-max-weight'] !== undefined && { maxWeight: numberFlag(f['dro-max-weight'], 'dro-max-weight', 0) }),
    ...(f['dro-prior-beta'] !== undefined && { priorBeta: numberFlag(f['dro-prior-beta'], 'dro-prior-beta', 0) }),
  };
  return {
    name,
    labelSmoothing: numberFlag(f['label-smoothing'], 'label-smoothing', 0),
    ...(f.tau !== undefined && { tau: numberFlag(f.tau, 'tau', 1) }),
    ...(f.beta !== undefined && { beta: numberFlag(f.beta, 'beta', 0.999) }),
    ...(name === 'dro' && { dro }),
  };
}

/** The scaling size's overrides, then the single settings given. */
function configFromFlags(f: Flags): Partial<BehaveGPTConfig> {
  const given = (flag: keyof Flags, key: keyof BehaveGPTConfig) =>
    f[flag] !== undefined ? { [key]: numberFlag(f[flag] as string, flag, 0) } : {};
  return {
    ...sizeOverrides(f.size ?? SHIPPED_SIZE),
    ...given('context', 'contextLength'),
    ...given('layers', 'numLayers'),
    ...given('heads', 'numHeads'),
    ...given('behavior-dim', 'behaviorDim'),
    ...given('dropout', 'dropout'),
    useContext: !f['no-context'],
    timeHead: !f['no-time-head'],
  };
}

/** What the flags ask for (throws on a bad value, naming the flag). */
export function pretrainOptions(f: Flags): Omit<PretrainOptions, 'backend'> {
  const region = (f.region ?? 'us') as Region;
  if (!REGIONS.includes(region)) throw new Error(`--region: "${region}" is not one of ${REGIONS.join(', ')}`);
  if (f['joint-time-head'] && f['no-time-head'])
    throw new Error('--joint-time-head and --no-time-head exclude each other');
  const d = DEFAULT_TRAIN_OPTIONS;
  const train: TrainOptions = {
    ...d,
    selectBy: (f['select-by'] ?? d.selectBy) as TrainOptions['selectBy'],
    seed: numberFlag(f.seed, 'seed', 0),
    epochs: numberFlag(f.epochs, 'epochs', d.epochs),
    patience: numberFlag(f.patience, 'patience', d.patience),
    batchSize: numberFlag(f.batch, 'batch', d.batchSize),
    learningRate: numberFlag(f.lr, 'lr', d.learningRate),
    objective: objectiveFromFlags(f),
    weightDecay: numberFlag(f['weight-decay'], 'weight-decay', d.weightDecay),
    ...(f['joint-time-head'] && { timeHead: { weight: 1, detached: false } }),
  };
  return {
    region,
    dataDir: f.data ?? DEFAULT_DATA_DIR,
    config: configFromFlags(f),
    train,
    out: f.out ?? appModelDir(region),
    fp32Out: f['fp32-out'] ?? fp32ModelDir(region),
    name: f.name ?? `behavegpt-${region}`,
  };
}

export async function main(args?: string[]): Promise<void> {
  const options = pretrainOptions(parseFlags(FLAGS, USAGE, args));
  const backend = await initNodeBackend('wasm');
  await pretrain({ ...options, backend });
}

runIfMain(import.meta.url, main);
