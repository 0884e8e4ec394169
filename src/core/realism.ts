/**
 * How realistic generated trajectories are, compared with real continuations of the same
 * prefixes, and the non-neural generators to compare against. Pure.
 *
 * Divergences are Jensen–Shannon in bits (0 = same distribution, 1 = disjoint), computed on
 * distributions pooled over all continuations: behaviors, behavior → behavior transitions (the
 * prefix's last event → the first generated one included), weekday × slot cells, and devices
 * (the part of the behavior name before ':').
 */
import { deviceOf, UNKNOWN_LOCATION, type BehaviorEvent, type BehaviorSequence, type EventContext } from './events';
import type { Scorer } from './baselines';
import { countBy } from './counts';
import { sample } from './sampling';
import { addSlots, NUM_SLOT_DELTAS, slotDelta, weekSlot } from './time';
import type { Vocabulary } from './vocab';

export const REALISM_METRICS = [
  'jsd_behavior',
  'jsd_transition',
  'jsd_time',
  'jsd_device',
  'distinct_2',
  'distinct_3',
  'tail_share',
] as const;

/** Jensen–Shannon divergence (bits) between two count tables over the same keys. */
export function jensenShannon(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  const total = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((s, v) => s + v, 0);
  const ta = total(a);
  const tb = total(b);
  if (ta === 0 || tb === 0) throw new Error('jensenShannon: an empty distribution');
  let jsd = 0;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const p = (a.get(key) ?? 0) / ta;
    const q = (b.get(key) ?? 0) / tb;
    const m = (p + q) / 2;
    if (p > 0) jsd += 0.5 * p * Math.log2(p / m);
    if (q > 0) jsd += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, jsd);
}

/** A prefix and what follows it (real or generated). */
export interface Continuation {
  prefix: readonly BehaviorEvent[];
  events: readonly BehaviorEvent[];
}

function transitions(c: Continuation): string[] {
  const chain = [...c.prefix.slice(-1), ...c.events];
  return chain.slice(1).map((e, i) => `${chain[i].behavior}\u2192${e.behavior}`);
}

/** Share of distinct behavior n-grams among all n-grams inside the continuations. */
export function distinctN(continuations: readonly Continuation[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const c of continuations) {
    for (let i = 0; i + n <= c.events.length; i++) {
      seen.add(
        c.events
          .slice(i, i + n)
          .map((e) => e.behavior)
          .join('\u0000'),
      );
      total++;
    }
  }
  return total ? seen.size / total : NaN;
}

/** The count tables behind the three target divergences (behaviors, transitions, weekday × slot). */
export interface RealismCounts {
  behavior: Map<string, number>;
  transition: Map<string, number>;
  time: Map<string, number>;
}

export const TARGET_JSDS = ['jsd_behavior', 'jsd_transition', 'jsd_time'] as const;

export function realismCounts(continuations: readonly Continuation[]): RealismCounts {
  const events = continuations.flatMap((c) => c.events);
  return {
    behavior: countBy(events, (e) => e.behavior),
    transition: countBy(continuations.flatMap(transitions), (t) => t),
    time: countBy(events, (e) => String(weekSlot(e))),
  };
}

/** Pooled counts of several tables (with repeats: a bootstrap resample of continuations). */
export function poolCounts(tables: Iterable<RealismCounts>): RealismCounts {
  const out: RealismCounts = { behavior: new Map(), transition: new Map(), time: new Map() };
  for (const t of tables) {
    for (const part of ['behavior', 'transition', 'time'] as const)
      for (const [k, v] of t[part]) out[part].set(k, (out[part].get(k) ?? 0) + v);
  }
  return out;
}

/** The three target divergences between pooled generated and real counts. */
export function targetDivergences(
  generated: RealismCounts,
  real: RealismCounts,
): Record<(typeof TARGET_JSDS)[number], number> {
  return {
    jsd_behavior: jensenShannon(generated.behavior, real.behavior),
    jsd_transition: jensenShannon(generated.transition, real.transition),
    jsd_time: jensenShannon(generated.time, real.time),
  };
}

/** Every realism metric of `generated` against `real` (same prefixes, in the same order). */
export function realismMetrics(
  generated: readonly Continuation[],
  real: readonly Continuation[],
  head: ReadonlySet<string>,
): Record<(typeof REALISM_METRICS)[number], number> {
  const g = generated.flatMap((c) => c.events);
  const r = real.flatMap((c) => c.events);
  return {
    ...targetDivergences(realismCounts(generated), realismCounts(real)),
    jsd_device: jensenShannon(
      countBy(g, (e) => deviceOf(e.behavior)),
      countBy(r, (e) => deviceOf(e.behavior)),
    ),
    distinct_2: distinctN(generated, 2),
    distinct_3: distinctN(generated, 3),
    tail_share: g.filter((e) => !head.has(e.behavior)).length / g.length,
  };
}

// --- Baseline generators -------------------------------------------------------------------

/** A distribution over slot deltas (0–55) given the history. */
export type DeltaModel = (history: readonly BehaviorEvent[]) => Float64Array;

/**
 * Slot deltas between consecutive training events: globally, or given the previous behavior
 * with the same additive backoff as the behavior baselines (λ pseudo-counts of the global one).
 */
export function fitSlotDeltas(
  train: readonly BehaviorSequence[],
  given: 'none' | 'previous-behavior',
  lambda = 1,
): DeltaModel {
  const global = new Float64Array(NUM_SLOT_DELTAS);
  const byPrevious = new Map<string, Float64Array>();
  for (const { events } of train) {
    for (let t = 1; t < events.length; t++) {
      const d = slotDelta(events[t - 1], events[t]);
      global[d]++;
      let row = byPrevious.get(events[t - 1].behavior);
      if (!row) {
        row = new Float64Array(NUM_SLOT_DELTAS);
        byPrevious.set(events[t - 1].behavior, row);
      }
      row[d]++;
    }
  }
  const total = global.reduce((a, b) => a + b, 0);
  const p = global.map((c) => c / total);
  if (given === 'none') return () => p;
  return (history) => {
    const row = history.length ? byPrevious.get(history[history.length - 1].behavior) : undefined;
    if (!row) return p;
    const n = row.reduce((a, b) => a + b, 0);
    return row.map((c, i) => (c + lambda * p[i]) / (n + lambda));
  };
}

/**
 * A non-neural trajectory generator: the time from `deltas`, then the behavior from `scorer`
 * at that time, both sampled. Without a prefix, the first event is at `start`.
 */
export function generateWithBaseline(
  scorer: Scorer,
  deltas: DeltaModel,
  vocab: Vocabulary,
  prefix: readonly BehaviorEvent[],
  count: number,
  rng: () => number,
  start?: EventContext,
): BehaviorEvent[] {
  const history = [...prefix];
  const exclude = new Set(vocab.tokens.map((_, i) => i).filter((i) => vocab.isSpecial(i)));
  const location = prefix.at(-1)?.location ?? start?.location ?? UNKNOWN_LOCATION;
  const out: BehaviorEvent[] = [];
  for (let i = 0; i < count; i++) {
    const last = history.at(-1);
    const time = !last ? start! : addSlots(last, sample(deltas(history), rng));
    const next: EventContext = { weekday: time.weekday, slot: time.slot, location };
    const id = sample(scorer.score(history, next), rng, {}, exclude);
    const event = { behavior: vocab.name(id), ...next };
    history.push(event);
    out.push(event);
  }
  return out;
}
