/**
 * The adaptation report: the "cross-domain" and "new-behavior" rows of docs/results.json and the
 * "adaptation" section of docs/RESULTS.md, from run records and the saved gain bootstraps. Pure.
 */
import type { BootstrapInterval } from '../../core/bootstrap';
import { aggregateMetrics, type ResultRow } from '../../core/results';
import { SHIPPED_SIZE } from '../../train/recipe';
import { NotFinishedError, runId, type RecordLookup, type RunRecord, type RunSpec } from '../../node/run-spec';
import { day, markdownTable, pct, regionName, signedPct, targetSetTitle } from '../format';
import {
  ARMS,
  BOOTSTRAP_RESAMPLES,
  crossDomainSpec,
  DRO,
  FRACTIONS,
  GAIN_TARGETS,
  K_SHOT_LEARNING_RATES,
  K_TUNE,
  KS,
  kShotSpec,
  kShotStart,
  LEARNING_RATES,
  MAX_OLD_DROP,
  NEW_BEHAVIORS,
  PRETRAIN_WITHOUT,
  REHEARSALS,
  SCHEDULE,
  SEEDS,
  TARGETS,
  US_RUN,
  zeroShotSpec,
  type AdaptationSetup,
  type Arm,
  type ChosenSetting,
  type KShotSetting,
} from './plan';

export const CROSS_DOMAIN_TASK = 'cross-domain';
export const NEW_BEHAVIOR_TASK = 'new-behavior';
const KEYS = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5'] as const;
type TargetSet = 'all' | 'no-refresh' | 'new-behaviors' | 'old-behaviors';

/** What `--phase bootstrap` saves per gain target. */
export interface GainBootstrap extends BootstrapInterval {
  target: string;
  fraction: number;
  /** The runs it was computed from: the report ignores it when the chosen runs or their results changed. */
  runs: string[];
}

export interface AdaptationReportInput {
  setup: AdaptationSetup;
  records: RecordLookup;
  /** The settings chosen on valid (select.ts); kShot() throws NotFinishedError while the k-shot tuning is unfinished. */
  chosen: ChosenSetting;
  kShot: () => KShotSetting;
  /** What --phase bootstrap saved, and the file it is in. */
  bootstraps: readonly GainBootstrap[];
  bootstrapFile: string;
  date: Date;
  commit: string;
  log: (line: string) => void;
}

export interface AdaptationReport {
  rows: ResultRow[];
  markdown: string;
}

/** Mean ± std over runs of one target set, as a row. */
export function adaptationRow(
  task: string,
  dataset: string,
  model: string,
  runs: readonly RunRecord[],
  set: TargetSet,
  extra: Record<string, unknown>,
): ResultRow {
  const { metrics, std } = aggregateMetrics(runs.map((r) => r.test[set]!));
  const targets = set === 'no-refresh' ? 'no-refresh' : 'all';
  return {
    task,
    dataset,
    targets,
    behaviors: set,
    model,
    objective: 'dro',
    seeds: runs.length,
    metrics,
    std,
    ...extra,
  };
}

/** "12.34 ± 0.56"; "—" when missing. Seeds that agree to the last digit show ± 0.00: a missing ± means a single run. */
export function cell(r: ResultRow | undefined, k: string): string {
  if (!r || r.metrics[k] === undefined) return '—';
  const std = (r.seeds ?? 0) > 1 ? r.std?.[k] : undefined;
  return `${pct(r.metrics[k])}${std !== undefined && Number.isFinite(std) ? ` ± ${pct(std)}` : ''}`;
}

/** The saved bootstrap of a target and fraction, if it was computed from the runs (and results) the report shows. */
export function matchingBootstrap(
  input: Pick<AdaptationReportInput, 'bootstraps' | 'bootstrapFile' | 'log'>,
  target: string,
  fraction: number,
  runs: readonly string[],
  gain: number,
): GainBootstrap | undefined {
  const found = input.bootstraps.find((r) => r.target === target && r.fraction === fraction);
  if (!found) return undefined;
  if (found.runs.join() !== runs.join() || Math.abs(found.estimate - gain) > 1e-9) {
    input.log(
      `${input.bootstrapFile}: ${target} ${fraction} was computed from other runs or results; rerun --phase bootstrap`,
    );
    return undefined;
  }
  return found;
}

