import { useEffect, useMemo, useRef, useState } from 'react';
import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel } from '../../core/events';
import { splitForFinetune, type FinetuneSplit } from '../../core/finetune';
import type { MetricSet } from '../../core/metrics';
import { BUNDLED_DATASETS, download, exportFiles } from '../lib/finetune-data';
import { formatBytes, formatCount, formatFrequencies, formatPercent } from '../lib/format';
import { adaptedIdOf, useAdaptedStore } from '../stores/adapted-store';
import { useFinetuneStore, type RunState } from '../stores/finetune-store';
import { useModelStore } from '../stores/model-store';
import { getAdaptedModel } from '../lib/model-store-idb';

const COMPARED = [
  ['weighted_recall@1', 'Weighted recall@1'],
  ['weighted_recall@5', 'Weighted recall@5'],
  ['macro_recall@1', 'Macro recall@1'],
  ['macro_recall@5', 'Macro recall@5'],
] as const;

const LEARNING_RATES = [3e-4, 1e-3, 3e-3, 1e-2];

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function DataImport() {
  const { data, importing, importError, importFile, importBundled } = useFinetuneStore();
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void importFile(file);
  };

  return (
    <section className="ft-block" aria-labelledby="ft-data-title">
      <h3 id="ft-data-title">1. Your data</h3>
      <div
        className={`dropzone${dragging ? ' over' : ''}`}
        data-testid="finetune-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>
          Drop a behavior log here, or{' '}
          <button type="button" className="link" onClick={() => input.current?.click()}>
            choose a file
          </button>
          . CSV with <code>sequence_id,step,weekday,time_slot,behavior</code> or <code>user_id,timestamp,behavior</code>
          {' '}(gzip accepted). The file is read here and never uploaded.
        </p>
        <input
          ref={input}
          type="file"
          accept=".csv,.gz,text/csv"
          className="visually-hidden"
          data-testid="finetune-file"
          aria-label="Behavior log file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importFile(file);
            e.target.value = ''; // the same file can be picked again after a fix
          }}
        />
        <p className="small muted">
          Or a bundled data set:{' '}
          {BUNDLED_DATASETS.map((d) => (
            <button key={d.id} type="button" className="link" data-testid={`finetune-bundled-${d.id}`} onClick={() => void importBundled(d.id)}>
              {d.label}
            </button>
          ))}
        </p>
      </div>
      {importing && <p className="muted">Reading…</p>}
      {importError && (
        <div className="error-box" role="alert" data-testid="finetune-import-error">
          <strong>The file was not imported.</strong>
          <p>{importError}</p>
          <p className="muted small">{data ? `The data imported before (${data.name}) is still used.` : 'Nothing was changed.'}</p>
        </div>
      )}
      {data && <DataSummary />}
    </section>
  );
}

/** The split the run will use, exactly as the worker request is built (same function, same settings). */
function useSplit(): FinetuneSplit | null {
  const data = useFinetuneStore((s) => s.data);
  const { heldOutFraction, validationFraction, seed } = useFinetuneStore((s) => s.settings);
  return useMemo(
    () => (data ? splitForFinetune(data.sequences, { heldOutFraction, validationFraction, seed }) : null),
    [data, heldOutFraction, validationFraction, seed],
  );
}

