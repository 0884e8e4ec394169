/**
 * Loading behavior logs from CSV text. Pure (no Node APIs, no DOM, no tfjs) so that the CLI,
 * the app and web workers share one parser and one set of error messages. Gzip and file
 * access are the callers' business. The parser is incremental (LogParser: feed it bytes or
 * text in chunks as a file streams in) and bounded (PARSE_LIMITS), so a worker can read a
 * large file with progress and hostile input is refused early with a clear error.
 *
 * Two formats, told apart by the header row:
 * - canonical:   sequence_id,step,weekday,time_slot,behavior[,split][,location] (the
 *                SmartThings files; any column order);
 * - timestamped: user_id,timestamp,behavior[,location] (a user's own export), turned into
 *                one sequence per user with weekday and slot derived from the timestamp.
 */
import { CsvError, CsvReader, type CsvRow } from './csv';
import {
  NUM_SLOTS,
  NUM_WEEKDAYS,
  UNKNOWN_LOCATION,
  type BehaviorEvent,
  type BehaviorSequence,
  type Split,
} from './events';
import { createRng, shuffle } from './random';
import { BOS, PAD, UNK } from './vocab';

export const REGIONS = ['us', 'fr', 'sp'] as const;
export type Region = (typeof REGIONS)[number];

export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** What an import may hold (README, "Input formats"); each limit has its own clear error. */
export const PARSE_LIMITS = {
  /** Largest input, in bytes as stored and again after decompression (a gzip bomb stops here). */
  maxBytes: 256 * 1024 * 1024,
  /** Longest row, in characters. */
  maxRowChars: 64 * 1024,
  /** Longest behavior, location, sequence or user name, in characters. */
  maxNameChars: 256,
  /**
   * Most events (data rows) of one import: what a browser tab can hold and train on. A 256 MiB
   * log of SmartThings-like rows has about 6 million.
   */
  maxEvents: 10_000_000,
  /** Most sequences (or users) of one import. */
  maxSequences: 1_000_000,
} as const;

export const DEFAULT_MAX_BYTES = PARSE_LIMITS.maxBytes;

/** Token names the model reserves; a log that uses one as a behavior is refused. */
const RESERVED_BEHAVIORS: ReadonlySet<string> = new Set([PAD, BOS, UNK]);

/** How numeric (Unix epoch) timestamps are read. */
export type EpochUnit = 'seconds' | 'milliseconds';

/** Epoch values read as a date outside these years are almost surely in the other unit. */
const PLAUSIBLE_YEARS = [1990, 2100] as const;

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
  /** Largest accepted input in bytes (checked as it is read); default PARSE_LIMITS.maxBytes. */
  maxBytes?: number;
  /** Longest accepted row in characters; default PARSE_LIMITS.maxRowChars. */
  maxRowChars?: number;
  /** Most accepted events (data rows); default PARSE_LIMITS.maxEvents. */
  maxEvents?: number;
  /** Most accepted sequences (canonical) or users (timestamped); default PARSE_LIMITS.maxSequences. */
  maxSequences?: number;
  /** Location of events whose file has no location (or an empty one); default UNKNOWN_LOCATION. */
  defaultLocation?: string;
  /** Unit of numeric timestamps; default seconds (a warning names values that look like the other unit). */
  epochUnit?: EpochUnit;
}

export interface ParsedLog {
  format: 'canonical' | 'timestamped';
  sequences: BehaviorSequence[];
  events: number;
  /** Distinct behavior names, sorted. */
  behaviors: string[];
  /** Things the parser accepted but the person should check (file and line named in each). */
  warnings: string[];
}

const CANONICAL_REQUIRED = ['sequence_id', 'step', 'weekday', 'time_slot', 'behavior'] as const;
const TIMESTAMPED_REQUIRED = ['user_id', 'timestamp', 'behavior'] as const;

/**
 * Parses a behavior log (bytes or already decoded text). Returns a complete result or throws a
 * DataError; nothing is half-loaded.
 */
