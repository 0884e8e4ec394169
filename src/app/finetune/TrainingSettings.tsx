import { useShallow } from 'zustand/react/shallow';
import { DEFAULT_FINETUNE_SETTINGS } from '../../lib/index';
import { formatPercent } from '../lib/format';
import { isBusy, useFinetuneStore } from '../stores/finetune-store';
import { RunProgress } from './RunProgress';
import { useSplit } from './use-split';

const LEARNING_RATES = [3e-4, 1e-3, 3e-3, 1e-2];
const OBJECTIVES = [
  { value: 'dro', label: 'DRO (class-robust)' },
  { value: 'ce', label: 'Cross-entropy' },
] as const;
const TRAINABLE = [
  { value: 'all', label: 'All parameters' },
  { value: 'head+embeddings', label: 'Head + embeddings' },
] as const;

const clampInt = (value: string, lo: number, hi: number, fallback: number) => {
  const n = Math.round(Number(value));
  return Number.isFinite(n) && value !== '' ? Math.max(lo, Math.min(hi, n)) : fallback;
};

/** A setting picked from a list; the option's value (a number or a string) is passed back as it was given. */
function ChoiceField<T extends string | number>(props: {
  id: string;
  label: string;
  testId: string;
  value: T;
  options: readonly { value: T; label: string }[];
  disabled: boolean;
  onChange: (value: T) => void;
}) {
  const { id, label, testId, value, options, disabled, onChange } = props;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={String(value)}
        disabled={disabled}
        data-testid={testId}
        onChange={(e) => {
          const picked = options.find((o) => String(o.value) === e.target.value);
          if (picked) onChange(picked.value);
        }}
      >
        {options.map((o) => (
          <option key={String(o.value)} value={String(o.value)}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** An integer setting: typed values are rounded and kept within [min, max]. */
function IntegerField(props: {
  id: string;
  label: string;
  title?: string;
  value: number;
  min: number;
  max: number;
  disabled: boolean;
  onChange: (n: number) => void;
}) {
  const { id, label, title, value, min, max, disabled, onChange } = props;
  return (
    <div className="field">
      <label htmlFor={id} title={title}>
        {label}
      </label>
      <input
        id={id}
        type="number"
        min={min}
        max={max}
        value={value}
        disabled={disabled}
        data-testid={id.replace(/^ft-/, 'finetune-')}
        onChange={(e) => onChange(clampInt(e.target.value, min, max, value))}
      />
    </div>
  );
}

/** Step 2: the run's settings (defaults chosen on valid for logs of 1k–100k events), start and cancel, and the run as it goes. */
export function TrainingSettings() {
  const { settings, setSettings, data, run, start, cancel } = useFinetuneStore(
    useShallow((s) => ({
      settings: s.settings,
      setSettings: s.setSettings,
      data: s.data,
      run: s.run,
      start: s.start,
      cancel: s.cancel,
    })),
  );
  const split = useSplit();
  const busy = isBusy(run.status);
  const canStart = !!data && !!split && split.heldOut.length > 0 && !busy;
  const d = DEFAULT_FINETUNE_SETTINGS;
  const changed =
    settings.learningRate !== d.learningRate ||
    settings.maxEpochs !== d.maxEpochs ||
    settings.patience !== d.patience ||
    settings.schedule.minSteps !== d.schedule.minSteps ||
    settings.objective !== d.objective ||
    settings.trainable !== d.trainable;
  return (
    <section className="ft-block" aria-labelledby="ft-train-title">
      <h3 id="ft-train-title">2. Train on this device</h3>
      <div className="controls">
        <ChoiceField
          id="ft-lr"
          label="Learning rate"
          testId="finetune-lr"
          value={settings.learningRate}
          options={LEARNING_RATES.map((lr) => ({ value: lr, label: String(lr) }))}
          disabled={busy}
          onChange={(learningRate) => setSettings({ learningRate })}
        />
        <IntegerField
          id="ft-epochs"
          label="Budget (epochs)"
          value={settings.maxEpochs}
          min={1}
          max={500}
          disabled={busy}
          onChange={(maxEpochs) => setSettings({ maxEpochs })}
        />
        <IntegerField
          id="ft-min-steps"
          label="At least (steps)"
          title="Small logs have epochs of a few steps: their budget is raised to at least this many steps (early stopping can still end them sooner)"
          value={settings.schedule.minSteps}
          min={0}
          max={100_000}
          disabled={busy}
          onChange={(minSteps) => setSettings({ schedule: { ...settings.schedule, minSteps } })}
        />
        <IntegerField
          id="ft-patience"
          label="Patience (checks)"
          value={settings.patience}
          min={1}
          max={100}
          disabled={busy}
          onChange={(patience) => setSettings({ patience })}
        />
        <ChoiceField
          id="ft-objective"
          label="Loss"
          testId="finetune-objective"
          value={settings.objective}
          options={OBJECTIVES}
          disabled={busy}
          onChange={(objective) => setSettings({ objective })}
        />
        <ChoiceField
          id="ft-trainable"
          label="Train"
          testId="finetune-trainable"
          value={settings.trainable}
          options={TRAINABLE}
          disabled={busy}
          onChange={(trainable) => setSettings({ trainable })}
        />
        <IntegerField
          id="ft-seed"
          label="Seed"
          value={settings.seed}
          min={0}
          max={2 ** 31 - 1}
          disabled={busy}
          onChange={(seed) => setSettings({ seed })}
        />
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
              <button
                type="button"
                onClick={cancel}
                disabled={run.status !== 'starting' && run.status !== 'running'}
                data-testid="finetune-cancel"
              >
                Cancel
              </button>
            )}
          </div>
        </div>
      </div>
      <label className="small checkbox">
        <input
          type="checkbox"
          checked={settings.compareScratch}
          disabled={busy}
          data-testid="finetune-scratch"
          onChange={(e) => setSettings({ compareScratch: e.target.checked })}
        />{' '}
        Also train the same architecture from scratch on your training part, to see whether pretraining helped (its own
        learning rate {settings.scratch.learningRate}, budget {settings.scratch.maxEpochs} epochs, patience{' '}
        {settings.scratch.patience}; about as long again)
      </label>
      <p className="small muted">
        The defaults were chosen on the validation parts of logs of 1,000 to 100,000 events the model had never seen
        (docs/FINETUNE.md)
        {changed && (
          <>
            {' '}
            —{' '}
            <button
              type="button"
              className="link"
              onClick={() => setSettings({ ...d, seed: settings.seed, compareScratch: settings.compareScratch })}
              data-testid="finetune-defaults"
            >
              back to the defaults
            </button>
          </>
        )}
        . Training stops by itself when the validation loss has not improved for {settings.patience} checks in a row (a
        check at the end of{' '}
        {settings.schedule.evaluateEvery > 0
          ? `an epoch, at least ${settings.schedule.evaluateEvery} steps apart`
          : 'every epoch'}
        ), or when the budget ends
        {settings.schedule.minSteps > 0 &&
          ` (on small logs the budget is at least ${settings.schedule.minSteps} steps)`}
        ; the epoch with the lowest validation loss is kept. The learning rate is constant after a{' '}
        {settings.schedule.warmupSteps}-step warm-up.
        {split?.source === 'file'
          ? " Your file's own split is used: train trains, valid picks the epoch, test is held out for the comparison."
          : ` ${formatPercent(settings.heldOutFraction, 0)} of the sequences are held out for the comparison and ${formatPercent(settings.validationFraction, 0)} more pick the epoch (whole sequences, chosen with a fixed seed; held-out ones are never used for training or choosing).`}{' '}
        Training runs in a background worker; the page stays usable, and cancelling leaves every model as it was.
      </p>
      <RunProgress run={run} />
    </section>
  );
}
