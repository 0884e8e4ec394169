/**
 * Regenerates the next-behavior evaluation: baselines, BehaveGPT with each objective, the
 * context-free ablation, on US and Spain, 3 seeds; writes docs/RESULTS.md and docs/results.json.
 * Resumable: finished runs (results/runs/*.json) are skipped.
 *
 *   npm run experiments                       # everything, in order (hours on 2 cores)
 *   npm run experiments -- --phase tune --shard 0/2 & npm run experiments -- --phase tune --shard 1/2
 *   npm run experiments -- --phase main --shard 0/2 & npm run experiments -- --phase main --shard 1/2
 *   npm run experiments -- --phase report
 *   npm run experiments -- --phase time-head --shard 0/2 & npm run experiments -- --phase time-head --shard 1/2
 *   npm run experiments -- --phase ship      # best US DRO run, with its time head → the app's model
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { isRefresh } from '../core/events';
import type { Region } from '../core/data';
import { behaviorCounts, fitMarkov, fitPopularity, fitTimePopularity, type Scorer } from '../core/baselines';
import { fullMetrics, rankTargets } from '../core/evaluation';
import { headBehaviors, type MetricSet } from '../core/metrics';
import { aggregateMetrics, mergeRows, parseResults, RESULT_METRICS, type ResultRow } from '../core/results';
import { buildVocabularies, SHIPPED_SIZE, SIZES, sizeOverrides } from '../train/recipe';
import { DEFAULT_CONFIG } from '../model/behavegpt';
import type { ObjectiveSpec } from '../train/losses';
import { DEFAULT_DATA_DIR, loadSplits } from '../node/data';
import { initNodeBackend } from '../node/tf';
import { runId, runOne, readRecord, type DatasetSplits, type RunRecord, type RunSpec } from '../node/experiments';
import { loadModelDir, saveModelDir, SHIPPED_MODEL_DIR } from '../node/model-files';
import { formatDuration, gitCommit, parseFlags } from './args';
import { markedSections } from '../node/report-sections';
import { fitGenerationCorrection } from '../train/calibration';
import { join } from 'node:path';

const USAGE = `Usage: npm run experiments -- [--phase all|tune|main|report|time-head|ship] [--shard I/N] [--datasets us,sp] [--seeds N]
  --size NAME     the scaling size (${Object.keys(SIZES).join(', ')}) of every neural run (default ${SHIPPED_SIZE}, the shipped architecture; m = DEFAULT_CONFIG)
  --records DIR   run records (default results/runs)     --models DIR   weights (default runs/models)`;
const flags = parseFlags(
  {
    phase: { type: 'string' },
    shard: { type: 'string' },
    datasets: { type: 'string' },
    seeds: { type: 'string' },
    records: { type: 'string' },
    models: { type: 'string' },
    data: { type: 'string' },
    size: { type: 'string' },
  },
  USAGE,
);
const phase = flags.phase ?? 'all';
const [shardIndex, shardCount] = (flags.shard ?? '0/1').split('/').map(Number);
const datasets = (flags.datasets ?? 'us,sp').split(',') as Region[];
const SEEDS = Array.from({ length: Number(flags.seeds ?? 3) }, (_, i) => i);
const RECORDS = flags.records ?? 'results/runs';
const MODELS = flags.models ?? 'runs/models';
const TUNE_DATASET: Region = 'us';
const commit = gitCommit();
const sizeName = flags.size ?? SHIPPED_SIZE;
const overrides = sizeOverrides(sizeName);
/** Architecture overrides of every neural run (none for "m": DEFAULT_CONFIG, whose records carry no config). */
const SIZE = Object.keys(overrides).length ? { config: overrides } : {};

