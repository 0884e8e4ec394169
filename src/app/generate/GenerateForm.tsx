import { useMemo } from 'react';
import {
  MAX_DAYS,
  MAX_EVENTS,
  MAX_TEMPERATURE,
  MAX_TRAJECTORIES,
  MIN_DAYS,
  choosePrefix,
  settingsErrors,
  startIsSet,
  type GenerateMode,
  type GenerateSource,
} from '../lib/generate-view';
import { CANNOT_GENERATE, useGenerateStore } from '../stores/generate-store';
import { useComposeStore } from '../stores/compose-store';
import { useModelStore } from '../stores/model-store';
import { selectedSequence, useReplayStore } from '../stores/replay-store';
import { SequencePicker } from '../components/SequencePicker';
import { SlotSelect, WeekdaySelect } from '../components/TimeSelects';

const SOURCES: { id: GenerateSource; label: string }[] = [
  { id: 'replay', label: 'Replayed sequence, up to its current step' },
  { id: 'typed', label: 'Typed sequence (Predict → Type)' },
  { id: 'empty', label: 'Nothing: start from a time alone' },
];

/** A number field bound to one numeric setting. */
function NumberField(props: {
  id: string;
  label: string;
  value: number;
  onChange: (v: number) => void;
  min?: number;
  max?: number;
  step?: number;
  disabled?: boolean;
  hint?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>
        {props.label}
        {props.hint && <span className="muted small"> {props.hint}</span>}
      </label>
      <input
        id={props.id}
        type="number"
        inputMode="decimal"
        value={Number.isFinite(props.value) ? props.value : ''}
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        disabled={props.disabled}
        onChange={(e) => props.onChange(e.target.value === '' ? Number.NaN : Number(e.target.value))}
        data-testid={props.id}
      />
    </div>
  );
}

