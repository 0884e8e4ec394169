import type { ProgressPoint } from '../../lib/index';
import { formatCount, formatDuration, formatFrequencies, formatPercent } from '../lib/format';
import { useFinetuneStore, type RunState } from '../stores/finetune-store';
import { Comparison } from './Comparison';
import { LossCharts } from './LossCharts';

const STATUS: Record<RunState['status'], string> = {
  idle: '',
  starting: 'Starting',
  running: 'Training',
  cancelling: 'Cancelling',
  saving: 'Saving',
  done: 'Done',
  cancelled: 'Cancelled',
  error: 'Failed',
};

/** The validation figures of every check, the kept one marked. */
function EpochTable({ epochs, arm }: { epochs: ProgressPoint[]; arm: 'adapted' | 'scratch' }) {
  const rows = epochs.filter((e) => e.arm === arm && e.validation && e.validation.targets > 0);
  if (rows.length === 0) return null;
  const kept = rows.filter((e) => e.improved).at(-1)?.epoch;
  return (
    <div className="ft-epochs">
      <table className="eval-table small" data-testid={`finetune-epochs-${arm}`}>
        <caption>
          {arm === 'adapted' ? 'Validation part after each check' : 'From scratch: validation part after each check'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Epoch</th>
            <th scope="col" className="num" title="Mean DRO (or cross-entropy) loss of the epoch's training steps">
              Train loss
            </th>
            <th scope="col" className="num" title="Cross-entropy on the validation part: picks the epoch kept">
              Valid loss
            </th>
            <th scope="col" className="num">
              R@1
            </th>
            <th scope="col" className="num">
              R@5
            </th>
            <th scope="col" className="num">
              Macro R@5
            </th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr
              key={e.epoch}
              data-testid="finetune-epoch"
              data-epoch={e.epoch}
              data-improved={String(!!e.improved)}
              className={e.epoch === kept ? 'kept' : undefined}
            >
              <td>{e.epoch}</td>
              <td className="num">{e.loss.toFixed(3)}</td>
              <td className="num">{e.validation!.loss.toFixed(3)}</td>
              <td className="num">{formatPercent(e.validation!['weighted_recall@1'])}</td>
              <td className="num">{formatPercent(e.validation!['weighted_recall@5'])}</td>
              <td className="num">{formatPercent(e.validation!['macro_recall@5'])}</td>
              <td className="small">{e.epoch === kept ? 'kept' : e.improved ? 'best so far' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Why training ended, and the offer to go on when the budget ran out first. */
function StopNotice({ run }: { run: RunState }) {
  const continueRun = useFinetuneStore((s) => s.continueRun);
  const a = run.adapted;
  if (!a) return null;
  if (a.stop.reason === 'patience') {
    return (
      <p className="small" data-testid="finetune-stop" data-reason="patience">
        Stopped by itself after epoch {a.epochsRun}: the validation loss had not improved for{' '}
        {run.settings?.patience ?? 'several'} checks in a row. Kept epoch {a.bestEpoch}, the one with the lowest
        validation loss.
      </p>
    );
  }
  if (a.stop.reason === 'no-validation') {
    return (
      <p className="small" data-testid="finetune-stop" data-reason="no-validation">
        Every epoch of the budget ran ({a.epochsRun}); with no validation part the last one is kept.
      </p>
    );
  }
  return (
    <div
      className="warning-box"
      role="status"
      data-testid="finetune-stop"
      data-reason="budget"
      data-still-improving={String(a.stop.stillImproving)}
    >
      <p>
        <strong>The budget ended before the model stopped improving.</strong>{' '}
        {a.stop.stillImproving
          ? `The validation loss was still falling at the last epoch (${a.epochsRun}), so more training would probably help.`
          : `The validation loss last improved at epoch ${a.bestEpoch} of ${a.epochsRun}; early stopping had not yet decided.`}{' '}
        The model kept is epoch {a.bestEpoch}.
      </p>
      {run.resume && (
        <button type="button" onClick={continueRun} disabled={run.status !== 'done'} data-testid="finetune-continue">
          Continue training from epoch {a.bestEpoch} (up to {run.resume.continueFrom.settings.maxEpochs} more epochs)
        </button>
      )}
    </div>
  );
}

/** A run's status, progress with ETA, the two losses, validation per check, why it stopped, and the comparison. */
export function RunProgress({ run }: { run: RunState }) {
  const downloadUnsaved = useFinetuneStore((s) => s.downloadUnsaved);
  if (run.status === 'idle') return null;
  const objective = run.settings?.objective ?? 'dro';
  const p = run.progress;
  const training = run.status === 'running' || run.status === 'starting' || run.status === 'cancelling';
  return (
    <div className="ft-progress" data-testid="finetune-status" data-status={run.status}>
      <p role="status">
        <strong>{STATUS[run.status]}</strong>
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
          <span className="small muted">its manifest and weights, named for it, to open again later</span>
        </p>
      )}
      {run.info && (
        <p className="small muted" data-testid="finetune-info">
          Starting from {run.baseName} · {run.info.trainSequences} training, {run.info.validationSequences} validation
          and {run.info.heldOutSequences} held-out sequences (
          {run.info.source === 'file' ? "the file's own split" : 'split by sequence'}) ·{' '}
          {run.info.selection === 'validation'
            ? 'epoch picked on validation'
            : 'no validation part: the last epoch is kept'}{' '}
          · {formatCount(run.info.trainableParameters)} of {formatCount(run.info.parameters)} parameters trained
          {run.info.newBehaviors.length > 0 && ` · ${run.info.newBehaviors.length} new behaviors added`}
          {' · '}
          {formatFrequencies(run.info.frequencies)} · budget {run.info.budgetEpochs} epochs of {run.info.stepsPerEpoch}{' '}
          steps
        </p>
      )}
      {p && (
        <>
          {/* The step the run is at, or stopped at (early stopping ends a run before its budget). */}
          <progress
            max={p.totalSteps}
            value={p.step}
            aria-label="Training progress"
            data-testid="finetune-progress"
            data-arm={p.arm}
          />
          <p className="small" data-testid="finetune-step">
            {p.arm === 'scratch' ? 'From scratch: ' : ''}Step {p.step} of at most {p.totalSteps} · epoch {p.epoch} ·
            training loss {p.loss.toFixed(3)} · {p.stepsPerSecond.toFixed(2)} steps/s ·{' '}
            {formatCount(Math.round(p.tokensPerSecond))} tokens/s ·{' '}
            {training ? `ETA at most ${formatDuration(p.etaSeconds)} (early stopping usually ends sooner)` : 'stopped'}
          </p>
        </>
      )}
      <LossCharts
        losses={run.losses.adapted}
        epochs={run.epochs.filter((e) => e.arm === 'adapted')}
        objective={objective}
        totalSteps={run.progress?.arm === 'adapted' ? run.progress.totalSteps : run.losses.adapted.length}
      />
      <EpochTable epochs={run.epochs} arm="adapted" />
      <StopNotice run={run} />
      {run.adapted && (
        <p
          className="small muted"
          data-testid="finetune-wall-time"
          data-wall-seconds={run.adapted.wallSeconds}
          data-train-seconds={run.adapted.seconds}
          data-epochs={run.adapted.epochsRun}
          data-best-epoch={run.adapted.bestEpoch}
          data-steps={run.adapted.steps}
          data-stop={run.adapted.stop.reason}
        >
          The adapted model was ready {formatDuration(run.adapted.wallSeconds)} after the start (
          {formatDuration(run.adapted.seconds)} of training, {run.adapted.steps} steps).
        </p>
      )}
      {run.scratch && (
        <p
          className="small muted"
          data-testid="finetune-scratch-summary"
          data-train-seconds={run.scratch.seconds}
          data-epochs={run.scratch.epochsRun}
          data-best-epoch={run.scratch.bestEpoch}
          data-steps={run.scratch.steps}
          data-stop={run.scratch.stop.reason}
        >
          From scratch (learning rate {run.scratch.learningRate}):{' '}
          {run.scratch.stop.reason === 'patience' ? 'stopped by itself' : 'the budget ended'} after epoch{' '}
          {run.scratch.epochsRun}, kept epoch {run.scratch.bestEpoch} ({formatDuration(run.scratch.seconds)} of
          training, {run.scratch.steps} steps).
        </p>
      )}
      <EpochTable epochs={run.epochs} arm="scratch" />
      {(run.before || run.after || run.baselines) && (
        <Comparison
          before={run.before}
          after={run.after}
          baselines={run.baselines}
          scratch={run.scratch}
          scratchPending={training && !!run.settings?.compareScratch}
          baseName={run.baseName}
        />
      )}
    </div>
  );
}
