import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { parseBehaviorLog } from '../src/core/data';
import { encodeBatch } from '../src/core/batch';
import { UNKNOWN_LOCATION, type BehaviorSequence } from '../src/core/events';
import {
  adaptedModelName,
  dataStem,
  deviceOfName,
  fitLocations,
  MIN_SEQUENCES_FOR_VALIDATION,
  modelFileStem,
  newBehaviors,
  scoreBaselines,
  splitForFinetune,
  summarizeImport,
  vocabularyOverlap,
} from '../src/core/finetune';
import { BehaveGPT } from '../src/model/behavegpt';
import { extendVocabulary } from '../src/model/extend';
import { modelFromArtifacts, serializeModel, validateManifest, type LoadedModel } from '../src/model/weights';
import {
  buildStartMessage,
  DEFAULT_FINETUNE_SETTINGS,
  isTrainable,
  type FromWorker,
  type StartMessage,
} from '../src/train/finetune-protocol';
import { finetuneObjective, matchFrequencies, runFinetune } from '../src/train/finetune';
import { trainModel } from '../src/train/trainer';
import { behaviorCounts } from '../src/core/baselines';
import { behaviors, event, events, locations, toyConfig } from './helpers';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** The defaults with a toy-sized schedule: every epoch checked, no minimum steps, every budget epoch runs unless asked otherwise. */
const TEST_SETTINGS = {
  ...DEFAULT_FINETUNE_SETTINGS,
  patience: 100,
  schedule: { warmupSteps: 1, evaluateEvery: 0, minSteps: 0 },
};

function sequences(n: number, length = 6): BehaviorSequence[] {
  return Array.from({ length: n }, (_, i) => ({ id: `s${i}`, events: events(length, i) }));
}

/** Larger weights than the 0.02 initialiser, so logits differ clearly between behaviors. */
function toyLoaded(seed = 3): LoadedModel {
  const model = BehaveGPT.create(toyConfig(), seed);
  let i = 0;
  for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i++));
  return { model, behaviors, locations, manifest: { name: 'toy' } as LoadedModel['manifest'] };
}

async function logitsAt(loaded: LoadedModel, history: BehaviorSequence['events']): Promise<Float32Array> {
  const batch = encodeBatch(
    [{ events: history, firstTarget: 0, sequenceId: 'q', offset: 0 }],
    loaded.behaviors,
    loaded.locations,
  );
  const t = tf.tidy(() => loaded.model.logits(batch));
  const values = (await t.data()) as Float32Array;
  t.dispose();
  return values;
}

/** Rows of `values` ([positions, width]) cut to the first `keep` columns. */
function columns(values: Float32Array, width: number, keep: number): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < values.length / width; r++) rows.push(Array.from(values.subarray(r * width, r * width + keep)));
  return rows;
}

function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  for (const [i, row] of a.entries()) for (const [j, x] of row.entries()) m = Math.max(m, Math.abs(x - b[i][j]));
  return m;
}