/** What a run continues and how: the prefix, the length, the first event's time and the sampling; Generate and Stop. */
export function GenerateForm() {
  const settings = useGenerateStore((s) => s.settings);
  const status = useGenerateStore((s) => s.status);
  const setSettings = useGenerateStore((s) => s.setSettings);
  const start = useGenerateStore((s) => s.start);
  const stop = useGenerateStore((s) => s.stop);
  const predictor = useModelStore((s) => s.predictor);
  const modelStatus = useModelStore((s) => s.status);
  const replayStatus = useReplayStore((s) => s.status);
  const sequences = useReplayStore((s) => s.sequences);
  const selectedId = useReplayStore((s) => s.selectedId);
  const step = useReplayStore((s) => s.step);
  const select = useReplayStore((s) => s.select);
  const setStep = useReplayStore((s) => s.setStep);
  const typed = useComposeStore((s) => s.events);

  const sequence = selectedSequence({ sequences, selectedId });
  const choice = useMemo(
    () => choosePrefix(settings.source, { replay: { sequence, step }, typed }),
    [settings.source, sequence, step, typed],
  );
  const errors = settingsErrors(settings, choice.prefix.length);
  const startForced = choice.prefix.length === 0;
  const startSet = startIsSet(settings, choice.prefix.length);
  const running = status === 'running';
  const cannot = predictor !== null && !predictor.info.canGenerate;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!running) void start();
  };

  return (
    <form className="generate-form" onSubmit={submit} aria-label="Generation settings">
      {cannot && (
        <p className="error-box" role="alert" data-testid="generate-unavailable">
          {CANNOT_GENERATE}
        </p>
      )}
      <div className="controls">
        <div className="field">
          <label htmlFor="generate-source">Start from</label>
          <select
            id="generate-source"
            value={settings.source}
            onChange={(e) => setSettings({ source: e.target.value as GenerateSource })}
            disabled={running}
            data-testid="generate-source"
          >
            {SOURCES.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        {settings.source === 'replay' && replayStatus === 'ready' && sequence && (
          <>
            <SequencePicker
              id="generate-sequence"
              sequences={sequences}
              selectedId={sequence.id}
              onSelect={select}
              disabled={running}
            />
            <NumberField
              id="generate-step"
              label="Up to step t"
              hint={`(1–${sequence.events.length - 1})`}
              value={step}
              min={1}
              max={sequence.events.length - 1}
              disabled={running}
              onChange={(v) => Number.isFinite(v) && setStep(v)}
            />
          </>
        )}
      </div>
      <p
        className="source"
        data-testid="generate-prefix"
        data-length={choice.prefix.length}
        data-source={choice.source}
      >
        Continues: <strong>{choice.description}</strong>
        {settings.source === 'replay' && replayStatus === 'loading' && (
          <span className="muted"> (loading sequences…)</span>
        )}
        {settings.source === 'typed' && typed.length === 0 && (
          <span className="muted"> — type some in Predict → Type, or set a start time</span>
        )}
      </p>

      <div className="controls">
        <div className="field">
          <label htmlFor="generate-mode">Length</label>
          <select
            id="generate-mode"
            value={settings.mode}
            onChange={(e) => setSettings({ mode: e.target.value as GenerateMode })}
            disabled={running}
            data-testid="generate-mode"
          >
            <option value="count">Number of events</option>
            <option value="horizon">Days ahead</option>
          </select>
        </div>
        {settings.mode === 'count' ? (
          <NumberField
            id="generate-count"
            label="Events"
            hint={`(1–${MAX_EVENTS})`}
            value={settings.count}
            min={1}
            max={MAX_EVENTS}
            disabled={running}
            onChange={(count) => setSettings({ count })}
          />
        ) : (
          <NumberField
            id="generate-days"
            label="Days"
            hint={`(${MIN_DAYS}–${MAX_DAYS}, ≤ ${MAX_EVENTS} events)`}
            value={settings.days}
            min={MIN_DAYS}
            max={MAX_DAYS}
            disabled={running}
            onChange={(days) => setSettings({ days })}
          />
        )}
        <fieldset className="generate-start" disabled={running}>
          <legend>First event</legend>
          <label className="check">
            <input
              type="checkbox"
              checked={startSet}
              disabled={startForced}
              onChange={(e) => setSettings({ fixStart: e.target.checked })}
              data-testid="generate-fix-start"
            />{' '}
            at a set time {startForced ? '(needed without events)' : '(else the model says when)'}
          </label>
          <div className="controls tight">
            <label htmlFor="generate-start-weekday" className="visually-hidden">
              Start day
            </label>
            <WeekdaySelect
              id="generate-start-weekday"
              value={settings.startWeekday}
              onChange={(startWeekday) => setSettings({ startWeekday })}
              testId="generate-start-weekday"
              disabled={!startSet}
            />
            <label htmlFor="generate-start-slot" className="visually-hidden">
              Start time
            </label>
            <SlotSelect
              id="generate-start-slot"
              value={settings.startSlot}
              onChange={(startSlot) => setSettings({ startSlot })}
              testId="generate-start-slot"
              disabled={!startSet}
            />
          </div>
        </fieldset>
      </div>

      <div className="controls">
        <NumberField
          id="generate-temperature"
          label="Temperature"
          value={settings.temperature}
          min={0.05}
          max={MAX_TEMPERATURE}
          step={0.05}
          disabled={running}
          onChange={(temperature) => setSettings({ temperature })}
        />
        <NumberField
          id="generate-top-k"
          label="Top-k"
          hint="(0 = off)"
          value={settings.topK}
          min={0}
          disabled={running}
          onChange={(topK) => setSettings({ topK })}
        />
        <NumberField
          id="generate-top-p"
          label="Top-p"
          hint="(1 = off)"
          value={settings.topP}
          min={0.05}
          max={1}
          step={0.05}
          disabled={running}
          onChange={(topP) => setSettings({ topP })}
        />
        <NumberField
          id="generate-seed"
          label="Seed"
          value={settings.seed}
          min={0}
          disabled={running}
          onChange={(seed) => setSettings({ seed })}
        />
        <NumberField
          id="generate-trajectories"
          label="Trajectories"
          hint={`(1–${MAX_TRAJECTORIES}; charts pool them)`}
          value={settings.trajectories}
          min={1}
          max={MAX_TRAJECTORIES}
          disabled={running}
          onChange={(trajectories) => setSettings({ trajectories })}
        />
        <div className="field">
          <span className="label-spacer" aria-hidden="true">
            &nbsp;
          </span>
          <div className="buttons">
            <button
              type="submit"
              disabled={running || errors.length > 0 || !predictor || cannot}
              data-testid="generate-start"
            >
              Generate
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => stop()}
              disabled={!running}
              data-testid="generate-stop"
            >
              Stop
            </button>
          </div>
        </div>
      </div>
      {errors.length > 0 && (
        <ul className="error small" data-testid="generate-errors">
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
      {!predictor && (
        <p className="muted small">
          {modelStatus === 'error' ? 'No model: it failed to load.' : 'Waiting for the model…'}
        </p>
      )}
    </form>
  );
}
