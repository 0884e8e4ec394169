import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import {
  DataError,
  parseBehaviorLog,
  parseTimestamp,
  splitSequences,
  summarizeLog,
  TIMESTAMP_TIMEZONE_RULE,
} from '../src/core/data';
import { UNKNOWN_LOCATION } from '../src/core/events';
import { DEFAULT_DATA_DIR, loadRegion, readLogFile } from '../src/node/data';

const HEADER = 'sequence_id,step,weekday,time_slot,behavior,split';
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The DataError that parsing `text` throws (fails the test when none is thrown). */
function errorOf(text: string | Uint8Array, options = {}): DataError {
  try {
    parseBehaviorLog(text, 'log.csv', options);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('DataError', () => {
  it('formats file, line and field, omitting the unknown parts', () => {
    expect(new DataError('a.csv', 3, 'step', 'bad').message).toBe('a.csv: line 3, field "step": bad');
    expect(new DataError('a.csv', 3, null, 'bad').message).toBe('a.csv: line 3: bad');
    expect(new DataError('a.csv', null, null, 'bad').message).toBe('a.csv: bad');
    expect(new DataError('a.csv', null, 'x', 'bad').message).toBe('a.csv: field "x": bad');
  });
});

describe('canonical format', () => {
  const text = [
    HEADER,
    'us-1,0,0,6,Light:switch on,train',
    'us-1,1,6,7,Light:switch off,train',
    'us-2,0,3,0,Television:switch on,test',
    '',
  ].join('\n');

  it('parses sequences in file order with the default location', () => {
    const log = parseBehaviorLog(text, 'log.csv');
    expect(log).toEqual({
      format: 'canonical',
      events: 3,
      warnings: [],
      behaviors: ['Light:switch off', 'Light:switch on', 'Television:switch on'],
      sequences: [
        {
          id: 'us-1',
          split: 'train',
          events: [
            { behavior: 'Light:switch on', weekday: 0, slot: 6, location: UNKNOWN_LOCATION },
            { behavior: 'Light:switch off', weekday: 6, slot: 7, location: UNKNOWN_LOCATION },
          ],
        },
        {
          id: 'us-2',
          split: 'test',
          events: [{ behavior: 'Television:switch on', weekday: 3, slot: 0, location: UNKNOWN_LOCATION }],
        },
      ],
    });
    expect(splitSequences(log.sequences, 'train').map((s) => s.id)).toEqual(['us-1']);
    expect(splitSequences(log.sequences, 'valid')).toEqual([]);
  });

  it('gives the same result from bytes, with a BOM, with CRLF and from a string with a BOM', () => {
    const expected = parseBehaviorLog(text, 'log.csv');
    expect(parseBehaviorLog(utf8(text), 'log.csv')).toEqual(expected);
    expect(parseBehaviorLog(utf8(`\uFEFF${text}`), 'log.csv')).toEqual(expected);
    expect(parseBehaviorLog(`\uFEFF${text}`, 'log.csv')).toEqual(expected);
    expect(parseBehaviorLog(text.replace(/\n/g, '\r\n'), 'log.csv')).toEqual(expected);
  });

  it('reads a location column in any column order, empty meaning the default location', () => {
    const log = parseBehaviorLog(
      [
        'behavior,location,time_slot,weekday,step,sequence_id',
        'Light:switch on,kitchen,2,1,0,a',
        '"Fan:switch, on",,3,1,1,a',
      ].join('\n'),
      'log.csv',
      { defaultLocation: 'home' },
    );
    expect(log.sequences).toEqual([
      {
        id: 'a',
        split: undefined,
        events: [
          { behavior: 'Light:switch on', weekday: 1, slot: 2, location: 'kitchen' },
          { behavior: 'Fan:switch, on', weekday: 1, slot: 3, location: 'home' },
        ],
      },
    ]);
  });

  it('summarizes counts, splits and weekday × slot coverage', () => {
    const summary = summarizeLog(parseBehaviorLog(text, 'log.csv'));
    expect(summary.events).toBe(3);
    expect(summary.sequences).toBe(2);
    expect(summary.behaviors).toBe(3);
    expect(summary.locations).toBe(1);
    expect(summary.minLength).toBe(1);
    expect(summary.maxLength).toBe(2);
    expect(summary.splits).toEqual({
      train: { sequences: 1, events: 2 },
      valid: { sequences: 0, events: 0 },
      test: { sequences: 1, events: 1 },
      unsplit: { sequences: 0, events: 0 },
    });
    expect(summary.coverage).toHaveLength(7);
    expect(summary.coverage.every((row) => row.length === 8)).toBe(true);
    expect(summary.coverage[0][6]).toBe(1);
    expect(summary.coverage[6][7]).toBe(1);
    expect(summary.coverage[3][0]).toBe(1);
    expect(summary.coverage.flat().reduce((a, b) => a + b)).toBe(3);
  });
});

describe('canonical format errors', () => {
  const row = (r: string) => `${HEADER}\nus-1,0,0,0,Light:switch on,train\n${r}\n`;

  it('rejects an empty file and a header without rows', () => {
    expect(errorOf('').message).toBe('log.csv: the file is empty');
    expect(errorOf('\n\n').message).toBe('log.csv: the file is empty');
    expect(errorOf(`${HEADER}\n`).message).toBe('log.csv: the file has a header row but no data rows');
  });

  it('names a missing required column', () => {
    const e = errorOf('sequence_id,step,time_slot,behavior\nus-1,0,0,Light:switch on\n');
    expect(e.message).toBe(
      'log.csv: line 1, field "weekday": the header has no "weekday" column ' +
        '(required: sequence_id,step,weekday,time_slot,behavior)',
    );
    expect([e.line, e.field]).toEqual([1, 'weekday']);
  });

  it('rejects an unknown header', () => {
    expect(errorOf('a,b\n1,2\n').message).toBe(
      'log.csv: line 1: unrecognized header "a,b": expected the columns ' +
        'sequence_id,step,weekday,time_slot,behavior[,split][,location] or user_id,timestamp,behavior[,location]',
    );
  });

  it('rejects a wrong number of fields', () => {
    expect(errorOf(row('us-1,1,0,0,Light:switch on')).message).toBe(
      'log.csv: line 3: expected 6 fields like the header, found 5',
    );
    expect(errorOf(row('us-1,1,0,0,Light:switch on,train,x')).message).toBe(
      'log.csv: line 3: expected 6 fields like the header, found 7',
    );
  });

  it('rejects a weekday outside 0–6', () => {
    expect(errorOf(row('us-1,1,9,0,Light:switch on,train')).message).toBe(
      'log.csv: line 3, field "weekday": "9" is not a weekday (0–6, Monday = 0)',
    );
    expect(errorOf(row('us-1,1,1.5,0,Light:switch on,train')).message).toBe(
      'log.csv: line 3, field "weekday": "1.5" is not a weekday (0–6, Monday = 0)',
    );
  });

  it('rejects a time slot outside 0–7', () => {
    expect(errorOf(row('us-1,1,0,8,Light:switch on,train')).message).toBe(
      'log.csv: line 3, field "time_slot": "8" is not a time slot (0–7, three-hour bins)',
    );
    expect(errorOf(row('us-1,1,0,-1,Light:switch on,train')).message).toBe(
      'log.csv: line 3, field "time_slot": "-1" is not a time slot (0–7, three-hour bins)',
    );
  });

  it('rejects an empty behavior', () => {
    expect(errorOf(row('us-1,1,0,0, ,train')).message).toBe('log.csv: line 3, field "behavior": empty behavior');
  });

  it('rejects a step that is not an integer', () => {
    expect(errorOf(row('us-1,one,0,0,Light:switch on,train')).message).toBe(
      'log.csv: line 3, field "step": "one" is not a step (an integer from 0)',
    );
  });

  it('rejects steps that do not count up by one', () => {
    const text = [HEADER, 'us-1,0,0,0,A:a,train', 'us-1,1,0,0,A:a,train', 'us-1,3,0,0,A:a,train'].join('\n');
    expect(errorOf(text).message).toBe('log.csv: line 4, field "step": step 3 follows step 1 in sequence "us-1"');
    const back = [HEADER, 'us-1,0,0,0,A:a,train', 'us-1,1,0,0,A:a,train', 'us-1,1,0,0,A:a,train'].join('\n');
    expect(errorOf(back).message).toBe('log.csv: line 4, field "step": step 1 follows step 1 in sequence "us-1"');
    expect(errorOf(`${HEADER}\nus-1,2,0,0,A:a,train\n`).message).toBe(
      'log.csv: line 2, field "step": sequence "us-1" starts at step 2, not 0',
    );
  });

  it('rejects a sequence whose rows are not contiguous', () => {
    const text = [HEADER, 'us-1,0,0,0,A:a,train', 'us-2,0,0,0,A:a,train', 'us-1,1,0,0,A:a,train'].join('\n');
    expect(errorOf(text).message).toBe(
      'log.csv: line 4, field "sequence_id": sequence "us-1" appears again after other sequences; ' +
        'the rows of a sequence must be contiguous',
    );
  });

  it('rejects an unknown split and a sequence in two splits', () => {
    expect(errorOf(row('us-1,1,0,0,A:a,training')).message).toBe(
      'log.csv: line 3, field "split": "training" is not a split (train, valid or test)',
    );
    expect(errorOf(row('us-1,1,0,0,A:a,test')).message).toBe(
      'log.csv: line 3, field "split": sequence "us-1" is in split "train" on line 2 but "test" here; ' +
        'a sequence has one split',
    );
  });

  it('counts physical lines across blank lines and quoted newlines', () => {
    const text = [HEADER, '', 'us-1,0,0,0,"A:a', 'continued",train', '', 'us-1,1,0,8,A:a,train'].join('\n');
    expect(errorOf(text).message).toBe(
      'log.csv: line 6, field "time_slot": "8" is not a time slot (0–7, three-hour bins)',
    );
  });

  it('reports malformed CSV quoting with its line', () => {
    expect(errorOf(`${HEADER}\nus-1,0,0,0,"A:a,train\n`).message).toMatch(/^log\.csv: line 2: malformed CSV: /);
  });

  it('locates the first invalid UTF-8 byte by line', () => {
    const good = utf8(`${HEADER}\nus-1,0,0,0,Café:on,train\n`);
    const bad = new Uint8Array([...good, ...utf8('us-1,1,0,0,Caf'), 0xe9, ...utf8(':on,train\n')]);
    const e = errorOf(bad);
    expect(e.message).toBe('log.csv: line 3: not valid UTF-8 text (save the file as UTF-8)');
    expect(e.line).toBe(3);
    expect(errorOf(new Uint8Array([0xff, 0x0a])).message).toBe(
      'log.csv: line 1: not valid UTF-8 text (save the file as UTF-8)',
    );
  });

  it('rejects input larger than maxBytes before decoding', () => {
    // Invalid UTF-8 too: the size check must come first.
    const bytes = new Uint8Array(2048).fill(0xff);
    expect(errorOf(bytes, { maxBytes: 1000 }).message).toBe(
      'log.csv: file is 2.0 KiB, larger than the 1000 bytes limit',
    );
    expect(errorOf(new Uint8Array(300 * 1024 * 1024 + 1), {}).message).toBe(
      'log.csv: file is 300.0 MiB, larger than the 256.0 MiB limit',
    );
  });
});

describe('timestamped format', () => {
  it('states the time-zone rule', () => {
    expect(TIMESTAMP_TIMEZONE_RULE).toContain('wall-clock');
    expect(TIMESTAMP_TIMEZONE_RULE).toContain('UTC');
  });

  it('derives weekday and slot from the wall clock, ignoring the offset', () => {
    // 2024-03-04 is a Monday; 23:30 is in slot 7 whatever the offset.
    expect(parseTimestamp('2024-03-04T23:30:00+09:00')).toMatchObject({ weekday: 0, slot: 7 });
    expect(parseTimestamp('2024-03-04T23:30:00-11:00')).toMatchObject({ weekday: 0, slot: 7 });
    expect(parseTimestamp('2024-03-04 23:30')).toMatchObject({ weekday: 0, slot: 7 });
    expect(parseTimestamp('2024-03-10T00:00:00.123456Z')).toMatchObject({ weekday: 6, slot: 0 });
    expect(parseTimestamp('2024-03-04T23:30:00+09:00')!.absolute).toBe(Date.UTC(2024, 2, 4, 14, 30));
  });

  it('reads epoch seconds as UTC', () => {
    // 1709594100 = 2024-03-04T23:15:00Z (Monday); 1709596800.5 = Tuesday 00:00:00.5 UTC.
    expect(parseTimestamp('1709594100')).toEqual({ absolute: 1709594100000, weekday: 0, slot: 7 });
    expect(parseTimestamp('1709596800.5')).toEqual({ absolute: 1709596800500, weekday: 1, slot: 0 });
  });

  it('rejects impossible dates and times', () => {
    for (const bad of [
      '2024-02-30T10:00',
      '2024-03-04T24:00',
      '2024-03-04T10:60',
      '2024-03-04',
      '2024-03-04T10:00+25:00',
      'yesterday',
      '',
    ]) {
      expect(parseTimestamp(bad), bad).toBeNull();
    }
  });

  it('groups events by user, sorts them by absolute time (stable ties) without splits', () => {
    const text = [
      'user_id,timestamp,behavior,location',
      'bob,2024-03-05T10:00:00+01:00,B:late,',
      'ann,1709594100,A:first,hall',
      'bob,2024-03-05T10:00:00+02:00,B:early,',
      'bob,2024-03-05T09:00:00Z,B:late tie,',
      'bob,2024-03-05T08:00:00Z,B:late tie second,',
    ].join('\n');
    const log = parseBehaviorLog(text, 'export.csv');
    expect(log.format).toBe('timestamped');
    expect(log.events).toBe(5);
    expect(log.sequences.map((s) => s.id)).toEqual(['bob', 'ann']);
    expect(log.sequences.every((s) => s.split === undefined)).toBe(true);
    // Absolute: early 08:00Z, late 09:00Z, late tie 09:00Z, late tie second 08:00Z (after early, tie kept in file order).
    expect(log.sequences[0].events.map((e) => e.behavior)).toEqual([
      'B:early',
      'B:late tie second',
      'B:late',
      'B:late tie',
    ]);
    // Wall clock, not absolute time: "10:00+02:00" is slot 3 (09–12 h) on Tuesday.
    expect(log.sequences[0].events[0]).toEqual({
      behavior: 'B:early',
      weekday: 1,
      slot: 3,
      location: UNKNOWN_LOCATION,
    });
    expect(log.sequences[1].events).toEqual([{ behavior: 'A:first', weekday: 0, slot: 7, location: 'hall' }]);
  });

  it('names the line of a bad timestamp', () => {
    const text = 'user_id,timestamp,behavior\nann,2024-03-05T10:00,A:a\nann,05/03/2024 10:00,A:a\n';
    expect(errorOf(text).message).toBe(
      'log.csv: line 3, field "timestamp": "05/03/2024 10:00" is not a timestamp: use ISO 8601 like ' +
        '2024-03-05T14:20:00 (optionally with seconds fractions, Z or ±hh:mm) or Unix epoch seconds',
    );
    expect(errorOf('user_id,timestamp,behavior\nann,1709594100000,A:a\n').message).toBe(
      'log.csv: line 2, field "timestamp": "1709594100000" is not a timestamp: use ISO 8601 like ' +
        '2024-03-05T14:20:00 (optionally with seconds fractions, Z or ±hh:mm) or Unix epoch seconds ' +
        '(this number is too large for seconds: if it is in milliseconds, choose milliseconds as the unit)',
    );
  });

  it('names a missing column and an empty user', () => {
    expect(errorOf('timestamp,behavior\n1709594100,A:a\n').message).toBe(
      'log.csv: line 1, field "user_id": the header has no "user_id" column (required: user_id,timestamp,behavior)',
    );
    expect(errorOf('user_id,timestamp,behavior\n,1709594100,A:a\n').message).toBe(
      'log.csv: line 2, field "user_id": empty user_id',
    );
  });
});

describe('readLogFile', () => {
  it('reads plain and gzip files and names the path in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'behavegpt-data-'));
    try {
      const text = `${HEADER}\nus-1,0,0,0,A:a,train\n`;
      writeFileSync(join(dir, 'a.csv'), text);
      writeFileSync(join(dir, 'a.csv.gz'), gzipSync(text));
      writeFileSync(join(dir, 'gzip-without-extension'), gzipSync(text));
      writeFileSync(join(dir, 'bad.csv.gz'), 'not gzip');
      const expected = parseBehaviorLog(text, 'x');
      expect(readLogFile(join(dir, 'a.csv'))).toEqual(expected);
      expect(readLogFile(join(dir, 'a.csv.gz'))).toEqual(expected);
      expect(readLogFile(join(dir, 'gzip-without-extension'))).toEqual(expected);
      expect(() => readLogFile(join(dir, 'missing.csv'))).toThrow(`${join(dir, 'missing.csv')}: file not found`);
      expect(() => readLogFile(join(dir, 'bad.csv.gz'))).toThrow(/bad\.csv\.gz: not a valid gzip file/);
      // A small compressed file that inflates past the limit.
      writeFileSync(join(dir, 'bomb.csv.gz'), gzipSync(new Uint8Array(100_000)));
      expect(() => readLogFile(join(dir, 'bomb.csv.gz'), { maxBytes: 10_000 })).toThrow(
        `${join(dir, 'bomb.csv.gz')}: decompressed data is larger than the 9.8 KiB limit`,
      );
      expect(() => loadRegion('us', join(dir, 'nowhere'))).toThrow(
        `${join(dir, 'nowhere')}: data folder not found; set BEHAVEGPT_DATA to the folder that holds us.csv.gz, fr.csv.gz, sp.csv.gz`,
      );
      expect(() => loadRegion('fr', dir)).toThrow(
        `${join(dir, 'fr.csv.gz')}: file not found; set BEHAVEGPT_DATA to the folder that holds us.csv.gz, fr.csv.gz, sp.csv.gz`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync(join(DEFAULT_DATA_DIR, 'us.csv.gz')))('SmartThings data', () => {
  it('loads us with the counts of the data README, cached and frozen', () => {
    const log = loadRegion('us');
    const summary = summarizeLog(log);
    expect(summary.sequences).toBe(14_682);
    expect(summary.events).toBe(140_249);
    expect(summary.behaviors).toBe(132);
    expect(summary.splits.train).toEqual({ sequences: 9_746, events: 96_271 });
    expect(summary.splits.valid).toEqual({ sequences: 1_718, events: 14_819 });
    expect(summary.splits.test).toEqual({ sequences: 3_218, events: 29_159 });
    expect(summary.minLength).toBe(2);
    expect(summary.maxLength).toBe(37);
    expect(loadRegion('us')).toBe(log);
    expect(Object.isFrozen(log.sequences[0].events[0])).toBe(true);
  });
});
