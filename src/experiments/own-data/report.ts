/**
 * The own-data report: how the fine-tuning defaults were chosen (from the tuning records, valid
 * only) and what they give on the stand-ins' held-out test splits (from the evidence records).
 * Pure: the caller reads the records and writes docs/FINETUNE.md's section and the `own-data`
 * rows of docs/results.json.
 */
import { aggregateMetrics, type ResultRow } from '../../core/results';
import type { MetricSet } from '../../core/metrics';
import { DEFAULT_FINETUNE_SETTINGS, type FinetuneSettings } from '../../train/finetune-protocol';
import {
  BUDGET_GRID,
  CHECK_SPACING_GRID,
  MIN_STEPS_GRID,
  PATIENCE_GRID,
  TOLERANCE,
  type DefaultsChoice,
} from './select';
import { COLUMNS, type Column, type EvidenceRecord } from '../../node/own-data-evidence';
import type { TuneRecord } from './tune';

export const OWN_DATA_TASK = 'own-data';
const METRICS = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5'] as const;
const LABELS: Record<Column, string> = {
  adapted: 'adapted from behavegpt-us (defaults)',
  base: 'behavegpt-us as shipped',
  'markov-2': 'Markov-2 (training part)',
  popularity: 'popularity (training part)',
  scratch: 'same architecture from scratch (its defaults)',
};

/** Differences between the defaults in the code and the choice (empty when they agree). */
export function defaultsMismatch(
  choice: { adapted: DefaultsChoice; scratch: DefaultsChoice },
  d: FinetuneSettings = DEFAULT_FINETUNE_SETTINGS,
): string[] {
  const a = choice.adapted.chosen.candidate;
  const s = choice.scratch.chosen.candidate;
  const pairs: [string, number, number][] = [
    ['learningRate', d.learningRate, a.learningRate],
    ['maxEpochs', d.maxEpochs, a.maxEpochs],
    ['patience', d.patience, a.patience],
    ['schedule.minSteps', d.schedule.minSteps, a.minSteps],
    ['schedule.evaluateEvery', d.schedule.evaluateEvery, a.evaluateEvery],
    ['scratch.learningRate', d.scratch.learningRate, s.learningRate],
    ['scratch.maxEpochs', d.scratch.maxEpochs, s.maxEpochs],
    ['scratch.patience', d.scratch.patience, s.patience],
    ['scratch.schedule.minSteps', d.scratch.schedule.minSteps, s.minSteps],
    ['scratch.schedule.evaluateEvery', d.scratch.schedule.evaluateEvery, s.evaluateEvery],
  ];
  return pairs
    .filter(([, code, chosen]) => code !== chosen)
    .map(([k, code, chosen]) => `${k}: ${code} in the code, ${chosen} chosen`);
}

const pct = (x: number) => (100 * x).toFixed(2);
const cell = (mean: number, std: number) => `${pct(mean)} ± ${pct(std)}`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function choiceSection(arm: 'adapted' | 'scratch', c: DefaultsChoice, records: readonly TuneRecord[]): string[] {
  const x = c.chosen.candidate;
  const lines = [
    `**${arm === 'adapted' ? 'Adapted (fine-tuned from the shipped model)' : 'From scratch (the comparison arm)'}**: learning rate **${x.learningRate}**, budget **${x.maxEpochs}** epochs, patience **${x.patience}** checks, ` +
      `a check ${x.evaluateEvery === 0 ? 'after every epoch' : `at an epoch's end at least ${x.evaluateEvery} steps after the last`}, a budget of at least **${x.minSteps}** steps on small logs (patience can still stop sooner). ` +
      `Mean excess of the kept valid loss over each log's lowest: ${(100 * c.chosen.score).toFixed(2)}% (best of any candidate ${(100 * c.bestScore).toFixed(2)}%; ${c.withinTolerance} candidates within ${(100 * TOLERANCE).toFixed(1)} points); training steps summed over the logs ${c.chosen.steps.toLocaleString('en-US')}.`,
    '',
    '| log | train events | lowest valid loss (any rate) | kept with the defaults | excess | steps | ended by |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [log, v] of Object.entries(c.chosen.byLog)) {
    const r = records.find((t) => t.spec.dataset === log)!;
    lines.push(
      `| ${log} | ${r.trainEvents.toLocaleString('en-US')} | ${c.bestByLog[log].toFixed(4)} | ${v.kept.validLoss.toFixed(4)} (epoch ${v.kept.epoch}) | ${(100 * v.excess).toFixed(2)}% | ${v.steps} | ${v.reason} |`,
    );
  }
  lines.push('', 'Best candidate at each learning rate (mean excess; steps over the logs):', '');
  for (const p of c.perLearningRate) {
    const y = p.candidate;
    lines.push(
      `- ${y.learningRate}: ${(100 * p.score).toFixed(2)}% (${p.steps.toLocaleString('en-US')} steps) with budget ${y.maxEpochs}, patience ${y.patience}, check spacing ${y.evaluateEvery}, minimum steps ${y.minSteps}`,
    );
  }
  return lines;
}

