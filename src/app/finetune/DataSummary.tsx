import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel } from '../../core/events';
import { FEW_KNOWN_SHARE, type FinetuneSplit, type Splittable, type VocabularyOverlap } from '../../core/finetune';
import { formatCount, formatPercent } from '../lib/format';
import { useFinetuneStore } from '../stores/finetune-store';
import { useSplit } from './use-split';

/** How the imported sequences are split for the run. */
function SplitSummary({ split }: { split: FinetuneSplit<Splittable> }) {
  const file = split.source === 'file';
  return (
    <div className="small" data-testid="finetune-split" data-selection={split.selection} data-source={split.source}>
      <p>
        {file ? "Your file's own split column is used: " : 'Split by whole sequences (fixed seed): '}
        <span data-testid="finetune-split-train">{formatCount(split.train.length)}</span> {file ? 'train' : 'training'}{' '}
        · <span data-testid="finetune-split-validation">{formatCount(split.validation.length)}</span>{' '}
        {file ? 'valid' : 'validation'} (picks the epoch that is kept) ·{' '}
        <span data-testid="finetune-split-heldout">{formatCount(split.heldOut.length)}</span>{' '}
        {file ? 'test, held out' : 'held out'} (only for the comparison)
        {split.unused.length > 0 &&
          ` · ${formatCount(split.unused.length)} not used (a single event${file ? ', or no split' : ''})`}
      </p>
      {split.note && (
        <p className="warning" data-testid="finetune-split-note">
          {split.note}
        </p>
      )}
    </div>
  );
}

/**
 * What the model in use already knows of the data, what that means for its figures, and how the
 * behaviors it does not know will start (src/model/extend.ts, docs/FINETUNE.md).
 */
function OverlapSummary({
  overlap,
  baseName,
  newNames,
}: {
  overlap: VocabularyOverlap;
  baseName: string;
  newNames: string[];
}) {
  const few = overlap.knownBehaviors < FEW_KNOWN_SHARE * overlap.behaviors;
  const added = overlap.behaviors - overlap.knownBehaviors;
  return (
    <div className="small" data-testid="finetune-overlap" data-known={overlap.knownBehaviors} data-few={String(few)}>
      <p>
        The model you start from (<em>{baseName}</em>) knows{' '}
        <strong data-testid="finetune-known-behaviors">{formatCount(overlap.knownBehaviors)}</strong> of your{' '}
        {formatCount(overlap.behaviors)} behaviors by name, covering {formatCount(overlap.knownEvents)} of{' '}
        {formatCount(overlap.events)} events ({formatPercent(overlap.events ? overlap.knownEvents / overlap.events : 0)}
        ).
      </p>
      {few && (
        <p className="warning" data-testid="finetune-overlap-warning">
          {overlap.knownBehaviors === 0 ? 'It knows none of them' : 'It knows few of them'}, so its figures in the
          comparison (“Base”) will be near 0%: a model can only name behaviors it knows. What it brings is what it
          learned about sequences, weekdays and times of day.
        </p>
      )}
      {added > 0 && (
        <p data-testid="finetune-new-start">
          The {formatCount(added)} new behaviors are added to the model before training (those of the training part).{' '}
          {overlap.newWithKnownDevice > 0 &&
            `${formatCount(overlap.newWithKnownDevice)} named “Device:action” with a device it knows start like that device's behaviors. `}
          {overlap.newWithoutKnownDevice > 0 &&
            `${formatCount(overlap.newWithoutKnownDevice)} without a known “Device:” prefix start from the average behavior: the mean input embedding of all the behaviors it knows and zero output weights. `}
          Then the output biases are set to your data's behavior frequencies (kept if that lowers the validation loss),
          so before training the model predicts about like the popularity baseline, and training teaches it the rest.
        </p>
      )}
      {newNames.length > 0 && (
        <details>
          <summary>The {formatCount(newNames.length)} behavior names new to the model</summary>
          <p data-testid="finetune-new-list">{newNames.join(', ')}</p>
        </details>
      )}
    </div>
  );
}

/** What was imported: counts, what the model knows of it, the split, and events per weekday and time slot. */
export function DataSummary() {
  const data = useFinetuneStore((s) => s.data)!;
  const split = useSplit();
  const { summary } = data;
  const max = Math.max(1, ...summary.coverage.flat());
  return (
    <div
      className="ft-summary"
      data-testid="finetune-summary"
      data-sequences={summary.sequences}
      data-new={summary.newBehaviors.length}
    >
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
      <OverlapSummary overlap={summary.overlap} baseName={data.baseName} newNames={summary.newBehaviors} />
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
                <td
                  key={s}
                  title={`${WEEKDAY_NAMES[w]} ${slotLabel(s)}: ${n} events`}
                  style={{ background: `rgba(47, 91, 211, ${n ? 0.12 + (0.78 * n) / max : 0})` }}
                >
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
