/**
 * Property-based tests of the import parser (fast-check, fixed seeds): every generated input
 * either parses to exactly the rows it holds, or is rejected with a DataError naming the file,
 * the line and the field of the problem — whatever its line endings, quoting, BOM, chunking
 * or truncation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../src/core/csv';
import { DataError, LogParser, PARSE_LIMITS, parseBehaviorLog, type ParsedLog } from '../src/core/data';
import { UNKNOWN_LOCATION, type BehaviorSequence } from '../src/core/events';

const FILE = 'fuzz.csv';
const RUNS = { seed: 20261207, numRuns: 1000 };

// ---- generators ------------------------------------------------------------------------------

/** Names as people write them: letters, digits, spaces, punctuation (commas and quotes too), accents, emoji. */
const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABC0123456789 :_-,."\'éüñ中😀'.split(/(?:)/u));
const name = fc
  .array(nameChar, { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join('').trim())
  .filter((s) => s.length > 0 && !s.startsWith('<'));

interface Event {
  behavior: string;
  weekday: number;
  slot: number;
  location?: string;
}
interface Sequence {
  id: string;
  split?: 'train' | 'valid' | 'test';
  events: Event[];
}

const canonicalLog = fc
  .record({
    behaviors: fc.uniqueArray(name, { minLength: 1, maxLength: 6 }),
    locations: fc.uniqueArray(name, { minLength: 1, maxLength: 3 }),
    withSplit: fc.boolean(),
    withLocation: fc.boolean(),
    ids: fc.uniqueArray(name, { minLength: 1, maxLength: 5 }),
  })
  .chain(({ behaviors, locations, withSplit, withLocation, ids }) =>
    fc.record({
      withSplit: fc.constant(withSplit),
      withLocation: fc.constant(withLocation),
      sequences: fc.tuple(
        ...ids.map((id) =>
          fc.record({
            id: fc.constant(id),
            split: withSplit
              ? fc.constantFrom('train' as const, 'valid' as const, 'test' as const)
              : fc.constant(undefined),
            events: fc.array(
              fc.record({
                behavior: fc.constantFrom(...behaviors),
                weekday: fc.integer({ min: 0, max: 6 }),
                slot: fc.integer({ min: 0, max: 7 }),
                location: withLocation
                  ? fc.option(fc.constantFrom(...locations), { nil: undefined })
                  : fc.constant(undefined),
              }),
              { minLength: 1, maxLength: 5 },
            ),
          }),
        ),
      ),
      columnOrder: fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6], { minLength: 7, maxLength: 7 }),
    }),
  );

type CanonicalLog = { withSplit: boolean; withLocation: boolean; sequences: Sequence[]; columnOrder: number[] };

const layout = fc.record({
  endings: fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 1, maxLength: 4 }),
  bom: fc.boolean(),
  trailingBreak: fc.boolean(),
  blankLines: fc.boolean(),
  quoteAll: fc.boolean(),
  headerCase: fc.constantFrom('lower', 'upper'),
});
type Layout = typeof layout extends fc.Arbitrary<infer T> ? T : never;

