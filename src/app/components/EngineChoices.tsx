import { useSyncExternalStore } from 'react';
import type { BehaviorModel, Workload } from '../../lib/index';

/** The header's lines: each workload, and what the line says before its engine is chosen. */
const LINES: readonly { workload: Workload; label: string; pending: string }[] = [
  { workload: 'predict', label: 'One prediction', pending: 'measured when the model loads' },
  {
    workload: 'score',
    label: 'Scoring a log',
    pending: 'measured when a log is first scored (Fine-tune → Score this log)',
  },
  {
    workload: 'generate',
    label: 'Generating trajectories',
    pending: 'measured when several trajectories are generated (Generate → Trajectories > 1)',
  },
];

/** Which engine runs each workload and why (BehaviorModel.engines), updated as the model measures them. */
export function EngineChoices({ predictor }: { predictor: BehaviorModel }) {
  const engines = useSyncExternalStore(
    (listener) => predictor.subscribeEngines(listener),
    () => predictor.engines,
  );
  return (
    <ul className="engine-lines" aria-label="Engine per workload" data-testid="engine-choices">
      {LINES.map(({ workload, label, pending }) => {
        const choice = engines[workload];
        return (
          <li key={workload} data-testid={`engine-${workload}`} data-engine={choice?.engine ?? ''}>
            {label}: {choice ? <strong>{choice.label}</strong> : <span className="muted">not chosen yet</span>}
            {' — '}
            <span className="engine-reason">{choice ? choice.reason : pending}</span>
          </li>
        );
      })}
    </ul>
  );
}
