/**
 * Mutation fuzzing of the import parser on real data: the SmartThings Spain log (first rows)
 * damaged at random (bytes flipped, cut off, lines dropped, repeated or swapped, junk rows,
 * line endings changed, invalid UTF-8, over-long names, reserved names, gzip bytes corrupted).
 * The rule every case must keep (what the parser promises): the input is either read into a
 * well-formed log, or refused with a DataError naming the file (and the line and field where one
 * is at fault); never another exception. The unit suite's property tests (test/parser-fuzz.test.ts)
 * check exact rows on generated logs; this campaign counts outcomes on damaged real files.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError, parseBehaviorLog, PARSE_LIMITS, type ParsedLog } from '../core/data';
import { NUM_SLOTS, NUM_WEEKDAYS } from '../core/events';
import { createRng, type Rng } from '../core/random';
import { BOS, PAD, UNK } from '../core/vocab';

const FILE = 'sp.csv';

/** One kind of damage: a function of the clean text (as lines) and a random source. */
interface Mutation {
  kind: string;
  apply: (lines: string[], text: string, rng: Rng) => Uint8Array | string;
}

const pick = <T>(items: readonly T[], rng: Rng): T => items[Math.floor(rng() * items.length)];
const lineIndex = (lines: string[], rng: Rng) => 1 + Math.floor(rng() * (lines.length - 2));

const MUTATIONS: Mutation[] = [
  {
    kind: 'bytes flipped',
    apply: (_l, text, rng) => {
      const b = new TextEncoder().encode(text);
      const n = 1 + Math.floor(rng() * 8);
      for (let i = 0; i < n; i++) b[Math.floor(rng() * b.length)] ^= 1 << Math.floor(rng() * 8);
      return b;
    },
  },
  {
    kind: 'cut off',
    apply: (_l, text, rng) => new TextEncoder().encode(text).subarray(0, Math.floor(rng() * text.length)),
  },
  {
    kind: 'line dropped',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      out.splice(lineIndex(lines, rng), 1);
      return out.join('\n');
    },
  },
  {
    kind: 'line repeated',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      const i = lineIndex(lines, rng);
      out.splice(i, 0, lines[i]);
      return out.join('\n');
    },
  },
  {
    kind: 'lines swapped',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      const i = lineIndex(lines, rng);
      const j = lineIndex(lines, rng);
      [out[i], out[j]] = [out[j], out[i]];
      return out.join('\n');
    },
  },
  {
    kind: 'junk row',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      const junk = pick(
        ['', ',,,,', 'a,b', '"unclosed,0,0,0,x', 'x,0,0,0,y,z,w', '\u0000\u0001', 'seq,1e3,0,0,A:b', '   '],
        rng,
      );
      out.splice(lineIndex(lines, rng), 0, junk);
      return out.join('\n');
    },
  },
  {
    kind: 'line endings changed',
    apply: (lines, _t, rng) => lines.map((l) => l + pick(['\n', '\r\n', '\r'], rng)).join(''),
  },
  {
    kind: 'invalid UTF-8',
    apply: (_l, text, rng) => {
      const b = new TextEncoder().encode(text);
      const at = Math.floor(rng() * b.length);
      return new Uint8Array([...b.subarray(0, at), pick([0xff, 0xc3, 0xe2, 0x80], rng), ...b.subarray(at)]);
    },
  },
  {
    kind: 'name too long or reserved',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      const i = lineIndex(lines, rng);
      const fields = out[i].split(',');
      fields[4] = pick([PAD, BOS, UNK, 'x'.repeat(PARSE_LIMITS.maxNameChars + 1)], rng);
      out[i] = fields.join(',');
      return out.join('\n');
    },
  },
  {
    kind: 'value out of range',
    apply: (lines, _t, rng) => {
      const out = [...lines];
      const i = lineIndex(lines, rng);
      const fields = out[i].split(',');
      const column = 1 + Math.floor(rng() * 3);
      fields[column] = pick(['-1', '8', '99', 'NaN', '', '3.5', '0x1'], rng);
      out[i] = fields.join(',');
      return out.join('\n');
    },
  },
  {
    kind: 'gzip damaged',
    apply: (_l, text, rng) => {
      const gz = new Uint8Array(gzipSync(text));
      if (rng() < 0.5) return gz.subarray(0, Math.floor(rng() * gz.length));
      for (let i = 0; i < 3; i++) gz[10 + Math.floor(rng() * (gz.length - 10))] ^= 0xff;
      return gz;
    },
  },
];

