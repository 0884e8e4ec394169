import { formatCount, formatDuration, formatFrequencies, formatPercent } from '../lib/format';
import { useFinetuneStore, type RunState } from '../stores/finetune-store';
import { BeforeAfter } from './BeforeAfter';
import { LossCurve } from './LossCurve';

const STATUS_LABELS: Record<RunState['status'], string> = {
  idle: '',
  starting: 'Starting',
  running: 'Training',
  cancelling: 'Cancelling',
  saving: 'Saving',
  done: 'Done',
  cancelled: 'Cancelled',
  error: 'Failed',
};

/** A run's status, progress, loss curve, epochs and the before/after comparison. */
export function RunProgress({ run }: { run: RunState }) {
  const downloadUnsaved = useFinetuneStore((s) => s.downloadUnsaved);
  if (run.status === 'idle') return null;
  const p = run.progress;
  return (
    <div className="ft-progress" data-testid="finetune-status" data-status={run.status}>
      <p role="status">
        <strong>{STATUS_LABELS[run.status]}</strong>
        {run.stage && ` — ${run.stage}`}
        {run.backend && <span className="muted small"> · on {run.backend.name}</span>}
      </p>
      {run.error && (
        <p className="error" role="alert" data-testid="finetune-error">
          {run.error}
        </p>
      )}
      {run.unsaved && (
        <p>
          <button type="button" onClick={downloadUnsaved} data-testid="finetune-download-unsaved">
            Download the adapted model
          </button>{' '}
          <span className="small muted">model.json and its weights, to open again later</span>
        </p>
      )}
      {run.info && (
        <p className="small muted" data-testid="finetune-info">
          {run.info.trainSequences} training, {run.info.validationSequences} validation and {run.info.heldOutSequences} held-out sequences ·{' '}
          {run.info.selection === 'validation' ? 'epoch picked on validation' : 'no validation part: the last epoch is kept'} ·{' '}
          {formatCount(run.info.trainableParameters)} of{' '}
          {formatCount(run.info.parameters)} parameters trained
          {run.info.newBehaviors.length > 0 && ` · ${run.info.newBehaviors.length} new behaviors added`}
          {' · '}
          {formatFrequencies(run.info.frequencies)}
        </p>
      )}
      {p && (
        <>
          <progress max={p.totalSteps} value={p.step} aria-label="Training progress" data-testid="finetune-progress" />
          <p className="small" data-testid="finetune-step">
            Step {p.step} of {p.totalSteps} · epoch {p.epoch} · loss {p.loss.toFixed(3)} · {p.stepsPerSecond.toFixed(2)} steps/s ·{' '}
            {formatCount(Math.round(p.tokensPerSecond))} tokens/s · ETA {formatDuration(p.etaSeconds)}
          </p>
        </>
      )}
      <LossCurve losses={run.losses} />
      {run.epochs.length > 0 && (
        <ul className="small epochs">
          {run.epochs.map((e) => (
            <li key={e.epoch}>
              Epoch {e.epoch}: train loss {e.loss.toFixed(3)}
              {e.validation && e.validation.targets > 0 && (
                <>
                  {' '}
                  · validation loss {e.validation.loss.toFixed(3)} · R@1 {formatPercent(e.validation['weighted_recall@1'])} · R@5{' '}
                  {formatPercent(e.validation['weighted_recall@5'])}
                  {e.improved && ' · best so far'}
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {(run.before || run.after) && <BeforeAfter before={run.before} after={run.after} />}
    </div>
  );
}
