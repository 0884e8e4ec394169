/**
 * Loading behavior logs from CSV text. Pure (no Node APIs, no DOM, no tfjs) so that the CLI,
 * the app and web workers share one parser and one set of error messages. Gzip and file
 * access are the callers' business.
 *
 * Two formats, told apart by the header row:
 * - canonical:   sequence_id,step,weekday,time_slot,behavior[,split][,location] (the
 *                SmartThings files; any column order);
 * - timestamped: user_id,timestamp,behavior[,location] (a user's own export), turned into
 *                one sequence per user with weekday and slot derived from the timestamp.
 */
import Papa from 'papaparse';
import {
  NUM_SLOTS,
  NUM_WEEKDAYS,
  UNKNOWN_LOCATION,
  type BehaviorEvent,
  type BehaviorSequence,
  type Split,
} from './events';
import { createRng, shuffle } from './random';

export const REGIONS = ['us', 'fr', 'sp'] as const;
export type Region = (typeof REGIONS)[number];

export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * How timestamps become (weekday, slot). Quoted by the README, so keep it user-facing.
 * Wall-clock reading makes an export from any time zone mean what its owner saw on the clock,
 * and keeps the result independent of the time zone of the machine that parses it.
 */
export const TIMESTAMP_TIMEZONE_RULE =
  'Weekday and time slot come from the local wall-clock time as written in an ISO 8601 timestamp ' +
  '(2024-03-04T23:30:00+09:00 is Monday, 21–24 h); a UTC offset, if given, is used only to order ' +
  'the events of a user on the absolute time line, never to shift the clock. Unix epoch seconds ' +
  'carry no local time, so they are read as UTC.';

