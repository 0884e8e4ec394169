import type { BehaviorEvent } from '../../core/events';
import { slotLabel, weekdayLabel } from '../../core/events';
import './EventList.css';

interface Props {
  events: readonly BehaviorEvent[];
  /** Renders a trailing cell per row (e.g. a remove button). */
  action?: (index: number) => React.ReactNode;
  rowTestId?: string;
  caption: string;
  /** Keep the last row in view (long histories). */
  scrollToEnd?: boolean;
}

export function EventList({ events, action, rowTestId, caption }: Props) {
  return (
    <table className="events">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Behavior</th>
          <th scope="col">Day</th>
          <th scope="col">Time</th>
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
            {action && <td className="action">{action(i)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
