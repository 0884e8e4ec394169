/** Which sequences a sequence picker lists. Pure. */
import type { BehaviorSequence } from '../../core/events';

/** Options a sequence select lists at once; a filter narrows the rest. */
export const MAX_LISTED_SEQUENCES = 300;

/**
 * The sequences whose id contains `filter` (any case; all for an empty filter), the first `max`
 * of them listed, and the selected one listed first when it would not be: a select always shows
 * its value.
 */
export function listSequences(
  sequences: readonly BehaviorSequence[],
  filter: string,
  selectedId: string | null,
  max = MAX_LISTED_SEQUENCES,
): { matching: number; listed: BehaviorSequence[] } {
  const f = filter.trim().toLowerCase();
  const matching = f ? sequences.filter((s) => s.id.toLowerCase().includes(f)) : sequences;
  const listed = matching.slice(0, max);
  const selected = sequences.find((s) => s.id === selectedId);
  if (selected && !listed.some((s) => s.id === selected.id)) listed.unshift(selected);
  return { matching: matching.length, listed };
}