const finished = (records: RecordLookup, specs: readonly RunSpec[]) =>
  specs.map(records).filter((r): r is RunRecord => r !== null);
const mean = (runs: readonly RunRecord[], value: (r: RunRecord) => number) =>
  runs.reduce((sum, r) => sum + value(r), 0) / runs.length;

/** Rows and the verdict of one target and fraction, both arms (the check only on all targets with both arms). */
interface FractionPart {
  rows: ResultRow[];
  lines: string[];
  check?: string;
  bootstrapShown: boolean;
}

function fractionPart(
  input: AdaptationReportInput,
  target: string,
  fraction: number,
  set: 'all' | 'no-refresh',
): FractionPart {
  const part: FractionPart = { rows: [], lines: [], bootstrapShown: false };
  const byArm: Partial<Record<Arm, { row: ResultRow; runs: RunRecord[] }>> = {};
  const runIds: string[] = [];
  for (const arm of ARMS) {
    const setting = input.chosen(target, arm, fraction);
    const specs = SEEDS.map((seed) => crossDomainSpec(input.setup, target, arm, fraction, seed, setting));
    runIds.push(...specs.map(runId));
    const runs = finished(input.records, specs);
    if (!runs.length) continue;
    const model = arm === 'fine-tuned' ? 'fine-tuned from us' : 'scratch';
    const row = adaptationRow(CROSS_DOMAIN_TASK, target, model, runs, set, { fraction, ...setting });
    part.rows.push(row);
    byArm[arm] = { row, runs };
    const aligned = arm === 'fine-tuned' ? (setting.aligned ? 'yes' : 'no') : '—';
    const kept = arm === 'fine-tuned' ? ` (${runs.filter((x) => x.bestEpoch === 0).length})` : '';
    const seeds = `${runs.length}${kept}`;
    part.lines.push(
      `| ${[row.model, String(fraction), String(setting.learningRate), aligned, seeds, ...KEYS.map((k) => cell(row, k))].join(' | ')} |`,
    );
  }
  const { 'fine-tuned': ft, scratch } = byArm;
  if (set === 'all' && ft && scratch) {
    const check = gainCheck(input, target, fraction, ft, scratch, runIds);
    part.check = check.text;
    part.bootstrapShown = check.bootstrapShown;
  }
  return part;
}

/** The verdict line of a target and fraction: macro recall@5 gain over scratch (with its bootstrap, if any) and no metric below scratch. */
function gainCheck(
  input: AdaptationReportInput,
  target: string,
  fraction: number,
  ft: { row: ResultRow; runs: RunRecord[] },
  scratch: { row: ResultRow; runs: RunRecord[] },
  runIds: readonly string[],
): { text: string; bootstrapShown: boolean } {
  const m5 = 'macro_recall@5';
  const gain = ft.row.metrics[m5] / scratch.row.metrics[m5] - 1;
  const need = GAIN_TARGETS.get(fraction) ?? 0;
  const below = KEYS.filter((k) => ft.row.metrics[k] < scratch.row.metrics[k]);
  // Seed means from the records, unrounded: on valid (selected epochs) and on test.
  const [validFt, validScratch] = [mean(ft.runs, (x) => x.valid[m5]), mean(scratch.runs, (x) => x.valid[m5])];
  const [testFt, testScratch] = [mean(ft.runs, (x) => x.test.all[m5]), mean(scratch.runs, (x) => x.test.all[m5])];
  const validGain =
    'on valid (selected epochs, every known behavior ranked): ' +
    `${pct(validFt)} vs ${pct(validScratch)}, ${signedPct(validFt / validScratch - 1)}`;
  const boot = need ? matchingBootstrap(input, target, fraction, runIds, testFt / testScratch - 1) : undefined;
  const spread = boot
    ? `; test sequences resampled: ${boot.level * 100}% interval ${signedPct(boot.low)} … ${signedPct(boot.high)}, median ${signedPct(boot.median)}, ` +
      `≥ +${need * 100}% in ${((boot.shareAtLeast ?? 0) * 100).toFixed(1)}% of resamples`
    : '';
  const verdict = need ? `, target ≥ +${need * 100}%: ${gain >= need ? 'met' : '**MISSED**'}` : '';
  const belowText = below.length ? `**below scratch on ${below.join(', ')}**` : 'not below scratch on any metric: met';
  const figures = `macro R@5 ${pct(ft.row.metrics[m5])} vs ${pct(scratch.row.metrics[m5])} (${signedPct(gain)}${verdict}; ${validGain}${spread})`;
  return {
    text: `- ${regionName(target)}, ${fraction * 100}% data: ${figures}; ${belowText}`,
    bootstrapShown: boot !== undefined,
  };
}

