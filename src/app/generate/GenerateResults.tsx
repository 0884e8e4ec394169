import { useEffect, useState } from 'react';
import { formatCount } from '../lib/format';
import { useGenerateStore } from '../stores/generate-store';
import { GenerateCharts } from './GenerateCharts';
import { GeneratedList } from './GeneratedList';

function statusText(
  status: string,
  count: number,
  maxEvents: number,
  seconds: number,
  stopReason: string | null,
  error: string | null,
  trajectories = 1,
): string {
  const rate = seconds > 0 ? ` (${(count / seconds).toFixed(count / seconds >= 10 ? 0 : 1)} events/s)` : '';
  const of = trajectories > 1 ? ` in ${formatCount(trajectories)} trajectories` : '';
  switch (status) {
    case 'running':
      return `Generating… ${formatCount(count)} of at most ${formatCount(maxEvents * trajectories)} events${of}${rate}`;
    case 'done':
      return `Done: ${formatCount(count)} events${of} in ${seconds.toFixed(1)} s${rate}.`;
    case 'stopped':
      return `${stopReason ?? 'Stopped.'} ${formatCount(count)} events generated${of}.`;
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

/** The run's status, what it continues, its charts and its events. */
export function GenerateResults() {
  const status = useGenerateStore((s) => s.status);
  const run = useGenerateStore((s) => s.run);
  const events = useGenerateStore((s) => s.events);
  const pooled = useGenerateStore((s) => s.pooled);
  const error = useGenerateStore((s) => s.error);
  const stopReason = useGenerateStore((s) => s.stopReason);
  const seconds = useElapsedSeconds(run?.startedAt ?? null, run?.finishedAt ?? null, status === 'running');

  return (
    <section className="generate-results" aria-label="Generated trajectory">
      <p
        className={status === 'error' ? 'error' : 'generate-status'}
        data-testid="generate-status"
        data-status={status}
        data-run={run?.id ?? ''}
        role="status"
        aria-live="polite"
        aria-busy={status === 'running'}
      >
        {statusText(
          status,
          (run?.trajectories ?? 1) > 1 ? pooled.length : events.length,
          run?.maxEvents ?? 0,
          seconds,
          stopReason,
          error,
          run?.trajectories,
        )}{' '}
        <output
          className="visually-hidden"
          data-testid="generated-count"
          data-count={events.length}
          data-pooled={pooled.length}
        >
          {events.length}
        </output>
      </p>
      {run && (
        <p className="muted small" data-testid="generate-run">
          {run.modelName} · continuing {run.description}
          {run.horizonDays !== null ? ` · ${run.horizonDays} day${run.horizonDays === 1 ? '' : 's'} ahead` : ''}
          {run.trajectories > 1
            ? ` · ${run.trajectories} trajectories sampled together (trajectory k with seed + k): the timeline and the list show the first, the charts pool all`
            : ''}
        </p>
      )}
      {run && <GenerateCharts run={run} />}
      {run && <GeneratedList run={run} />}
    </section>
  );
}
