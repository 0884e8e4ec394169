/**
 * `npm run generation`: continues test sequences with BehaveGPT (each sampling variant, chosen
 * on valid) and the non-neural generators, scores realism and writes the report. Node.
 */
import type { Region } from '../../core/data';
import { behaviorCounts, fitMarkov, fitTimePopularity, type Scorer } from '../../core/baselines';
import { headBehaviors } from '../../core/metrics';
import { createRng } from '../../core/random';
import {
  fitSlotDeltas,
  generateWithBaseline,
  realismMetrics,
  REALISM_METRICS,
  type Continuation,
  type DeltaModel,
} from '../../core/realism';
import { aggregateMetrics, type ResultRow } from '../../core/results';
import type { BehaviorSequence } from '../../core/events';
import { generateAll, generationCorrection } from '../../model/generate';
import type { LoadedModel } from '../../model/weights';
import { RESULTS_JSON, RESULTS_MD } from '../../node/config';
import { loadSplits } from '../../node/data';
import { formatDuration } from '../../core/format';
import { loadModelDir } from '../../node/model-files';
import { writeSection } from '../../node/report-sections';
import { writeResultRows } from '../../node/results-file';
import {
  BOOTSTRAP_RESAMPLES,
  continuations,
  MARKOV,
  POPULARITY,
  REFERENCE,
  samplingVariants,
  testSeed,
  validSeed,
  type GenerationSetup,
  type Sampling,
} from './plan';
import { generationMarkdown, jsdMargins, deltaScore, TASK, type TimeHeadFigures } from './report';
import { chooseVariant, testVariants, validScore } from './select';

export interface GenerationOptions {
  setup: GenerationSetup;
  modelDir: string;
  dataDir: string;
  commit: string;
  log: (line: string) => void;
}

/** A generator continues a prefix with as many events as the real continuation has, for a seed. */
interface Generator {
  name: string;
  continue: (c: Continuation, seed: number) => Promise<Continuation>;
  sampling?: Sampling;
}

/** BehaveGPT with a sampling variant (the correction the model ships, if corrected). */
function behaveGPT(loaded: LoadedModel, name: string, sampling: Sampling): Generator {
  const correction = sampling.corrected ? generationCorrection(loaded.manifest) : undefined;
  const { temperature, topP } = sampling;
  return {
    name,
    sampling,
    continue: async (c, seed) => ({
      prefix: c.prefix,
      events: await generateAll(loaded, {
        prefix: c.prefix,
        maxEvents: c.events.length,
        seed,
        sampling: { temperature, topP },
        behaviorLogCorrection: correction,
      }),
    }),
  };
}

/** Every continuation of `real`, generated with seeds seed(i). */
async function generate(
  g: Generator,
  real: readonly Continuation[],
  seed: (i: number) => number,
): Promise<Continuation[]> {
  const generated: Continuation[] = [];
  for (const [i, c] of real.entries()) generated.push(await g.continue(c, seed(i)));
  return generated;
}