export function parseBehaviorLog(input: Uint8Array | string, file: string, options: ParseOptions = {}): ParsedLog {
  const maxBytes = options.maxBytes ?? PARSE_LIMITS.maxBytes;
  if (typeof input !== 'string' && input.byteLength > maxBytes) {
    throw new DataError(
      file,
      null,
      null,
      `file is ${formatBytes(input.byteLength)}, larger than the ${formatBytes(maxBytes)} limit`,
    );
  }
  const parser = new LogParser(file, options);
  if (typeof input === 'string') parser.pushText(input);
  else parser.pushBytes(input);
  return parser.finish();
}

/** Reads a log chunk by chunk (bytes or text, not both); `finish` returns it or throws a DataError. */
export class LogParser {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly csv: CsvReader;
  private readonly context: RowContext;
  private handler: RowHandler | null = null;
  private header: CsvRow | null = null;
  private lastRow: CsvRow | null = null;
  private readonly maxEvents: number;
  private rows = 0;
  private bytes = 0;
  private started = false;
  /** Bytes of a UTF-8 character split across two chunks. */
  private carry = new Uint8Array(0);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(file: string, options: ParseOptions = {}) {
    this.file = file;
    this.maxBytes = options.maxBytes ?? PARSE_LIMITS.maxBytes;
    this.context = {
      file,
      defaultLocation: options.defaultLocation ?? UNKNOWN_LOCATION,
      epochUnit: options.epochUnit ?? 'seconds',
      maxSequences: options.maxSequences ?? PARSE_LIMITS.maxSequences,
      names: new Map(),
      warnings: [],
    };
    this.maxEvents = options.maxEvents ?? PARSE_LIMITS.maxEvents;
    this.csv = new CsvReader((row) => this.onRow(row), {
      maxRowChars: options.maxRowChars ?? PARSE_LIMITS.maxRowChars,
    });
  }

  /** Bytes (or characters, for text) read so far: what a progress bar shows. */
  get bytesRead(): number {
    return this.bytes;
  }

  /** The next chunk of a UTF-8 file (a character may be split across chunks). */
  pushBytes(chunk: Uint8Array): void {
    this.count(chunk.byteLength);
    let bytes = chunk;
    if (this.carry.length > 0) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
    }
    if (!this.started) {
      if (bytes.length < 3 && bytes.every((b, i) => b === UTF8_BOM[i])) {
        this.carry = bytes.slice();
        return; // maybe the start of a BOM: wait for more
      }
      this.started = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const complete = completeUtf8Length(bytes);
    this.carry = bytes.slice(complete);
    const body = bytes.subarray(0, complete);
    let text: string;
    try {
      text = this.decoder.decode(body);
    } catch {
      throw new DataError(
        this.file,
        this.csv.currentLine + firstInvalidLine(body),
        null,
        'not valid UTF-8 text (save the file as UTF-8)',
      );
    }
    this.feed(text);
  }