export interface OwnDataReport {
  markdown: string;
  rows: ResultRow[];
}

export function ownDataReport(o: {
  choice: { adapted: DefaultsChoice; scratch: DefaultsChoice };
  tuneRecords: readonly TuneRecord[];
  evidence: readonly EvidenceRecord[];
  logs: readonly { name: string; behaviors: number; events: number }[];
  date: Date;
  commit: string;
}): OwnDataReport {
  const { choice, tuneRecords, evidence } = o;
  const tuneLogs = [...new Set(tuneRecords.map((r) => r.spec.dataset))];
  const rates = [...new Set(tuneRecords.map((r) => r.spec.learningRate))].sort((a, b) => a - b);
  const md: string[] = [
    '## Your own data: an unseen vendor, default settings (measured)',
    '',
    `Generated by \`npm run own-data -- --phase report\` on ${o.date.toISOString().slice(0, 10)}, commit \`${o.commit}\`, from the records in results/own-data/.`,
    '',
    '### How the defaults were chosen (valid parts only)',
    '',
    `Logs: ${tuneLogs.join(', ')} — the stand-ins below and smaller (about 1,000 events: nested subsets of their train and valid parts) and larger ` +
      '(SmartThings US renamed the same way, 111,090 events) ones, **without their test parts** (dropped before anything is read). ' +
      `Each log × arm × learning rate (${rates.join(', ')}) trained once (seed 0) under the protocol's schedule with a validation check after every epoch, well past its best; ` +
      'the constant rate after the warm-up makes the steps a run takes independent of when it stops, so every candidate rule is replayed exactly from these records ' +
      `(simulateStopping, checked against real runs in test/own-data.test.ts): check spacing ${CHECK_SPACING_GRID.join(' / ')} steps × minimum steps ${MIN_STEPS_GRID.join(' / ')} × patience ${PATIENCE_GRID.join(' / ')} × budget ${BUDGET_GRID.join(' / ')} epochs. ` +
      `A candidate's quality on a log is how far the valid loss of the epoch it keeps is above the lowest any run reached on that log; among the candidates within ${(100 * TOLERANCE).toFixed(1)} points of the best mean, ` +
      'the one with the fewest training steps summed over the logs wins (steps are time here: one architecture, one batch size; the large logs, where a person waits, dominate). The from-scratch arm gets the same procedure, its own rate and budget.',
    '',
    ...choiceSection(
      'adapted',
      choice.adapted,
      tuneRecords.filter((r) => r.spec.arm === 'adapted'),
    ),
    '',
    ...choiceSection(
      'scratch',
      choice.scratch,
      tuneRecords.filter((r) => r.spec.arm === 'scratch'),
    ),
    '',
    '### On the stand-ins’ held-out test splits',
    '',
    'Driven through the app with Playwright (`--phase evidence`): open Fine-tune, import the file, tick “Also train … from scratch”, set the seed, Start. Nothing else is touched (the driver checks that every setting shows its default). ' +
      "The file's own split is used: train trains, valid picks the epoch, test is held out. Percentages, mean ± std over seeds " +
      `${[...new Set(evidence.map((e) => e.seed))].join(', ')}; Markov-2, popularity and the base do not depend on the seed.`,
    '',
  ];
  const rows: ResultRow[] = [];
  for (const log of o.logs) {
    const runs = evidence.filter((e) => e.log === log.name);
    if (runs.length === 0) continue;
    md.push(
      `#### ${log.name}: ${log.behaviors} behaviors, ${log.events.toLocaleString('en-US')} events; held out ${runs[0].heldOutTargets.toLocaleString('en-US')} predicted events (backend ${[...new Set(runs.map((r) => r.backend))].join(', ')})`,
      '',
    );
    md.push(`| model | ${METRICS.join(' | ')} |`, `|---|${METRICS.map(() => '---').join('|')}|`);
    const agg = {} as Record<Column, { metrics: Record<string, number>; std: Record<string, number> }>;
    for (const column of Object.keys(COLUMNS) as Column[]) {
      agg[column] = aggregateMetrics(
        runs.map((r) => r.heldOut[column] as MetricSet),
        METRICS,
      );
      md.push(
        `| ${LABELS[column]} | ${METRICS.map((m) => cell(agg[column].metrics[m], agg[column].std[m])).join(' | ')} |`,
      );
      rows.push({
        task: OWN_DATA_TASK,
        dataset: log.name,
        targets: 'all',
        model: LABELS[column],
        ...(column === 'adapted' || column === 'scratch' ? { objective: 'dro' } : {}),
        seeds: runs.length,
        metrics: agg[column].metrics,
        std: agg[column].std,
        ...(column === 'adapted'
          ? { wallSecondsMedian: Math.round(median(runs.map((r) => r.adapted.driverWallSeconds))) }
          : {}),
      });
    }
    const a = agg.adapted.metrics;
    const lostToMarkov = METRICS.filter((m) => !(a[m] > agg['markov-2'].metrics[m]));
    const scratchGain = a['macro_recall@5'] - agg.scratch.metrics['macro_recall@5'];
    md.push(
      '',
      `- Target “the default adapted model beats Markov-2 on every metric”: ${lostToMarkov.length === 0 ? 'met' : `**MISSED** on ${lostToMarkov.join(', ')}`}.`,
      `- Target “beats from scratch on macro recall@5”: ${scratchGain > 0 ? 'met' : '**MISSED**'} (${pct(a['macro_recall@5'])} vs ${pct(agg.scratch.metrics['macro_recall@5'])}).`,
    );
    const wall = runs.map((r) => r.adapted.driverWallSeconds);
    const appWall = runs.map((r) => r.adapted.appWallSeconds);
    const load = runs.flatMap((r) => [r.loadAverage.start[0], r.loadAverage.end[0]]);
    const epochs = runs.map((r) => `${r.adapted.epochs} (kept ${r.adapted.bestEpoch}, ${r.adapted.stop})`).join(', ');
    const scratchEpochs = runs
      .map((r) => `${r.scratch.epochs} (kept ${r.scratch.bestEpoch}, ${r.scratch.stop})`)
      .join(', ');
    md.push(
      `- Wall time of the default run, Start → adapted model ready (scored, named, kept): median **${median(wall).toFixed(0)} s** (runs ${wall.map((w) => w.toFixed(0)).join(', ')} s; the app's own count ${appWall.map((w) => w.toFixed(0)).join(', ')} s), ` +
        `1-minute load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on this shared 2-core machine (rough figures). Epochs run per seed: ${epochs}. ` +
        `From scratch, after it: ${scratchEpochs}; ${runs.map((r) => r.scratch.trainSeconds.toFixed(0)).join(', ')} s of training.`,
      '',
    );
  }
  return { markdown: md.join('\n'), rows };
}
