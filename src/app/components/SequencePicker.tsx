import { useMemo, useState } from 'react';
import type { BehaviorSequence } from '../../core/events';
import { formatCount } from '../lib/format';
import { MAX_LISTED_SEQUENCES, listSequences } from '../lib/sequence-list';

interface Props {
  /** Id and test id of the select. */
  id: string;
  sequences: readonly BehaviorSequence[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  disabled?: boolean;
  /** Id and test id of a search box that narrows the list by sequence id (none without it). */
  filterId?: string;
}

/** A select of sequences (the first MAX_LISTED_SEQUENCES and the selected one), with an optional filter box before it. */
export function SequencePicker({ id, sequences, selectedId, onSelect, disabled, filterId }: Props) {
  const [filter, setFilter] = useState('');
  const { matching, listed } = useMemo(
    () => listSequences(sequences, filter, selectedId),
    [sequences, filter, selectedId],
  );

  const select = (
    <select
      id={id}
      value={selectedId ?? ''}
      onChange={(e) => onSelect(e.target.value)}
      disabled={disabled}
      data-testid={id}
    >
      {listed.map((s) => (
        <option key={s.id} value={s.id}>
          {s.id} · {s.events.length} events
        </option>
      ))}
    </select>
  );
  if (!filterId) {
    return (
      <div className="field grow">
        <label htmlFor={id}>Sequence</label>
        {select}
      </div>
    );
  }
  return (
    <>
      <div className="field">
        <label htmlFor={filterId}>Find sequence</label>
        <input
          id={filterId}
          type="search"
          placeholder="sequence id, e.g. us-0042"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid={filterId}
        />
      </div>
      <div className="field grow">
        <label htmlFor={id}>
          Sequence{' '}
          <span className="muted small">
            ({formatCount(matching)} matching
            {matching > MAX_LISTED_SEQUENCES ? `, first ${MAX_LISTED_SEQUENCES} listed` : ''})
          </span>
        </label>
        {select}
      </div>
    </>
  );
}
