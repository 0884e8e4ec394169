/**
 * Realism of generated trajectories: for every test sequence longer than the prefix, continue
 * its first `--prefix` events with as many generated events as the real sequence has left, by
 * BehaveGPT (the shipped model, sampled at temperature 1 without filtering) and by two
 * non-neural generators; compare the pooled continuations with the real ones (core/realism.ts).
 * Writes the "generation" rows of docs/results.json and its section of docs/RESULTS.md.
 *
 *   npm run generation [-- --model public/models/behavegpt-us --prefix 5 --seeds 3]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Region } from '../core/data';
import { fitMarkov, fitTimePopularity, behaviorCounts } from '../core/baselines';
import { headBehaviors } from '../core/metrics';
import { createRng } from '../core/random';
import { slotDelta } from '../core/time';
import type { BehaviorEvent } from '../core/events';
import { fitSlotDeltas, generateWithBaseline, poolCounts, realismCounts, realismMetrics, REALISM_METRICS, TARGET_JSDS, targetDivergences, type Continuation, type RealismCounts } from '../core/realism';
import { aggregateMetrics, mergeRows, parseResults, type ResultRow } from '../core/results';
import { bootstrapIntervals, type BootstrapInterval } from '../core/bootstrap';
import { generateAll, generationCorrection } from '../model/generate';
import { DEFAULT_DATA_DIR, loadSplits } from '../node/data';
import { loadModelDir, SHIPPED_MODEL_DIR } from '../node/model-files';
import { writeSection } from '../node/report-sections';
import { initNodeBackend } from '../node/tf';
import { formatDuration, gitCommit, numberFlag, parseFlags } from './args';

const USAGE = `Usage: npm run generation -- [--model DIR] [--dataset us] [--prefix N] [--seeds N] [--limit N] [--data DIR]
  --limit N   only the first N eligible test sequences (quick checks; the report uses all)`;
const flags = parseFlags(
  { model: { type: 'string' }, dataset: { type: 'string' }, prefix: { type: 'string' }, seeds: { type: 'string' }, limit: { type: 'string' }, data: { type: 'string' } },
  USAGE,
);
const modelDir = flags.model ?? SHIPPED_MODEL_DIR;
const dataset = (flags.dataset ?? 'us') as Region;
const prefixLength = numberFlag(flags.prefix, 'prefix', 5);
const seeds = Array.from({ length: numberFlag(flags.seeds, 'seeds', 3) }, (_, i) => i);
const TEMPERATURES = [1, 0.9, 0.8];
const TOP_P = [1, 0.95, 0.9];
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

await initNodeBackend('wasm');
const { train, valid, test } = loadSplits(dataset, flags.data ?? DEFAULT_DATA_DIR);
const loaded = loadModelDir(modelDir);
const head = headBehaviors(behaviorCounts(train));
const continuations = (split: typeof test): Continuation[] => {
  let eligible = split.filter((s) => s.events.length > prefixLength);
  if (flags.limit) eligible = eligible.slice(0, numberFlag(flags.limit, 'limit', eligible.length));
  return eligible.map((s) => ({ prefix: s.events.slice(0, prefixLength), events: s.events.slice(prefixLength) }));
};
const real = continuations(test);
const totalEvents = real.reduce((n, c) => n + c.events.length, 0);
log(`${real.length} test sequences, prefix ${prefixLength}, ${totalEvents} events to generate per generator and seed`);

const markov = fitMarkov(train, loaded.behaviors, 2);
const markovDeltas = fitSlotDeltas(train, 'previous-behavior');
const popularity = fitTimePopularity(train, loaded.behaviors);
const globalDeltas = fitSlotDeltas(train, 'none');

type Generator = { name: string; continue: (c: Continuation, seed: number) => Promise<Continuation>; sampling?: { corrected: boolean; temperature: number; topP: number } };
const shippedCorrection = generationCorrection(loaded.manifest);
const behaveGPT = (correction: Record<string, number> | undefined, temperature: number, topP: number): Generator['continue'] => async (c, seed) => ({
  prefix: c.prefix,
  events: await generateAll(loaded, { prefix: c.prefix, maxEvents: c.events.length, seed, sampling: { temperature, topP }, behaviorLogCorrection: correction }),
});
/** Sampling variants chosen among on valid: raw, or corrected at a few temperatures and top-p values. */
const variants: Generator[] = [{ name: `BehaveGPT (${loaded.manifest.name}), raw, T 1`, continue: behaveGPT(undefined, 1, 1), sampling: { corrected: false, temperature: 1, topP: 1 } }];
if (shippedCorrection)
  for (const t of TEMPERATURES)
    for (const p of TOP_P)
      variants.push({ name: `BehaveGPT (${loaded.manifest.name}), corrected, T ${t}${p < 1 ? `, top-p ${p}` : ''}`, continue: behaveGPT(shippedCorrection, t, p), sampling: { corrected: true, temperature: t, topP: p } });

