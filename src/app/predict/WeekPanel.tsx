import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel, weekdayLabel } from '../../core/events';
import { weekSlot, type WeekTime } from '../../core/time';
import { formatPercent } from '../lib/format';
import { heatColor, heatTextColor, needsTime, topLegend, WEEK_VIEWS, weekValues } from '../lib/explain-view';
import { useExplainStore } from '../stores/explain-store';
import type { ExplanationResult } from './use-explanation';
import './explain.css';

const SLOTS = Array.from({ length: NUM_SLOTS }, (_, s) => s);

interface Props {
  result: ExplanationResult;
  behavior: string | null;
  /** The time of the event being predicted, outlined. */
  current: WeekTime;
  /** Type view: clicking a cell sets the time of the event to predict. */
  onPick?: (time: WeekTime) => void;
}

/**
 * When: the week of the behavior being explained, as a 7 × 8 table (weekday × 3-hour slot): the
 * heatmap P(it | next event then), the time head's P(next event then), or both (the joint), with
 * the joint's top 5 over every behavior.
 */
export function WeekPanel({ result, behavior, current, onPick }: Props) {
  const { weekView, setWeekView } = useExplainStore(
    useShallow((s) => ({ weekView: s.weekView, setWeekView: s.setWeekView })),
  );
  const [focused, setFocused] = useState<number | null>(null);
  const map = result.when;
  // Without a time forecast (an empty history, or a model without a time head) only the heatmap exists.
  const noTime = map !== null && map.time === null;
  const shownView = noTime && needsTime(weekView) ? 'heatmap' : weekView;
  const legend = map && shownView === 'top' ? topLegend(map) : null;
  const colorOf = new Map(legend?.map((e) => [e.behavior, e.color]));
  const values = map ? weekValues(map, shownView) : null;
  const max = values ? Math.max(...values) : 0;
  const view = WEEK_VIEWS.find((v) => v.id === shownView) ?? WEEK_VIEWS[0];
  const detail = map && focused !== null ? map.cells[focused] : null;
  const currentCell = weekSlot(current);

  return (
    <section
      className="week"
      aria-labelledby="week-title"
      data-testid="week-panel"
      data-status={result.status}
      data-view={shownView}
    >
      <h3 id="week-title">When {behavior ? <q>{behavior}</q> : 'this behavior'}?</h3>
      <div className="week-views" role="radiogroup" aria-label="What the week shows">
        {WEEK_VIEWS.map((v) => (
          <label key={v.id} title={v.description}>
            <input
              type="radio"
              name="week-view"
              checked={shownView === v.id}
              disabled={noTime && needsTime(v.id)}
              onChange={() => setWeekView(v.id)}
              data-testid={`week-view-${v.id}`}
            />
            {v.label}
          </label>
        ))}
      </div>
      <p className="muted small">
        {view.description}.{onPick ? ' Click a cell to predict the next event at that time.' : ''}
      </p>
      {noTime && (
        <p className="muted small" data-testid="week-no-time">
          No forecast of when the next event happens: the time head needs at least one event to count from (and a model
          that has one).
        </p>
      )}
      {map && values && (
        <table className={`week-grid${result.status !== 'ready' ? ' stale' : ''}`} data-testid="week-grid">
          <caption className="visually-hidden">{view.description}, by weekday and 3-hour slot</caption>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Day</span>
              </th>
              {SLOTS.map((s) => (
                <th key={s} scope="col" title={slotLabel(s)}>
                  {String(s * 3).padStart(2, '0')}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {WEEKDAY_NAMES.map((day, d) => (
              <tr key={day}>
                <th scope="row">{day}</th>
                {SLOTS.map((s) => {
                  const cell = d * NUM_SLOTS + s;
                  const value = values[cell];
                  const info = map.cells[cell];
                  const isTop = behavior !== null && info.top.behavior === behavior;
                  const label = `${weekdayLabel(d)} ${slotLabel(s)}: ${formatPercent(value)}; most likely then: ${info.top.behavior} (${formatPercent(info.top.probability)})`;
                  const text = `${formatPercent(value, value < 0.1 ? 1 : 0)}${isTop ? '★' : ''}`;
                  const style = legend
                    ? { background: colorOf.get(info.top.behavior), color: '#fff' }
                    : { background: heatColor(value, max), color: heatTextColor(value, max) };
                  const className = `week-cell${cell === currentCell ? ' current' : ''}`;
                  return (
                    <td
                      key={s}
                      className={className}
                      style={style}
                      data-testid="week-cell"
                      data-weekday={d}
                      data-slot={s}
                      data-value={value}
                      data-top={info.top.behavior}
                      onMouseEnter={() => setFocused(cell)}
                      onMouseLeave={() => setFocused(null)}
                    >
                      {onPick ? (
                        <button
                          type="button"
                          aria-label={`${label}. Predict the next event at this time.`}
                          aria-pressed={cell === currentCell}
                          onClick={() => onPick({ weekday: d, slot: s })}
                          onFocus={() => setFocused(cell)}
                          onBlur={() => setFocused(null)}
                        >
                          {text}
                        </button>
                      ) : (
                        <span title={label}>
                          <span className="visually-hidden">{label}</span>
                          <span aria-hidden="true">{text}</span>
                        </span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {legend && (
        <ul className="top-legend" data-testid="top-legend">
          {legend.map((e) => (
            <li key={e.behavior} data-behavior={e.behavior}>
              <span className="swatch" style={{ background: e.color }} aria-hidden="true" />
              {e.behavior} <span className="muted">({e.cells} of 56)</span>
            </li>
          ))}
        </ul>
      )}
      {map && (
        <p className="small week-detail" aria-live="polite" data-testid="week-detail">
          {detail
            ? `${weekdayLabel(detail.weekday)} ${slotLabel(detail.slot)}: if the next event happens then, ${formatPercent(detail.probability)} it is ${map.behavior}; most likely then: ${detail.top.behavior} (${formatPercent(detail.top.probability)}).`
            : `★ marks the times where ${map.behavior} is the most likely next behavior. Outlined: the time of the event being predicted.`}
        </p>
      )}
      {map && map.total !== null && (
        <div className="week-joint">
          <p className="small">
            Next event is <q>{map.behavior}</q>, whenever it happens:{' '}
            <strong data-testid="week-total">{formatPercent(map.total)}</strong>. Most likely next events, with their
            time (time head × behavior head):
          </p>
          <ol className="joint-top" data-testid="joint-top">
            {map.topJoint.map((p) => (
              <li
                key={`${p.behavior}@${p.weekday}.${p.slot}`}
                data-testid="joint-row"
                data-behavior={p.behavior}
                data-probability={p.probability}
              >
                <span className="name">{p.behavior}</span>{' '}
                <span className="muted">{`${weekdayLabel(p.weekday)} ${slotLabel(p.slot)}`}</span>{' '}
                <span className="prob">{formatPercent(p.probability)}</span>
              </li>
            ))}
          </ol>
        </div>
      )}
      {!map && result.status === 'loading' && <p className="muted small">Computing the week…</p>}
    </section>
  );
}
