import { useShallow } from 'zustand/react/shallow';
import { formatPercent } from '../lib/format';
import { isBusy, useFinetuneStore } from '../stores/finetune-store';
import { RunProgress } from './RunProgress';
import { useSplit } from './use-split';

const LEARNING_RATES = [3e-4, 1e-3, 3e-3, 1e-2];

/** Step 2: the run's settings, start and cancel, and the run as it goes. */
export function TrainingSettings() {
  const { settings, setSettings, data, run, start, cancel } = useFinetuneStore(
    useShallow((s) => ({ settings: s.settings, setSettings: s.setSettings, data: s.data, run: s.run, start: s.start, cancel: s.cancel })),
  );
  const split = useSplit();
  const busy = isBusy(run.status);
  const canStart = !!data && !!split && split.heldOut.length > 0 && !busy;
  return (
    <section className="ft-block" aria-labelledby="ft-train-title">
      <h3 id="ft-train-title">2. Train on this device</h3>
      <div className="controls">
        <div className="field">
          <label htmlFor="ft-epochs">Epochs</label>
          <input
            id="ft-epochs"
            type="number"
            min={1}
            max={50}
            value={settings.epochs}
            disabled={busy}
            data-testid="finetune-epochs"
            onChange={(e) => setSettings({ epochs: Math.max(1, Math.min(50, Math.round(Number(e.target.value) || 1))) })}
          />
        </div>
        <div className="field">
          <label htmlFor="ft-lr">Learning rate</label>
          <select id="ft-lr" value={settings.learningRate} disabled={busy} data-testid="finetune-lr" onChange={(e) => setSettings({ learningRate: Number(e.target.value) })}>
            {LEARNING_RATES.map((lr) => (
              <option key={lr} value={lr}>
                {lr}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="ft-objective">Loss</label>
          <select
            id="ft-objective"
            value={settings.objective}
            disabled={busy}
            data-testid="finetune-objective"
            onChange={(e) => setSettings({ objective: e.target.value as 'dro' | 'ce' })}
          >
            <option value="dro">DRO (class-robust)</option>
            <option value="ce">Cross-entropy</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="ft-trainable">Train</label>
          <select
            id="ft-trainable"
            value={settings.trainable}
            disabled={busy}
            data-testid="finetune-trainable"
            onChange={(e) => setSettings({ trainable: e.target.value as 'all' | 'head+embeddings' })}
          >
            <option value="all">All parameters</option>
            <option value="head+embeddings">Head + embeddings</option>
          </select>
        </div>
        <div className="field">
          <span className="label-spacer" aria-hidden="true">
            &nbsp;
          </span>
          {/* Start stays in place (disabled) while a run is on, and Cancel appears beside it, so a double-click on Start never lands on Cancel. */}
          <div className="run-actions">
            <button type="button" onClick={() => void start()} disabled={!canStart} data-testid="finetune-start">
              Start fine-tuning
            </button>
            {busy && (
              <button type="button" onClick={cancel} disabled={run.status !== 'starting' && run.status !== 'running'} data-testid="finetune-cancel">
                Cancel
              </button>
            )}
          </div>
        </div>
      </div>
      <p className="small muted">
        {formatPercent(settings.heldOutFraction, 0)} of the sequences are held out to compare the base and the adapted model, and{' '}
        {formatPercent(settings.validationFraction, 0)} more pick the epoch that is kept (whole sequences, chosen with a fixed seed; the held-out
        ones are never used for training or choosing). Training runs in a background worker; the page stays usable, and cancelling leaves every
        model as it was.
      </p>
      <RunProgress run={run} />
    </section>
  );
}
