/**
 * Which engine runs each workload, chosen by a short measurement of the work itself: one-query
 * prediction, scoring a whole log, and generating many trajectories at once differ in size by
 * three orders of magnitude, so the fastest engine for one need not be the fastest for another.
 * The engines: the plain-JS decoder (model/cpu-decoder.ts, on the CPU whatever the backend), and
 * the tfjs model on the page's backend (WebGPU, wasm, WebGL or CPU, model/backend.ts).
 */
import type { BackendName } from './pipeline-types';

export type EngineName = 'js' | 'tfjs';
export type Workload = 'predict' | 'score' | 'generate';

export const WORKLOADS: readonly Workload[] = ['predict', 'score', 'generate'];

/** One engine's measured speed on a workload. */
export interface EngineMeasure {
  engine: EngineName;
  /** e.g. "plain JS" or "tfjs wasm". */
  label: string;
  value: number;
  unit: 'ms' | 'positions/s' | 'events/s';
}

export interface EngineChoice {
  workload: Workload;
  engine: EngineName;
  label: string;
  /** Why, with the figures, e.g. "plain JS measured faster: 0.15 ms vs tfjs wasm 1.3 ms per prediction". */
  reason: string;
  measured: EngineMeasure[];
}

export function engineLabel(engine: EngineName, backend: BackendName): string {
  return engine === 'js' ? 'plain JS' : `tfjs ${backend}`;
}

/** Median of a few timed runs after a warm-up (ms). */
export async function medianMs(run: () => unknown, runs = 5, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const format = (m: EngineMeasure) =>
  `${m.label} ${m.unit === 'ms' ? m.value.toFixed(m.value < 1 ? 2 : 1) : Math.round(m.value).toLocaleString('en-US')} ${m.unit}`;

/**
 * The faster of the measured engines (lower ms, or higher throughput), with the reason. `what`
 * says what was measured, e.g. "per prediction, median of 5".
 */
export function pickFaster(workload: Workload, measured: EngineMeasure[], what: string): EngineChoice {
  if (measured.length === 0) throw new Error(`no engine was measured for ${workload}`);
  const better = (a: EngineMeasure, b: EngineMeasure) => (a.unit === 'ms' ? a.value <= b.value : a.value >= b.value);
  const best = measured.reduce((a, b) => (better(a, b) ? a : b));
  const others = measured.filter((m) => m !== best);
  const reason = others.length
    ? `${best.label} measured faster: ${format(best)} vs ${others.map(format).join(', ')} ${what}`
    : `${format(best)} ${what}`;
  return { workload, engine: best.engine, label: best.label, reason, measured };
}

/** A choice that was not measured: the engine was asked for (e.g. ?engine=tfjs). */
export function forcedChoice(workload: Workload, engine: EngineName, backend: BackendName): EngineChoice {
  return {
    workload,
    engine,
    label: engineLabel(engine, backend),
    reason: `${engineLabel(engine, backend)} requested in the URL`,
    measured: [],
  };
}
