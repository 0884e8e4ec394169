/**
 * Node-side access to behavior logs: file reading, gunzip, and the SmartThings region files.
 * Parsing itself lives in core/data so that Node and the browser report identical errors.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DataError,
  DEFAULT_MAX_BYTES,
  formatBytes,
  parseBehaviorLog,
  REGIONS,
  splitSequences,
  type ParsedLog,
  type ParseOptions,
  type Region,
} from '../core/data';
import type { BehaviorSequence } from '../core/events';
import { DEFAULT_DATA_DIR } from './config';

// Defined in config.ts (one resolver for the commands and the dev server); re-exported for the loaders' callers.
export { DEFAULT_DATA_DIR };

/** Reads and parses a log file, gunzipping it when it is gzip (by extension or magic bytes). */
export function readLogFile(path: string, options: ParseOptions = {}): ParsedLog {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new DataError(path, null, null, fsProblem(e));
  }
  // Checked before reading so that a wrong, huge file is never pulled into memory.
  if (size > maxBytes) {
    throw new DataError(
      path,
      null,
      null,
      `file is ${formatBytes(size)}, larger than the ${formatBytes(maxBytes)} limit`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError(path, null, null, fsProblem(e));
  }
  if (path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      // maxOutputLength stops a gzip bomb before it fills memory.
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (e) {
      if (e instanceof RangeError) {
        throw new DataError(path, null, null, `decompressed data is larger than the ${formatBytes(maxBytes)} limit`);
      }
      throw new DataError(path, null, null, `not a valid gzip file (${(e as Error).message})`);
    }
  }
  return parseBehaviorLog(bytes, path, options);
}

const regionCache = new Map<string, ParsedLog>();

/**
 * The parsed log of one SmartThings region (`<dataDir>/<region>.csv.gz`). Results are cached
 * per file and deep-frozen, since every caller shares them: copy before changing anything.
 */
export function loadRegion(region: Region, dataDir: string = DEFAULT_DATA_DIR): ParsedLog {
  if (!(REGIONS as readonly string[]).includes(region)) {
    throw new Error(`unknown region "${region}" (expected ${REGIONS.join(', ')})`);
  }
  const hint = `set BEHAVEGPT_DATA to the folder that holds ${REGIONS.map((r) => `${r}.csv.gz`).join(', ')}`;
  if (!existsSync(dataDir)) throw new DataError(dataDir, null, null, `data folder not found; ${hint}`);
  const path = resolve(join(dataDir, `${region}.csv.gz`));
  if (!existsSync(path)) throw new DataError(path, null, null, `file not found; ${hint}`);
  let log = regionCache.get(path);
  if (!log) {
    log = deepFreeze(readLogFile(path));
    regionCache.set(path, log);
  }
  return log;
}

function fsProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot read the file (${(e as Error).message})`;
}

function deepFreeze(log: ParsedLog): ParsedLog {
  for (const seq of log.sequences) {
    for (const e of seq.events) Object.freeze(e);
    Object.freeze(seq.events);
    Object.freeze(seq);
  }
  Object.freeze(log.sequences);
  Object.freeze(log.behaviors);
  return Object.freeze(log);
}

export interface DatasetSplits {
  train: BehaviorSequence[];
  valid: BehaviorSequence[];
  test: BehaviorSequence[];
}

/** A region's train/valid/test sequences, read once per process and folder. */
const splitsCache = new Map<string, DatasetSplits>();
export function loadSplits(region: Region, dataDir: string = DEFAULT_DATA_DIR): DatasetSplits {
  const key = `${dataDir}\0${region}`;
  let splits = splitsCache.get(key);
  if (!splits) {
    const log = loadRegion(region, dataDir);
    splits = {
      train: splitSequences(log.sequences, 'train'),
      valid: splitSequences(log.sequences, 'valid'),
      test: splitSequences(log.sequences, 'test'),
    };
    splitsCache.set(key, splits);
  }
  return splits;
}
