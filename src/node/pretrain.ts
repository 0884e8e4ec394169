/**
 * Pretraining one model outside the experiment runner (`npm run pretrain`): a region's train
 * split, early stopping on valid, test figures and the generation correction in the manifest,
 * int8 weights for the app and a float32 copy.
 */
import { splitSequences, type Region } from '../core/data';
import { BehaveGPT, countParameters, isEmbeddingParameter, type BehaveGPTConfig } from '../model/behavegpt';
import { fitGenerationCorrection } from '../train/calibration';
import { evaluateModel } from '../train/evaluate';
import { buildConfig, buildVocabularies } from '../train/recipe';
import { trainModel, type TrainOptions, type TrainProgress } from '../train/trainer';
import { gitCommit } from './config';
import { loadRegion } from './data';
import { formatDuration } from '../core/format';
import { saveModelDir } from './model-files';

export interface PretrainOptions {
  region: Region;
  dataDir: string;
  /** Overrides of DEFAULT_CONFIG (a scaling size plus any single settings); vocabulary sizes come from the data. */
  config: Partial<BehaveGPTConfig>;
  train: TrainOptions;
  /** The int8 model folder and its float32 copy. */
  out: string;
  fp32Out: string;
  name: string;
  backend: string;
}

const fmt = (x: number) => x.toFixed(4);
const round4 = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]));

export async function pretrain(o: PretrainOptions, print: (line: string) => void = console.log): Promise<void> {
  const sequences = loadRegion(o.region, o.dataDir).sequences;
  const [train, valid, test] = (['train', 'valid', 'test'] as const).map((split) => splitSequences(sequences, split));
  const { behaviors, locations } = buildVocabularies(train);
  const config = buildConfig(behaviors, locations, o.config);
  const events = train.reduce((s, q) => s + q.events.length, 0);
  print(
    `pretrain: ${o.region} train ${train.length} sequences / ${events} events, valid ${valid.length}; ${behaviors.size - 3} behaviors; backend ${o.backend}; seed ${o.train.seed}`,
  );
  const model = BehaveGPT.create(config, o.train.seed);
  print(
    `model: ${model.parameterCount} parameters (${countParameters(config, (n) => !isEmbeddingParameter(n))} non-embedding)`,
  );
  const result = await trainModel(model, train, valid, behaviors, locations, {
    ...o.train,
    onProgress: progressPrinter(print),
  });
  print(
    `trained ${result.steps} steps in ${formatDuration(result.seconds)}; best epoch ${result.bestEpoch}${result.stoppedEarly ? ' (early stop)' : ''}`,
  );

  const testResult = await evaluateModel(model, test, behaviors, locations);
  const training = {
    data: {
      source: 'Samsung SmartThings action logs (Jeon et al., CIKM 2022)',
      region: o.region,
      trainSequences: train.length,
      validSequences: valid.length,
    },
    objective: o.train.objective,
    seed: o.train.seed,
    options: { ...o.train, onProgress: undefined },
    steps: result.steps,
    epochs: result.epochsRun,
    bestEpoch: result.bestEpoch,
    seconds: Math.round(result.seconds),
    backend: o.backend,
    valid: { loss: Math.round(result.best.loss * 1e4) / 1e4, ...round4(result.best.metrics) },
    test: { loss: Math.round(testResult.loss * 1e4) / 1e4, ...round4(testResult.metrics) },
    ...(testResult.time ? { time: { valid: result.best.time, test: testResult.time } } : {}),
    // Sampling correction for generation (docs/GENERATION.md), fitted on train.
    generation: await fitGenerationCorrection(model, train, behaviors, locations, `${o.region} train`),
    commit: gitCommit(),
    date: new Date().toISOString(),
  };
  print(`valid ${JSON.stringify(training.valid)}`);
  print(`test  ${JSON.stringify(training.test)}`);
  const int8 = await saveModelDir(o.out, { model, behaviors, locations, name: o.name, training }, { dtype: 'uint8' });
  const fp32 = await saveModelDir(
    o.fp32Out,
    { model, behaviors, locations, name: o.name, training },
    { dtype: 'float32' },
  );
  const share = ((100 * int8.bytes) / fp32.bytes).toFixed(1);
  print(
    `wrote ${int8.manifestPath} (${int8.bytes} weight bytes, int8) and ${fp32.manifestPath} (${fp32.bytes} bytes, float32): ${share}%`,
  );
}

/** Step lines at most every 5 s (and the last), and every epoch's valid figures. */
function progressPrinter(print: (line: string) => void): (p: TrainProgress) => void {
  let lastPrint = 0;
  return (p) => {
    const now = performance.now();
    if (p.kind === 'step' && now - lastPrint < 5000 && p.step !== p.totalSteps) return;
    lastPrint = now;
    if (p.kind === 'step') {
      const speed = `${p.stepsPerSecond.toFixed(2)} steps/s ${Math.round(p.tokensPerSecond)} tok/s ETA ≤ ${formatDuration(p.etaSeconds)}`;
      print(
        `  epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${fmt(p.loss)} lr ${p.learningRate.toExponential(2)} ${speed}`,
      );
    } else {
      const v = p.valid!;
      const figures = `R@1 ${fmt(v.metrics['weighted_recall@1'])} R@5 ${fmt(v.metrics['weighted_recall@5'])} macroR@5 ${fmt(v.metrics['macro_recall@5'])}`;
      print(
        `epoch ${p.epoch}: train loss ${fmt(p.loss)} | valid loss ${fmt(v.loss)} ${figures}${p.improved ? ' *' : ''}`,
      );
    }
  };
}
