import { useMemo } from 'react';
import { splitForFinetune, type FinetuneSplit } from '../../core/finetune';
import { useFinetuneStore } from '../stores/finetune-store';

/** The split the run will use, exactly as the worker request is built (same function, same settings). */
export function useSplit(): FinetuneSplit | null {
  const data = useFinetuneStore((s) => s.data);
  const { heldOutFraction, validationFraction, seed } = useFinetuneStore((s) => s.settings);
  return useMemo(
    () => (data ? splitForFinetune(data.sequences, { heldOutFraction, validationFraction, seed }) : null),
    [data, heldOutFraction, validationFraction, seed],
  );
}
