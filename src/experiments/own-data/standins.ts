/**
 * Stand-ins for a smart-home log from a vendor the model has never seen, built from the
 * SmartThings France and Spain logs: every behavior gets an opaque name of that "vendor"
 * (`fr-017`, no `Device:` prefix), so no name matches the US vocabulary the model was
 * pretrained on and no device lends its embedding; weekday, time slot, order and the file's
 * leakage-free split stay as they were. Also the smaller and larger logs the defaults are chosen
 * on (valid parts only). Pure: the Node side (./files.ts) reads the data folder and writes the
 * CSV files outside the repository; the data or copies of it are never committed.
 */
import { nestedSubset } from '../../core/data';
import type { BehaviorSequence } from '../../core/events';
import { createRng, shuffle } from '../../core/random';

/** Renames every behavior to `<prefix>-NNN` in a seeded random order (not by frequency, so the names say nothing). */
export function renameBehaviors(
  sequences: readonly BehaviorSequence[],
  prefix: string,
  seed = 0,
): { sequences: BehaviorSequence[]; mapping: Map<string, string> } {
  const names = [...new Set(sequences.flatMap((s) => s.events.map((e) => e.behavior)))].sort();
  const order = shuffle(
    names.map((_, i) => i),
    createRng(seed),
  );
  const width = String(names.length).length;
  const mapping = new Map(
    order.map((nameIndex, k) => [names[nameIndex], `${prefix}-${String(k + 1).padStart(Math.max(3, width), '0')}`]),
  );
  return {
    sequences: sequences.map((s) => ({
      ...s,
      events: s.events.map((e) => ({ ...e, behavior: mapping.get(e.behavior)! })),
    })),
    mapping,
  };
}

/** Canonical CSV with the split column (and location when any event has a known one), as the loaders read it. */
export function toCanonicalCsv(sequences: readonly BehaviorSequence[]): string {
  const lines = ['sequence_id,step,weekday,time_slot,behavior,split'];
  for (const s of sequences) {
    s.events.forEach((e, t) => {
      if (/[",\r\n]/.test(e.behavior) || /[",\r\n]/.test(s.id))
        throw new Error(`toCanonicalCsv: "${s.id}" / "${e.behavior}" would need quoting`);
      lines.push(`${s.id},${t},${e.weekday},${e.slot},${e.behavior},${s.split ?? ''}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

/** Events in a list of sequences. */
export function eventCount(sequences: readonly BehaviorSequence[]): number {
  return sequences.reduce((n, s) => n + s.events.length, 0);
}

/**
 * A smaller log for the choice of defaults: nested subsets (core/data's nestedSubset) of the
 * train and valid parts holding about `events` events in all, split as the source (7 : 1.5 by
 * events, roughly the source's train : valid), with no test part (the choice never sees one).
 */
export function smallLog(sequences: readonly BehaviorSequence[], events: number, seed = 0): BehaviorSequence[] {
  const part = (split: 'train' | 'valid') => sequences.filter((s) => s.split === split);
  const take = (seqs: BehaviorSequence[], target: number) => {
    const fraction = Math.min(1, target / Math.max(1, eventCount(seqs)));
    return nestedSubset(seqs, fraction, seed);
  };
  return [...take(part('train'), (events * 7) / 8.5), ...take(part('valid'), (events * 1.5) / 8.5)];
}

/** The stand-ins: the evidence logs (all three parts) and the logs the defaults are chosen on (no test part). */
export interface StandinSpec {
  name: string;
  region: 'fr' | 'sp' | 'us';
  /** About this many events (train + valid); all of the region when omitted. */
  events?: number;
  /** Whether the test part is kept (the evidence logs) or dropped (logs only for choosing defaults). */
  test: boolean;
}

export const STANDINS: readonly StandinSpec[] = [
  { name: 'vendor-fr', region: 'fr', test: true },
  { name: 'vendor-sp', region: 'sp', test: true },
  { name: 'vendor-fr-1k', region: 'fr', events: 1000, test: false },
  { name: 'vendor-sp-1k', region: 'sp', events: 1000, test: false },
  { name: 'vendor-us-100k', region: 'us', test: false },
];

export function buildStandin(spec: StandinSpec, region: readonly BehaviorSequence[]): BehaviorSequence[] {
  const { sequences } = renameBehaviors(region, spec.region);
  const kept = spec.test ? sequences : sequences.filter((s) => s.split !== 'test');
  return spec.events ? smallLog(kept, spec.events) : kept;
}
