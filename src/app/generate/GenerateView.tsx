import { useEffect } from 'react';
import { useReplayStore } from '../stores/replay-store';
import { GenerateForm } from './GenerateForm';
import { GenerateResults } from './GenerateResults';
import './generate.css';

/** Generate: the form, then the run's status, charts and events. Loaded when the tab is first opened. */
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
