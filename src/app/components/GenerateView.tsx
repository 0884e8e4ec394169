import { memo, useEffect, useMemo, useState } from 'react';
import { slotLabel, weekdayLabel } from '../../core/events';
import { SHARES_DATA, TIMELINE_DATA, sharesSpec, timelineSpec } from '../../charts/generate-charts';
import {
  GENERATED,
  MAX_DAYS,
  MAX_EVENTS,
  MAX_TEMPERATURE,
  MIN_DAYS,
  choosePrefix,
  referenceCounts,
  settingsErrors,
  startIsSet,
  type GenerateMode,
  type GenerateSource,
} from '../lib/generate-view';
import {
  TIMELINE_PREFIX_DAYS,
  TIMELINE_PREFIX_EVENTS,
  dayOf,
  dayRange,
  deviceShares,
  seriesCounts,
  slotShares,
  timelineRows,
  totalVariation,
  weekdayShares,
  type ShareRow,
} from '../../charts/generate-rows';
import { formatCount, formatPercent } from '../lib/format';
import type { GeneratedEvent } from '../../model/generate';
import { CANNOT_GENERATE, useGenerateStore, type GenerateRun } from '../stores/generate-store';
import { useComposeStore } from '../stores/compose-store';
import { useModelStore } from '../stores/model-store';
import { selectedSequence, useReplayStore } from '../stores/replay-store';
import { useThrottled } from '../use-throttled';
import { SlotSelect, WeekdaySelect } from './TimeSelects';
import { VegaChart } from './VegaChart';

/** Charts follow the stream at most this often, ms (redrawing 1000 marks is the costly part of a run). */
const CHART_THROTTLE_MS = 750;
/** The event list renders in blocks of this many; a full block does not re-render as more arrive. */
const LIST_BLOCK = 100;
/** Options listed in the sequence select at once. */
const MAX_OPTIONS = 300;

const SOURCES: { id: GenerateSource; label: string }[] = [
  { id: 'replay', label: 'Replayed sequence, up to its current step' },
  { id: 'typed', label: 'Typed sequence (Predict → Type)' },
  { id: 'empty', label: 'Nothing: start from a time alone' },
];

export function GenerateView() {
  const loadReplay = useReplayStore((s) => s.load);
  useEffect(() => {
    void loadReplay();
  }, [loadReplay]);

  return (
    <div className="generate">
      <GenerateForm />
      <GenerateResults />
    </div>
  );
}

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

function GenerateForm() {
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
  const choice = useMemo(() => choosePrefix(settings.source, { replay: { sequence, step }, typed }), [settings.source, sequence, step, typed]);
  const errors = settingsErrors(settings, choice.prefix.length);
  const startForced = choice.prefix.length === 0;
  const startSet = startIsSet(settings, choice.prefix.length);
  const running = status === 'running';
  const cannot = predictor !== null && !predictor.canGenerate;
  const listed = sequences.slice(0, MAX_OPTIONS);
  if (sequence && !listed.some((s) => s.id === sequence.id)) listed.unshift(sequence);

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
            <div className="field grow">
              <label htmlFor="generate-sequence">Sequence</label>
              <select id="generate-sequence" value={sequence.id} onChange={(e) => select(e.target.value)} disabled={running} data-testid="generate-sequence">
                {listed.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.id} · {s.events.length} events
                  </option>
                ))}
              </select>
            </div>
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
      <p className="source" data-testid="generate-prefix" data-length={choice.prefix.length} data-source={choice.source}>
        Continues: <strong>{choice.description}</strong>
        {settings.source === 'replay' && replayStatus === 'loading' && <span className="muted"> (loading sequences…)</span>}
        {settings.source === 'typed' && typed.length === 0 && <span className="muted"> — type some in Predict → Type, or set a start time</span>}
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
          <NumberField id="generate-count" label="Events" hint={`(1–${MAX_EVENTS})`} value={settings.count} min={1} max={MAX_EVENTS} disabled={running} onChange={(count) => setSettings({ count })} />
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
        <NumberField id="generate-temperature" label="Temperature" value={settings.temperature} min={0.05} max={MAX_TEMPERATURE} step={0.05} disabled={running} onChange={(temperature) => setSettings({ temperature })} />
        <NumberField id="generate-top-k" label="Top-k" hint="(0 = off)" value={settings.topK} min={0} disabled={running} onChange={(topK) => setSettings({ topK })} />
        <NumberField id="generate-top-p" label="Top-p" hint="(1 = off)" value={settings.topP} min={0.05} max={1} step={0.05} disabled={running} onChange={(topP) => setSettings({ topP })} />
        <NumberField id="generate-seed" label="Seed" value={settings.seed} min={0} disabled={running} onChange={(seed) => setSettings({ seed })} />
        <div className="field">
          <span className="label-spacer" aria-hidden="true">
            &nbsp;
          </span>
          <div className="buttons">
            <button type="submit" disabled={running || errors.length > 0 || !predictor || cannot} data-testid="generate-start">
              Generate
            </button>
            <button type="button" className="secondary" onClick={() => stop()} disabled={!running} data-testid="generate-stop">
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
      {!predictor && <p className="muted small">{modelStatus === 'error' ? 'No model: it failed to load.' : 'Waiting for the model…'}</p>}
    </form>
  );
}