export async function runGeneration(o: GenerationOptions): Promise<void> {
  const { setup, log } = o;
  const { train, valid, test } = loadSplits(setup.dataset as Region, o.dataDir);
  const loaded = loadModelDir(o.modelDir);
  const head = headBehaviors(behaviorCounts(train));
  const real = continuations(test, setup);
  const totalEvents = real.reduce((n, c) => n + c.events.length, 0);
  log(
    `${real.length} test sequences, prefix ${setup.prefixLength}, ${totalEvents} events to generate per generator and seed`,
  );

  const variants = samplingVariants(loaded.manifest.name, generationCorrection(loaded.manifest) !== undefined).map(
    (v) => behaveGPT(loaded, v.name, v.sampling),
  );
  const scores = new Map<string, number>();
  const validReal = continuations(valid, setup);
  for (const v of variants) {
    scores.set(v.name, validScore(realismMetrics(await generate(v, validReal, validSeed), validReal, head)));
    log(`valid selection score of ${v.name}: ${scores.get(v.name)!.toFixed(5)}`);
  }
  const chosen = chooseVariant(variants, scores);
  log(`chosen on valid: ${chosen.name}`);

  // Slot deltas fitted on train: the non-neural generators' clocks, and baselines for the time head.
  const deltas = { global: fitSlotDeltas(train, 'none'), previousBehavior: fitSlotDeltas(train, 'previous-behavior') };
  const generators = [...testVariants(variants, chosen), ...baselineGenerators(train, loaded, deltas)];
  const rows: ResultRow[] = [];
  const timings: Record<string, number> = {};
  /** The chosen BehaveGPT sampler's and the Markov generator's continuations, per seed: the bootstrap resamples them. */
  const kept = new Map<string, Continuation[][]>();
  for (const g of generators) {
    const perSeed: Record<string, number>[] = [];
    const t0 = performance.now();
    for (const seed of setup.seeds) {
      const generated = await generate(g, real, (i) => testSeed(seed, i));
      perSeed.push(realismMetrics(generated, real, head));
      if (g === chosen || g.name === MARKOV) kept.set(g.name, [...(kept.get(g.name) ?? []), generated]);
    }
    timings[g.name] = (performance.now() - t0) / 1000 / setup.seeds.length;
    const { metrics, std } = aggregateMetrics(perSeed, REALISM_METRICS);
    const row = {
      task: TASK,
      dataset: setup.dataset,
      model: g.name,
      seeds: setup.seeds.length,
      prefix: setup.prefixLength,
      sequences: real.length,
    };
    rows.push({
      ...row,
      events: totalEvents,
      metrics,
      std,
      ...(g.sampling ? { sampling: g.sampling } : {}),
      ...(g === chosen ? { chosenOnValid: true } : {}),
    });
    log(
      `${g.name}: ${REALISM_METRICS.map((k) => `${k} ${metrics[k].toFixed(4)}`).join(', ')} (${formatDuration(timings[g.name])} per seed)`,
    );
  }
  const tb = performance.now();
  const margins = jsdMargins(real, kept.get(chosen.name)!, kept.get(MARKOV)!);
  log(
    `bootstrap of the target JSDs (${BOOTSTRAP_RESAMPLES} resamples of the test sequences) in ${formatDuration((performance.now() - tb) / 1000)}`,
  );
  const reference = realismMetrics(real, real, head);
  rows.push({
    task: TASK,
    dataset: setup.dataset,
    model: REFERENCE,
    seeds: 0,
    prefix: setup.prefixLength,
    sequences: real.length,
    events: totalEvents,
    metrics: reference,
  });
  if (setup.limit !== undefined) return;

  const deltaBaselines = {
    'all training deltas': deltaScore(test, deltas.global),
    'deltas given the previous behavior': deltaScore(test, deltas.previousBehavior),
  };
  const timeHead = (loaded.manifest.training?.time as { test?: TimeHeadFigures } | undefined)?.test;
  writeResultRows({ [TASK]: rows });
  const markdown = generationMarkdown({
    setup,
    modelDir: o.modelDir,
    rows,
    scores,
    chosen: chosen.name,
    margins,
    sequences: real.length,
    events: totalEvents,
    timeHead,
    deltaBaselines,
    timings,
    date: new Date(),
    commit: o.commit,
  });
  writeSection(RESULTS_MD, TASK, markdown);
  log(`wrote the ${TASK} rows of ${RESULTS_JSON} and its section of ${RESULTS_MD}`);
}

/** The Markov-2 generator and the context-popularity sampler, fitted on train. */
function baselineGenerators(
  train: readonly BehaviorSequence[],
  loaded: LoadedModel,
  deltas: { global: DeltaModel; previousBehavior: DeltaModel },
): Generator[] {
  const events = (scorer: Scorer, clock: DeltaModel) => async (c: Continuation, seed: number) => ({
    prefix: c.prefix,
    events: generateWithBaseline(scorer, clock, loaded.behaviors, c.prefix, c.events.length, createRng(seed)),
  });
  return [
    { name: MARKOV, continue: events(fitMarkov(train, loaded.behaviors, 2), deltas.previousBehavior) },
    { name: POPULARITY, continue: events(fitTimePopularity(train, loaded.behaviors), deltas.global) },
  ];
}