/** The cross-domain tables (per target and target set) and the verdicts. */
function crossDomain(input: AdaptationReportInput): {
  rows: ResultRow[];
  lines: string[];
  checks: string[];
  bootstrapShown: boolean;
} {
  const out = { rows: [] as ResultRow[], lines: [] as string[], checks: [] as string[], bootstrapShown: false };
  const header = ['model', 'fraction', 'learning rate', 'aligned', 'seeds (start kept)', ...KEYS];
  for (const target of TARGETS) {
    const zero = finished(input.records, [zeroShotSpec(input.setup, target)]);
    for (const set of ['all', 'no-refresh'] as const) {
      out.lines.push(`\n#### ${regionName(target)} test, ${targetSetTitle(set)}\n`, markdownTable(header, []));
      if (zero.length) {
        const r = adaptationRow(CROSS_DOMAIN_TASK, target, 'zero-shot from us', zero, set, { fraction: 0 });
        out.rows.push(r);
        out.lines.push(`| zero-shot (US model as is) | 0 | — | — | — | ${KEYS.map((k) => cell(r, k)).join(' | ')} |`);
      }
      for (const fraction of FRACTIONS) {
        const part = fractionPart(input, target, fraction, set);
        out.rows.push(...part.rows);
        out.lines.push(...part.lines);
        if (part.check) out.checks.push(part.check);
        out.bootstrapShown ||= part.bootstrapShown;
      }
    }
  }
  return out;
}

/** The new-behavior table lines and verdicts. */
function newBehaviors(input: AdaptationReportInput): { rows: ResultRow[]; lines: string[]; checks: string[] } {
  const out = { rows: [] as ResultRow[], lines: [] as string[], checks: [] as string[] };
  const pre = input.records(PRETRAIN_WITHOUT);
  if (!pre) return out;
  const old = pre.test['old-behaviors']!;
  out.rows.push(adaptationRow(NEW_BEHAVIOR_TASK, 'us', 'pretrained without the 10', [pre], 'old-behaviors', { k: 0 }));
  out.lines.push(
    `| pretrained without them (k = 0) | — | — | — | — | ${pct(old['weighted_recall@5'])} | ${pct(old['macro_recall@5'])} |`,
  );
  const start = input.records(kShotStart(input.setup));
  if (start) {
    const [n, o] = [start.test['new-behaviors']!, start.test['old-behaviors']!];
    const model = 'the 10 added, before training';
    const rows = (['new-behaviors', 'old-behaviors'] as const).map((set) =>
      adaptationRow(NEW_BEHAVIOR_TASK, 'us', model, [start], set, { k: 0 }),
    );
    out.rows.push(...rows);
    const figures = [
      n['weighted_recall@1'],
      n['weighted_recall@5'],
      n['macro_recall@1'],
      n['macro_recall@5'],
      o['weighted_recall@5'],
      o['macro_recall@5'],
    ];
    out.lines.push(`| ${model} | ${figures.map(pct).join(' | ')} |`);
  }
  for (const k of KS) {
    const runs = kShotRuns(input, k);
    if (!runs.length) continue;
    const model = `fine-tuned, k = ${k}`;
    const fresh = adaptationRow(NEW_BEHAVIOR_TASK, 'us', model, runs, 'new-behaviors', { k });
    const kept = adaptationRow(NEW_BEHAVIOR_TASK, 'us', model, runs, 'old-behaviors', { k });
    out.rows.push(fresh, kept);
    const cells = [
      ...KEYS.map((key) => cell(fresh, key)),
      cell(kept, 'weighted_recall@5'),
      cell(kept, 'macro_recall@5'),
    ];
    out.lines.push(`| ${model} (${runs.length} seeds) | ${cells.join(' | ')} |`);
    const drop = old['weighted_recall@5'] - kept.metrics['weighted_recall@5'];
    const change =
      drop > 0 ? `drops by ${(drop * 100).toFixed(2)} points` : `rises by ${(-drop * 100).toFixed(2)} points`;
    const verdict = drop <= 0.01 ? 'met' : '**MISSED**';
    out.checks.push(
      `- k = ${k}: old behaviors' weighted R@5 ${change} from the pretrained model's (target: drops ≤ 1): ${verdict}`,
    );
  }
  return out;
}