function csvField(value: string, quoteAll: boolean): string {
  return quoteAll || /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The table (header + rows) of a canonical log, with the physical line each row will be on. */
function canonicalTable(log: CanonicalLog): { header: string[]; rows: string[][] } {
  const columns = ['sequence_id', 'step', 'weekday', 'time_slot', 'behavior', 'split', 'location'].filter(
    (c) => (c !== 'split' || log.withSplit) && (c !== 'location' || log.withLocation),
  );
  const order = log.columnOrder.filter((i) => i < columns.length);
  const header = order.map((i) => columns[i]);
  const rows: string[][] = [];
  for (const s of log.sequences) {
    s.events.forEach((e, step) => {
      const values: Record<string, string> = {
        sequence_id: s.id,
        step: String(step),
        weekday: String(e.weekday),
        time_slot: String(e.slot),
        behavior: e.behavior,
        split: s.split ?? '',
        location: e.location ?? '',
      };
      rows.push(header.map((c) => values[c]));
    });
  }
  return { header, rows };
}

/** Serializes a table; returns the text and the physical line of every data row. */
function serialize(table: { header: string[]; rows: string[][] }, l: Layout): { text: string; lines: number[] } {
  const header = table.header.map((h) => (l.headerCase === 'upper' ? h.toUpperCase() : h));
  const all = [header, ...table.rows];
  let text = l.bom ? '\ufeff' : '';
  let line = 1;
  const lines: number[] = [];
  all.forEach((fields, r) => {
    if (r > 0) lines.push(line);
    text += fields.map((f) => csvField(f, l.quoteAll)).join(',');
    line += fields.join('').match(/\r\n|\r|\n/g)?.length ?? 0;
    const last = r === all.length - 1;
    if (!last || l.trailingBreak) {
      text += l.endings[r % l.endings.length];
      line++;
      if (l.blankLines && r % 3 === 1 && !last) {
        // A blank line: "\r" then "\n" would read as one CRLF break, so after "\r" it ends in "\r\n".
        const ending = l.endings[(r + 1) % l.endings.length];
        text += text.endsWith('\r') && ending === '\n' ? '\r\n' : ending;
        line++;
      }
    }
  });
  return { text, lines };
}

function expected(log: CanonicalLog): BehaviorSequence[] {
  return log.sequences.map((s) => ({
    id: s.id,
    split: s.split,
    events: s.events.map((e) => ({
      behavior: e.behavior,
      weekday: e.weekday,
      slot: e.slot,
      location: e.location ?? UNKNOWN_LOCATION,
    })),
  }));
}

/** What the parser must say about the last row of a file without a final line break. */
function lastRowRule(table: { header: string[]; rows: string[][] }): 'ok' | 'warning' | 'cut' {
  const column = table.header.at(-1)!;
  if (column !== 'behavior' && column !== 'location') return 'ok';
  const values = table.rows.map((r) => r.at(-1)!.trim());
  const value = values.at(-1)!;
  if (value === '' || values.filter((v) => v === value).length > 1) return 'ok';
  return values.some((v) => v !== value && v.startsWith(value)) ? 'cut' : 'warning';
}

function parse(text: string | Uint8Array): { log: ParsedLog } | { error: DataError } {
  try {
    return { log: parseBehaviorLog(text, FILE) };
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { error: e };
  }
}

// ---- properties --------------------------------------------------------------------------------

describe('CSV reader', () => {
  it('reads back any table, whatever its quoting and line endings', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '😀'), maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        (rows, ending) => {
          const text = rows.map((r) => r.map((f) => `"${f.replaceAll('"', '""')}"`).join(',')).join(ending) + ending;
          expect(readCsv(text).map((r) => r.fields)).toEqual(rows);
        },
      ),
      RUNS,
    );
  });

  it('refuses an unclosed quote at the line it opens on, and a row over the length limit at its line', () => {
    expect(() => readCsv('a,b\n"x,y\nz\n')).toThrow('line 2: a quoted field is never closed');
    expect(() => readCsv(`a\n${'x'.repeat(70_000)}\n`)).toThrow('line 2: the row is longer than 65,536 characters');
  });
});

