/**
 * docs/results.json is shared by the report commands (next-behavior, generation, adaptation):
 * each replaces the rows of its own tasks, in place, and keeps the rest.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mergeRows, parseResults, type ResultRow } from '../core/results';
import { RESULTS_JSON } from './config';

/** Reads the file (none yet: no rows), replaces the rows of each task given, writes it once. */
export function writeResultRows(rowsByTask: Record<string, readonly ResultRow[]>, path: string = RESULTS_JSON): void {
  let rows = existsSync(path) ? parseResults(JSON.parse(readFileSync(path, 'utf8')), path) : [];
  for (const [task, taskRows] of Object.entries(rowsByTask)) rows = mergeRows(rows, task, taskRows);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(rows, null, 1)}\n`);
}
