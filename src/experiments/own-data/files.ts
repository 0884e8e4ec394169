/**
 * The stand-in logs on disk: read the SmartThings regions from the data folder at run time and
 * write each stand-in as a canonical CSV (with its split column) to an ignored folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegion } from '../../node/data';
import { buildStandin, eventCount, STANDINS, toCanonicalCsv, type StandinSpec } from './standins';
import type { BehaviorSequence } from '../../core/events';

/** Where the stand-ins are written by default (ignored by git: /runs/). */
export const STANDIN_DIR = 'runs/own-data/data';

export function standinPath(dir: string, spec: StandinSpec | string): string {
  return join(dir, `${typeof spec === 'string' ? spec : spec.name}.csv`);
}

export function standinSequences(spec: StandinSpec, dataDir?: string): BehaviorSequence[] {
  return buildStandin(spec, loadRegion(spec.region, dataDir).sequences);
}

export function writeStandins(outDir: string, dataDir: string | undefined, log: (line: string) => void): void {
  mkdirSync(outDir, { recursive: true });
  for (const spec of STANDINS) {
    const sequences = standinSequences(spec, dataDir);
    const path = standinPath(outDir, spec);
    writeFileSync(path, toCanonicalCsv(sequences));
    const parts = (['train', 'valid', 'test'] as const)
      .map((p) => `${p} ${eventCount(sequences.filter((s) => s.split === p))}`)
      .join(', ');
    log(
      `${path}: ${sequences.length} sequences, ${eventCount(sequences)} events (${parts}), ${new Set(sequences.flatMap((s) => s.events.map((e) => e.behavior))).size} behaviors`,
    );
  }
}