function statusText(status: string, count: number, maxEvents: number, seconds: number, stopReason: string | null, error: string | null): string {
  const rate = seconds > 0 ? ` (${(count / seconds).toFixed(count / seconds >= 10 ? 0 : 1)} events/s)` : '';
  switch (status) {
    case 'running':
      return `Generating… ${formatCount(count)} of at most ${formatCount(maxEvents)} events${rate}`;
    case 'done':
      return `Done: ${formatCount(count)} events in ${seconds.toFixed(1)} s${rate}.`;
    case 'stopped':
      return `${stopReason ?? 'Stopped.'} ${formatCount(count)} events generated.`;
    case 'error':
      return `Could not generate: ${error}`;
    default:
      return 'Nothing generated yet.';
  }
}

function useElapsedSeconds(startedAt: number | null, finishedAt: number | null, running: boolean): number {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(t);
  }, [running]);
  if (startedAt === null) return 0;
  return ((finishedAt ?? Date.now()) - startedAt) / 1000;
}

function GenerateResults() {
  const status = useGenerateStore((s) => s.status);
  const run = useGenerateStore((s) => s.run);
  const events = useGenerateStore((s) => s.events);
  const error = useGenerateStore((s) => s.error);
  const stopReason = useGenerateStore((s) => s.stopReason);
  const seconds = useElapsedSeconds(run?.startedAt ?? null, run?.finishedAt ?? null, status === 'running');

  return (
    <section className="generate-results" aria-label="Generated trajectory">
      <p className={status === 'error' ? 'error' : 'generate-status'} data-testid="generate-status" data-status={status} data-run={run?.id ?? ''} role="status" aria-live="polite" aria-busy={status === 'running'}>
        {statusText(status, events.length, run?.maxEvents ?? 0, seconds, stopReason, error)}{' '}
        <output className="visually-hidden" data-testid="generated-count" data-count={events.length}>
          {events.length}
        </output>
      </p>
      {run && (
        <p className="muted small" data-testid="generate-run">
          {run.modelName} · continuing {run.description}
          {run.horizonDays !== null ? ` · ${run.horizonDays} day${run.horizonDays === 1 ? '' : 's'} ahead` : ''}
        </p>
      )}
      {run && <Charts run={run} />}
      {run && <EventOl run={run} />}
    </section>
  );
}