  /** The next chunk of already decoded text. */
  pushText(text: string): void {
    this.count(text.length);
    if (!this.started) {
      this.started = text.length > 0;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.feed(text);
  }

  finish(): ParsedLog {
    if (this.carry.length > 0) {
      throw new DataError(
        this.file,
        this.csv.currentLine,
        null,
        'not valid UTF-8 text: the file ends inside a character (save the file as UTF-8; was it cut off?)',
      );
    }
    const endsWithLineBreak = this.csv.atRowStart;
    this.guard(() => this.csv.end());
    if (this.header === null) throw new DataError(this.file, null, null, 'the file is empty');
    if (this.handler === null || this.lastRow === null)
      throw new DataError(this.file, null, null, 'the file has a header row but no data rows');
    if (!endsWithLineBreak) this.checkLastRow(this.lastRow);
    return this.handler.finish();
  }

  private count(n: number): void {
    this.bytes += n;
    if (this.bytes > this.maxBytes) {
      throw new DataError(this.file, null, null, `the file is larger than the ${formatBytes(this.maxBytes)} limit`);
    }
  }

  private feed(text: string): void {
    this.guard(() => this.csv.push(text));
  }

  private guard(read: () => void): void {
    try {
      read();
    } catch (e) {
      if (e instanceof CsvError) throw new DataError(this.file, e.line, null, `malformed CSV: ${e.problem}`);
      throw e;
    }
  }

  private onRow(row: CsvRow): void {
    if (this.header === null) {
      this.header = row;
      this.handler = rowHandler(row, this.context);
      return;
    }
    if (++this.rows > this.maxEvents) {
      throw new DataError(
        this.file,
        row.line,
        null,
        `more than ${this.maxEvents.toLocaleString('en-US')} events, the limit of one import (split the file, or keep its most recent part)`,
      );
    }
    this.handler!.add(row);
    this.lastRow = row;
  }

  /**
   * A file that does not end with a line break may have been cut off inside its last row: its
   * last value is then a fragment. A fragment of a value the file uses elsewhere is refused; a
   * value seen nowhere else is accepted with a warning.
   */
  private checkLastRow(row: CsvRow): void {
    const header = this.header!.fields.map(normalizeColumn);
    const column = header[row.fields.length - 1];
    const value = row.fields[row.fields.length - 1]?.trim() ?? '';
    if (value === '') return;
    const { seen, longer } = this.handler!.seenElsewhere(column, value);
    if (seen) return;
    if (longer !== null) {
      throw new DataError(
        this.file,
        row.line,
        column,
        `"${value}" looks cut off (the file does not end with a line break, and "${longer}" appears on other lines): was the file truncated?`,
      );
    }
    this.context.warnings.push(
      `${this.file}: line ${row.line}, field "${column}": the file does not end with a line break and "${value}" appears on no other line; check that the file is complete`,
    );
  }
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Length of the prefix of `bytes` that holds only whole UTF-8 characters (a split one is left over). */
function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** 0-based index of the first line (breaks: \n, \r\n, \r) of `bytes` that is not valid UTF-8. */
function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let line = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const b = bytes[i];
    if (i < bytes.length && b !== 0x0a && b !== 0x0d) continue;
    try {
      decoder.decode(bytes.subarray(start, i));
    } catch {
      return line;
    }
    if (b === 0x0d && bytes[i + 1] === 0x0a) i++;
    line++;
    start = i + 1;
  }
  return line;
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

/** Sequences that can be replayed: at least one event to predict (t ≥ 1). */
export function replayable(sequences: readonly BehaviorSequence[]): BehaviorSequence[] {
  return sequences.filter((s) => s.events.length >= 2);
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
  const chosen = new Set(
    shuffle(
      sequences.map((_, i) => i),
      createRng(seed),
    ).slice(0, count),
  );
  return sequences.filter((_, i) => chosen.has(i));
}

// ---------------------------------------------------------------------------------------------

/** What every row handler of one file shares. */
interface RowContext {
  file: string;
  defaultLocation: string;
  epochUnit: EpochUnit;
  maxSequences: number;
  /** One string per distinct name, so a large file holds each behavior name once. */
  names: Map<string, string>;
  warnings: string[];
}

/** Turns the rows after the header into sequences, one row at a time. */
interface RowHandler {
  add(row: CsvRow): void;
  finish(): ParsedLog;
  /** Whether the last row's `value` of `column` occurs on another row too, or else a longer value that begins with it. */
  seenElsewhere(column: string, value: string): { seen: boolean; longer: string | null };
}

/** Human-readable size for messages (binary units). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function normalizeColumn(name: string): string {
  return name.trim().toLowerCase();
}

/** The handler for the header's format, or a DataError naming what the header lacks. */
function rowHandler(header: CsvRow, context: RowContext): RowHandler {
  const { file } = context;
  const names = header.fields.map(normalizeColumn);
  const columns = new Map<string, number>();
  names.forEach((name, i) => {
    if (columns.has(name)) throw new DataError(file, header.line, name, `column "${name}" appears twice in the header`);
    columns.set(name, i);
  });
  const table: Table = { file, headerLine: header.line, width: names.length, columns };
  if (columns.has('sequence_id')) return canonicalHandler(table, context);
  if (columns.has('user_id') || columns.has('timestamp')) return timestampedHandler(table, context);
  throw new DataError(
    file,
    header.line,
    null,
    `unrecognized header "${header.fields.join(',')}": expected the columns ` +
      `${CANONICAL_REQUIRED.join(',')}[,split][,location] or ${TIMESTAMPED_REQUIRED.join(',')}[,location]`,
  );
}

interface Table {
  file: string;
  headerLine: number;
  width: number;
  columns: Map<string, number>;
}

/** Field accessor for one table: checks the required columns, then each row's field count; trims values. */
function rowReader(table: Table, required: readonly string[]) {
  const { file, headerLine, width, columns } = table;
  for (const name of required) {
    if (!columns.has(name)) {
      throw new DataError(
        file,
        headerLine,
        name,
        `the header has no "${name}" column (required: ${required.join(',')})`,
      );
    }
  }
  return (row: CsvRow) => {
    if (row.fields.length !== width) {
      throw new DataError(file, row.line, null, `expected ${width} fields like the header, found ${row.fields.length}`);
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

/** A non-empty name within the length limit, as the file's one shared copy. */
function readName(value: string, context: RowContext, line: number, field: string): string {
  if (value === '') throw new DataError(context.file, line, field, `empty ${field}`);
  if (value.length > PARSE_LIMITS.maxNameChars) {
    throw new DataError(
      context.file,
      line,
      field,
      `a ${field} of ${value.length.toLocaleString('en-US')} characters is longer than the ${PARSE_LIMITS.maxNameChars}-character limit`,
    );
  }
  let shared = context.names.get(value);
  if (shared === undefined) {
    // A fresh copy: a slice of a large chunk would keep the whole chunk in memory.
    shared = ` ${value}`.slice(1);
    context.names.set(shared, shared);
  }
  return shared;
}

function tooManySequences(context: RowContext, line: number, field: string, what: string): DataError {
  return new DataError(
    context.file,
    line,
    field,
    `more than ${context.maxSequences.toLocaleString('en-US')} ${what}, the limit of one import (split the file)`,
  );
}

function readBehavior(value: string, context: RowContext, line: number): string {
  const behavior = readName(value, context, line, 'behavior');
  if (RESERVED_BEHAVIORS.has(behavior)) {
    throw new DataError(
      context.file,
      line,
      'behavior',
      `"${behavior}" is a name the model reserves for its own tokens, not a behavior`,
    );
  }
  return behavior;
}

function readLocation(value: string | undefined, context: RowContext, line: number): string {
  return value ? readName(value, context, line, 'location') : context.defaultLocation;
}

function finish(format: ParsedLog['format'], sequences: BehaviorSequence[], context: RowContext): ParsedLog {
  const behaviors = new Set<string>();
  let events = 0;
  for (const s of sequences) {
    events += s.events.length;
    for (const e of s.events) behaviors.add(e.behavior);
  }
  return { format, sequences, events, behaviors: [...behaviors].sort(), warnings: context.warnings };
}

/**
 * The values of the table's last column, when it holds names (behavior or location): a file
 * cut off inside its last row leaves a fragment of one there (checked by LogParser.finish).
 */
function lastColumnValues(table: Table) {
  const column = [...table.columns].find(([, i]) => i === table.width - 1)![0];
  const counts = column === 'behavior' || column === 'location' ? new Map<string, number>() : null;
  return {
    add(get: (name: string) => string | undefined) {
      if (!counts) return;
      const value = get(column)!;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    },
    /** Whether the last row's `value` also occurs on another row, or else a longer value that begins with it. */
    seenElsewhere(lastColumn: string, value: string): { seen: boolean; longer: string | null } {
      if (!counts || lastColumn !== column) return { seen: true, longer: null };
      if ((counts.get(value) ?? 0) > 1) return { seen: true, longer: null };
      let longer: string | null = null;
      for (const v of counts.keys())
        if (v !== value && v.startsWith(value) && (longer === null || v < longer)) longer = v;
      return { seen: false, longer };
    },
  };
}

function canonicalHandler(table: Table, context: RowContext): RowHandler {
  const { file } = context;
  const read = rowReader(table, CANONICAL_REQUIRED);
  const lastValues = lastColumnValues(table);
  const sequences: BehaviorSequence[] = [];
  const seen = new Set<string>();
  let current: BehaviorSequence | null = null;
  let splitLine = 0;

  return {
    add(row) {
      const get = read(row);
      const { line } = row;
      const idText = get('sequence_id')!;
      const step = parseIntField(
        get('step')!,
        0,
        Number.MAX_SAFE_INTEGER,
        file,
        line,
        'step',
        'a step (an integer from 0)',
      );
      const weekday = parseIntField(
        get('weekday')!,
        0,
        NUM_WEEKDAYS - 1,
        file,
        line,
        'weekday',
        'a weekday (0–6, Monday = 0)',
      );
      const slot = parseIntField(
        get('time_slot')!,
        0,
        NUM_SLOTS - 1,
        file,
        line,
        'time_slot',
        'a time slot (0–7, three-hour bins)',
      );
      const behavior = readBehavior(get('behavior')!, context, line);
      const location = readLocation(get('location'), context, line);
      const splitText = get('split');
      let split: Split | undefined;
      if (splitText !== undefined) {
        if (!(SPLITS as readonly string[]).includes(splitText)) {
          throw new DataError(file, line, 'split', `"${splitText}" is not a split (train, valid or test)`);
        }
        split = splitText as Split;
      }
      lastValues.add(get);

      if (current === null || current.id !== idText) {
        const id = readName(idText, context, line, 'sequence_id');
        // Contiguity lets the file be read as a stream of sequences; a repeat is almost always
        // two files concatenated or a sort by something other than sequence.
        if (seen.has(id)) {
          throw new DataError(
            file,
            line,
            'sequence_id',
            `sequence "${id}" appears again after other sequences; the rows of a sequence must be contiguous`,
          );
        }
        if (step !== 0) throw new DataError(file, line, 'step', `sequence "${id}" starts at step ${step}, not 0`);
        if (sequences.length >= context.maxSequences) throw tooManySequences(context, line, 'sequence_id', 'sequences');
        seen.add(id);
        current = { id, split, events: [] };
        splitLine = line;
        sequences.push(current);
      } else {
        const previous = current.events.length - 1;
        if (step !== previous + 1) {
          throw new DataError(file, line, 'step', `step ${step} follows step ${previous} in sequence "${current.id}"`);
        }
        if (split !== current.split) {
          throw new DataError(
            file,
            line,
            'split',
            `sequence "${current.id}" is in split "${current.split}" on line ${splitLine} but "${split}" here; a sequence has one split`,
          );
        }
      }
      current.events.push({ behavior, weekday, slot, location });
    },
    finish: () => finish('canonical', sequences, context),
    seenElsewhere: lastValues.seenElsewhere,
  };
}

export interface Timestamp {
  /** Milliseconds on the absolute time line (used for ordering only). */
  absolute: number;
  weekday: number;
  slot: number;
}

// ISO 8601 date-time: date, 'T' or space, hh:mm[:ss[.fff]], optional Z or ±hh:mm.
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:\d{2})?$/i;
const EPOCH_NUMBER = /^[+-]?\d+(\.\d+)?$/;
/** 9999-12-31T23:59:59Z: a larger "epoch" in seconds is almost surely in milliseconds (1.7e12 today). */
const MAX_EPOCH_SECONDS = 253_402_300_799;

/** Weekday (Monday = 0) and slot of a UTC-based millisecond value. */
function clockOf(ms: number): { weekday: number; slot: number } {
  const d = new Date(ms);
  return { weekday: (d.getUTCDay() + 6) % 7, slot: Math.floor(d.getUTCHours() / 3) };
}

/** Parses a timestamp per TIMESTAMP_TIMEZONE_RULE; null when it is not one. */
export function parseTimestamp(value: string, epochUnit: EpochUnit = 'seconds'): Timestamp | null {
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
  if (EPOCH_NUMBER.test(value)) {
    const ms = epochUnit === 'seconds' ? Number(value) * 1000 : Number(value);
    if (!(Math.abs(ms) <= MAX_EPOCH_SECONDS * 1000)) return null;
    return { absolute: ms, ...clockOf(ms) };
  }
  return null;
}

function timestampedHandler(table: Table, context: RowContext): RowHandler {
  const { file, epochUnit } = context;
  const read = rowReader(table, TIMESTAMPED_REQUIRED);
  const lastValues = lastColumnValues(table);
  const byUser = new Map<string, { time: number; event: BehaviorEvent }[]>();
  const [fromYear, toYear] = PLAUSIBLE_YEARS;
  const plausible = [Date.UTC(fromYear, 0, 1), Date.UTC(toYear, 0, 1)];
  let implausible: { count: number; line: number; value: string } | null = null;

  return {
    add(row) {
      const get = read(row);
      const { line } = row;
      const userText = get('user_id')!;
      const stamp = get('timestamp')!;
      const time = parseTimestamp(stamp, epochUnit);
      if (time === null) {
        const hint =
          EPOCH_NUMBER.test(stamp) && epochUnit === 'seconds'
            ? ' (this number is too large for seconds: if it is in milliseconds, choose milliseconds as the unit)'
            : '';
        throw new DataError(
          file,
          line,
          'timestamp',
          `"${stamp}" is not a timestamp: use ISO 8601 like 2024-03-05T14:20:00 (optionally with seconds ` +
            `fractions, Z or ±hh:mm) or Unix epoch ${epochUnit}${hint}`,
        );
      }
      if (EPOCH_NUMBER.test(stamp) && !(time.absolute >= plausible[0] && time.absolute < plausible[1])) {
        implausible ??= { count: 0, line, value: stamp };
        implausible.count++;
      }
      const behavior = readBehavior(get('behavior')!, context, line);
      const location = readLocation(get('location'), context, line);
      lastValues.add(get);
      let events = byUser.get(userText);
      if (!events) {
        if (byUser.size >= context.maxSequences) throw tooManySequences(context, line, 'user_id', 'users');
        events = [];
        byUser.set(readName(userText, context, line, 'user_id'), events);
      }
      events.push({ time: time.absolute, event: { behavior, weekday: time.weekday, slot: time.slot, location } });
    },
    finish() {
      if (implausible) {
        const other: EpochUnit = epochUnit === 'seconds' ? 'milliseconds' : 'seconds';
        context.warnings.push(
          `${file}: ${implausible.count.toLocaleString('en-US')} epoch timestamp${implausible.count === 1 ? '' : 's'} read as ${epochUnit} ` +
            `fall outside ${fromYear}–${toYear} (first on line ${implausible.line}: "${implausible.value}"); if they are in ${other}, choose ${other} as the unit`,
        );
      }
      // Array.prototype.sort is stable, so ties keep file order. Users keep first-seen order.
      const sequences = [...byUser].map(([id, events]) => ({
        id,
        events: events.sort((a, b) => a.time - b.time).map((e) => e.event),
      }));
      return finish('timestamped', sequences, context);
    },
    seenElsewhere: lastValues.seenElsewhere,
  };
}