export type ParserOutcome = 'read' | 'refused';
export interface ParserCampaign {
  source: string;
  cases: number;
  /** Per mutation kind: cases, read, refused, and the rule broken (0 everywhere when the parser keeps its promise). */
  byKind: Record<string, { cases: number; read: number; refused: number; failures: number }>;
  /** Refusals by the field the error names ("(file)" when the whole file is at fault). */
  refusedBy: Record<string, number>;
  failures: { kind: string; problem: string }[];
}

/** A log the parser may return: events in range, no reserved behavior, counts consistent. */
function wellFormed(log: ParsedLog): string | null {
  let events = 0;
  for (const s of log.sequences) {
    if (s.events.length === 0) return `sequence "${s.id}" has no events`;
    for (const e of s.events) {
      events++;
      if (!(e.weekday >= 0 && e.weekday < NUM_WEEKDAYS && e.slot >= 0 && e.slot < NUM_SLOTS))
        return `event out of range in "${s.id}"`;
      if ([PAD, BOS, UNK].includes(e.behavior) || e.behavior === '') return `behavior "${e.behavior}" accepted`;
    }
  }
  return events === log.events ? null : `events ${log.events} but ${events} in sequences`;
}

/** Reads what the app would: gzip told by its magic bytes (as the browser path does). */
function read(input: Uint8Array | string): ParsedLog {
  if (typeof input !== 'string' && input[0] === 0x1f && input[1] === 0x8b) {
    let plain: Uint8Array;
    try {
      plain = gunzipSync(input);
    } catch (e) {
      throw new DataError(
        FILE,
        null,
        null,
        `not a valid gzip file: it could not be decompressed (${(e as Error).message})`,
      );
    }
    return parseBehaviorLog(plain, FILE);
  }
  return parseBehaviorLog(input, FILE);
}

export function runParserCampaign(
  gzippedLog: Uint8Array,
  options: { cases: number; rows: number; seed: number },
): ParserCampaign {
  const all = gunzipSync(gzippedLog).toString('utf8').split('\n');
  const lines = all.slice(0, options.rows + 1);
  const text = `${lines.join('\n')}\n`;
  const rng = createRng(options.seed);
  const byKind: ParserCampaign['byKind'] = {};
  const refusedBy: Record<string, number> = {};
  const failures: ParserCampaign['failures'] = [];
  for (let c = 0; c < options.cases; c++) {
    const mutation = MUTATIONS[c % MUTATIONS.length];
    byKind[mutation.kind] ??= { cases: 0, read: 0, refused: 0, failures: 0 };
    const tally = byKind[mutation.kind];
    tally.cases++;
    const fail = (problem: string) => {
      tally.failures++;
      if (failures.length < 20) failures.push({ kind: mutation.kind, problem });
    };
    const input = mutation.apply(lines, text, rng);
    try {
      const log = read(input);
      const broken = wellFormed(log);
      if (broken) fail(broken);
      else tally.read++;
    } catch (e) {
      if (!(e instanceof DataError)) {
        fail(`${(e as Error).name}: ${(e as Error).message}`);
        continue;
      }
      if (e.file !== FILE || !e.message.startsWith(FILE)) fail(`error does not name the file: ${e.message}`);
      else {
        tally.refused++;
        const by = e.field ?? (e.line !== null ? '(row)' : '(file)');
        refusedBy[by] = (refusedBy[by] ?? 0) + 1;
      }
    }
  }
  return {
    source: `first ${options.rows} rows of SmartThings Spain`,
    cases: options.cases,
    byKind,
    refusedBy,
    failures,
  };
}
