import { useEffect, useRef, useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import './VegaChart.css';
import { errorMessage } from '../../core/errors';

/** Vega, Vega-Lite and vega-embed load on first use, in their own chunk: the main bundle does not carry them. */
const loadEmbed = () => import('vega-embed');
const loadInterpreter = () => import('vega-interpreter');

type Embed = Awaited<ReturnType<typeof loadEmbed>>;
type View = Awaited<ReturnType<Embed['default']>>['view'];
/** Named datasets of the spec, replaced in place when they change. */
export type ChartData = Readonly<Record<string, readonly object[]>>;

export interface VegaChartProps {
  spec: TopLevelSpec;
  /**
   * Values for named datasets of the spec (`data: { name }`). A new object replaces those
   * datasets in the running view (view.change), without re-embedding the chart: for data that
   * updates often. Changing `spec` re-embeds.
   */
  data?: ChartData;
  renderer?: 'svg' | 'canvas';
  label: string;
  className?: string;
  testId?: string;
}

async function replaceData(embed: Embed, view: View, data: ChartData | undefined): Promise<void> {
  if (!data) return;
  for (const [name, values] of Object.entries(data)) {
    view.change(
      name,
      embed.vega
        .changeset()
        .remove(() => true)
        .insert(values as object[]),
    );
  }
  await view.runAsync();
}

/** A Vega-Lite chart (vega-embed: tooltips on, no action menu). The view is finalized on unmount. */
export function VegaChart({ spec, data, renderer = 'svg', label, className, testId }: VegaChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const live = useRef<{ embed: Embed; view: View } | null>(null);
  const latestData = useRef(data);
  latestData.current = data;
  const [status, setStatus] = useState<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = useState('');

  useEffect(() => {
    let cancelled = false;
    let finalize: (() => void) | undefined;
    setStatus('loading');
    (async () => {
      const embed = await loadEmbed();
      if (cancelled || !container.current) return;
      const { expressionInterpreter } = await loadInterpreter();
      if (cancelled || !container.current) return;
      // Under the app's Content-Security-Policy (src/csp.ts): expressions interpreted, not compiled
      // with eval; vega-embed's and the tooltip's style sheets come from VegaChart.css, not injected.
      const result = await embed.default(container.current, spec as Parameters<Embed['default']>[1], {
        actions: false,
        renderer,
        ast: true,
        expr: expressionInterpreter,
        defaultStyle: false,
        tooltip: { disableDefaultStyle: true },
      });
      finalize = () => result.finalize();
      if (cancelled) return finalize();
      live.current = { embed, view: result.view };
      await replaceData(embed, result.view, latestData.current);
      if (!cancelled) setStatus('ready');
    })().catch((e: unknown) => {
      if (cancelled) return;
      setError(errorMessage(e));
      setStatus('error');
    });
    return () => {
      cancelled = true;
      live.current = null;
      finalize?.();
    };
  }, [spec, renderer]);

  useEffect(() => {
    const current = live.current;
    if (!current || !data) return;
    replaceData(current.embed, current.view, data).catch((e: unknown) => {
      setError(errorMessage(e));
      setStatus('error');
    });
  }, [data]);

  return (
    <figure
      className={`vega-chart ${className ?? ''}`}
      data-testid={testId}
      data-status={status}
      aria-label={label}
      aria-busy={status === 'loading'}
    >
      <div ref={container} className="vega-chart-body" />
      {status === 'loading' && <p className="muted small">Loading chart…</p>}
      {status === 'error' && (
        <p className="error" role="alert">
          The chart could not be drawn: {error}
        </p>
      )}
    </figure>
  );
}