/** A problem in an input file, located as precisely as known (1-based physical line, header = 1). */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly field: string | null;
  readonly problem: string;

  constructor(file: string, line: number | null, field: string | null, problem: string) {
    let where = file;
    if (line !== null) where += `: line ${line}`;
    if (field !== null) where += `${line !== null ? ',' : ':'} field "${field}"`;
    super(`${where}: ${problem}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.field = field;
    this.problem = problem;
  }
}

export interface ParseOptions {
  /** Largest accepted input in bytes (checked before decoding); default 256 MiB. */
  maxBytes?: number;
  /** Location of events whose file has no location (or an empty one); default UNKNOWN_LOCATION. */
  defaultLocation?: string;
}

export interface ParsedLog {
  format: 'canonical' | 'timestamped';
  sequences: BehaviorSequence[];
  events: number;
  /** Distinct behavior names, sorted. */
  behaviors: string[];
}

const CANONICAL_REQUIRED = ['sequence_id', 'step', 'weekday', 'time_slot', 'behavior'] as const;
const TIMESTAMPED_REQUIRED = ['user_id', 'timestamp', 'behavior'] as const;

/**
 * Parses a behavior log (bytes or already decoded text). Returns a complete result or throws a
 * DataError; nothing is half-loaded.
 */
export function parseBehaviorLog(input: Uint8Array | string, file: string, options: ParseOptions = {}): ParsedLog {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const defaultLocation = options.defaultLocation ?? UNKNOWN_LOCATION;
  let text: string;
  if (typeof input === 'string') {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if (input.byteLength > maxBytes) {
      throw new DataError(
        file,
        null,
        null,
        `file is ${formatBytes(input.byteLength)}, larger than the ${formatBytes(maxBytes)} limit`,
      );
    }
    text = decodeUtf8(input, file); // TextDecoder drops a leading BOM
  }

  const rows = readCsvRows(text, file);
  if (rows.length === 0) throw new DataError(file, null, null, 'the file is empty');
  const header = rows[0].fields.map((h) => h.trim().toLowerCase());
  const columns = new Map<string, number>();
  header.forEach((name, i) => {
    if (columns.has(name)) throw new DataError(file, 1, name, `column "${name}" appears twice in the header`);
    columns.set(name, i);
  });
  if (rows.length === 1) throw new DataError(file, null, null, 'the file has a header row but no data rows');

  const table: Table = { file, header, columns, rows };
  if (columns.has('sequence_id')) return parseCanonical(table, defaultLocation);
  if (columns.has('user_id') || columns.has('timestamp')) return parseTimestamped(table, defaultLocation);
  throw new DataError(
    file,
    1,
    null,
    `unrecognized header "${rows[0].fields.join(',')}": expected the columns ` +
      `${CANONICAL_REQUIRED.join(',')}[,split][,location] or ${TIMESTAMPED_REQUIRED.join(',')}[,location]`,
  );
}

export interface LogSummary {
  format: ParsedLog['format'];
  events: number;
  sequences: number;
  behaviors: number;
  locations: number;
  /** Sequences and events per split; `unsplit` counts sequences without a split. */
  splits: Record<Split | 'unsplit', { sequences: number; events: number }>;
  /** coverage[weekday][slot] = number of events (7 × 8). */
  coverage: number[][];
  minLength: number;
  maxLength: number;
}

export function summarizeLog(log: ParsedLog): LogSummary {
  const splits = {
    train: { sequences: 0, events: 0 },
    valid: { sequences: 0, events: 0 },
    test: { sequences: 0, events: 0 },
    unsplit: { sequences: 0, events: 0 },
  };
  const coverage = Array.from({ length: NUM_WEEKDAYS }, () => new Array<number>(NUM_SLOTS).fill(0));
  const locations = new Set<string>();
  let minLength = Infinity;
  let maxLength = 0;
  for (const seq of log.sequences) {
    const s = splits[seq.split ?? 'unsplit'];
    s.sequences += 1;
    s.events += seq.events.length;
    minLength = Math.min(minLength, seq.events.length);
    maxLength = Math.max(maxLength, seq.events.length);
    for (const e of seq.events) {
      coverage[e.weekday][e.slot] += 1;
      locations.add(e.location);
    }
  }
  return {
    format: log.format,
    events: log.events,
    sequences: log.sequences.length,
    behaviors: log.behaviors.length,
    locations: locations.size,
    splits,
    coverage,
    minLength: log.sequences.length ? minLength : 0,
    maxLength,
  };
}

export function splitSequences(sequences: readonly BehaviorSequence[], split: Split): BehaviorSequence[] {
  return sequences.filter((s) => s.split === split);
}

/**
 * A fraction of whole sequences, chosen by one fixed permutation so that smaller fractions are
 * subsets of larger ones (nested data sizes for scaling and few-data experiments). At least one
 * sequence; file order kept.
 */
export function nestedSubset(sequences: readonly BehaviorSequence[], fraction: number, seed = 0): BehaviorSequence[] {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`nestedSubset: fraction ${fraction} is not in (0, 1]`);
  if (fraction === 1) return [...sequences];
  const count = Math.max(1, Math.round(fraction * sequences.length));
  const chosen = new Set(shuffle(sequences.map((_, i) => i), createRng(seed)).slice(0, count));
  return sequences.filter((_, i) => chosen.has(i));
}

// ---------------------------------------------------------------------------------------------

interface CsvRow {
  fields: string[];
  /** 1-based physical line where the row starts. */
  line: number;
}

interface Table {
  file: string;
  header: string[];
  columns: Map<string, number>;
  /** rows[0] is the header. */
  rows: CsvRow[];
}

/** Human-readable size for messages (binary units). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // The decoder does not say where it failed. A newline byte (0x0A) never occurs inside a
    // multi-byte UTF-8 sequence, so decoding line by line finds the offending line exactly.
    let line = 1;
    let start = 0;
    while (start <= bytes.length) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end));
      } catch {
        break;
      }
      line += 1;
      start = end + 1;
    }
    throw new DataError(file, line, null, 'not valid UTF-8 text (save the file as UTF-8)');
  }
}

/** CSV rows with the physical line each starts on; blank lines are dropped. */
function readCsvRows(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let error: DataError | null = null;
  // Papa reports the offset just past each row; a row starts where the previous one ended.
  // Counting newlines between those offsets gives physical lines even with quoted newlines.
  let rowStart = 0;
  let counted = 0;
  let line = 1;
  Papa.parse<string[]>(text, {
    delimiter: ',',
    skipEmptyLines: false,
    step(result, parser) {
      for (let i = text.indexOf('\n', counted); i >= 0 && i < rowStart; i = text.indexOf('\n', i + 1)) line += 1;
      counted = rowStart;
      const rowLine = line;
      rowStart = result.meta.cursor;
      if (result.errors.length > 0) {
        error = new DataError(file, rowLine, null, `malformed CSV: ${result.errors[0].message}`);
        parser.abort();
        return;
      }
      const fields = result.data;
      if (fields.length === 1 && fields[0].trim() === '') return;
      rows.push({ fields, line: rowLine });
    },
  });
  if (error) throw error;
  return rows;
}

/** Field accessor for one table: checks the field count and trims values. */
function rowReader(table: Table, required: readonly string[]) {
  const { file, header, columns } = table;
  for (const name of required) {
    if (!columns.has(name)) {
      throw new DataError(
        file,
        1,
        name,
        `the header has no "${name}" column (required: ${required.join(',')})`,
      );
    }
  }
  return (row: CsvRow) => {
    if (row.fields.length !== header.length) {
      throw new DataError(
        file,
        row.line,
        null,
        `expected ${header.length} fields like the header, found ${row.fields.length}`,
      );
    }
    return (name: string): string | undefined => {
      const i = columns.get(name);
      return i === undefined ? undefined : row.fields[i].trim();
    };
  };
}

function parseIntField(
  value: string,
  min: number,
  max: number,
  file: string,
  line: number,
  field: string,
  what: string,
): number {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new DataError(file, line, field, `"${value}" is not ${what}`);
  return n;
}

function requireNonEmpty(value: string, file: string, line: number, field: string): string {
  if (value === '') throw new DataError(file, line, field, `empty ${field}`);
  return value;
}

function distinctBehaviors(sequences: BehaviorSequence[]): string[] {
  const names = new Set<string>();
  for (const s of sequences) for (const e of s.events) names.add(e.behavior);
  return [...names].sort();
}

function finish(format: ParsedLog['format'], sequences: BehaviorSequence[]): ParsedLog {
  return {
    format,
    sequences,
    events: sequences.reduce((n, s) => n + s.events.length, 0),
    behaviors: distinctBehaviors(sequences),
  };
}

function parseCanonical(table: Table, defaultLocation: string): ParsedLog {
  const { file } = table;
  const read = rowReader(table, CANONICAL_REQUIRED);
  const sequences: BehaviorSequence[] = [];
  const seen = new Set<string>();
  let current: BehaviorSequence | null = null;
  let splitLine = 0;

  for (const row of table.rows.slice(1)) {
    const get = read(row);
    const { line } = row;
    const id = requireNonEmpty(get('sequence_id')!, file, line, 'sequence_id');
    const stepText = get('step')!;
    const step = parseIntField(stepText, 0, Number.MAX_SAFE_INTEGER, file, line, 'step', 'a step (an integer from 0)');
    const weekday = parseIntField(get('weekday')!, 0, NUM_WEEKDAYS - 1, file, line, 'weekday', 'a weekday (0–6, Monday = 0)');
    const slot = parseIntField(get('time_slot')!, 0, NUM_SLOTS - 1, file, line, 'time_slot', 'a time slot (0–7, three-hour bins)');
    const behavior = requireNonEmpty(get('behavior')!, file, line, 'behavior');
    const location = get('location') || defaultLocation;
    const splitText = get('split');
    let split: Split | undefined;
    if (splitText !== undefined) {
      if (!(SPLITS as readonly string[]).includes(splitText)) {
        throw new DataError(file, line, 'split', `"${splitText}" is not a split (train, valid or test)`);
      }
      split = splitText as Split;
    }

    if (current === null || current.id !== id) {
      // Contiguity lets the file be read as a stream of sequences; a repeat is almost always
      // two files concatenated or a sort by something other than sequence.
      if (seen.has(id)) {
        throw new DataError(file, line, 'sequence_id', `sequence "${id}" appears again after other sequences; the rows of a sequence must be contiguous`);
      }
      if (step !== 0) throw new DataError(file, line, 'step', `sequence "${id}" starts at step ${step}, not 0`);
      seen.add(id);
      current = { id, split, events: [] };
      splitLine = line;
      sequences.push(current);
    } else {
      const previous = current.events.length - 1;
      if (step !== previous + 1) {
        throw new DataError(file, line, 'step', `step ${step} follows step ${previous} in sequence "${id}"`);
      }
      if (split !== current.split) {
        throw new DataError(file, line, 'split', `sequence "${id}" is in split "${current.split}" on line ${splitLine} but "${split}" here; a sequence has one split`);
      }
    }
    current.events.push({ behavior, weekday, slot, location });
  }
  return finish('canonical', sequences);
}

export interface Timestamp {
  /** Milliseconds on the absolute time line (used for ordering only). */
  absolute: number;
  weekday: number;
  slot: number;
}

// ISO 8601 date-time: date, 'T' or space, hh:mm[:ss[.fff]], optional Z or ±hh:mm.
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:\d{2})?$/i;
const EPOCH_SECONDS = /^[+-]?\d+(\.\d+)?$/;
/** 9999-12-31T23:59:59Z: a larger "epoch" is almost surely in milliseconds (1.7e12 today). */
const MAX_EPOCH_SECONDS = 253_402_300_799;

/** Weekday (Monday = 0) and slot of a UTC-based millisecond value. */
function clockOf(ms: number): { weekday: number; slot: number } {
  const d = new Date(ms);
  return { weekday: (d.getUTCDay() + 6) % 7, slot: Math.floor(d.getUTCHours() / 3) };
}

/** Parses a timestamp per TIMESTAMP_TIMEZONE_RULE; null when it is not one. */
export function parseTimestamp(value: string): Timestamp | null {
  const iso = ISO_TIMESTAMP.exec(value);
  if (iso) {
    const [, y, mo, d, h, mi, s = '0', frac = '', zone] = iso;
    // Wall-clock fields as if they were UTC: Date arithmetic then never sees a time zone.
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // also right for years < 100
    date.setUTCHours(Number(h), Number(mi), Number(s), Number(frac.slice(0, 3).padEnd(3, '0')));
    const valid =
      date.getUTCFullYear() === Number(y) &&
      date.getUTCMonth() === Number(mo) - 1 &&
      date.getUTCDate() === Number(d) &&
      date.getUTCHours() === Number(h) &&
      date.getUTCMinutes() === Number(mi) &&
      date.getUTCSeconds() === Number(s);
    if (!valid) return null;
    const wall = date.getTime();
    let offsetMinutes = 0;
    if (zone && zone.toUpperCase() !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const oh = Number(zone.slice(1, 3));
      const om = Number(zone.slice(4, 6));
      if (oh > 23 || om > 59) return null;
      offsetMinutes = sign * (oh * 60 + om);
    }
    return { absolute: wall - offsetMinutes * 60_000, ...clockOf(wall) };
  }
  if (EPOCH_SECONDS.test(value)) {
    const seconds = Number(value);
    if (!(Math.abs(seconds) <= MAX_EPOCH_SECONDS)) return null;
    const ms = seconds * 1000;
    return { absolute: ms, ...clockOf(ms) };
  }
  return null;
}

function parseTimestamped(table: Table, defaultLocation: string): ParsedLog {
  const { file } = table;
  const read = rowReader(table, TIMESTAMPED_REQUIRED);
  const byUser = new Map<string, { time: number; event: BehaviorEvent }[]>();
  for (const row of table.rows.slice(1)) {
    const get = read(row);
    const { line } = row;
    const user = requireNonEmpty(get('user_id')!, file, line, 'user_id');
    const stamp = get('timestamp')!;
    const time = parseTimestamp(stamp);
    if (time === null) {
      const hint = EPOCH_SECONDS.test(stamp) ? ' (epoch values must be in seconds, not milliseconds)' : '';
      throw new DataError(
        file,
        line,
        'timestamp',
        `"${stamp}" is not a timestamp: use ISO 8601 like 2024-03-05T14:20:00 (optionally with seconds ` +
          `fractions, Z or ±hh:mm) or Unix epoch seconds${hint}`,
      );
    }
    const behavior = requireNonEmpty(get('behavior')!, file, line, 'behavior');
    const location = get('location') || defaultLocation;
    let events = byUser.get(user);
    if (!events) byUser.set(user, (events = []));
    events.push({ time: time.absolute, event: { behavior, weekday: time.weekday, slot: time.slot, location } });
  }
  // Array.prototype.sort is stable, so ties keep file order. Users keep first-seen order.
  const sequences = [...byUser].map(([id, events]) => ({
    id,
    events: events.sort((a, b) => a.time - b.time).map((e) => e.event),
  }));
  return finish('timestamped', sequences);
}
