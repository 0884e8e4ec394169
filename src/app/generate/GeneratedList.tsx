import { memo } from 'react';
import { slotLabel, weekdayLabel } from '../../core/events';
import { dayOf } from '../../charts/generate-rows';
import type { GeneratedEvent } from '../../lib/index';
import { formatCount, formatPercent } from '../lib/format';
import { useGenerateStore, type GenerateRun } from '../stores/generate-store';

/** The event list renders in blocks of this many; a full block does not re-render as more arrive. */
const LIST_BLOCK = 100;

/** The generated events as a plain list: readable without the chart, and countable by tests. */
export const GeneratedList = memo(function GeneratedList({ run }: { run: GenerateRun }) {
  const events = useGenerateStore((s) => s.events);
  const blocks = Math.ceil(events.length / LIST_BLOCK);
  return (
    <details className="generate-list" open>
      <summary>Generated events ({formatCount(events.length)})</summary>
      <ol data-testid="generated-events">
        {Array.from({ length: blocks }, (_, b) => (
          <EventBlock
            key={b}
            runId={run.id}
            anchorSlot={run.anchor.slot}
            events={events}
            from={b * LIST_BLOCK}
            to={Math.min(events.length, (b + 1) * LIST_BLOCK)}
          />
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
            <li
              key={e.index}
              data-testid="generated-event"
              data-index={e.index}
              data-weekday={e.weekday}
              data-slot={e.slot}
              data-day={day}
              data-behavior={e.behavior}
            >
              <span className="num">{e.index}</span> {weekdayLabel(e.weekday)} {slotLabel(e.slot)}{' '}
              <span className="muted">(day {day})</span> <strong>{e.behavior}</strong>{' '}
              <span className="muted small">p = {formatPercent(e.probability)}</span>
            </li>
          );
        })}
      </>
    );
  },
  // Events are only appended within a run: same run and range, same rows.
  (a, b) => a.runId === b.runId && a.anchorSlot === b.anchorSlot && a.from === b.from && a.to === b.to,
);
