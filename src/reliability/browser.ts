/**
 * The browser fault-injection suite (Playwright, the built app in Chromium) run for the
 * reliability report: which cases passed, and the figures the specs measure (cancel timings,
 * the 200 MB import's longest main-thread task), read from the files they write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The specs of issue 14's faults: model files, CSP, run control, imports, device loss. */
export const RELIABILITY_SPECS = [
  'e2e/model-faults.spec.ts',
  'e2e/security.spec.ts',
  'e2e/finetune-control.spec.ts',
  'e2e/import-large.spec.ts',
  'e2e/device-loss.spec.ts',
];

export interface BrowserCase {
  spec: string;
  title: string;
  project: string;
  status: string;
  seconds: number;
}

export interface CancelRun {
  targetStep: number;
  cancelledAtStep: number;
  stepsAfterCancel: number;
  ms: number;
}

export interface BrowserFigures {
  cases: BrowserCase[];
  cancelRuns: CancelRun[] | null;
  imports: Record<string, Record<string, number>> | null;
}

interface JsonSuite {
  title: string;
  file?: string;
  specs?: {
    title: string;
    tests: { projectName: string; status: string; results: { status: string; duration: number }[] }[];
  }[];
  suites?: JsonSuite[];
}

function collect(suite: JsonSuite, file: string, out: BrowserCase[]): void {
  for (const spec of suite.specs ?? []) {
    for (const t of spec.tests) {
      const last = t.results.at(-1);
      out.push({
        spec: file,
        title: spec.title,
        project: t.projectName,
        status: last?.status ?? t.status,
        seconds: Math.round((last?.duration ?? 0) / 1000),
      });
    }
  }
  for (const s of suite.suites ?? []) collect(s, file, out);
}

/** Runs the specs (building and serving the app as playwright.config.ts says) with figures written to `outDir`. */
export function runBrowserChecks(outDir: string): BrowserFigures {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const run = spawnSync('npx', ['playwright', 'test', ...RELIABILITY_SPECS, '--reporter=json'], {
    env: { ...process.env, RELIABILITY_OUT: outDir },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  let report: { suites: JsonSuite[] };
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`playwright did not report (exit ${run.status}): ${run.stderr.slice(-2000)}`);
  }
  const cases: BrowserCase[] = [];
  for (const suite of report.suites) collect(suite, suite.file ?? suite.title, cases);
  const read = <T>(name: string): T | null =>
    existsSync(join(outDir, name)) ? (JSON.parse(readFileSync(join(outDir, name), 'utf8')) as T) : null;
  return {
    cases,
    cancelRuns: read<CancelRun[]>('cancel-runs.json'),
    imports: read<Record<string, Record<string, number>>>('reliability-import.json'),
  };
}
