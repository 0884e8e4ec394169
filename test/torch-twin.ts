/**
 * The TypeScript side of the PyTorch parity tests (trainer/tests) and evidence runs: prints, as
 * JSON, what the TS code computes for a request, so Python can compare its twin's answer.
 *
 *   npx tsx test/torch-twin.ts init --config cfg.json --seed 3 --out DIR       # BehaveGPT.create → float32 folder
 *   npx tsx test/torch-twin.ts parse-errors --dir DIR                          # each file's error message or warnings
 *   npx tsx test/torch-twin.ts batches --file F --context 9 --batch 4 --seed 1 # vocabularies, windows, encoded batches
 *   npx tsx test/torch-twin.ts logits --model DIR --file F [--positions N]     # tfjs logits of the file's windows
 *   npx tsx test/torch-twin.ts predict --model DIR --file F                    # Predictor: probabilities + top-5 per query
 *   npx tsx test/torch-twin.ts dro --model DIR --file F --spec JSON            # objective loss before/after one DRO update
 *   npx tsx test/torch-twin.ts onnx --model DIR --onnx FILE --file F         # ONNX Runtime Web vs tfjs logits
 *   npx tsx test/torch-twin.ts train-steps --model DIR --steps 15 --rounds 3     # Node-wasm training tokens/s (bench.ts's loop)
 *   npx tsx test/torch-twin.ts train --file F --config JSON --options JSON --out DIR   # trainModel on the file's train/valid splits → float32 folder
 *   npx tsx test/torch-twin.ts evaluate --model DIR [--region us | --file F] [--split valid,test]   # the experiment runner's metrics
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend, tf } from '../src/node/tf';
import { DEFAULT_DATA_DIR, loadSplits, readLogFile } from '../src/node/data';
import { loadModelDir, loadPredictorDir, saveModelDir } from '../src/node/model-files';
import { splitSequences, type Region } from '../src/core/data';
import { bucketBatches, encodeBatch, toExamples, type Batch } from '../src/core/batch';
import { createRng } from '../src/core/random';
import { BehaveGPT, type BehaveGPTConfig } from '../src/model/behavegpt';
import { buildVocabularies } from '../src/train/recipe';
import { countTargets, createObjective } from '../src/train/losses';
import { evaluateModel } from '../src/train/evaluate';
import { fullMetrics } from '../src/core/evaluation';
import { headBehaviors } from '../src/core/metrics';
import { behaviorCounts } from '../src/core/baselines';
import { isRefresh, type BehaviorSequence } from '../src/core/events';

const [command, ...rest] = process.argv.slice(2);
const { values: f } = parseArgs({
  args: rest,
  options: {
    config: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    file: { type: 'string' },
    context: { type: 'string' },
    batch: { type: 'string' },
    model: { type: 'string' },
    spec: { type: 'string' },
    region: { type: 'string' },
    split: { type: 'string' },
    positions: { type: 'string' },
    data: { type: 'string' },
    onnx: { type: 'string' },
    dir: { type: 'string' },
    steps: { type: 'string' },
    rounds: { type: 'string' },
    options: { type: 'string' },
  },
});
const print = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
const batchJson = (b: Batch) => ({
  batchSize: b.batchSize,
  length: b.length,
  ...Object.fromEntries(
    (
      [
        'behaviors',
        'weekdays',
        'slots',
        'locations',
        'targetWeekdays',
        'targetSlots',
        'targetLocations',
        'targets',
      ] as const
    ).map((k) => [k, Array.from(b[k])]),
  ),
});
/** The file's sequences in windows, batched in the evaluation order (no shuffling). */
function windows(sequences: readonly BehaviorSequence[], contextLength: number) {
  return bucketBatches(toExamples(sequences, contextLength), 64);
}