/** The finished k-shot runs of a k with the chosen setting (none while the k-shot tuning is unfinished). */
function kShotRuns(input: AdaptationReportInput, k: number): RunRecord[] {
  try {
    const setting = input.kShot();
    return finished(
      input.records,
      SEEDS.map((seed) => kShotSpec(input.setup, k, seed, setting)),
    );
  } catch (e) {
    if (e instanceof NotFinishedError) return [];
    throw e;
  }
}

/** The k-shot tuning grid: valid macro R@5 of the selected epoch per learning rate and rehearsal ratio, the choice in bold. */
export function kShotTuningTable(input: AdaptationReportInput): string {
  const chosen = input.kShot();
  const cells = (learningRate: number) =>
    REHEARSALS.map((rehearsal) => {
      const r = input.records(kShotSpec(input.setup, K_TUNE, 0, { learningRate, rehearsal }))!;
      const text = r.bestEpoch === 0 ? 'no eligible epoch' : (r.valid['macro_recall@5'] * 100).toFixed(2);
      return chosen.learningRate === learningRate && chosen.rehearsal === rehearsal ? `**${text}**` : text;
    });
  const rows = K_SHOT_LEARNING_RATES.map((lr) => [String(lr), ...cells(lr)]);
  return markdownTable(['learning rate', ...REHEARSALS.map((r) => `r = ${r}`)], rows);
}

/** Best valid loss of the fine-tuned arm (seed 0) with and without the prior alignment, per fraction: the evidence for the choice. */
export function alignmentEvidence(input: Pick<AdaptationReportInput, 'setup' | 'records'>, target: string): string {
  const loss = (fraction: number, aligned: boolean, learningRate: number) =>
    input.records(crossDomainSpec(input.setup, target, 'fine-tuned', fraction, 0, { learningRate, aligned }))?.valid
      .loss ?? Infinity;
  const best = (fraction: number, aligned: boolean) =>
    Math.min(...LEARNING_RATES.map((lr) => loss(fraction, aligned, lr))).toFixed(4);
  const start = input.records(zeroShotSpec(input.setup, target))?.valid.loss;
  const cells = FRACTIONS.map((f) => `${f * 100}%: ${best(f, true)} aligned vs ${best(f, false)} not`);
  return `${cells.join('; ')}; the base as it is: ${start?.toFixed(4) ?? '—'}`;
}

export function adaptationReport(input: AdaptationReportInput): AdaptationReport {
  const cross = crossDomain(input);
  const added = newBehaviors(input);
  const markdown = [
    '## Adaptation: cross-domain and new behaviors',
    method(input),
    `### Cross-domain (US → Spain, US → France)\n${cross.lines.join('\n')}`,
    crossDomainTargets(input, cross.bootstrapShown) + cross.checks.join('\n'),
    '### New behaviors (US)',
    newBehaviorMethod(),
    kShotTuningTable(input),
    '"New": test targets of the 10; "old": all other test targets.',
    `${NEW_BEHAVIOR_HEADER}\n${added.lines.join('\n')}`,
    added.checks.join('\n'),
  ].join('\n\n');
  return { rows: [...cross.rows, ...added.rows], markdown };
}