/** Hyperparameter candidates per long-tail objective, chosen on US valid (seed 0). */
const CANDIDATES: Record<'dro' | 'logit-adjusted' | 'class-balanced', ObjectiveSpec[]> = {
  dro: [
    { name: 'dro', dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', dro: { radius: 0.1, tailMix: 0 } },
    { name: 'dro', dro: { radius: 0.1, tailMix: 0.05 } },
    // A small cap on q/p intersects the KL ball with a CVaR-type set: many tail classes move a little.
    { name: 'dro', dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', dro: { radius: 0.3, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', dro: { radius: 1, tailMix: 0.1, maxWeight: 2 } },
    // A larger tail mix moves the centre of the ball towards balanced classes (more room for the tail).
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.3, maxWeight: 10 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.6, maxWeight: 10 } },
    // The ball centred on the class-balanced (effective-number) distribution: radius 0 would be class-balanced CE.
    { name: 'dro', dro: { radius: 0.02, tailMix: 0, priorBeta: 0.99 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.99 } },
    // Tried at scaling size s: smaller radii and tail mixes, other class-balanced centres.
    { name: 'dro', dro: { radius: 0.02, tailMix: 0.05 } },
    { name: 'dro', dro: { radius: 0.03, tailMix: 0.05 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0.02 } },
    { name: 'dro', dro: { radius: 0.03, tailMix: 0, priorBeta: 0.99 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.9 } },
    { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.95 } },
    // The worst case over logit-adjusted class losses: the margin of Menon et al. plus the DRO tilt.
    { name: 'dro', tau: 0.1, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.05, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.1, tailMix: 0.05, maxWeight: 3 } },
    { name: 'dro', tau: 0.25, dro: { radius: 0.02, tailMix: 0 } },
    { name: 'dro', tau: 0.05, dro: { radius: 0.03, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.02, tailMix: 0.02 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.02, tailMix: 0 } },
    { name: 'dro', tau: 0.1, dro: { radius: 0.05, tailMix: 0.02 } },
  ],
  'logit-adjusted': [
    { name: 'logit-adjusted', tau: 0.25 },
    { name: 'logit-adjusted', tau: 0.5 },
    { name: 'logit-adjusted', tau: 1 },
  ],
  'class-balanced': [
    { name: 'class-balanced', beta: 0.9 },
    { name: 'class-balanced', beta: 0.99 },
    { name: 'class-balanced', beta: 0.999 },
  ],
};
const CE: ObjectiveSpec = { name: 'ce' };

const data = (dataset: string): DatasetSplits => loadSplits(dataset as Region, flags.data ?? DEFAULT_DATA_DIR);

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The seed-0 US run of an objective on which hyperparameters are chosen. */
const tuneSpec = (objective: ObjectiveSpec): RunSpec => ({ dataset: TUNE_DATASET, model: 'behavegpt', objective, seed: 0, ...SIZE });

function tunePlan(): RunSpec[] {
  return [CE, ...Object.values(CANDIDATES).flat()].map(tuneSpec);
}

/**
 * The valid-set rule, the same for every long-tail objective: the highest valid macro recall@5
 * among candidates whose valid weighted recall@1 is within 1 point of cross-entropy's; when none
 * is, the candidate closest to that bound.
 */
function selectObjective(name: keyof typeof CANDIDATES): { spec: ObjectiveSpec; why: string } {
  const ce = readRecord(RECORDS, runId(tuneSpec(CE)));
  const runs = CANDIDATES[name].map((spec) => ({ spec, record: readRecord(RECORDS, runId(tuneSpec(spec))) }));
  const missing = runs.filter((r) => !r.record);
  if (!ce || missing.length) throw new Error(`tuning for ${name} is not finished (run --phase tune first)`);
  const bound = ce.valid['weighted_recall@1'] - 0.01;
  const ok = runs.filter((r) => r.record!.valid['weighted_recall@1'] >= bound);
  const best = ok.length
    ? ok.reduce((a, b) => (b.record!.valid['macro_recall@5'] > a.record!.valid['macro_recall@5'] ? b : a))
    : runs.reduce((a, b) => (b.record!.valid['weighted_recall@1'] > a.record!.valid['weighted_recall@1'] ? b : a));
  const why = ok.length ? 'best valid macro R@5 within 1 point of CE valid R@1' : 'no candidate within 1 point of CE valid R@1: closest one';
  return { spec: best.spec, why };
}

function mainPlan(): RunSpec[] {
  const chosen = (['dro', 'logit-adjusted', 'class-balanced'] as const).map((n) => selectObjective(n).spec);
  const plan: RunSpec[] = [];
  for (const dataset of datasets) {
    for (const seed of SEEDS) {
      for (const objective of [CE, ...chosen]) plan.push({ dataset, model: 'behavegpt', objective, seed, ...SIZE });
      plan.push({ dataset, model: 'context-free', objective: CE, seed, ...SIZE });
    }
  }
  return plan;
}