describe('splitForFinetune', () => {
  const seqs = sequences(20);
  const fractions = { heldOutFraction: 0.2, validationFraction: 0.1, seed: 7 };
  const ids = (part: readonly BehaviorSequence[]) => part.map((s) => s.id);

  it('splits into train / validation / held-out by whole sequence: disjoint, covering everything, deterministic', () => {
    const a = splitForFinetune(seqs, fractions);
    expect(splitForFinetune(seqs, fractions)).toEqual(a);
    expect(a.heldOut).toHaveLength(4);
    expect(a.validation).toHaveLength(2);
    expect(a.train).toHaveLength(14);
    expect(a.unused).toEqual([]);
    expect(a.selection).toBe('validation');
    expect(a.note).toBeNull();
    const all = [...ids(a.train), ...ids(a.validation), ...ids(a.heldOut)];
    expect(all).toHaveLength(20);
    expect(new Set(all)).toEqual(new Set(ids(seqs)));
    // Sequences go over whole: the same objects, events untouched, file order kept in each part.
    for (const part of [a.train, a.validation, a.heldOut]) {
      for (const s of part) expect(seqs).toContain(s);
      expect(part.map((s) => seqs.indexOf(s))).toEqual([...part.map((s) => seqs.indexOf(s))].sort((x, y) => x - y));
    }
    // Another seed picks other sequences; the held-out part does not depend on the validation share.
    expect(ids(splitForFinetune(seqs, { ...fractions, seed: 8 }).heldOut)).not.toEqual(ids(a.heldOut));
    expect(ids(splitForFinetune(seqs, { ...fractions, validationFraction: 0.3 }).heldOut)).toEqual(ids(a.heldOut));
  });

  it('puts sequences of a single event in no part', () => {
    const withShort = [...sequences(8), { id: 'one', events: events(1) }];
    const split = splitForFinetune(withShort, fractions);
    expect(ids(split.unused)).toEqual(['one']);
    expect(split.train.length + split.validation.length + split.heldOut.length).toBe(8);
  });

  it('small imports: no validation part (last epoch kept, said so), held-out never reused for selection', () => {
    for (let n = 2; n < MIN_SEQUENCES_FOR_VALIDATION; n++) {
      const split = splitForFinetune(sequences(n), fractions);
      expect(split.validation).toEqual([]);
      expect(split.heldOut).toHaveLength(1);
      expect(split.train).toHaveLength(n - 1);
      expect(split.selection).toBe('last-epoch');
      expect(split.note).toMatch(/too few for a validation part.*last one is kept/);
    }
    const five = splitForFinetune(sequences(MIN_SEQUENCES_FOR_VALIDATION), fractions);
    expect([five.train.length, five.validation.length, five.heldOut.length]).toEqual([3, 1, 1]);
    expect(five.selection).toBe('validation');
    const off = splitForFinetune(seqs, { ...fractions, validationFraction: 0 });
    expect(off.validation).toEqual([]);
    expect(off.selection).toBe('last-epoch');
    expect(off.note).toMatch(/switched off/);
    const one = splitForFinetune(sequences(1), fractions);
    expect(one).toMatchObject({ validation: [], heldOut: [], selection: 'last-epoch' });
    expect(one.note).toMatch(/at least two sequences/);
    expect(() => splitForFinetune(seqs, { ...fractions, heldOutFraction: 1 })).toThrow(/fraction/);
    expect(() => splitForFinetune(seqs, { ...fractions, validationFraction: 0.8 })).toThrow(/fraction/);
  });

  it('the worker request carries the same split, and refuses data with nothing to hold out', () => {
    const base = { manifestText: '{}', shards: [] };
    const settings = { ...DEFAULT_FINETUNE_SETTINGS, seed: 7 };
    const request = buildStartMessage({ runId: 1, base, data: { name: 'mine.csv', sequences: seqs }, settings });
    const split = splitForFinetune(seqs, settings);
    expect(request.split).toEqual({
      train: split.train,
      validation: split.validation,
      heldOut: split.heldOut,
      selection: 'validation',
      source: 'sequences',
    });
    const held = new Set(ids(request.split.heldOut));
    expect(request.split.validation.some((s) => held.has(s.id))).toBe(false);
    expect(request.split.train.some((s) => held.has(s.id))).toBe(false);
    expect(() =>
      buildStartMessage({ runId: 2, base, data: { name: 'tiny.csv', sequences: sequences(1) }, settings }),
    ).toThrow(/tiny\.csv: 1 usable sequence/);
  });
});

