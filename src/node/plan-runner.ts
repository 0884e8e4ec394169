/**
 * Runs a plan (a list of run specs) resumably, split across processes: shard i of n takes every
 * n-th run, skips runs that have a record, and logs progress with an ETA. Plans that depend on
 * other runs' results (a choice made on valid) wait for the shards doing those runs.
 */
import { NotFinishedError, runId, type RunSpec } from './run-spec';
import type { DatasetSplits } from './data';
import { readRecord, runOne } from './runs';
import { formatDuration } from '../core/format';

/** This process's part of a plan: runs index, index + count, index + 2·count, … */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `--shard I/N` (default: the whole plan). */
export function parseShard(text = '0/1'): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1 && index < count)) throw new Error(`--shard: "${text}" is not I/N with 0 ≤ I < N`);
  return { index, count };
}

export function shardOf<T>(plan: readonly T[], shard: Shard): T[] {
  return plan.filter((_, i) => i % shard.count === shard.index);
}

export interface PlanRunnerOptions {
  shard: Shard;
  recordsDir: string;
  commit: string;
  log: (line: string) => void;
  /** The splits a run trains and is scored on. */
  data: (spec: RunSpec) => DatasetSplits;
  /** Where a run's trained weights are kept (float32); undefined: not kept. */
  modelsDir?: (spec: RunSpec) => string | undefined;
}

/** Trains this shard's runs of `plan` that have no record yet, in plan order. */
export async function runPlan(plan: readonly RunSpec[], options: PlanRunnerOptions): Promise<void> {
  const { shard, recordsDir, log } = options;
  const mine = shardOf(plan, shard);
  const todo = mine.filter((spec) => !readRecord(recordsDir, runId(spec)));
  log(`${todo.length} of ${mine.length} runs to do (shard ${shard.index}/${shard.count}); records in ${recordsDir}`);
  const t0 = performance.now();
  for (const [i, spec] of todo.entries()) {
    log(`run ${i + 1}/${todo.length}: ${runId(spec)}`);
    await runOne(spec, options.data(spec), {
      recordsDir,
      modelsDir: options.modelsDir?.(spec),
      commit: options.commit,
      log,
    });
    const elapsed = (performance.now() - t0) / 1000;
    const eta = (elapsed / (i + 1)) * (todo.length - i - 1);
    log(`progress ${i + 1}/${todo.length}, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)}`);
  }
}

/**
 * `build()` once it stops throwing NotFinishedError: its inputs are runs another shard may still
 * be doing. Any other error is thrown at once.
 */
export async function waitFor<T>(
  what: string,
  build: () => T,
  log: (line: string) => void,
  pollMs = 20_000,
): Promise<T> {
  for (;;) {
    try {
      return build();
    } catch (e) {
      if (!(e instanceof NotFinishedError)) throw e;
      log(`${e.message}; waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