async function runPlan(plan: RunSpec[]): Promise<void> {
  const mine = plan.filter((_, i) => i % shardCount === shardIndex);
  const todo = mine.filter((s) => !readRecord(RECORDS, runId(s)));
  log(`${todo.length} of ${mine.length} runs to do (shard ${shardIndex}/${shardCount}); records in ${RECORDS}`);
  const t0 = performance.now();
  for (const [i, spec] of todo.entries()) {
    log(`run ${i + 1}/${todo.length}: ${runId(spec)}`);
    await runOne(spec, data(spec.dataset), { recordsDir: RECORDS, modelsDir: MODELS, commit, log });
    const elapsed = (performance.now() - t0) / 1000;
    log(`progress ${i + 1}/${todo.length}, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration((elapsed / (i + 1)) * (todo.length - i - 1))}`);
  }
}

// --- Report ----------------------------------------------------------------------------------

const MODEL_LABEL: Record<string, string> = {
  ce: 'BehaveGPT (cross-entropy)',
  dro: 'BehaveGPT (DRO)',
  'logit-adjusted': 'BehaveGPT (logit-adjusted CE)',
  'class-balanced': 'BehaveGPT (class-balanced CE)',
};

function baselineRows(dataset: Region): ResultRow[] {
  const { train, test } = data(dataset);
  const { behaviors } = buildVocabularies(train);
  const head = headBehaviors(behaviorCounts(train));
  const scorers: Scorer[] = [fitPopularity(train, behaviors), fitTimePopularity(train, behaviors), fitMarkov(train, behaviors, 1), fitMarkov(train, behaviors, 2)];
  const rows: ResultRow[] = [];
  for (const scorer of scorers) {
    const targets = rankTargets(scorer, test, behaviors);
    for (const [set, list] of [['all', targets], ['no-refresh', targets.filter((t) => !isRefresh(t.behavior))]] as const) {
      const { metrics } = aggregateMetrics([fullMetrics(list, head)]);
      rows.push({ task: 'next-behavior', dataset, targets: set, model: scorer.name, objective: 'none', seeds: 0, metrics });
    }
  }
  return rows;
}

function neuralRows(records: RunRecord[]): ResultRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = runId({ ...r.spec, seed: 0 });
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: ResultRow[] = [];
  for (const runs of groups.values()) {
    const spec = runs[0].spec;
    const model = spec.model === 'context-free' ? 'Context-free transformer (CE)' : MODEL_LABEL[spec.objective.name];
    for (const set of ['all', 'no-refresh'] as const) {
      const { metrics, std } = aggregateMetrics(runs.map((r) => r.test[set]));
      rows.push({
        task: 'next-behavior',
        dataset: spec.dataset,
        targets: set,
        model,
        objective: spec.objective.name,
        hyperparameters: spec.objective,
        seeds: runs.length,
        parameters: runs[0].parameters,
        metrics,
        std,
      });
    }
  }
  return rows;
}

const pct = (x: number) => (x * 100).toFixed(2);

function table(rows: ResultRow[]): string {
  const keys = RESULT_METRICS;
  const head = `| model | seeds | ${keys.join(' | ')} |\n|---|---|${keys.map(() => '---').join('|')}|`;
  const body = rows.map((r) => {
    const cells = keys.map((k) => (r.metrics[k] === undefined ? '–' : r.std && r.seeds! > 1 ? `${pct(r.metrics[k])} ± ${pct(r.std[k])}` : pct(r.metrics[k])));
    return `| ${r.model} | ${r.seeds || '–'} | ${cells.join(' | ')} |`;
  });
  return [head, ...body].join('\n');
}