describe("the file's own split", () => {
  const marked = (n: number, split: 'train' | 'valid' | 'test' | undefined, from = 0): BehaviorSequence[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `${split ?? 'none'}${from + i}`,
      ...(split ? { split } : {}),
      events: events(5, i),
    }));
  const fractions = { heldOutFraction: 0.2, validationFraction: 0.1, seed: 7 };

  it('a split column is used as it is: train trains, valid picks the epoch, test is held out', () => {
    const seqs = [
      ...marked(3, 'test'),
      ...marked(6, 'train'),
      ...marked(2, 'valid'),
      { id: 'short', split: 'train' as const, events: events(1) },
    ];
    const split = splitForFinetune(seqs, fractions);
    expect(split.source).toBe('file');
    expect(split.train.map((s) => s.id)).toEqual(['train0', 'train1', 'train2', 'train3', 'train4', 'train5']);
    expect(split.validation.map((s) => s.id)).toEqual(['valid0', 'valid1']);
    expect(split.heldOut.map((s) => s.id)).toEqual(['test0', 'test1', 'test2']);
    expect(split.unused.map((s) => s.id)).toEqual(['short']);
    expect(split.selection).toBe('validation');
    expect(split.note).toBeNull();
    // The shares and the seed do not move a file's split.
    expect(splitForFinetune(seqs, { heldOutFraction: 0.5, validationFraction: 0.3, seed: 1 })).toEqual(split);
  });

  it('without valid rows the last epoch is kept; unmarked sequences are not used; both said in the note', () => {
    const split = splitForFinetune([...marked(4, 'train'), ...marked(2, 'test'), ...marked(1, undefined)], fractions);
    expect(split).toMatchObject({ source: 'file', selection: 'last-epoch', validation: [] });
    expect(split.unused.map((s) => s.id)).toEqual(['none0']);
    expect(split.note).toMatch(/no valid sequences.*last one is kept/);
    expect(split.note).toMatch(/1 sequence has no split and is not used/);
  });

  it('a split column without test (or train) rows is not used: the sequence split applies, and the note says why', () => {
    const seqs = [...marked(8, 'train'), ...marked(2, 'valid')];
    const split = splitForFinetune(seqs, fractions);
    expect(split.source).toBe('sequences');
    expect(split.heldOut.length).toBe(2);
    expect(split.note).toMatch(/split column marks no usable test sequences, so it is not used/);
    const noTrain = splitForFinetune([...marked(3, 'valid'), ...marked(3, 'test')], fractions);
    expect(noTrain.source).toBe('sequences');
    expect(noTrain.note).toMatch(/no usable train sequences/);
  });
});

describe("vocabulary overlap and the comparison's baselines", () => {
  it('counts known behaviors and events, and new behaviors with and without a known device', () => {
    const seq: BehaviorSequence = {
      id: 'a',
      events: ['Light:switch on', 'Light:switch on', 'Light:dim', 'Robot:clean start', 'TV_ON', 'TV_ON', 'Light'].map(
        (b, i) => event(i, { behavior: b }),
      ),
    };
    expect(vocabularyOverlap(behaviorCounts([seq]), new Set(behaviors.tokens))).toEqual({
      behaviors: 5,
      knownBehaviors: 1,
      events: 7,
      knownEvents: 2,
      // Light:dim borrows from the Light device; Robot is unknown; TV_ON and "Light" have no Device: prefix.
      newWithKnownDevice: 1,
      newWithoutKnownDevice: 3,
    });
    expect(deviceOfName('Light:dim')).toBe('Light');
    expect(deviceOfName('Light')).toBeNull();
    expect(deviceOfName(':x')).toBeNull();
  });

  it('Markov-2 and popularity are fitted on the training part only and scored on every held-out target', () => {
    const names = ['a', 'b', 'c'];
    const seq = (id: string, pattern: number[]): BehaviorSequence => ({
      id,
      events: pattern.map((k, i) => event(i, { behavior: names[k] })),
    });
    const train = [seq('t0', [0, 1, 2, 0, 1, 2, 0, 1, 2]), seq('t1', [0, 1, 2, 0, 1, 2])];
    // 'd' only in the held-out part: a miss for both (never seen in training).
    const heldOut = [
      seq('h0', [0, 1, 2, 0]),
      { id: 'h1', events: [event(0, { behavior: 'a' }), event(1, { behavior: 'd' })] },
    ];
    const { 'markov-2': markov, popularity } = scoreBaselines(train, heldOut);
    expect(markov.targets).toBe(4);
    // a→b, (a,b)→c, (b,c)→a are certain in training; 'd' is a miss.
    expect(markov['weighted_recall@1']).toBeCloseTo(3 / 4, 9);
    expect(popularity.targets).toBe(4);
    expect(popularity['weighted_recall@5']).toBeCloseTo(3 / 4, 9);
    // Fitted on the held-out part instead, Markov-2 would know 'd': the figures differ.
    expect(scoreBaselines([...train, ...heldOut], heldOut)['markov-2']['weighted_recall@5']).toBeGreaterThan(
      markov['weighted_recall@5'],
    );
  });
});