await initNodeBackend('wasm');
if (command === 'init') {
  const config = JSON.parse(readFileSync(f.config!, 'utf8')) as BehaveGPTConfig;
  const model = BehaveGPT.create(config, Number(f.seed ?? 0));
  const { Vocabulary } = await import('../src/core/vocab');
  const behaviors = new Vocabulary(
    Array.from({ length: config.numBehaviors }, (_, i) =>
      i === 0 ? '<pad>' : i === 1 ? '<bos>' : i === 2 ? '<unk>' : `b${i}`,
    ),
  );
  const locations = new Vocabulary(Array.from({ length: config.numLocations }, (_, i) => `l${i}`));
  await saveModelDir(f.out!, { model, behaviors, locations, name: 'init', training: {} }, { dtype: 'float32' });
  print({ out: f.out });
} else if (command === 'parse-errors') {
  // What each file of a folder gets: the error message, or null and the warnings.
  const answers: Record<string, { error: string | null; warnings: string[] }> = {};
  for (const name of readdirSync(f.dir!).sort()) {
    try {
      answers[name] = { error: null, warnings: readLogFile(join(f.dir!, name)).warnings };
    } catch (e) {
      answers[name] = { error: (e as Error).message, warnings: [] };
    }
  }
  print(answers);
} else if (command === 'batches') {
  const log = readLogFile(f.file!);
  const train = log.sequences.some((s) => s.split) ? splitSequences(log.sequences, 'train') : log.sequences;
  const { behaviors, locations } = buildVocabularies(train);
  const examples = toExamples(log.sequences, Number(f.context ?? 33));
  const rng = createRng(Number(f.seed ?? 0));
  const batches = bucketBatches(examples, Number(f.batch ?? 64), rng).map((g) => encodeBatch(g, behaviors, locations));
  print({
    format: log.format,
    events: log.events,
    behaviorNames: log.behaviors,
    warnings: log.warnings,
    behaviors: behaviors.toJSON(),
    locations: locations.toJSON(),
    sequences: log.sequences.map((s) => ({
      id: s.id,
      split: s.split ?? null,
      events: s.events.map((e) => [e.behavior, e.weekday, e.slot, e.location]),
    })),
    examples: examples.map((e) => ({
      sequenceId: e.sequenceId,
      offset: e.offset,
      firstTarget: e.firstTarget,
      length: e.events.length,
    })),
    batches: batches.map(batchJson),
    next: rng(),
  });
} else if (command === 'logits') {
  const { model, behaviors, locations } = loadModelDir(f.model!);
  const log = readLogFile(f.file!);
  const out: { batch: ReturnType<typeof batchJson>; logits: number[]; time: number[] | null }[] = [];
  for (const group of windows(log.sequences, model.config.contextLength)) {
    const batch = encodeBatch(group, behaviors, locations);
    const o = tf.tidy(() => model.outputs(batch) as unknown as Record<string, tf.Tensor>);
    const b = o.behavior;
    const t = o.time ?? null;
    out.push({
      batch: batchJson(batch),
      logits: Array.from(await b.data()),
      time: t ? Array.from(await t.data()) : null,
    });
    b.dispose();
    t?.dispose();
  }
  print(out);
} else if (command === 'predict') {
  const predictor = loadPredictorDir(f.model!, 'wasm');
  const log = readLogFile(f.file!);
  const out = [];
  for (const seq of log.sequences) {
    for (let t = 1; t < seq.events.length; t++) {
      const next = seq.events[t];
      const history = seq.events.slice(0, t);
      const probs = await predictor.probabilities(history, next);
      const top = await predictor.predictNext(history, next, { k: 5 });
      out.push({
        history: history.map((e) => [e.behavior, e.weekday, e.slot, e.location]),
        next: [next.weekday, next.slot, next.location],
        probabilities: Array.from(probs),
        top5: top.map((p) => p.behavior),
      });
    }
  }
  print(out);
} else if (command === 'dro') {
  const { model, behaviors, locations } = loadModelDir(f.model!);
  const log = readLogFile(f.file!);
  const counts = countTargets(log.sequences, (n) => behaviors.id(n), behaviors.size);
  const objective = createObjective(JSON.parse(f.spec!), counts, (i) => behaviors.isSpecial(i));
  const groups = windows(log.sequences, model.config.contextLength);
  const losses: number[] = [];
  const weights: number[][] = [];
  // One loss and DRO update per batch, then the first batch again with the updated state.
  for (const group of [...groups, groups[0]]) {
    const batch = encodeBatch(group, behaviors, locations);
    const loss = tf.tidy(() => objective.loss(model.logits(batch), batch.targets));
    losses.push((await loss.data())[0]);
    loss.dispose();
    weights.push(Array.from(objective.classWeights() ?? []));
    await objective.afterStep();
  }
  print({ counts, losses, weights });
} else if (command === 'onnx') {
  // ONNX Runtime Web in Node (its wasm build, one thread): the runtime issue #18 benchmarks.
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const { model, behaviors, locations } = loadModelDir(f.model!);
  const session = await ort.InferenceSession.create(readFileSync(f.onnx!));
  const log = readLogFile(f.file!);
  let positions = 0;
  let behaviorDiff = 0;
  let timeDiff = 0;
  let behaviorScale = 0;
  for (const group of windows(log.sequences, model.config.contextLength)) {
    const batch = encodeBatch(group, behaviors, locations);
    const dims = [batch.batchSize, batch.length];
    const feeds = {
      behaviors: new ort.Tensor('int32', batch.behaviors, dims),
      weekdays: new ort.Tensor('int32', batch.weekdays, dims),
      slots: new ort.Tensor('int32', batch.slots, dims),
      locations: new ort.Tensor('int32', batch.locations, dims),
      target_weekdays: new ort.Tensor('int32', batch.targetWeekdays, dims),
      target_slots: new ort.Tensor('int32', batch.targetSlots, dims),
      target_locations: new ort.Tensor('int32', batch.targetLocations, dims),
    };
    const result = await session.run(feeds);
    const o = tf.tidy(() => model.outputs(batch) as unknown as Record<string, tf.Tensor>);
    const ref = (await o.behavior.data()) as Float32Array;
    const got = result.behavior_logits.data as Float32Array;
    for (let i = 0; i < ref.length; i++) {
      if (ref[i] < -1e8) continue; // the −1e9 mask of special tokens
      behaviorDiff = Math.max(behaviorDiff, Math.abs(ref[i] - got[i]));
      behaviorScale = Math.max(behaviorScale, Math.abs(ref[i]));
    }
    if (o.time) {
      const t = (await o.time.data()) as Float32Array;
      const gt = result.time_logits.data as Float32Array;
      for (let i = 0; i < t.length; i++) timeDiff = Math.max(timeDiff, Math.abs(t[i] - gt[i]));
    }
    for (const x of Object.values(o)) x.dispose();
    positions += batch.batchSize * batch.length;
  }
  print({
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    positions,
    behaviorDiff,
    behaviorScale,
    timeDiff,
  });
} else if (command === 'train') {
  const { trainModel } = await import('../src/train/trainer');
  const { buildConfig } = await import('../src/train/recipe');
  const log = readLogFile(f.file!);
  const train = splitSequences(log.sequences, 'train');
  const valid = splitSequences(log.sequences, 'valid');
  const { behaviors, locations } = buildVocabularies(train);
  const options = JSON.parse(f.options ?? '{}');
  const model = BehaveGPT.create(buildConfig(behaviors, locations, JSON.parse(f.config ?? '{}')), options.seed ?? 0);
  const result = await trainModel(model, train, valid, behaviors, locations, options);
  await saveModelDir(f.out!, { model, behaviors, locations, name: 'ts-trained', training: {} }, { dtype: 'float32' });
  print({
    bestEpoch: result.bestEpoch,
    epochsRun: result.epochsRun,
    steps: result.steps,
    history: result.history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, validLoss: h.validLoss })),
  });
} else if (command === 'train-steps') {
  // The training part of src/cli/bench.ts: the model's first 60 length-sorted US train batches of 64, CE, AdamW; one untimed warm-up round.
  const { AdamW } = await import('../src/train/optimizer');
  const { trainStep } = await import('../src/train/trainer');
  const m = loadModelDir(f.model!);
  const train = loadSplits((f.region ?? 'us') as Region, f.data ?? DEFAULT_DATA_DIR).train;
  const batches = bucketBatches(toExamples(train, m.model.config.contextLength), 64, () => 0.5).slice(0, 60);
  const optimizer = new AdamW(1e-4);
  const objective = createObjective({ name: 'ce' }, m.behaviors.counts, (i) => m.behaviors.isSpecial(i));
  const steps = Number(f.steps ?? 15);
  const tokensPerSecond: number[] = [];
  let b = 0;
  for (let round = 0; round <= Number(f.rounds ?? 3); round++) {
    let tokens = 0;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const batch = encodeBatch(batches[b++ % batches.length], m.behaviors, m.locations);
      tokens += batch.batchSize * batch.length;
      await trainStep(m.model, [{ variables: m.model.params, optimizer }], objective, batch, s);
    }
    if (round > 0) tokensPerSecond.push(tokens / ((performance.now() - t0) / 1000));
  }
  print({ tokensPerSecond, rssMB: process.memoryUsage().rss / 2 ** 20 });
} else if (command === 'evaluate') {
  const { model, behaviors, locations, manifest } = loadModelDir(f.model!);
  // A region's splits, or every sequence of a file as both "valid" and "test" (and the head from it).
  const fileSequences = f.file ? readLogFile(f.file).sequences : null;
  const data = fileSequences
    ? { train: fileSequences, valid: fileSequences, test: fileSequences }
    : loadSplits((f.region ?? 'us') as Region, f.data ?? DEFAULT_DATA_DIR);
  const head = headBehaviors(behaviorCounts(data.train));
  const out: Record<string, unknown> = { model: manifest.name };
  for (const split of (f.split ?? 'valid,test').split(',') as ('valid' | 'test')[]) {
    const r = await evaluateModel(model, data[split], behaviors, locations);
    out[split] = {
      loss: r.loss,
      ...fullMetrics(r.targets, head),
      noRefresh: fullMetrics(
        r.targets.filter((t) => !isRefresh(t.behavior)),
        head,
      ),
      time: r.time ?? null,
    };
  }
  print(out);
} else {
  console.error(`unknown command "${command}"`);
  process.exit(2);
}
