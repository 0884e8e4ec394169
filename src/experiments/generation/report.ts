/**
 * The generation report: the "generation" rows of docs/results.json and its section of
 * docs/RESULTS.md, plus the pure analyses behind them (slot-delta baselines, bootstrap of the
 * target JSDs). Pure.
 */
import { bootstrapIntervals, type BootstrapInterval } from '../../core/bootstrap';
import type { BehaviorEvent, BehaviorSequence } from '../../core/events';
import {
  poolCounts,
  REALISM_METRICS,
  realismCounts,
  TARGET_JSDS,
  targetDivergences,
  type Continuation,
  type RealismCounts,
} from '../../core/realism';
import type { ResultRow } from '../../core/results';
import { slotDelta } from '../../core/time';
import { day, markdownTable } from '../format';
import { BOOTSTRAP_RESAMPLES, MARKOV, TEMPERATURES, TOP_P, type GenerationSetup } from './plan';

export const TASK = 'generation';
type TargetJsd = (typeof TARGET_JSDS)[number];

/** Cross-entropy (nats) and top-1 accuracy of a slot-delta model on every consecutive pair of events. */
export function deltaScore(
  sequences: readonly BehaviorSequence[],
  model: (history: readonly BehaviorEvent[]) => Float64Array,
): { loss: number; accuracy: number } {
  let nll = 0;
  let hits = 0;
  let n = 0;
  for (const { events } of sequences) {
    for (let t = 1; t < events.length; t++) {
      const p = model(events.slice(t - 1, t));
      const d = slotDelta(events[t - 1], events[t]);
      nll -= Math.log(Math.max(p[d], 1e-12));
      hits += p.indexOf(Math.max(...p)) === d ? 1 : 0;
      n++;
    }
  }
  return { loss: nll / n, accuracy: hits / n };
}

/**
 * How much the one test split can say about the target: the test sequences are resampled with
 * replacement (the same draw for both generators and every seed) and the seed-mean JSDs
 * recomputed; per target JSD, the interval of Markov's minus BehaveGPT's (positive: BehaveGPT
 * lower). Counts are tabled per sequence once, so a resample is a sum of tables.
 */
export function jsdMargins(
  real: readonly Continuation[],
  model: readonly Continuation[][],
  markov: readonly Continuation[][],
): Record<TargetJsd, BootstrapInterval> {
  const perSequence = (continuations: readonly Continuation[]) => continuations.map((c) => realismCounts([c]));
  const realTables = perSequence(real);
  const [modelTables, markovTables] = [model.map(perSequence), markov.map(perSequence)];
  return bootstrapIntervals(
    real.length,
    (draw) => {
      const pooled = (tables: RealismCounts[]) => poolCounts(Array.from(draw, (i) => tables[i]));
      const realPooled = pooled(realTables);
      const meanJsds = (runs: RealismCounts[][]) => {
        const perSeed = runs.map((run) => targetDivergences(pooled(run), realPooled));
        return Object.fromEntries(
          TARGET_JSDS.map((k) => [k, perSeed.reduce((sum, m) => sum + m[k], 0) / perSeed.length]),
        );
      };
      const [modelJsds, markovJsds] = [meanJsds(modelTables), meanJsds(markovTables)];
      return Object.fromEntries(TARGET_JSDS.map((k) => [k, markovJsds[k] - modelJsds[k]])) as Record<TargetJsd, number>;
    },
    { resamples: BOOTSTRAP_RESAMPLES, seed: 0, threshold: 0 },
  );
}

/** The model's time head on test, as the manifest records it (models without one: undefined). */
export interface TimeHeadFigures {
  accuracy: number;
  slotAccuracy: number;
  sameSlotShare: number;
  loss: number;
}

export interface GenerationReportInput {
  setup: GenerationSetup;
  modelDir: string;
  /** Every generator's row on test, then the real continuations' (the reference). */
  rows: readonly ResultRow[];
  /** Valid selection scores per variant, in the order tried, and the name of the one chosen. */
  scores: ReadonlyMap<string, number>;
  chosen: string;
  margins: Record<TargetJsd, BootstrapInterval>;
  sequences: number;
  events: number;
  timeHead?: TimeHeadFigures;
  deltaBaselines: Record<string, { loss: number; accuracy: number }>;
  /** Seconds per seed of each generator. */
  timings: Record<string, number>;
  date: Date;
  commit: string;
}

/** "0.0123 ± 0.0004" (no ± without a std). */
const withStd = (r: ResultRow, k: string) =>
  `${r.metrics[k].toFixed(4)}${r.std?.[k] !== undefined ? ` ± ${r.std[k].toFixed(4)}` : ''}`;