describe('names and file names of adapted models', () => {
  const base = { objective: 'dro', learningRate: 0.003, epochsRun: 14, bestEpoch: 9, seed: 0, heldOutRecall5: 0.8812 };
  it('names say source, settings, date and held-out R@5; two runs a second apart differ', () => {
    const date = new Date(2026, 11, 7, 14, 3, 22);
    expect(adaptedModelName({ ...base, dataName: 'C:\\logs\\my-home.csv.gz', date })).toBe(
      'my-home · DRO lr 0.003 · 14 epochs (best 9) · seed 0 · 2026-12-07 14:03:22 · held-out R@5 88.1%',
    );
    expect(adaptedModelName({ ...base, dataName: 'x.csv', date, continued: true })).toContain(
      '14 epochs (best 9), continued',
    );
    expect(adaptedModelName({ ...base, dataName: 'x.csv', date })).not.toBe(
      adaptedModelName({ ...base, dataName: 'x.csv', date: new Date(date.getTime() + 1000) }),
    );
  });

  it('file stems are safe relative paths, distinct per model', () => {
    const a = modelFileStem({
      dataName: 'Mon foyer (été).csv',
      createdAt: new Date(2026, 11, 7, 14, 3, 22).getTime(),
      id: 'adapted-mfx1-k3x9qa',
    });
    expect(a).toBe('behavegpt-Mon-foyer-ete-20261207-140322-k3x9qa');
    const b = modelFileStem({
      dataName: 'Mon foyer (été).csv',
      createdAt: new Date(2026, 11, 7, 14, 3, 22).getTime(),
      id: 'adapted-mfx1-zz0000',
    });
    expect(b).not.toBe(a);
    for (const stem of [a, b, modelFileStem({ dataName: '../../etc', createdAt: 0, id: '' })])
      expect(stem).toMatch(/^behavegpt-[A-Za-z0-9_.-]+$/);
    expect(dataStem('/a/b/vendor-fr.csv')).toBe('vendor-fr');
    expect(dataStem('SmartThings Spain')).toBe('SmartThings Spain');
  });
});

describe('import summary', () => {
  it('counts behaviors new to the model, matched by name', () => {
    const csv = [
      'sequence_id,step,weekday,time_slot,behavior',
      'a,0,0,1,Light:switch on',
      'a,1,0,1,Robot:clean start',
      'b,0,2,3,Robot:clean start',
      'b,1,2,3,Light:dim',
    ].join('\n');
    const summary = summarizeImport(parseBehaviorLog(csv, 'mine.csv'), new Set(behaviors.tokens));
    expect(summary.newBehaviors).toEqual(['Light:dim', 'Robot:clean start']);
    expect(summary.newBehaviorEvents).toBe(3);
    expect(summary.events).toBe(4);
    expect(summary.usableSequences).toBe(2);
    expect(newBehaviors(['Light:switch on'], behaviors)).toEqual([]);
  });

  it('maps unknown locations to the unknown place', () => {
    const [s] = fitLocations(
      [{ id: 'a', events: [event(0, { location: 'garage' }), event(1, { location: 'home' })] }],
      locations,
    );
    expect(s.events.map((e) => e.location)).toEqual([UNKNOWN_LOCATION, 'home']);
  });
});