function targetChecks(rows: ResultRow[]): string[] {
  const us = rows.filter((r) => r.dataset === 'us' && r.targets === 'all');
  const find = (objective: string, context = true) => us.find((r) => r.objective === objective && (context ? !r.model.startsWith('Context-free') : r.model.startsWith('Context-free')));
  const dro = find('dro');
  const ce = find('ce');
  const la = find('logit-adjusted');
  const cb = find('class-balanced');
  if (!dro || !ce || !la || !cb) return ['Targets: not all runs are finished.'];
  const baselines = us.filter((r) => r.objective === 'none' || r.model.startsWith('Context-free'));
  const lines: string[] = [];
  const check = (ok: boolean, text: string) => lines.push(`- ${ok ? '**met**' : '**MISSED**'}: ${text}`);
  for (const k of ['macro_recall@1', 'macro_recall@5'] as const) {
    const rivals = [ce, ...baselines];
    const best = rivals.reduce((a, b) => (b.metrics[k] > a.metrics[k] ? b : a));
    const gain = dro.metrics[k] / best.metrics[k] - 1;
    check(gain >= 0.1, `DRO ${k} ${pct(dro.metrics[k])} vs best of CE and baselines (${best.model}) ${pct(best.metrics[k])}: ${(gain * 100).toFixed(1)}% relative (target ≥ +10%)`);
  }
  for (const k of ['weighted_recall@1', 'weighted_recall@5'] as const) {
    const diff = (dro.metrics[k] - ce.metrics[k]) * 100;
    check(diff >= -1, `DRO ${k} ${pct(dro.metrics[k])} vs CE ${pct(ce.metrics[k])}: ${diff.toFixed(2)} points (target ≥ −1)`);
  }
  for (const rival of [la, cb]) {
    check(dro.metrics['macro_recall@5'] >= rival.metrics['macro_recall@5'], `DRO macro_recall@5 ${pct(dro.metrics['macro_recall@5'])} vs ${rival.model} ${pct(rival.metrics['macro_recall@5'])}`);
  }
  const neural = [ce, dro, la, cb];
  const bestNeural = neural.reduce((a, b) => (b.metrics['weighted_recall@1'] > a.metrics['weighted_recall@1'] ? b : a));
  const bestBaseline = baselines.reduce((a, b) => (b.metrics['weighted_recall@1'] > a.metrics['weighted_recall@1'] ? b : a));
  check(
    bestNeural.metrics['weighted_recall@1'] > bestBaseline.metrics['weighted_recall@1'],
    `best BehaveGPT weighted_recall@1 (${bestNeural.model}) ${pct(bestNeural.metrics['weighted_recall@1'])} vs best baseline (${bestBaseline.model}) ${pct(bestBaseline.metrics['weighted_recall@1'])}`,
  );
  return lines;
}

function tuningTable(): string {
  const ce = readRecord(RECORDS, runId(tuneSpec(CE)));
  const lines = ['| objective | hyperparameters | valid R@1 | valid macro R@5 | test R@1 | test macro R@1 | test macro R@5 | test tail R@5 | chosen |', '|---|---|---|---|---|---|---|---|---|'];
  const chosen = new Set((['dro', 'logit-adjusted', 'class-balanced'] as const).map((n) => JSON.stringify(selectObjective(n).spec)));
  for (const spec of [CE, ...Object.values(CANDIDATES).flat()]) {
    const r = spec === CE ? ce : readRecord(RECORDS, runId(tuneSpec(spec)));
    if (!r) continue;
    const { name, ...hp } = spec;
    lines.push(
      `| ${name} | ${JSON.stringify(hp).replace(/"/g, '')} | ${pct(r.valid['weighted_recall@1'])} | ${pct(r.valid['macro_recall@5'])} | ${pct(r.test.all['weighted_recall@1'])} | ${pct(r.test.all['macro_recall@1'])} | ${pct(r.test.all['macro_recall@5'])} | ${pct(r.test.all['tail_recall@5'])} | ${chosen.has(JSON.stringify(spec)) ? 'yes' : ''} |`,
    );
  }
  return lines.join('\n');
}

/** The architecture of every neural run, as the report names it. */
function architecture(): string {
  const which = sizeName === SHIPPED_SIZE ? ', the shipped architecture' : '';
  if (!SIZE.config) return `BehaveGPT (src/model/behavegpt.ts) with DEFAULT_CONFIG (scaling size "m")${which}`;
  const dims = Object.entries(SIZE.config).map(([k, v]) => `${k} ${v}`).join(', ');
  return `BehaveGPT (src/model/behavegpt.ts) at scaling size "${sizeName}" (${dims}; docs/SCALING.md)${which}`;
}