const Charts = memo(function Charts({ run }: { run: GenerateRun }) {
  const events = useGenerateStore((s) => s.events);
  const shown = useThrottled(events, CHART_THROTTLE_MS);
  const realStatus = useReplayStore((s) => s.status);
  const realSequences = useReplayStore((s) => s.sequences);
  const realLabel = useReplayStore((s) => s.source?.label ?? 'Real data');

  const rows = useMemo(
    () => timelineRows({ prefix: run.prefix, generated: shown, anchor: run.anchor, startGiven: run.startGiven }),
    [run, shown],
  );
  const timelineData = useMemo(() => ({ [TIMELINE_DATA]: rows }), [rows]);
  const timeline = useMemo(() => timelineSpec(run.anchor.weekday, { width: 'container', height: 300 }), [run.anchor.weekday]);
  const [lo, hi] = dayRange(rows);
  const prefixShown = rows.filter((r) => r.kind === 'prefix').length;

  const realData = useMemo(
    () => (realStatus === 'ready' && run.source !== 'replay' ? { label: `Real: ${realLabel}`, sequences: realSequences } : null),
    [realStatus, realSequences, realLabel, run.source],
  );
  const reference = useMemo(() => referenceCounts(run, realData), [run, realData]);
  const generated = useMemo(() => seriesCounts(GENERATED, shown), [shown]);
  const series = useMemo(() => [generated, ...reference], [generated, reference]);
  const names = series.map((s) => s.name);
  const namesKey = names.join('\n');

  return (
    <>
      <h3 className="generate-heading">Timeline</h3>
      <p className="muted small">
        One mark per event at its day and 3-hour slot, colored by device; events in the same slot share the cell. Day 0 is{' '}
        {weekdayLabel(run.anchor.weekday)}, the day of {run.startGiven ? 'the start time' : 'the last prefix event'}; days {lo} to {hi} shown.
        {prefixShown > 0 && ` Lighter marks: the last ${prefixShown} prefix events (up to ${TIMELINE_PREFIX_EVENTS}, within ${TIMELINE_PREFIX_DAYS} days).`}
      </p>
      <VegaChart spec={timeline} data={timelineData} label="Timeline of the generated events" className="generate-timeline" testId="generate-timeline" />

      <h3 className="generate-heading">Generated vs real</h3>
      {reference.length === 0 && <p className="muted small">Loading the real sequences to compare with…</p>}
      <div className="generate-compare">
        <ShareChart title="Devices" axis="device" series={series} namesKey={namesKey} rowsOf={deviceShares} testId="generate-compare-device" />
        <ShareChart title="Time of day" axis="3-hour slot" series={series} namesKey={namesKey} rowsOf={slotShares} testId="generate-compare-slot" />
        <ShareChart title="Day of week" axis="weekday" series={series} namesKey={namesKey} rowsOf={weekdayShares} testId="generate-compare-weekday" />
      </div>
    </>
  );
});

function ShareChart(props: {
  title: string;
  axis: string;
  series: ReturnType<typeof seriesCounts>[];
  namesKey: string;
  rowsOf: (series: ReturnType<typeof seriesCounts>[]) => ShareRow[];
  testId: string;
}) {
  const { title, axis, series, namesKey, rowsOf, testId } = props;
  const spec = useMemo(() => sharesSpec(title, axis, namesKey.split('\n'), { width: 'container', height: 190 }), [title, axis, namesKey]);
  const rows = useMemo(() => rowsOf(series), [rowsOf, series]);
  const data = useMemo(() => ({ [SHARES_DATA]: rows }), [rows]);
  const distances = series.slice(1).map((s) => ({ name: s.name, tv: totalVariation(rows, GENERATED, s.name) }));
  return (
    <div className="generate-share">
      <VegaChart spec={spec} data={data} label={`${title}: generated vs real`} testId={testId} />
      <p className="muted small">
        {distances
          .filter((d) => d.tv !== null)
          .map((d) => `total variation vs ${d.name}: ${d.tv!.toFixed(2)}`)
          .join(' · ')}
      </p>
    </div>
  );
}

/** The generated events as a plain list: readable without the chart, and countable by tests. */
const EventOl = memo(function EventOl({ run }: { run: GenerateRun }) {
  const events = useGenerateStore((s) => s.events);
  const blocks = Math.ceil(events.length / LIST_BLOCK);
  return (
    <details className="generate-list" open>
      <summary>Generated events ({formatCount(events.length)})</summary>
      <ol data-testid="generated-events">
        {Array.from({ length: blocks }, (_, b) => (
          <EventBlock key={b} runId={run.id} anchorSlot={run.anchor.slot} events={events} from={b * LIST_BLOCK} to={Math.min(events.length, (b + 1) * LIST_BLOCK)} />
        ))}
      </ol>
    </details>
  );
});

interface BlockProps {
  runId: number;
  anchorSlot: number;
  /** All events of the run so far (appended to, never changed): the block shows from … to. */
  events: readonly GeneratedEvent[];
  from: number;
  to: number;
}

const EventBlock = memo(
  function EventBlock({ anchorSlot, events, from, to }: BlockProps) {
    return (
      <>
        {events.slice(from, to).map((e) => {
          const day = dayOf(anchorSlot, e.elapsedSlots);
          return (
            <li key={e.index} data-testid="generated-event" data-index={e.index} data-weekday={e.weekday} data-slot={e.slot} data-day={day} data-behavior={e.behavior}>
              <span className="num">{e.index}</span> {weekdayLabel(e.weekday)} {slotLabel(e.slot)} <span className="muted">(day {day})</span>{' '}
              <strong>{e.behavior}</strong> <span className="muted small">p = {formatPercent(e.probability)}</span>
            </li>
          );
        })}
      </>
    );
  },
  // Events are only appended within a run: same run and range, same rows.
  (a, b) => a.runId === b.runId && a.anchorSlot === b.anchorSlot && a.from === b.from && a.to === b.to,
);
