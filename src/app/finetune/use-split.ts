import { useMemo } from 'react';
import { splitForFinetune, type FinetuneSplit, type SplitFractions } from '../../core/finetune';
import type { SequenceRef } from '../../core/packed-log';
import { useFinetuneStore, type ImportedData } from '../stores/finetune-store';

/** The last split made, shared by every component that shows it (an import may have 10⁵ sequences). */
let last: { data: ImportedData; key: string; split: FinetuneSplit<SequenceRef> } | null = null;

function splitOf(data: ImportedData, fractions: SplitFractions): FinetuneSplit<SequenceRef> {
  const key = `${fractions.heldOutFraction}|${fractions.validationFraction}|${fractions.seed}`;
  if (last?.data !== data || last.key !== key) last = { data, key, split: splitForFinetune(data.sequences, fractions) };
  return last.split;
}

/** The split the run will use, exactly as the worker request is built (same function, same settings). */
export function useSplit(): FinetuneSplit<SequenceRef> | null {
  const data = useFinetuneStore((s) => s.data);
  const { heldOutFraction, validationFraction, seed } = useFinetuneStore((s) => s.settings);
  return useMemo(
    () => (data ? splitOf(data, { heldOutFraction, validationFraction, seed }) : null),
    [data, heldOutFraction, validationFraction, seed],
  );
}