function report(): void {
  const plan = mainPlan();
  const records = plan.map((s) => readRecord(RECORDS, runId(s))).filter((r): r is RunRecord => r !== null);
  log(`report: ${records.length} of ${plan.length} main runs finished`);
  const rows = [...datasets.flatMap((d) => baselineRows(d)), ...neuralRows(records)];
  const resultsPath = 'docs/results.json';
  const existing = existsSync(resultsPath) ? parseResults(JSON.parse(readFileSync(resultsPath, 'utf8')), resultsPath) : [];
  mkdirSync('docs', { recursive: true });
  writeFileSync(resultsPath, JSON.stringify(mergeRows(existing, 'next-behavior', rows), null, 1) + '\n');
  const selections = (['dro', 'logit-adjusted', 'class-balanced'] as const).map((n) => {
    const s = selectObjective(n);
    return `- ${n}: \`${JSON.stringify(s.spec)}\` (${s.why})`;
  });
  const sections: string[] = [];
  for (const dataset of datasets) {
    for (const set of ['all', 'no-refresh'] as const) {
      const title = `${dataset === 'us' ? 'US' : dataset === 'sp' ? 'Spain' : dataset} test, ${set === 'all' ? 'all targets' : 'without `:refresh refresh` targets'}`;
      sections.push(`### ${title}\n\n${table(rows.filter((r) => r.dataset === dataset && r.targets === set))}`);
    }
  }
  const md = `# Next-behavior prediction results

Generated by \`npm run experiments${flags.size ? ` -- --size ${flags.size}` : ''}\` on ${new Date().toISOString().slice(0, 10)}, commit \`${commit}\`. Numbers are percentages on the **test**
split; every model, epoch and hyperparameter was chosen on **valid**. Neural rows: mean ± sample standard
deviation over ${SEEDS.length} seeds (${SEEDS.join(', ')}). Raw per-run records: \`results/runs/*.json\`; machine-readable rows: \`docs/results.json\`.

## Protocol

- For every test sequence and every position t ≥ 1, predict event t from events 0..t−1 plus the weekday, 3-hour slot and
  location of event t. Sequences longer than the context (${DEFAULT_CONFIG.contextLength} tokens) are scored in sliding windows; every target is scored once.
- Full ranking of **all** behaviors of the training vocabulary (no negative sampling). A test behavior never seen in training
  is a miss. Ties count against the target.
- weighted recall@k = hit rate over targets; macro recall@k = per-behavior recall averaged uniformly over the behaviors
  present among the targets; NDCG@10; MRR; head / tail recall@5 = hit rate@5 over targets whose behavior is / is not among
  the most frequent training behaviors covering 80% of training events (behaviors unseen in training count as tail).
- "no-refresh" drops targets whose behavior ends in \`:refresh refresh\` (automatic status polling) from scoring; they remain in
  the history.
- Baselines (src/core/baselines.ts) use the same evaluator: global popularity; popularity given the target's weekday × slot
  (backoff to global); first- and second-order Markov chains with interpolated backoff.
- Neural models: ${architecture()}, trained from scratch per dataset with AdamW,
  early stopping on valid cross-entropy (at most 24 epochs, cosine schedule, patience 5). The context-free transformer is the same model without the weekday,
  slot and location streams (SASRec-like). Objectives: docs/DRO.md.

## Hyperparameters chosen on US valid (seed 0)

${selections.join('\n')}

The same choice is used for Spain. The table is also the DRO ablation (US, seed 0): the radius ρ, the tail mix α, the
weight cap, a class-balanced centre (priorBeta) and DRO over logit-adjusted losses (tau) each varied against plain
cross-entropy and the two comparators (docs/DRO.md).

${tuningTable()}

## Targets (US test, all targets)

${targetChecks(rows).join('\n')}

## Tables

${sections.join('\n\n')}
`;
  // Sections written by other commands (generation, adaptation) are kept.
  const kept = existsSync('docs/RESULTS.md') ? markedSections(readFileSync('docs/RESULTS.md', 'utf8')) : [];
  writeFileSync('docs/RESULTS.md', [md.trimEnd(), ...kept].join('\n\n') + '\n');
  log('wrote docs/RESULTS.md and docs/results.json');
}