/** Mean of the three target divergences (behaviors, transitions, time) on the valid split, one seed: the selection score. */
async function validScore(g: Generator): Promise<number> {
  const validReal = continuations(valid);
  const generated: Continuation[] = [];
  for (const [i, c] of validReal.entries()) generated.push(await g.continue(c, 7_000_003 + i));
  const m = realismMetrics(generated, validReal, head);
  return (m.jsd_behavior + m.jsd_transition + m.jsd_time) / 3;
}
const scores = new Map<string, number>();
for (const v of variants) {
  scores.set(v.name, await validScore(v));
  log(`valid selection score of ${v.name}: ${scores.get(v.name)!.toFixed(5)}`);
}
const chosen = variants.reduce((a, b) => (scores.get(b.name)! < scores.get(a.name)! ? b : a));
log(`chosen on valid: ${chosen.name}`);

// On test: the raw and plain corrected samplers for reference, and the one chosen on valid.
const MARKOV = 'Markov-2 generator';
const generators: Generator[] = [
  ...variants.filter((v, i) => i <= 1 || v === chosen),
  {
    name: MARKOV,
    continue: async (c, seed) => ({ prefix: c.prefix, events: generateWithBaseline(markov, markovDeltas, loaded.behaviors, c.prefix, c.events.length, createRng(seed)) }),
  },
  {
    name: 'Context-popularity sampler',
    continue: async (c, seed) => ({ prefix: c.prefix, events: generateWithBaseline(popularity, globalDeltas, loaded.behaviors, c.prefix, c.events.length, createRng(seed)) }),
  },
];