describe('extendVocabulary', () => {
  const added = ['Light:dim', 'Robot:clean start'];

  it('keeps the old behaviors’ logits, their order and relative probabilities before training', async () => {
    const base = toyLoaded();
    const extended = await extendVocabulary(base, [...added, 'Light:switch on']);
    expect(extended.behaviors.size).toBe(behaviors.size + 2);
    expect(extended.behaviors.tokens.slice(0, behaviors.size)).toEqual(behaviors.tokens);
    expect(extended.model.config.numBehaviors).toBe(behaviors.size + 2);
    const history = events(8);
    const V = behaviors.size;
    const old = columns(await logitsAt(base, history), V, V);
    const now = columns(await logitsAt(extended, history), V + 2, V);
    expect(maxAbsDiff(old, now)).toBeLessThan(1e-5);
    const real = (row: number[]) => row.slice(3); // specials carry −1e9
    expect(
      maxAbsDiff(
        old.map((r) => softmax(real(r))),
        now.map((r) => softmax(real(r))),
      ),
    ).toBeLessThan(1e-6);
    base.model.dispose();
    extended.model.dispose();
  });

  it('with a very low new bias, old probabilities are identical within 1e-6', async () => {
    const base = toyLoaded(5);
    const extended = await extendVocabulary(base, added, { newBias: -30 });
    const history = events(8, 2);
    const V = behaviors.size;
    const old = columns(await logitsAt(base, history), V, V).map(softmax);
    const now = columns(await logitsAt(extended, history), V + 2, V + 2).map(softmax);
    expect(
      maxAbsDiff(
        old,
        now.map((r) => r.slice(0, V)),
      ),
    ).toBeLessThan(1e-6);
    base.model.dispose();
    extended.model.dispose();
  });

  it('initialises new rows from the same device, else from all behaviors, and the bias at the lowest known bias', async () => {
    const base = toyLoaded(7);
    const extended = await extendVocabulary(base, added);
    const V = behaviors.size;
    const d = base.model.config.behaviorDim;
    const H = base.model.config.headHidden;
    const emb = Array.from(await base.model.params.get('embed.behavior')!.data());
    const emb2 = Array.from(await extended.model.params.get('embed.behavior')!.data());
    const w = Array.from(await base.model.params.get('head.out.w')!.data());
    const w2 = Array.from(await extended.model.params.get('head.out.w')!.data());
    const b = Array.from(await base.model.params.get('head.out.b')!.data());
    const b2 = Array.from(await extended.model.params.get('head.out.b')!.data());
    const row = (values: number[], id: number) => values.slice(id * d, (id + 1) * d);
    const mean = (rows: number[][]) => rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    const lights = ['Light:switch on', 'Light:switch off'].map((n) => behaviors.id(n));
    const realIds = behaviors.tokens.map((_, i) => i).filter((i) => !behaviors.isSpecial(i));
    const dim = extended.behaviors.id('Light:dim');
    const robot = extended.behaviors.id('Robot:clean start');
    const close = (a: number[], e: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(e[i], 5));
    close(row(emb2, dim), mean(lights.map((id) => row(emb, id))));
    close(row(emb2, robot), mean(realIds.map((id) => row(emb, id))));
    for (let h = 0; h < H; h++) {
      expect(w2[h * (V + 2) + dim]).toBeCloseTo((w[h * V + lights[0]] + w[h * V + lights[1]]) / 2, 5);
      expect(w2[h * (V + 2) + robot]).toBe(0);
    }
    const lowest = Math.min(...realIds.map((id) => b[id]));
    expect(b2[dim]).toBeCloseTo(lowest, 6);
    expect(b2[robot]).toBeCloseTo(lowest, 6);
    // Nothing new: the same model back.
    expect(await extendVocabulary(base, ['Light:switch on'])).toBe(base);
    base.model.dispose();
    extended.model.dispose();
  });
});