function method(input: AdaptationReportInput): string {
  return [
    `Generated by \`npm run adaptation\` on ${day(input.date)}, commit \`${input.commit}\`. Percentages on each target's **test** split,` +
      ' mean ± std over',
    `seeds ${SEEDS.join(', ')}; every choice made on valid. Both arms of each comparison use the shipped DRO objective`,
    `(\`${JSON.stringify(DRO)}\`), AdamW with warm-up + cosine, at least ${SCHEDULE.minSteps} steps, early stopping on the target's valid loss`,
    `(evaluated at epoch ends at most every ${SCHEDULE.evaluateEvery} steps, patience ${SCHEDULE.patience} evaluations).` +
      ` The base is run \`${runId(US_RUN)}\`, the shipped model (scaling size "${SHIPPED_SIZE}", with its`,
    'time head, trained jointly on US; fine-tuning keeps training that head, detached). Fine-tuning trains all parameters;' +
      ' behaviors the base does not know are added',
    "by name with the initialisation of docs/FINETUNE.md; optionally the output biases are then moved to the target train split's behavior",
    "frequencies (`alignOutputPrior`, a label-shift correction: France's and Spain's most common behaviors are rare in the US); the start",
    'competes with the trained epochs on valid loss (fine-tuning that does not beat it is not kept). Best valid loss over the learning rates',
    `(seed 0) with and without the alignment: Spain ${alignmentEvidence(input, 'sp')}; France ${alignmentEvidence(input, 'fr')}.`,
    `Scratch models have the same behavior network (size "${SHIPPED_SIZE}", no time head) and the target train split's vocabulary.` +
      ' Both arms rank the same candidates on test, the behaviors of the whole target train',
    'split (the fine-tuned model also knows US-only ones; ranking them would add distractors the scratch model never has). Fractions are nested',
    'subsets of whole train sequences; the vocabulary always comes from the whole target train split. The learning rate (among',
    `${LEARNING_RATES.join(', ')}) and, for the fine-tuned arm, the alignment are chosen on valid loss for each target, arm and fraction (seed 0);`,
    'the tables show the choice, and in brackets how many fine-tuned seeds kept the start (no trained epoch beat it on valid; such seeds',
    'give identical models, hence ± 0.00).',
  ].join('\n');
}

/** The targets, and how the bootstrap intervals are made when any is shown; the verdict lines follow. */
function crossDomainTargets(input: AdaptationReportInput, bootstrapShown: boolean): string {
  const targets =
    'Targets (all targets): fine-tuned ≥ 25% above scratch on macro recall@5 at 10% data, ≥ 10% at 100%,' +
    ' never below scratch on any metric.\n';
  if (!bootstrapShown) return targets;
  const intervals = [
    'How much the one test split can say: `npm run adaptation -- --phase bootstrap` scores the kept model of each run of the two gain targets',
    `(checked to reproduce its record exactly) and resamples the target's test sequences ${BOOTSTRAP_RESAMPLES} times with replacement,` +
      ' the same draw for all',
    `${2 * SEEDS.length} models, recomputing the seed-mean macro recall@5 of each arm and the relative gain (\`${input.bootstrapFile}\`);` +
      ' percentile intervals.',
    "A resample holds only some of the test behaviors (France's 108 test sequences: about 40 of 47), and macro recall averages over those, so",
    'the statistic shifts under resampling: where the median of the resamples is far from the gain itself, the interval is shifted by as much.',
  ];
  return `${targets}${intervals.join('\n')}\n`;
}

function newBehaviorMethod(): string {
  return [
    `The US model is pretrained (DRO, seed 0) on the train split with every event of 10 behaviors removed: ${NEW_BEHAVIORS.map((b) => `\`${b}\``).join(', ')}`,
    '(3 head, 7 tail; choice documented in src/experiments/adaptation/plan.ts). It is then fine-tuned on the train sequences that hold k examples of',
    'each (a fixed random draw; sequences keep all their events). Unlike the cross-domain runs, the epoch is picked by valid macro recall@5',
    '(valid loss is dominated by the old behaviors and stops before the new ones are learned) among the epochs whose valid weighted',
    `recall@5 on the old behaviors is at most ${MAX_OLD_DROP * 100} point below the base model's (the target's bound, enforced on valid only),` +
      ' with a 20-step warm-up.',
    'Rehearsal replays r × as many other train sequences (random, holding none of the 10: data the base was pretrained on).',
    `Learning rate and r chosen together the same way (k = ${K_TUNE}, seed 0; valid macro R@5 of the selected epoch):`,
  ].join('\n');
}

const NEW_BEHAVIOR_HEADER = markdownTable(
  [
    'model',
    'new: weighted R@1',
    'new: weighted R@5',
    'new: macro R@1',
    'new: macro R@5',
    'old: weighted R@5',
    'old: macro R@5',
  ],
  [],
);
