import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel } from '../../core/events';

export function WeekdaySelect(props: {
  id: string;
  value: number;
  onChange: (v: number) => void;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <select
      id={props.id}
      value={props.value}
      onChange={(e) => props.onChange(Number(e.target.value))}
      data-testid={props.testId}
      disabled={props.disabled}
    >
      {WEEKDAY_NAMES.map((name, i) => (
        <option key={name} value={i}>
          {name}
        </option>
      ))}
    </select>
  );
}

export function SlotSelect(props: {
  id: string;
  value: number;
  onChange: (v: number) => void;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <select
      id={props.id}
      value={props.value}
      onChange={(e) => props.onChange(Number(e.target.value))}
      data-testid={props.testId}
      disabled={props.disabled}
    >
      {Array.from({ length: NUM_SLOTS }, (_, i) => (
        <option key={i} value={i}>
          {slotLabel(i)}
        </option>
      ))}
    </select>
  );
}
