import { useSyncExternalStore } from 'react';
import type { Predictor } from '../../model/pipeline';
import { WORKLOAD_LABELS, WORKLOADS } from '../../model/workloads';

const PENDING: Record<string, string> = {
  predict: 'measured when the model loads',
  score: 'measured when a log is first scored (Fine-tune → Score this log)',
  generate: 'measured when several trajectories are generated (Generate → Trajectories > 1)',
};

/** Which engine runs each workload and why (model/workloads.ts), updated as the Predictor measures them. */
export function EngineChoices({ predictor }: { predictor: Predictor }) {
  const engines = useSyncExternalStore(
    (listener) => predictor.subscribeEngines(listener),
    () => predictor.engines,
  );
  return (
    <ul className="engine-lines" aria-label="Engine per workload" data-testid="engine-choices">
      {WORKLOADS.map((workload) => {
        const choice = engines[workload];
        return (
          <li key={workload} data-testid={`engine-${workload}`} data-engine={choice?.engine ?? ''}>
            {WORKLOAD_LABELS[workload]}:{' '}
            {choice ? <strong>{choice.label}</strong> : <span className="muted">not chosen yet</span>}
            {' — '}
            <span className="engine-reason">{choice ? choice.reason : PENDING[workload]}</span>
          </li>
        );
      })}
    </ul>
  );
}
