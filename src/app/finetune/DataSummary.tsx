import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel } from '../../core/events';
import type { FinetuneSplit, Splittable } from '../../core/finetune';
import { formatCount } from '../lib/format';
import { useFinetuneStore } from '../stores/finetune-store';
import { useSplit } from './use-split';

/** How the imported sequences are split for the run. */
function SplitSummary({ split }: { split: FinetuneSplit<Splittable> }) {
  return (
    <div className="small" data-testid="finetune-split" data-selection={split.selection}>
      <p>
        Split by whole sequences (fixed seed): <span data-testid="finetune-split-train">{formatCount(split.train.length)}</span> training ·{' '}
        <span data-testid="finetune-split-validation">{formatCount(split.validation.length)}</span> validation (picks the epoch that is kept) ·{' '}
        <span data-testid="finetune-split-heldout">{formatCount(split.heldOut.length)}</span> held out (only for the before/after comparison)
        {split.unused.length > 0 && ` · ${formatCount(split.unused.length)} of a single event not used`}
      </p>
      {split.note && (
        <p className="warning" data-testid="finetune-split-note">
          {split.note}
        </p>
      )}
    </div>
  );
}

/** What was imported: counts, behaviors new to the model, the split, and events per weekday and time slot. */
export function DataSummary() {
  const data = useFinetuneStore((s) => s.data)!;
  const split = useSplit();
  const { summary } = data;
  const max = Math.max(1, ...summary.coverage.flat());
  return (
    <div className="ft-summary" data-testid="finetune-summary" data-sequences={summary.sequences} data-new={summary.newBehaviors.length}>
      <p>
        <strong>{data.name}</strong> ({summary.format})
      </p>
      <dl className="summary">
        <div>
          <dt>Events</dt>
          <dd data-testid="finetune-events">{formatCount(summary.events)}</dd>
        </div>
        <div>
          <dt>Sequences</dt>
          <dd data-testid="finetune-sequences">{formatCount(summary.sequences)}</dd>
        </div>
        <div>
          <dt>Behaviors</dt>
          <dd>{formatCount(summary.behaviors)}</dd>
        </div>
        <div>
          <dt>New to the model</dt>
          <dd data-testid="finetune-new-count">{formatCount(summary.newBehaviors.length)}</dd>
        </div>
        <div>
          <dt>Lengths</dt>
          <dd>
            {summary.minLength}–{summary.maxLength} events
          </dd>
        </div>
      </dl>
      {summary.newBehaviors.length > 0 && (
        <p className="small">
          Added to the vocabulary: <span data-testid="finetune-new-list">{summary.newBehaviors.join(', ')}</span> (
          {formatCount(summary.newBehaviorEvents)} events)
        </p>
      )}
      {split && <SplitSummary split={split} />}
      <table className="coverage" aria-label="Events per weekday and time slot">
        <thead>
          <tr>
            <th />
            {Array.from({ length: NUM_SLOTS }, (_, s) => (
              <th key={s} scope="col" title={slotLabel(s)}>
                {s * 3}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {summary.coverage.map((row, w) => (
            <tr key={w}>
              <th scope="row">{WEEKDAY_NAMES[w]}</th>
              {row.map((n, s) => (
                <td key={s} title={`${WEEKDAY_NAMES[w]} ${slotLabel(s)}: ${n} events`} style={{ background: `rgba(47, 91, 211, ${n ? 0.12 + (0.78 * n) / max : 0})` }}>
                  {n || ''}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