/** Per target JSD: BehaveGPT (the variant chosen) below the Markov generator, with the seed noise and the bootstrap interval. */
export function targetChecks(input: Pick<GenerationReportInput, 'rows' | 'chosen' | 'margins'>): string[] {
  const model = input.rows.find((r) => r.model === input.chosen)!;
  const markov = input.rows.find((r) => r.model === MARKOV)!;
  return TARGET_JSDS.map((k) => {
    const gap = markov.metrics[k] - model.metrics[k];
    const noise = Math.max(model.std?.[k] ?? 0, markov.std?.[k] ?? 0);
    const m = input.margins[k];
    const within =
      gap > 0 && gap < noise
        ? ` — but the gap (${gap.toFixed(4)}) is within one seed standard deviation (${noise.toFixed(4)})`
        : '';
    const spread =
      `Markov − BehaveGPT over resampled test sequences: ${m.level * 100}% interval ${m.low.toFixed(4)} … ${m.high.toFixed(4)},` +
      ` median ${m.median.toFixed(4)}, BehaveGPT at most Markov in ${((m.shareAtLeast ?? 0) * 100).toFixed(1)}% of resamples`;
    const verdict = gap > 0 ? 'met (lower)' : '**MISSED**';
    return `- ${k}: BehaveGPT ${model.metrics[k].toFixed(4)} vs Markov ${markov.metrics[k].toFixed(4)} → ${verdict}${within} (${spread})`;
  });
}

/** The generation section of docs/RESULTS.md. */
export function generationMarkdown(input: GenerationReportInput): string {
  const table = markdownTable(
    ['generator', ...REALISM_METRICS],
    input.rows.map((r) => [r.model, ...REALISM_METRICS.map((k) => withStd(r, k))]),
  );
  const speed = Object.entries(input.timings).map(([k, v]) => `${k} ${(input.events / v).toFixed(0)} events/s`);
  return [
    `## Long-term generation (${input.setup.dataset.toUpperCase()} test)`,
    design(input),
    generators(input),
    table,
    [
      `Target (model JSDs below the Markov generator's on behaviors, transitions and time). The intervals: the ${input.sequences} test sequences`,
      `resampled ${BOOTSTRAP_RESAMPLES} times with replacement (paired: the same draw for both generators and all seeds), seed-mean JSDs recomputed;`,
      'a resample repeats sequences, which biases JSDs, so read an interval as the spread the split allows rather than as an exact test.',
      ...targetChecks(input),
      `${input.timeHead ? `\n${timeHead(input.timeHead, input.deltaBaselines)}\n` : ''}`,
      `Generation speed: ${speed.join('; ')} (Node, wasm, this run; the benchmark command measures rollouts properly).`,
    ].join('\n'),
  ].join('\n\n');
}

function design({ setup, modelDir, sequences, events, date, commit }: GenerationReportInput): string {
  const prefix = setup.prefixLength;
  return [
    `Generated by \`npm run generation\` on ${day(date)}, commit \`${commit}\`, model \`${modelDir}\`. For each of the`,
    `${sequences} test sequences longer than ${prefix} events, the first ${prefix} events are the prefix and each generator continues them with as many`,
    `events as the real sequence has left (${events} events per generator and seed); times come from each generator too. Mean ± std over`,
    `${setup.seeds.length} sampling seeds. Jensen–Shannon divergences in bits between the pooled generated and real continuations (lower is better);`,
    'distinct-n = distinct behavior n-grams / all n-grams inside continuations; tail share = share of events whose behavior is outside',
    'the head (most frequent training behaviors covering 80% of training events). The last row is the real data itself: its distinct-n',
    'and tail share are what a realistic generator should approach. Design: docs/GENERATION.md.',
  ].join('\n');
}

function generators({ scores, chosen }: GenerationReportInput): string {
  return [
    '- BehaveGPT: the time head samples the slot delta to the next event, then the behavior head samples the behavior at that time',
    '  (the time delta at the same temperature, as in the app), key/value cache on. "Raw" samples the model\'s distribution; "corrected" first',
    '  adds the shipped per-behavior log correction (fitted on train: empirical frequency over mean predicted probability), which',
    `  undoes on average the DRO objective's up-weighting of rare behaviors; T is the sampling temperature (${TEMPERATURES.join(', ')}),` +
      ` top-p the nucleus (${TOP_P.join(', ')}); test rows for raw, corrected T 1 and the variant chosen on valid.`,
    '  Chosen on valid (mean of the three target JSDs, one seed):',
    `  ${[...scores].map(([k, v]) => `${k} ${v.toFixed(5)}`).join('; ')} → **${chosen}**; the app samples this way too.`,
    '- Markov-2 generator: behavior from the second-order Markov chain of the prediction baselines (interpolated backoff), slot delta',
    '  from the training deltas given the previous behavior (backoff to all deltas).',
    '- Context-popularity sampler: slot delta from all training deltas, behavior from the popularity at the new weekday × slot.',
  ].join('\n');
}

function timeHead(t: TimeHeadFigures, deltaBaselines: GenerationReportInput['deltaBaselines']): string {
  const baselines = Object.entries(deltaBaselines).map(
    ([k, v]) => `${k} ${v.loss.toFixed(3)} nats, top-1 ${(v.accuracy * 100).toFixed(2)}%`,
  );
  return [
    "Time head of the model on test (next event's slot delta, equivalently its weekday × slot; 56 classes):",
    `top-1 accuracy ${(t.accuracy * 100).toFixed(2)}%, slot-of-day accuracy ${(t.slotAccuracy * 100).toFixed(2)}%,`,
    `cross-entropy ${t.loss.toFixed(3)} nats (uniform: ${Math.log(56).toFixed(3)}).`,
    `${(t.sameSlotShare * 100).toFixed(2)}% of next events fall in the same weekday and slot as the previous one, the most frequent delta,`,
    'so top-1 accuracy can hardly beat "same slot again"; the head\'s value is its distribution.',
    `Non-neural delta models on the same pairs: ${baselines.join('; ')}.`,
  ].join(' ');
}
