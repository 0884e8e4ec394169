import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { UNKNOWN_LOCATION, slotLabel, weekdayLabel } from '../../core/events';
import { useComposeStore } from '../stores/compose-store';
import { useModelStore } from '../stores/model-store';
import { usePredictions, type PredictionQuery } from '../use-predictions';
import { EventList } from '../components/EventList';
import { PredictionList } from '../components/PredictionList';
import { SlotSelect, WeekdaySelect } from '../components/TimeSelects';
import { useExplainStore } from '../stores/explain-store';
import { useExplained } from './use-explanation';
import { ExplainToggles, useWhyColumn, WhyControls } from './WhyPanel';
import { WeekPanel } from './WeekPanel';
import './predict.css';

const K = 5;

/** Key of a typed query: the whole sequence and the next event's time. */
export function composeKey(
  events: readonly { behavior: string; weekday: number; slot: number }[],
  weekday: number,
  slot: number,
): string {
  return `${events.map((e) => `${e.behavior}@${e.weekday}.${e.slot}`).join('|')}=>${weekday}.${slot}`;
}

export function TypeView() {
  const { events, draft, nextWeekday, nextSlot, setDraft, addDraft, remove, clear, setNext } = useComposeStore(
    useShallow((s) => ({
      events: s.events,
      draft: s.draft,
      nextWeekday: s.nextWeekday,
      nextSlot: s.nextSlot,
      setDraft: s.setDraft,
      addDraft: s.addDraft,
      remove: s.remove,
      clear: s.clear,
      setNext: s.setNext,
    })),
  );
  const predictor = useModelStore((s) => s.predictor);
  const summary = useModelStore((s) => s.summary);
  const modelStatus = useModelStore((s) => s.status);
  const [touched, setTouched] = useState(false);

  const behaviors = summary?.behaviors ?? [];
  const known = useMemo(() => new Set(behaviors), [behaviors]);
  const draftName = draft.behavior.trim();
  const draftValid = known.has(draftName);
  const draftError =
    touched && draftName !== '' && !draftValid && summary ? `"${draftName}" is not a behavior the model knows.` : null;

  const query: PredictionQuery | null = useMemo(
    () => ({
      key: composeKey(events, nextWeekday, nextSlot),
      history: events,
      next: { weekday: nextWeekday, slot: nextSlot, location: UNKNOWN_LOCATION },
      k: K,
    }),
    [events, nextWeekday, nextSlot],
  );
  const result = usePredictions(predictor, query, 150);
  const explained = useExplained(predictor, result, query?.key ?? null, events, query.next, K, 150);
  const whyColumn = useWhyColumn(explained.result, events.length);
  const { why, when } = useExplainStore(useShallow((s) => ({ why: s.why, when: s.when })));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!draftValid) return;
    addDraft();
    setTouched(false);
  };

  return (
    <div className="type">
      <form className="controls" onSubmit={submit} aria-label="Add an event">
        <div className="field grow">
          <label htmlFor="type-behavior">Behavior</label>
          <input
            id="type-behavior"
            list="behavior-names"
            value={draft.behavior}
            onChange={(e) => setDraft({ behavior: e.target.value })}
            onBlur={() => setTouched(true)}
            placeholder={summary ? `e.g. ${behaviors[0] ?? 'Light:switch on'}` : 'waiting for the model…'}
            autoComplete="off"
            aria-invalid={draftError ? true : undefined}
            aria-describedby={draftError ? 'type-behavior-error' : undefined}
            data-testid="type-behavior-input"
          />
          <datalist id="behavior-names">
            {behaviors.map((b) => (
              <option key={b} value={b} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="type-weekday">Day</label>
          <WeekdaySelect
            id="type-weekday"
            value={draft.weekday}
            onChange={(weekday) => setDraft({ weekday })}
            testId="type-weekday"
          />
        </div>
        <div className="field">
          <label htmlFor="type-slot">Time</label>
          <SlotSelect id="type-slot" value={draft.slot} onChange={(slot) => setDraft({ slot })} testId="type-slot" />
        </div>
        <div className="field">
          <span className="label-spacer" aria-hidden="true">
            &nbsp;
          </span>
          <button type="submit" disabled={!draftValid} data-testid="type-add">
            Add event
          </button>
        </div>
      </form>
      {draftError && (
        <p id="type-behavior-error" className="error" role="alert">
          {draftError}
        </p>
      )}

      <div className="columns">
        <div>
          {events.length === 0 ? (
            <p className="muted empty">No events yet: the prediction below is from the time of day alone.</p>
          ) : (
            <EventList
              events={events}
              caption={`Your sequence (${events.length} event${events.length === 1 ? '' : 's'})`}
              rowTestId="type-event-row"
              annotation={whyColumn}
              action={(i) => (
                <button
                  type="button"
                  className="link"
                  onClick={() => remove(i)}
                  aria-label={`Remove event ${i}: ${events[i].behavior}`}
                  data-testid="type-remove"
                >
                  Remove
                </button>
              )}
            />
          )}
          {events.length > 0 && (
            <button type="button" className="link" onClick={clear}>
              Clear all
            </button>
          )}
        </div>
        <div>
          <fieldset className="next">
            <legend>Next event</legend>
            <div className="field">
              <label htmlFor="next-weekday">Day</label>
              <WeekdaySelect
                id="next-weekday"
                value={nextWeekday}
                onChange={(weekday) => setNext({ weekday })}
                testId="next-weekday"
              />
            </div>
            <div className="field">
              <label htmlFor="next-slot">Time</label>
              <SlotSelect id="next-slot" value={nextSlot} onChange={(slot) => setNext({ slot })} testId="next-slot" />
            </div>
          </fieldset>
          <p className="context">
            Predicting event {events.length} on <strong>{weekdayLabel(nextWeekday)}</strong>,{' '}
            <strong>{slotLabel(nextSlot)}</strong>
          </p>
          <PredictionList
            result={result}
            k={K}
            placeholder={modelStatus === 'error' ? 'No model.' : 'Waiting for the model…'}
            explained={why || when ? explained.behavior : null}
            onExplain={why || when ? explained.pick : undefined}
          />
          <ExplainToggles result={explained.result} />
          {why && <WhyControls result={explained.result} behavior={explained.behavior} historyLength={events.length} />}
          {when && (
            <WeekPanel
              result={explained.result}
              behavior={explained.behavior}
              current={{ weekday: nextWeekday, slot: nextSlot }}
              onPick={({ weekday, slot }) => setNext({ weekday, slot })}
            />
          )}
        </div>
      </div>
    </div>
  );
}
