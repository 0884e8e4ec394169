/**
 * Pretrains BehaveGPT on a SmartThings region's train split with early stopping on valid, then
 * exports it (int8 for the app, float32 beside it for reference).
 *
 *   npm run pretrain -- --region us --out public/models/behavegpt-us
 */
import { splitSequences, REGIONS, type Region } from '../core/data';
import { BehaveGPT, DEFAULT_CONFIG, countParameters, isEmbeddingParameter } from '../model/behavegpt';
import { DEFAULT_TRAIN_OPTIONS, trainModel, type TrainOptions } from '../train/trainer';
import { OBJECTIVES, type ObjectiveName, type ObjectiveSpec } from '../train/losses';
import { buildConfig, buildVocabularies, SHIPPED_SIZE, SIZES, sizeOverrides } from '../train/recipe';
import { evaluateModel } from '../train/evaluate';
import { fitGenerationCorrection } from '../train/calibration';
import { DEFAULT_DATA_DIR, loadRegion } from '../node/data';
import { initNodeBackend } from '../node/tf';
import { saveModelDir } from '../node/model-files';
import { formatDuration, gitCommit, numberFlag, parseFlags } from './args';

const USAGE = `Usage: npm run pretrain -- [options]
  --data DIR          data folder (default: $BEHAVEGPT_DATA or ${DEFAULT_DATA_DIR})
  --region us|fr|sp   training region (default us)
  --out DIR           output folder for the int8 model (default public/models/behavegpt-us)
  --fp32-out DIR      also write float32 weights here (default models/behavegpt-us-fp32)
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

const flags = parseFlags(
  {
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
  },
  USAGE,
);

const region = (flags.region ?? 'us') as Region;
if (!REGIONS.includes(region)) throw new Error(`--region: "${region}" is not one of ${REGIONS.join(', ')}`);
const seed = numberFlag(flags.seed, 'seed', 0);
const out = flags.out ?? `public/models/behavegpt-${region}`;
const fp32Out = flags['fp32-out'] ?? `models/behavegpt-${region}-fp32`;

const backend = await initNodeBackend('wasm');
const log = loadRegion(region, flags.data ?? DEFAULT_DATA_DIR);
const train = splitSequences(log.sequences, 'train');
const valid = splitSequences(log.sequences, 'valid');
const test = splitSequences(log.sequences, 'test');
const { behaviors, locations } = buildVocabularies(train);

function objectiveFromFlags(f: typeof flags): ObjectiveSpec {
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

const overrides = sizeOverrides(flags.size ?? SHIPPED_SIZE);
const sized = { ...DEFAULT_CONFIG, ...overrides };
const config = buildConfig(behaviors, locations, {
  ...overrides,
  contextLength: numberFlag(flags.context, 'context', sized.contextLength),
  numLayers: numberFlag(flags.layers, 'layers', sized.numLayers),
  numHeads: numberFlag(flags.heads, 'heads', sized.numHeads),
  behaviorDim: numberFlag(flags['behavior-dim'], 'behavior-dim', sized.behaviorDim),
  dropout: numberFlag(flags.dropout, 'dropout', sized.dropout),
  useContext: !flags['no-context'],
  timeHead: !flags['no-time-head'],
});
const options: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  selectBy: (flags['select-by'] ?? DEFAULT_TRAIN_OPTIONS.selectBy) as TrainOptions['selectBy'],
  seed,
  epochs: numberFlag(flags.epochs, 'epochs', DEFAULT_TRAIN_OPTIONS.epochs),
  patience: numberFlag(flags.patience, 'patience', DEFAULT_TRAIN_OPTIONS.patience),
  batchSize: numberFlag(flags.batch, 'batch', DEFAULT_TRAIN_OPTIONS.batchSize),
  learningRate: numberFlag(flags.lr, 'lr', DEFAULT_TRAIN_OPTIONS.learningRate),
  objective: objectiveFromFlags(flags),
  weightDecay: numberFlag(flags['weight-decay'], 'weight-decay', DEFAULT_TRAIN_OPTIONS.weightDecay),
  ...(flags['joint-time-head'] && { timeHead: { weight: 1, detached: false } }),
};
if (flags['joint-time-head'] && flags['no-time-head']) throw new Error('--joint-time-head and --no-time-head exclude each other');

console.log(
  `pretrain: ${region} train ${train.length} sequences / ${train.reduce((s, q) => s + q.events.length, 0)} events, ` +
    `valid ${valid.length}; ${behaviors.size - 3} behaviors; backend ${backend}; seed ${seed}`,
);
const model = BehaveGPT.create(config, seed);
console.log(`model: ${model.parameterCount} parameters (${countParameters(config, (n) => !isEmbeddingParameter(n))} non-embedding)`);
const fmt = (x: number) => x.toFixed(4);
let lastPrint = 0;
const result = await trainModel(model, train, valid, behaviors, locations, {
  ...options,
  onProgress: (p) => {
    const now = performance.now();
    if (p.kind === 'step' && now - lastPrint < 5000 && p.step !== p.totalSteps) return;
    lastPrint = now;
    if (p.kind === 'step') {
      console.log(
        `  epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${fmt(p.loss)} lr ${p.learningRate.toExponential(2)} ` +
          `${p.stepsPerSecond.toFixed(2)} steps/s ${Math.round(p.tokensPerSecond)} tok/s ETA ≤ ${formatDuration(p.etaSeconds)}`,
      );
    } else {
      const v = p.valid!;
      console.log(
        `epoch ${p.epoch}: train loss ${fmt(p.loss)} | valid loss ${fmt(v.loss)} R@1 ${fmt(v.metrics['weighted_recall@1'])} ` +
          `R@5 ${fmt(v.metrics['weighted_recall@5'])} macroR@5 ${fmt(v.metrics['macro_recall@5'])}${p.improved ? ' *' : ''}`,
      );
    }
  },
});
console.log(`trained ${result.steps} steps in ${formatDuration(result.seconds)}; best epoch ${result.bestEpoch}${result.stoppedEarly ? ' (early stop)' : ''}`);

const testResult = await evaluateModel(model, test, behaviors, locations);
const round = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]));
const training = {
  data: { source: 'Samsung SmartThings action logs (Jeon et al., CIKM 2022)', region, trainSequences: train.length, validSequences: valid.length },
  objective: options.objective,
  seed,
  options: { ...options, onProgress: undefined },
  steps: result.steps,
  epochs: result.epochsRun,
  bestEpoch: result.bestEpoch,
  seconds: Math.round(result.seconds),
  backend,
  valid: { loss: Math.round(result.best.loss * 1e4) / 1e4, ...round(result.best.metrics) },
  test: { loss: Math.round(testResult.loss * 1e4) / 1e4, ...round(testResult.metrics) },
  ...(testResult.time ? { time: { valid: result.best.time, test: testResult.time } } : {}),
  // Sampling correction for generation (docs/GENERATION.md), fitted on train.
  generation: await fitGenerationCorrection(model, train, behaviors, locations, `${region} train`),
  commit: gitCommit(),
  date: new Date().toISOString(),
};
console.log('valid', training.valid);
console.log('test ', training.test);
const name = flags.name ?? `behavegpt-${region}`;
const int8 = await saveModelDir(out, { model, behaviors, locations, name, training }, { dtype: 'uint8' });
const fp32 = await saveModelDir(fp32Out, { model, behaviors, locations, name, training }, { dtype: 'float32' });
console.log(`wrote ${int8.manifestPath} (${int8.bytes} weight bytes, int8) and ${fp32.manifestPath} (${fp32.bytes} bytes, float32): ${((100 * int8.bytes) / fp32.bytes).toFixed(1)}%`);