describe('fine-tuning', () => {
  it('cancel restores the previous weights', async () => {
    const base = toyLoaded(9);
    const extended = await extendVocabulary(base, ['Robot:clean start']);
    base.model.dispose();
    const seqs = sequences(12, 10).map((s, i) => ({
      ...s,
      events: s.events.map((e, t) => (t % 3 === i % 3 ? { ...e, behavior: 'Robot:clean start' } : e)),
    }));
    const before = new Map(
      await Promise.all([...extended.model.params].map(async ([n, v]) => [n, Array.from(await v.data())] as const)),
    );
    const controller = new AbortController();
    let steps = 0;
    const result = await trainModel(extended.model, seqs, seqs.slice(0, 2), extended.behaviors, extended.locations, {
      epochs: 5,
      batchSize: 2,
      warmupSteps: 1,
      learningRate: 1e-2,
      objective: { name: 'dro' },
      signal: controller.signal,
      onProgress: (p) => {
        if (p.kind === 'step' && ++steps === 3) controller.abort();
      },
    });
    expect(result.cancelled).toBe(true);
    expect(result.steps).toBe(3);
    for (const [name, v] of extended.model.params) expect(Array.from(await v.data())).toEqual(before.get(name));
    extended.model.dispose();
  });

  it('trains in a run: new behavior added, before/after on held-out sequences, adapted model in the weights format', async () => {
    const base = toyLoaded(11);
    const { manifest, shards } = await serializeModel({
      ...base,
      name: 'toy',
      training: { valid: { 'weighted_recall@1': 0.5 } },
    });
    base.model.dispose();
    const seqs = sequences(10, 8).map((s) => ({
      ...s,
      events: s.events.map((e, t) => (t % 2 ? { ...e, behavior: 'Robot:clean start' } : e)),
    }));
    const messages: FromWorker[] = [];
    const request: StartMessage = buildStartMessage({
      runId: 4,
      base: { manifestText: JSON.stringify(manifest), shards: shards.map((s) => s.slice().buffer) },
      data: { name: 'mine.csv', sequences: seqs },
      settings: { ...TEST_SETTINGS, maxEpochs: 2, batchSize: 4, learningRate: 1e-2, trainable: 'head+embeddings' },
    });
    await runFinetune(
      request,
      (m) => messages.push(m),
      new AbortController().signal,
      async () => ({ name: 'wasm', reason: 'test', measuredMs: {} }),
    );
    const types = messages.map((m) => m.type);
    expect(types).not.toContain('error');
    expect(types.at(-1)).toBe('done');
    expect(types.filter((t) => t === 'adapted')).toHaveLength(1);
    expect(messages.every((m) => m.runId === 4)).toBe(true);
    const prepared = messages.find((m) => m.type === 'prepared')!;
    if (prepared.type !== 'prepared') throw new Error('unreachable');
    expect(prepared.info.newBehaviors).toEqual(['Robot:clean start']);
    expect(prepared.info).toMatchObject({
      trainSequences: 7,
      validationSequences: 1,
      heldOutSequences: 2,
      selection: 'validation',
    });
    expect(
      Number.isFinite(prepared.info.frequencies.validationLoss!.matched) &&
        Number.isFinite(prepared.info.frequencies.validationLoss!.unmatched),
    ).toBe(true);
    expect(prepared.info.trainableParameters).toBeLessThan(prepared.info.parameters);
    expect(messages.filter((m) => m.type === 'progress' && m.progress.kind === 'epoch')).toHaveLength(2);
    // The output biases are moved to the data's frequencies after the base is scored and before training.
    const stages = messages.flatMap((m) => (m.type === 'stage' ? [m.message] : []));
    expect(stages.indexOf('adding new behaviors and matching the behavior frequencies of the data')).toBeGreaterThan(
      stages.indexOf('evaluating the base model on the held-out sequences'),
    );
    expect(stages.indexOf('adding new behaviors and matching the behavior frequencies of the data')).toBeLessThan(
      stages.indexOf('training'),
    );
    const done = messages.find((m) => m.type === 'adapted')!;
    if (done.type !== 'adapted') throw new Error('unreachable');
    const { before, after, files } = done.outcome;
    // The base model cannot name the new behavior: half the held-out targets are misses.
    expect(before['weighted_recall@5']).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(after.targets).toBe(before.targets);
    // Fine-tuning teaches the new behavior: the adapted model ranks the held-out targets higher.
    expect(after['weighted_recall@1']).toBeGreaterThan(before['weighted_recall@1']);
    expect(after['weighted_recall@5']).toBeGreaterThan(before['weighted_recall@5']);
    expect(after['macro_recall@5']).toBeGreaterThanOrEqual(before['macro_recall@5']);
    const adaptedManifest = validateManifest(JSON.parse(files.manifestText));
    // A descriptive name: source, settings, the epochs run, seed, date, held-out R@5 as shown.
    expect(adaptedManifest.name).toMatch(
      new RegExp(
        `^mine · DRO lr 0\\.01 · 2 epochs \\(best [12]\\) · seed 0 · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d · held-out R@5 ${(after['weighted_recall@5'] * 100).toFixed(1)}%$`,
      ),
    );
    expect(adaptedManifest.training.base).toBe('toy');
    expect(adaptedManifest.vocabulary.behaviors.tokens).toContain('Robot:clean start');
    expect(adaptedManifest.training.valid).toBeUndefined();
    expect((adaptedManifest.training.finetune as { data: string }).data).toBe('mine.csv');
    const loaded = modelFromArtifacts(adaptedManifest, files.shards);
    expect(loaded.model.config.numBehaviors).toBe(behaviors.size + 1);
    loaded.model.dispose();
  });

  it('a cancelled run posts "cancelled" and no model', async () => {
    const base = toyLoaded(13);
    const { manifest, shards } = await serializeModel({ ...base, name: 'toy', training: {} });
    base.model.dispose();
    const controller = new AbortController();
    const messages: FromWorker[] = [];
    await runFinetune(
      buildStartMessage({
        runId: 1,
        base: { manifestText: JSON.stringify(manifest), shards: shards.map((s) => s.slice().buffer) },
        data: { name: 'x', sequences: sequences(10, 8) },
        settings: { ...TEST_SETTINGS, maxEpochs: 3, batchSize: 2 },
      }),
      (m) => {
        messages.push(m);
        if (m.type === 'progress') controller.abort();
      },
      controller.signal,
      async () => ({ name: 'wasm', reason: 'test', measuredMs: {} }),
    );
    expect(messages.at(-1)?.type).toBe('cancelled');
    expect(messages.some((m) => m.type === 'done' || m.type === 'adapted')).toBe(false);
  });

  /** A toy base model's files, as the worker receives them. */
  async function toyFiles(seed: number) {
    const base = toyLoaded(seed);
    const { manifest, shards } = await serializeModel({ ...base, name: 'toy', training: {} });
    base.model.dispose();
    return { manifestText: JSON.stringify(manifest), shards: shards.map((s) => s.slice().buffer) };
  }

  const wasm = async () => ({ name: 'wasm' as const, reason: 'test', measuredMs: {} });
  const targetsOf = (part: readonly BehaviorSequence[]) => part.reduce((n, s) => n + s.events.length - 1, 0);

  it('picks the epoch on validation only: held-out sequences are scored for before/after and nowhere else', async () => {
    // Every sequence a different length, so the number of scored targets says which sequences were scored.
    const seqs = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, events: events(3 + i, i) }));
    const request = buildStartMessage({
      runId: 2,
      base: await toyFiles(15),
      data: { name: 'lengths.csv', sequences: seqs },
      settings: { ...TEST_SETTINGS, maxEpochs: 2, batchSize: 4, seed: 3 },
    });
    const { train, validation, heldOut } = request.split;
    const held = new Set(heldOut.map((s) => s.id));
    expect(validation.length).toBeGreaterThan(0);
    expect([...train, ...validation].some((s) => held.has(s.id))).toBe(false);
    expect(targetsOf(validation)).not.toBe(targetsOf(heldOut));
    const messages: FromWorker[] = [];
    await runFinetune(request, (m) => messages.push(m), new AbortController().signal, wasm);
    expect(messages.at(-1)?.type).toBe('done');
    const epochs = messages.flatMap((m) => (m.type === 'progress' && m.progress.kind === 'epoch' ? [m.progress] : []));
    expect(epochs).toHaveLength(2);
    // Epoch selection scored exactly the validation targets...
    for (const e of epochs) expect(e.validation?.targets).toBe(targetsOf(validation));
    // ...and the before/after report exactly the held-out ones.
    const evaluated = messages.flatMap((m) => (m.type === 'evaluated' ? [m.metrics.targets] : []));
    expect(evaluated).toEqual([targetsOf(heldOut), targetsOf(heldOut)]);
    // The baselines are scored on the held-out targets too (fitted on the training part).
    const baselines = messages.find((m) => m.type === 'baselines');
    if (baselines?.type !== 'baselines') throw new Error('no baselines');
    expect(baselines.baselines['markov-2'].targets).toBe(targetsOf(heldOut));
    expect(baselines.baselines.popularity.targets).toBe(targetsOf(heldOut));
    const done = messages.find((m) => m.type === 'adapted')!;
    if (done.type !== 'adapted') throw new Error('unreachable');
    const record = validateManifest(JSON.parse(done.outcome.files.manifestText)).training.finetune as Record<
      string,
      unknown
    >;
    expect(record).toMatchObject({
      trainSequences: train.length,
      validationSequences: validation.length,
      heldOutSequences: heldOut.length,
      selection: 'validation',
    });
  });

  it('a small import has no validation part: every epoch runs, the last is kept, held-out is not used for selection', async () => {
    const seqs = Array.from({ length: 4 }, (_, i) => ({ id: `s${i}`, events: events(6 + i, i) }));
    const request = buildStartMessage({
      runId: 3,
      base: await toyFiles(17),
      data: { name: 'small.csv', sequences: seqs },
      settings: { ...TEST_SETTINGS, maxEpochs: 3, batchSize: 4 },
    });
    expect(request.split.selection).toBe('last-epoch');
    expect(request.split.validation).toEqual([]);
    const messages: FromWorker[] = [];
    await runFinetune(request, (m) => messages.push(m), new AbortController().signal, wasm);
    const done = messages.find((m) => m.type === 'adapted')!;
    if (done?.type !== 'adapted') throw new Error(`run ended with ${JSON.stringify(messages.at(-1))}`);
    expect(done.outcome.epochsRun).toBe(3);
    expect(done.outcome.bestEpoch).toBe(3);
    const epochs = messages.flatMap((m) => (m.type === 'progress' && m.progress.kind === 'epoch' ? [m.progress] : []));
    expect(epochs.every((e) => e.validation === undefined)).toBe(true);
    const prepared = messages.find((m) => m.type === 'prepared');
    expect(prepared?.type === 'prepared' && prepared.info).toMatchObject({
      trainSequences: 3,
      validationSequences: 0,
      heldOutSequences: 1,
      selection: 'last-epoch',
    });
  });

  it('the worker refuses parts that share a sequence', async () => {
    const seqs = sequences(10, 6);
    const request = buildStartMessage({
      runId: 5,
      base: await toyFiles(19),
      data: { name: 'x', sequences: seqs },
      settings: TEST_SETTINGS,
    });
    const leaky: StartMessage = {
      ...request,
      split: { ...request.split, validation: [...request.split.validation, request.split.heldOut[0]] },
    };
    const messages: FromWorker[] = [];
    await expect(runFinetune(leaky, (m) => messages.push(m), new AbortController().signal, wasm)).rejects.toThrow(
      /in both the heldOut and the validation part|in both the validation and the heldOut part/,
    );
    expect(messages).toEqual([]);
  });

  it("DRO fine-tuning takes the base model's DRO hyperparameters, keeping only known, finite ones", () => {
    const shipped = {
      objective: { name: 'dro', tau: 0.1, dro: { radius: 0.03, tailMix: 0.02, bogus: 5, emaRate: Number.NaN } },
    };
    expect(finetuneObjective('dro', shipped)).toEqual({ name: 'dro', tau: 0.1, dro: { radius: 0.03, tailMix: 0.02 } });
    expect(finetuneObjective('ce', shipped)).toEqual({ name: 'ce' });
    // A base pretrained otherwise (or an older file whose objective is a string) gets the DRO defaults.
    expect(finetuneObjective('dro', { objective: { name: 'ce' } })).toEqual({ name: 'dro' });
    expect(finetuneObjective('dro', { objective: 'dro' })).toEqual({ name: 'dro' });
    expect(finetuneObjective('dro', { objective: { name: 'dro', tau: '0.1' } })).toEqual({ name: 'dro', dro: {} });
  });

  it('matches the behavior frequencies only when the validation part agrees; otherwise the biases are left as they were', async () => {
    const only = (behavior: string, n: number, id: string): BehaviorSequence[] =>
      Array.from({ length: n }, (_, i) => ({ id: `${id}${i}`, events: events(6, i).map((e) => ({ ...e, behavior })) }));
    const train = only('Light:switch on', 6, 't');
    for (const [validation, expected] of [
      [only('Fan:switch on', 3, 'v'), false],
      [only('Light:switch on', 3, 'v'), true],
    ] as const) {
      const m = toyLoaded(21);
      const before = Array.from(await m.model.params.get('head.out.b')!.data());
      const result = await matchFrequencies(m, train, validation);
      const after = Array.from(await m.model.params.get('head.out.b')!.data());
      expect(result.matched).toBe(expected);
      const { matched, unmatched } = result.validationLoss!;
      expect(expected ? matched < unmatched : matched > unmatched).toBe(true);
      if (expected)
        expect(after[behaviors.id('Light:switch on')]).toBeGreaterThan(before[behaviors.id('Light:switch on')]);
      else expect(after).toEqual(before);
      m.model.dispose();
    }
    // Without a validation part the biases are always matched.
    const m = toyLoaded(21);
    expect(await matchFrequencies(m, train, [])).toEqual({ matched: true });
    m.model.dispose();
  });

  it('trains the head and embeddings only when asked', () => {
    expect(isTrainable('head+embeddings', 'embed.behavior')).toBe(true);
    expect(isTrainable('head+embeddings', 'target.slot')).toBe(true);
    expect(isTrainable('head+embeddings', 'head.out.w')).toBe(true);
    expect(isTrainable('head+embeddings', 'block0.attn.qkv.w')).toBe(false);
    expect(isTrainable('head+embeddings', 'lnf.gamma')).toBe(false);
    expect(isTrainable('all', 'block0.attn.qkv.w')).toBe(true);
  });
});
