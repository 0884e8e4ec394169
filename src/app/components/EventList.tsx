import type { BehaviorEvent } from '../../core/events';
import { slotLabel, weekdayLabel } from '../../core/events';
import './EventList.css';

interface Props {
  events: readonly BehaviorEvent[];
  /** Renders a trailing cell per row (e.g. a remove button). */
  action?: (index: number) => React.ReactNode;
  rowTestId?: string;
  caption: string;
  /** An extra column (e.g. each event's influence on the prediction): its header and cell per row. */
  annotation?: { header: string; cell: (index: number) => React.ReactNode };
  /** Keep the last row in view (long histories). */
  scrollToEnd?: boolean;
}

export function EventList({ events, action, rowTestId, caption, annotation }: Props) {
  return (
    <table className={annotation ? 'events annotated' : 'events'}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Behavior</th>
          <th scope="col">Day</th>
          <th scope="col">Time</th>
          {annotation && <th scope="col">{annotation.header}</th>}
          {action && (
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {events.map((e, i) => (
          <tr key={i} data-testid={rowTestId} data-behavior={e.behavior}>
            <td className="num">{i}</td>
            <td>{e.behavior}</td>
            <td>{weekdayLabel(e.weekday)}</td>
            <td>{slotLabel(e.slot)}</td>
            {annotation?.cell(i)}
            {action && <td className="action">{action(i)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