/** Cross-entropy (nats) and top-1 accuracy of a slot-delta model on every consecutive pair of test events. */
function deltaScore(model: (history: readonly BehaviorEvent[]) => Float64Array): { loss: number; accuracy: number } {
  let nll = 0;
  let hits = 0;
  let n = 0;
  for (const { events } of test) {
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
const deltaBaselines = { 'all training deltas': deltaScore(globalDeltas), 'deltas given the previous behavior': deltaScore(markovDeltas) };

const rows: ResultRow[] = [];
const timings: Record<string, number> = {};
/** The chosen BehaveGPT sampler's and the Markov generator's continuations, per seed: the bootstrap resamples them. */
const kept = new Map<string, Continuation[][]>();
for (const g of generators) {
  const perSeed: Record<string, number>[] = [];
  const t0 = performance.now();
  for (const seed of seeds) {
    const generated: Continuation[] = [];
    for (const [i, c] of real.entries()) generated.push(await g.continue(c, seed * 1_000_003 + i));
    perSeed.push(realismMetrics(generated, real, head));
    if (g === chosen || g.name === MARKOV) kept.set(g.name, [...(kept.get(g.name) ?? []), generated]);
  }
  timings[g.name] = (performance.now() - t0) / 1000 / seeds.length;
  const { metrics, std } = aggregateMetrics(perSeed, REALISM_METRICS);
  rows.push({ task: 'generation', dataset, model: g.name, seeds: seeds.length, prefix: prefixLength, sequences: real.length, events: totalEvents, metrics, std, ...(g.sampling ? { sampling: g.sampling } : {}), ...(g === chosen ? { chosenOnValid: true } : {}) });
  log(`${g.name}: ${REALISM_METRICS.map((k) => `${k} ${metrics[k].toFixed(4)}`).join(', ')} (${formatDuration(timings[g.name])} per seed)`);
}
/**
 * How much the one test split can say about the target: the test sequences are resampled with
 * replacement (the same draw for both generators and every seed) and the seed-mean JSDs
 * recomputed; per target JSD, the interval of Markov's minus BehaveGPT's (positive: BehaveGPT lower).
 * Counts are tabled per sequence once, so a resample is a sum of tables.
 */
const BOOTSTRAP_RESAMPLES = 1000;
const tb = performance.now();
const perSequence = (continuations: readonly Continuation[]) => continuations.map((c) => realismCounts([c]));
const realTables = perSequence(real);
const [modelTables, markovTables] = [kept.get(chosen.name)!.map(perSequence), kept.get(MARKOV)!.map(perSequence)];
const margins = bootstrapIntervals(
  real.length,
  (draw) => {
    const pooled = (tables: RealismCounts[]) => poolCounts(Array.from(draw, (i) => tables[i]));
    const realPooled = pooled(realTables);
    const meanJsds = (runs: RealismCounts[][]) => {
      const perSeed = runs.map((run) => targetDivergences(pooled(run), realPooled));
      return Object.fromEntries(TARGET_JSDS.map((k) => [k, perSeed.reduce((sum, m) => sum + m[k], 0) / perSeed.length]));
    };
    const [model, markovJsds] = [meanJsds(modelTables), meanJsds(markovTables)];
    return Object.fromEntries(TARGET_JSDS.map((k) => [k, markovJsds[k] - model[k]])) as Record<(typeof TARGET_JSDS)[number], number>;
  },
  { resamples: BOOTSTRAP_RESAMPLES, seed: 0, threshold: 0 },
);
log(`bootstrap of the target JSDs (${BOOTSTRAP_RESAMPLES} resamples of the test sequences) in ${formatDuration((performance.now() - tb) / 1000)}`);

const reference = realismMetrics(real, real, head);
rows.push({ task: 'generation', dataset, model: 'Real continuations (reference)', seeds: 0, prefix: prefixLength, sequences: real.length, events: totalEvents, metrics: reference });

if (!flags.limit) {
  const resultsPath = 'docs/results.json';
  const existing = existsSync(resultsPath) ? parseResults(JSON.parse(readFileSync(resultsPath, 'utf8')), resultsPath) : [];
  writeFileSync(resultsPath, JSON.stringify(mergeRows(existing, 'generation', rows), null, 1) + '\n');
  writeSection('docs/RESULTS.md', 'generation', markdown());
  log('wrote the generation rows of docs/results.json and its section of docs/RESULTS.md');
}

function markdown(): string {
  const model = rows.find((r) => r.model === chosen.name)!;
  const fmt = (r: ResultRow, k: string) => `${r.metrics[k].toFixed(4)}${r.std?.[k] !== undefined ? ` ± ${r.std[k].toFixed(4)}` : ''}`;
  const table = rows.map((r) => `| ${r.model} | ${REALISM_METRICS.map((k) => fmt(r, k)).join(' | ')} |`).join('\n');
  const markovRow = rows.find((r) => r.model === MARKOV)!;
  const spread = (m: BootstrapInterval) =>
    `Markov − BehaveGPT over resampled test sequences: ${m.level * 100}% interval ${m.low.toFixed(4)} … ${m.high.toFixed(4)}, median ${m.median.toFixed(4)}, BehaveGPT at most Markov in ${((m.shareAtLeast ?? 0) * 100).toFixed(1)}% of resamples`;
  const checks = TARGET_JSDS.map((k) => {
    const gap = markovRow.metrics[k] - model.metrics[k];
    const noise = Math.max(model.std?.[k] ?? 0, markovRow.std?.[k] ?? 0);
    return `- ${k}: BehaveGPT ${model.metrics[k].toFixed(4)} vs Markov ${markovRow.metrics[k].toFixed(4)} → ${gap > 0 ? 'met (lower)' : '**MISSED**'}${gap > 0 && gap < noise ? ` — but the gap (${gap.toFixed(4)}) is within one seed standard deviation (${noise.toFixed(4)})` : ''} (${spread(margins[k])})`;
  });
  const time = loaded.manifest.training?.time as { test?: { accuracy: number; slotAccuracy: number; sameSlotShare: number; loss: number } } | undefined;
  return `## Long-term generation (${dataset.toUpperCase()} test)

Generated by \`npm run generation\` on ${new Date().toISOString().slice(0, 10)}, commit \`${gitCommit()}\`, model \`${modelDir}\`. For each of the
${real.length} test sequences longer than ${prefixLength} events, the first ${prefixLength} events are the prefix and each generator continues them with as many
events as the real sequence has left (${totalEvents} events per generator and seed); times come from each generator too. Mean ± std over
${seeds.length} sampling seeds. Jensen–Shannon divergences in bits between the pooled generated and real continuations (lower is better);
distinct-n = distinct behavior n-grams / all n-grams inside continuations; tail share = share of events whose behavior is outside
the head (most frequent training behaviors covering 80% of training events). The last row is the real data itself: its distinct-n
and tail share are what a realistic generator should approach. Design: docs/GENERATION.md.

- BehaveGPT: the time head samples the slot delta to the next event, then the behavior head samples the behavior at that time
  (the time delta at the same temperature, as in the app), key/value cache on. "Raw" samples the model's distribution; "corrected" first
  adds the shipped per-behavior log correction (fitted on train: empirical frequency over mean predicted probability), which
  undoes on average the DRO objective's up-weighting of rare behaviors; T is the sampling temperature (${TEMPERATURES.join(', ')}), top-p the nucleus (${TOP_P.join(', ')}); test rows for raw, corrected T 1 and the variant chosen on valid.
  Chosen on valid (mean of the three target JSDs, one seed):
  ${[...scores].map(([k, v]) => `${k} ${v.toFixed(5)}`).join('; ')} → **${chosen.name}**; the app samples this way too.
- Markov-2 generator: behavior from the second-order Markov chain of the prediction baselines (interpolated backoff), slot delta
  from the training deltas given the previous behavior (backoff to all deltas).
- Context-popularity sampler: slot delta from all training deltas, behavior from the popularity at the new weekday × slot.

| generator | ${REALISM_METRICS.join(' | ')} |
|---|${REALISM_METRICS.map(() => '---').join('|')}|
${table}

Target (model JSDs below the Markov generator's on behaviors, transitions and time). The intervals: the ${real.length} test sequences
resampled ${BOOTSTRAP_RESAMPLES} times with replacement (paired: the same draw for both generators and all seeds), seed-mean JSDs recomputed;
a resample repeats sequences, which biases JSDs, so read an interval as the spread the split allows rather than as an exact test.
${checks.join('\n')}
${time?.test ? `\nTime head of the model on test (next event's slot delta, equivalently its weekday × slot; 56 classes): top-1 accuracy ${(time.test.accuracy * 100).toFixed(2)}%, slot-of-day accuracy ${(time.test.slotAccuracy * 100).toFixed(2)}%, cross-entropy ${time.test.loss.toFixed(3)} nats (uniform: ${Math.log(56).toFixed(3)}). ${(time.test.sameSlotShare * 100).toFixed(2)}% of next events fall in the same weekday and slot as the previous one, the most frequent delta, so top-1 accuracy can hardly beat "same slot again"; the head's value is its distribution. Non-neural delta models on the same pairs: ${Object.entries(deltaBaselines).map(([k, v]) => `${k} ${v.loss.toFixed(3)} nats, top-1 ${(v.accuracy * 100).toFixed(2)}%`).join('; ')}.\n` : ''}
Generation speed: ${Object.entries(timings).map(([k, v]) => `${k} ${(totalEvents / v).toFixed(0)} events/s`).join('; ')} (Node, wasm, this run; the benchmark command measures rollouts properly).`;
}