function SplitSummary({ split }: { split: FinetuneSplit }) {
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

function DataSummary() {
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

function Settings() {
  const { settings, setSettings, data, run, start, cancel } = useFinetuneStore();
  const split = useSplit();
  const busy = ['starting', 'running', 'cancelling'].includes(run.status);
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
          {busy ? (
            <button type="button" onClick={cancel} disabled={run.status === 'cancelling'} data-testid="finetune-cancel">
              Cancel
            </button>
          ) : (
            <button type="button" onClick={() => void start()} disabled={!canStart} data-testid="finetune-start">
              Start fine-tuning
            </button>
          )}
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

function LossCurve({ losses }: { losses: number[] }) {
  if (losses.length < 2) return null;
  const W = 320;
  const H = 80;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const points = losses.map((l, i) => `${((i / (losses.length - 1)) * W).toFixed(1)},${(H - ((l - lo) / span) * (H - 4) - 2).toFixed(1)}`).join(' ');
  return (
    <figure className="loss-curve">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`Training loss from ${losses[0].toFixed(3)} to ${losses[losses.length - 1].toFixed(3)}`} data-testid="finetune-loss-curve">
        <polyline points={points} fill="none" stroke="var(--accent)" strokeWidth="1.5" />
      </svg>
      <figcaption className="small muted">
        Training loss per step ({hi.toFixed(3)} → {losses[losses.length - 1].toFixed(3)})
      </figcaption>
    </figure>
  );
}

function RunProgress({ run }: { run: RunState }) {
  if (run.status === 'idle') return null;
  const p = run.progress;
  return (
    <div className="ft-progress" data-testid="finetune-status" data-status={run.status}>
      <p role="status">
        <strong>{run.status === 'done' ? 'Done' : run.status === 'error' ? 'Failed' : run.status === 'cancelled' ? 'Cancelled' : 'Training'}</strong>
        {run.stage && ` — ${run.stage}`}
        {run.backend && <span className="muted small"> · on {run.backend.name}</span>}
      </p>
      {run.error && (
        <p className="error" role="alert" data-testid="finetune-error">
          {run.error}
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

function BeforeAfter({ before, after }: { before: MetricSet | null; after: MetricSet | null }) {
  const cell = (m: MetricSet | null, key: string) => (m && m[key] !== undefined ? formatPercent(m[key]) : '–');
  return (
    <table className="eval-table ft-results" data-testid="finetune-results">
      <caption>
        Held-out sequences of your data ({formatCount(before?.targets ?? after?.targets ?? 0)} predicted events)
      </caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col" className="num">
            Base model
          </th>
          <th scope="col" className="num">
            Adapted
          </th>
          <th scope="col" className="num">
            Change
          </th>
        </tr>
      </thead>
      <tbody>
        {COMPARED.map(([key, label]) => {
          const delta = before && after && before[key] !== undefined && after[key] !== undefined ? after[key] - before[key] : null;
          return (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td className="num" data-testid={`before-${key}`}>
                {cell(before, key)}
              </td>
              <td className="num" data-testid={`after-${key}`}>
                {cell(after, key)}
              </td>
              <td className="num">{delta === null ? '' : `${delta >= 0 ? '+' : '−'}${formatPercent(Math.abs(delta))}`}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function SavedModels() {
  const { models, status, error, refresh, remove, use } = useAdaptedStore();
  const activeId = useModelStore((s) => adaptedIdOf(s.url));
  const [exportError, setExportError] = useState<string | null>(null);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const exportModel = async (id: string) => {
    setExportError(null);
    try {
      const record = await getAdaptedModel(id);
      if (!record) throw new Error('the model is no longer stored');
      download(exportFiles(record.manifestText, record.shards));
    } catch (e) {
      setExportError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section className="ft-block" aria-labelledby="ft-saved-title">
      <h3 id="ft-saved-title">3. Adapted models on this device</h3>
      {status === 'error' && <p className="error">Stored models cannot be read: {error}</p>}
      {exportError && <p className="error">Export failed: {exportError}</p>}
      {status === 'ready' && models.length === 0 && (
        <p className="muted" data-testid="adapted-none">
          None yet. A finished run is kept here (IndexedDB) and survives a reload.
        </p>
      )}
      <ul className="adapted-list" data-testid="adapted-list">
        {models.map((m) => (
          <li key={m.id} data-testid="adapted-model" data-id={m.id} data-name={m.name}>
            <div>
              <strong>{m.name}</strong>
              {activeId === m.id && <span className="badge"> in use</span>}
              <div className="small muted">
                {new Date(m.createdAt).toLocaleString()} · {formatBytes(m.bytes)} · held-out R@1 {formatPercent(m.metrics.before['weighted_recall@1'] ?? 0)} →{' '}
                {formatPercent(m.metrics.after['weighted_recall@1'] ?? 0)}, R@5 {formatPercent(m.metrics.before['weighted_recall@5'] ?? 0)} →{' '}
                {formatPercent(m.metrics.after['weighted_recall@5'] ?? 0)}
              </div>
            </div>
            <div className="actions">
              <button type="button" onClick={() => void use(m.id)} disabled={activeId === m.id} data-testid="adapted-use">
                Use in Predict
              </button>
              <button type="button" onClick={() => void exportModel(m.id)} data-testid="adapted-export">
                Export
              </button>
              <button type="button" onClick={() => void remove(m.id)} data-testid="adapted-delete">
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function FinetuneView() {
  return (
    <div className="finetune">
      <DataImport />
      <Settings />
      <SavedModels />
    </div>
  );
}

/** Which model Predict uses: the shipped base model or an adapted one from this device. */
export function ModelPicker() {
  const { models, refresh, use } = useAdaptedStore();
  const url = useModelStore((s) => s.url);
  const status = useModelStore((s) => s.status);
  const active = adaptedIdOf(url) ?? 'base';

  useEffect(() => {
    void refresh();
  }, [refresh]);

  if (models.length === 0 && active === 'base') return null;
  return (
    <div className="model-picker field">
      <label htmlFor="model-select">Model</label>
      <select
        id="model-select"
        value={active}
        disabled={status === 'loading'}
        data-testid="model-select"
        onChange={(e) => void use(e.target.value === 'base' ? null : e.target.value)}
      >
        <option value="base">Foundation model (shipped)</option>
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}
          </option>
        ))}
      </select>
    </div>
  );
}
