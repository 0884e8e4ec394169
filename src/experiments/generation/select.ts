/** The sampling choice the generation study makes on valid. Pure. */
import type { TARGET_JSDS } from '../../core/realism';

/** The selection score of a variant on valid: the mean of the three target divergences (behaviors, transitions, time). */
export function validScore(m: Record<(typeof TARGET_JSDS)[number], number>): number {
  return (m.jsd_behavior + m.jsd_transition + m.jsd_time) / 3;
}

/** The variant with the lowest valid score; the first of equals. */
export function chooseVariant<T extends { name: string }>(
  variants: readonly T[],
  scores: ReadonlyMap<string, number>,
): T {
  return variants.reduce((a, b) => (scores.get(b.name)! < scores.get(a.name)! ? b : a));
}

/** The variants scored on test: raw and plain corrected (the first two) for reference, and the one chosen on valid. */
export function testVariants<T>(variants: readonly T[], chosen: T): T[] {
  return variants.filter((v, i) => i <= 1 || v === chosen);
}