describe('import parser (property-based)', () => {
  it('parses every well-formed canonical log to exactly its rows, whatever the layout', () => {
    fc.assert(
      fc.property(canonicalLog, layout, (log, l) => {
        const table = canonicalTable(log);
        const { text, lines } = serialize(table, l);
        const result = parse(text);
        const rule = l.trailingBreak ? 'ok' : lastRowRule(table);
        if (rule === 'cut') {
          if (!('error' in result)) throw new Error('a cut-looking last row was accepted');
          expect(result.error.line).toBe(lines.at(-1));
          expect(result.error.field).toBe(table.header.at(-1));
          return;
        }
        if ('error' in result) throw result.error;
        expect(result.log.sequences).toEqual(expected(log));
        expect(result.log.events).toBe(table.rows.length);
        expect(result.log.warnings).toHaveLength(rule === 'warning' ? 1 : 0);
        if (rule === 'warning') expect(result.log.warnings[0]).toContain(`line ${lines.at(-1)}`);
      }),
      RUNS,
    );
  });

  it('gives the same result for the bytes in chunks of any size (characters split across chunks)', () => {
    fc.assert(
      fc.property(
        canonicalLog,
        layout,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (log, l, sizes) => {
          const { text } = serialize(canonicalTable(log), { ...l, trailingBreak: true });
          const bytes = new TextEncoder().encode(text);
          const parser = new LogParser(FILE);
          let offset = 0;
          for (let i = 0; offset < bytes.length; i++) {
            const size = sizes[i % sizes.length];
            parser.pushBytes(bytes.subarray(offset, offset + size));
            offset += size;
          }
          expect(parser.finish()).toEqual(parseBehaviorLog(bytes, FILE));
          expect(parser.bytesRead).toBe(bytes.length);
        },
      ),
      RUNS,
    );
  });

  it('groups a timestamped log by user in time order, weekday and slot from the wall clock', () => {
    const stamp = fc.record({
      minutes: fc.integer({ min: 0, max: 60 * 24 * 400 }), // within ~13 months of 2024-01-01
      offset: fc.constantFrom(null, 'Z', '+09:00', '-05:30', '+00:00'),
      seconds: fc.boolean(),
    });
    const row = fc.record({
      user: fc.constantFrom('ann', 'bob', 'c, d', 'é"q'),
      behavior: name,
      stamp,
      location: fc.option(name, { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), layout, (rows, l) => {
        const base = Date.UTC(2024, 0, 1);
        const iso = (r: (typeof rows)[number]) => {
          const d = new Date(base + r.stamp.minutes * 60_000);
          const text = d.toISOString().slice(0, r.stamp.seconds ? 19 : 16);
          return r.stamp.offset ? text + r.stamp.offset : text;
        };
        const offsetMinutes = (o: string | null) =>
          o === null || o === 'Z' ? 0 : (o[0] === '-' ? -1 : 1) * (Number(o.slice(1, 3)) * 60 + Number(o.slice(4, 6)));
        const table = {
          header: ['user_id', 'timestamp', 'location', 'behavior'],
          rows: rows.map((r) => [r.user, iso(r), r.location ?? '', r.behavior]),
        };
        const { text } = serialize(table, { ...l, trailingBreak: true });
        const log = parseBehaviorLog(text, FILE);
        const users = [...new Set(rows.map((r) => r.user))];
        const want = users.map((user) => ({
          id: user,
          events: rows
            .filter((r) => r.user === user)
            .map((r) => ({ r, absolute: r.stamp.minutes - offsetMinutes(r.stamp.offset) }))
            .sort((a, b) => a.absolute - b.absolute)
            .map(({ r }) => {
              const wall = new Date(base + r.stamp.minutes * 60_000);
              return {
                behavior: r.behavior,
                weekday: (wall.getUTCDay() + 6) % 7,
                slot: Math.floor(wall.getUTCHours() / 3),
                location: r.location ?? UNKNOWN_LOCATION,
              };
            }),
        }));
        expect(log.sequences).toEqual(want);
        expect(log.format).toBe('timestamped');
      }),
      RUNS,
    );
  });

  type Corruption = { field: string; value: (original: string) => string; problem: string };
  const corruptions: Corruption[] = [
    { field: 'weekday', value: () => '7', problem: 'is not a weekday' },
    { field: 'weekday', value: () => 'Mon', problem: 'is not a weekday' },
    { field: 'time_slot', value: () => '-1', problem: 'is not a time slot' },
    { field: 'time_slot', value: () => '2.5', problem: 'is not a time slot' },
    { field: 'step', value: (s) => String(Number(s) + 2), problem: '' },
    { field: 'behavior', value: () => '', problem: 'empty behavior' },
    { field: 'behavior', value: () => '<pad>', problem: 'reserves for its own tokens' },
    { field: 'behavior', value: () => '<unk>', problem: 'reserves for its own tokens' },
    { field: 'behavior', value: () => 'x'.repeat(PARSE_LIMITS.maxNameChars + 1), problem: 'character limit' },
  ];

  it('names the line and field of a corrupted value, and loads nothing', () => {
    fc.assert(
      fc.property(canonicalLog, layout, fc.nat(), fc.constantFrom(...corruptions), (log, l, pick, corruption) => {
        const table = canonicalTable(log);
        const row = pick % table.rows.length;
        const column = table.header.indexOf(corruption.field);
        table.rows[row][column] = corruption.value(table.rows[row][column]);
        const { text, lines } = serialize(table, { ...l, trailingBreak: true });
        const result = parse(text);
        if (!('error' in result)) throw new Error(`accepted ${corruption.field} "${table.rows[row][column]}"`);
        expect(result.error.file).toBe(FILE);
        expect(result.error.line).toBe(lines[row]);
        // A step that jumps is reported as a step problem: of this row, or of the sequence's start.
        expect(result.error.field).toBe(corruption.field === 'step' ? 'step' : corruption.field);
        expect(result.error.message).toContain(corruption.problem);
      }),
      RUNS,
    );
  });

  it('never turns a cut-off file into a silent new behavior', () => {
    fc.assert(
      fc.property(canonicalLog, layout, fc.nat(), (log, l, cutAt) => {
        const table = canonicalTable(log);
        const { text } = serialize(table, { ...l, trailingBreak: true });
        const bytes = new TextEncoder().encode(text);
        const cut = bytes.subarray(0, 1 + (cutAt % bytes.length));
        const result = parse(cut);
        if ('error' in result) {
          expect(result.error.file).toBe(FILE);
          return; // refused, with its reason (a line or the whole file)
        }
        const known = new Set(log.sequences.flatMap((s) => s.events.map((e) => e.behavior)));
        const unknown = result.log.behaviors.filter((b) => !known.has(b));
        // A fragment that is not a real behavior is only ever accepted with a warning.
        if (unknown.length > 0) expect(result.log.warnings.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });
});

describe('import parser: line endings, units and limits', () => {
  it('reads a file whose first line ends in CRLF and the rest in LF', () => {
    const log = parseBehaviorLog('sequence_id,step,weekday,time_slot,behavior\r\na,0,0,0,X:on\na,1,1,1,X:off\n', FILE);
    expect(log.events).toBe(2);
  });

  it('names the right line in a file with CR line endings only', () => {
    const text = 'sequence_id,step,weekday,time_slot,behavior\ra,0,0,0,X:on\ra,1,9,1,X:off\r';
    expect(() => parseBehaviorLog(text, FILE)).toThrow('fuzz.csv: line 3, field "weekday"');
  });

  it('refuses a fragment of a known behavior at the end of a file without a final line break', () => {
    const text = 'sequence_id,step,weekday,time_slot,behavior\na,0,0,0,Light:switch on\na,1,0,0,Light:swi';
    expect(() => parseBehaviorLog(text, FILE)).toThrow('fuzz.csv: line 3, field "behavior": "Light:swi" looks cut off');
    expect(parseBehaviorLog(`${text}tch on`, FILE).warnings).toEqual([]);
  });

  it('reads epoch milliseconds when told, and warns when seconds look like milliseconds', () => {
    const ms = 'user_id,timestamp,behavior\nann,1709594100000,A:a\n';
    expect(parseBehaviorLog(ms, FILE, { epochUnit: 'milliseconds' }).sequences[0].events[0]).toMatchObject({
      weekday: 0,
      slot: 7,
    });
    const early = parseBehaviorLog('user_id,timestamp,behavior\nann,170959410000,A:a\nann,170959410001,A:b\n', FILE);
    expect(early.warnings).toEqual([
      'fuzz.csv: 2 epoch timestamps read as seconds fall outside 1990–2100 (first on line 2: "170959410000"); if they are in milliseconds, choose milliseconds as the unit',
    ]);
  });

  it('refuses input over the size limit while it streams in', () => {
    const parser = new LogParser(FILE, { maxBytes: 100 });
    parser.pushBytes(new Uint8Array(60).fill(97));
    expect(() => parser.pushBytes(new Uint8Array(60).fill(97))).toThrow(
      'fuzz.csv: the file is larger than the 100 bytes limit',
    );
  });

  it('keeps one copy of each name however many rows use it', () => {
    const rows = Array.from({ length: 50 }, (_, i) => `a,${i},0,0,Light:switch on`);
    const log = parseBehaviorLog(['sequence_id,step,weekday,time_slot,behavior', ...rows, ''].join('\n'), FILE);
    const events = log.sequences[0].events;
    expect(events.every((e) => e.behavior === events[0].behavior)).toBe(true);
  });
});
