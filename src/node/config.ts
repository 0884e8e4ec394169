/**
 * Where the Node side reads and writes, in one place (the browser has its own settings). Paths
 * other than the data folder are relative to the project root, where `npm run` starts commands;
 * the reports quote them as written here.
 */
import { execSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The SmartThings data folder: `$BEHAVEGPT_DATA` (relative to `root` when relative), else the
 * shared clean copy next to the project. The dev and preview servers (vite.config.ts) use it too.
 */
export function resolveDataDir(
  root: string = PROJECT_ROOT,
  fromEnv: string | undefined = process.env.BEHAVEGPT_DATA,
): string {
  return fromEnv ? resolve(root, fromEnv) : resolve(root, '..', 'shared', 'data', 'smartthings');
}

export const DEFAULT_DATA_DIR = resolveDataDir();

/** One JSON record per finished experiment run (committed); a rerun skips runs that have one. */
export const RECORDS_DIR = 'results/runs';
/** Trained weights of experiment runs (float32, not committed). */
export const RUN_MODELS_DIR = 'runs/models';
/** The reports and their machine-readable rows. */
export const DOCS_DIR = 'docs';
export const RESULTS_JSON = 'docs/results.json';
export const RESULTS_MD = 'docs/RESULTS.md';
export const SCALING_JSON = 'docs/scaling.json';
export const SCALING_MD = 'docs/SCALING.md';
export const BENCH_JSON = 'docs/bench.json';
export const RELIABILITY_MD = 'docs/RELIABILITY.md';
export const RELIABILITY_JSON = 'docs/reliability.json';

/** A region's model folder for the app (int8), and its float32 reference (what `npm run pretrain` writes). */
export const appModelDir = (region: string) => `public/models/behavegpt-${region}`;
export const fp32ModelDir = (region: string) => `models/behavegpt-${region}-fp32`;
/** The model the app ships, written by `npm run experiments -- --phase ship`. */
export const SHIPPED_MODEL_DIR = appModelDir('us');
export const SHIPPED_FP32_DIR = fp32ModelDir('us');

/** The short commit the reports name ('unknown' outside a git checkout). */
export function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}