/**
 * Ships the best DRO model on US (highest valid macro recall@5 over seeds), retrained with the
 * time head that generation needs: detached (the behavior model trains exactly as the evaluated
 * run) and joint (its gradient shapes the shared layers), the joint one kept only if its valid
 * behavior loss is lower. int8 for the app in public/models/behavegpt-us, float32 reference in
 * models/behavegpt-us-fp32.
 */
function bestDroRun(): RunRecord {
  const runs = mainPlan()
    .filter((s) => s.dataset === 'us' && s.model === 'behavegpt' && s.objective.name === 'dro')
    .map((s) => readRecord(RECORDS, runId(s)))
    .filter((r): r is RunRecord => r !== null);
  if (runs.length === 0) throw new Error('no finished US DRO run to ship');
  return runs.reduce((a, b) => (b.valid['macro_recall@5'] > a.valid['macro_recall@5'] ? b : a));
}

/** The shipped run retrained with a time head, detached and joint (docs/GENERATION.md). */
function timeHeadPlan(): RunSpec[] {
  const spec = bestDroRun().spec;
  const withTime: RunSpec = { ...spec, config: { ...spec.config, timeHead: true } };
  return [withTime, { ...withTime, train: { ...withTime.train, timeHead: { weight: 1, detached: false } } }];
}

async function ship(): Promise<void> {
  const base = bestDroRun();
  const [detached, joint] = timeHeadPlan().map((s) => readRecord(RECORDS, runId(s)));
  if (!detached || !joint) throw new Error('the time-head runs are not finished (run --phase time-head first)');
  for (const r of [detached, joint]) {
    log(`${r.id}: valid loss ${r.valid.loss.toFixed(4)} R@1 ${pct(r.valid['weighted_recall@1'])} macro R@5 ${pct(r.valid['macro_recall@5'])}; time accuracy valid ${pct(r.time!.valid.accuracy)} test ${pct(r.time!.test.accuracy)}`);
  }
  if (detached.test.all['weighted_recall@1'] !== base.test.all['weighted_recall@1']) log(`note: the detached time head changed the behavior model (test R@1 ${pct(detached.test.all['weighted_recall@1'])} vs ${pct(base.test.all['weighted_recall@1'])})`);
  const best = joint.valid.loss < detached.valid.loss ? joint : detached;
  const loaded = loadModelDir(join(MODELS, best.id));
  // Sampling correction for generation (docs/GENERATION.md): fitted on train, chosen on valid by `npm run generation`.
  const generation = await fitGenerationCorrection(loaded.model, data('us').train, loaded.behaviors, loaded.locations, 'US train');
  const training = {
    data: { source: 'Samsung SmartThings action logs (Jeon et al., CIKM 2022)', region: 'us', split: 'train; early stopping on valid' },
    run: best.id,
    objective: best.spec.objective,
    seed: best.spec.seed,
    steps: best.steps,
    epochs: best.epochsRun,
    bestEpoch: best.bestEpoch,
    seconds: best.seconds,
    valid: best.valid,
    test: best.test.all,
    testNoRefresh: best.test['no-refresh'],
    time: best.time,
    generation,
    commit: best.commit,
    date: best.date,
  };
  for (const [dir, dtype] of [[SHIPPED_MODEL_DIR, 'uint8'], ['models/behavegpt-us-fp32', 'float32']] as const) {
    const { manifestPath, bytes } = await saveModelDir(dir, { ...loaded, name: 'behavegpt-us', training }, { dtype });
    log(`shipped ${best.id} → ${manifestPath} (${bytes} weight bytes, ${dtype})`);
  }
  loaded.model.dispose();
}

/** The main plan needs the tuning results; a main shard started early waits for the tune shards. */
async function mainPlanWhenTuned(): Promise<RunSpec[]> {
  for (;;) {
    try {
      return mainPlan();
    } catch (e) {
      if (!/tuning .* is not finished/.test((e as Error).message)) throw e;
      log(`${(e as Error).message}; waiting for the tune shards`);
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    }
  }
}

await initNodeBackend('wasm');
if (phase === 'tune' || phase === 'all') await runPlan(tunePlan());
if (phase === 'main' || phase === 'all') await runPlan(await mainPlanWhenTuned());
if (phase === 'report' || phase === 'all') report();
if (phase === 'time-head' || phase === 'all') await runPlan(timeHeadPlan());
if (phase === 'ship' || phase === 'all') await ship();
