/**
 * An incremental CSV reader (RFC 4180: comma-separated, fields optionally quoted with `"`,
 * `""` inside quotes for a quote) that is fed text in chunks of any size, so a large file can
 * be parsed while it streams in, in a worker, with progress. It reports each row with the
 * physical line it starts on. `\n`, `\r\n` and a lone `\r` each end a line, wherever they
 * appear, so a file whose line endings are mixed (an edited CRLF file, an old Mac export)
 * reads the same as a clean one. Blank lines are skipped.
 *
 * Limits protect the page from hostile input: a row longer than `maxRowChars` is rejected as
 * soon as it is seen, before it is held in memory.
 */

export interface CsvRow {
  fields: string[];
  /** 1-based physical line where the row starts. */
  line: number;
}

export class CsvError extends Error {
  /** 1-based physical line of the problem. */
  readonly line: number;
  readonly problem: string;
  constructor(line: number, problem: string) {
    super(`line ${line}: ${problem}`);
    this.name = 'CsvError';
    this.line = line;
    this.problem = problem;
  }
}

export const DEFAULT_MAX_ROW_CHARS = 64 * 1024;

const QUOTE = 34; // "
const COMMA = 44; // ,
const LF = 10;
const CR = 13;

export class CsvReader {
  private readonly onRow: (row: CsvRow) => void;
  private readonly maxRowChars: number;
  /** Fields of the row being read, and the text of the current field so far. */
  private fields: string[] = [];
  private field = '';
  private rowChars = 0;
  /** Inside a quoted field; just after its closing quote; at the start of a field. */
  private inQuotes = false;
  private afterQuote = false;
  private fieldStart = true;
  /** A `\r` ended the last chunk: a `\n` starting the next one belongs to it. */
  private pendingCr = false;
  /** A quote ended the last chunk inside a quoted field: closing, unless a quote follows (`""`). */
  private quotePending = false;
  /** The last character read inside quotes was `\r` (its `\n`, if next, ends no second line). */
  private quotedCr = false;
  private line = 1;
  private rowLine = 1;
  /** Line where the open quoted field started (for "unterminated quote" errors). */
  private quoteLine = 1;
  private ended = false;

  constructor(onRow: (row: CsvRow) => void, options: { maxRowChars?: number } = {}) {
    this.onRow = onRow;
    this.maxRowChars = options.maxRowChars ?? DEFAULT_MAX_ROW_CHARS;
  }

  /** Physical lines begun so far (the line the next character is on). */
  get currentLine(): number {
    return this.line;
  }

  /** Whether the text so far ends at a row boundary (after a line break, or nothing read). */
  get atRowStart(): boolean {
    return this.fields.length === 0 && this.fieldStart && !this.inQuotes;
  }

  push(text: string): void {
    if (this.ended) throw new Error('CsvReader: push after end');
    let i = 0;
    const n = text.length;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (n > 0 && text.charCodeAt(0) === LF) i = 1;
    }
    while (i < n) {
      if (this.inQuotes) {
        const q = text.indexOf('"', i);
        const end = q < 0 ? n : q;
        this.appendQuoted(text, i, end);
        if (q < 0) return;
        if (q + 1 < n) {
          if (text.charCodeAt(q + 1) === QUOTE) {
            this.append('"');
            this.quotedCr = false;
            i = q + 2;
          } else {
            this.inQuotes = false;
            this.afterQuote = true;
            i = q + 1;
          }
        } else {
          // A quote at the end of the chunk: an escaped quote or the closing one, decided by
          // the next chunk. Close provisionally; a quote right after reopens.
          this.inQuotes = false;
          this.afterQuote = true;
          this.quotePending = true;
          return;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.quotePending) {
        this.quotePending = false;
        if (c === QUOTE) {
          this.inQuotes = true;
          this.afterQuote = false;
          this.append('"');
          this.quotedCr = false;
          i++;
          continue;
        }
      }
      if (c === COMMA) {
        this.endField();
        i++;
      } else if (c === LF || c === CR) {
        this.endRow();
        this.line++;
        i++;
        if (c === CR) {
          if (i < n) {
            if (text.charCodeAt(i) === LF) i++;
          } else this.pendingCr = true;
        }
      } else if (c === QUOTE && this.fieldStart) {
        this.inQuotes = true;
        this.fieldStart = false;
        this.quotedCr = false;
        this.quoteLine = this.line;
        i++;
      } else if (this.afterQuote) {
        throw new CsvError(this.line, `unexpected text after the closing quote of a quoted field`);
      } else {
        // An unquoted run up to the next comma or line break (a stray quote inside it is kept).
        let j = i;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === COMMA || d === LF || d === CR) break;
          j++;
        }
        this.fieldStart = false;
        this.append(text.slice(i, j));
        i = j;
      }
    }
  }

  /** Ends the input: a last row without a line break is emitted; an open quote is an error. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.quotePending = false;
    if (this.inQuotes) throw new CsvError(this.quoteLine, 'a quoted field is never closed (missing `"`)');
    if (!this.atRowStart) this.endRow();
  }

  /** Appends quoted text, counting the line breaks inside it. */
  private appendQuoted(text: string, from: number, to: number): void {
    if (to <= from) return;
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === CR || (c === LF && !this.quotedCr)) this.line++;
      this.quotedCr = c === CR;
    }
    this.append(text.slice(from, to));
  }

  private append(s: string): void {
    this.rowChars += s.length;
    if (this.rowChars > this.maxRowChars) {
      throw new CsvError(this.rowLine, `the row is longer than ${this.maxRowChars.toLocaleString('en-US')} characters`);
    }
    this.field += s;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.fieldStart = true;
    this.afterQuote = false;
  }

  private endRow(): void {
    this.endField();
    const fields = this.fields;
    this.fields = [];
    this.rowChars = 0;
    const line = this.rowLine;
    this.rowLine = this.line + 1;
    if (fields.length === 1 && fields[0].trim() === '') return;
    this.onRow({ fields, line });
  }
}

/** All rows of a text, read at once. */
export function readCsv(text: string, options: { maxRowChars?: number } = {}): CsvRow[] {
  const rows: CsvRow[] = [];
  const reader = new CsvReader((row) => rows.push(row), options);
  reader.push(text);
  reader.end();
  return rows;
}
