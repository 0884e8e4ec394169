import { useShallow } from 'zustand/react/shallow';
import { useModelStore } from '../stores/model-store';
import { adaptedIdOf } from '../stores/adapted-store';
import { EngineChoices } from './EngineChoices';
import { formatBytes, formatCount, formatPercent, splitRecall, type SplitRecall } from '../lib/format';
import './ModelHeader.css';

const STAGE_LABELS: Record<string, string> = {
  backend: 'Choosing a backend',
  download: 'Downloading the model',
  init: 'Building the model',
  warmup: 'Warming up',
  ready: 'Ready',
};

function Recall({ label, r }: { label: string; r: SplitRecall | null }) {
  if (!r) return null;
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={`recall-${label.split(' ')[0].toLowerCase()}`}>
        R@1 {r.recall1 !== undefined ? formatPercent(r.recall1) : '–'} · R@5{' '}
        {r.recall5 !== undefined ? formatPercent(r.recall5) : '–'}
      </dd>
    </div>
  );
}

export function ModelHeader() {
  const predictor = useModelStore((s) => s.predictor);
  const { status, url, progress, backend, summary, error, notice, loadError, fromCache, loadMs, requestedBackend } =
    useModelStore(
      useShallow((s) => ({
        status: s.status,
        url: s.url,
        progress: s.progress,
        backend: s.backend,
        summary: s.summary,
        error: s.error,
        notice: s.notice,
        loadError: s.loadError,
        fromCache: s.fromCache,
        loadMs: s.loadMs,
        requestedBackend: s.requestedBackend,
      })),
    );

  return (
    <section className="model-panel" aria-label="Model">
      {status === 'loading' && progress && (
        <div className="loading">
          <p data-testid="model-status" data-status="loading" role="status">
            {STAGE_LABELS[progress.stage] ?? progress.stage}
            {progress.message ? ` — ${progress.message}` : ''}
            {progress.stage === 'download' && progress.total > 0
              ? ` (${formatBytes(progress.loaded)} of ${formatBytes(progress.total)})`
              : ''}
          </p>
          <progress
            data-testid="load-progress"
            data-stage={progress.stage}
            max={progress.total > 0 ? progress.total : undefined}
            value={progress.total > 0 ? progress.loaded : undefined}
            aria-label="Model loading progress"
          />
        </div>
      )}

      {status === 'error' && (
        <div className="error-box" role="alert" data-testid="model-status" data-status="error">
          <strong>The model failed to load.</strong>
          <p>
            URL: <code data-testid="model-url">{url}</code>
          </p>
          <p>
            Reason: <span data-testid="model-error">{error}</span>
          </p>
          {requestedBackend !== 'auto' && (
            <p className="muted">
              The backend was forced with <code>?backend={requestedBackend}</code>; remove it to let the app choose.
            </p>
          )}
        </div>
      )}

      {status === 'ready' && loadError && (
        <div className="error-box" role="alert" data-testid="model-load-error">
          <strong>The model was not changed.</strong> Loading <code>{loadError.url}</code> failed: {loadError.message}.
          The model below is still in use.
        </div>
      )}
      {status === 'ready' && notice && (
        <p className="warning" role="status" data-testid="model-notice">
          {notice}
        </p>
      )}

      {status === 'ready' && backend && summary && (
        <div className="ready">
          <p className="backend-line" data-testid="model-status" data-status="ready" role="status">
            Backend: <strong data-testid="backend-name">{backend.name}</strong>
            {' — '}
            <span data-testid="backend-reason">{backend.reason}</span>
          </p>
          {predictor && <EngineChoices predictor={predictor} />}
          <dl className="summary">
            <div>
              <dt>Model</dt>
              <dd data-testid="model-name">{summary.name}</dd>
            </div>
            <div>
              <dt>Parameters</dt>
              <dd data-testid="model-parameters">{formatCount(summary.parameters)}</dd>
            </div>
            <div>
              <dt>Weights</dt>
              <dd data-testid="model-weights">
                {formatBytes(summary.weightBytes)} ({summary.quantization === 'uint8' ? 'int8' : 'float32'})
              </dd>
            </div>
            <div>
              <dt>Behaviors</dt>
              <dd>{summary.behaviors.length}</dd>
            </div>
            <Recall label="Valid recall" r={splitRecall(summary.training, 'valid')} />
            <Recall label="Test recall" r={splitRecall(summary.training, 'test')} />
            <div>
              <dt>Loaded</dt>
              <dd data-testid="model-cache" data-from-cache={String(fromCache === true)}>
                {adaptedIdOf(url) !== null
                  ? 'from this device (IndexedDB)'
                  : fromCache
                    ? 'from the Cache API'
                    : 'from the network'}
                {loadMs !== null && ` in ${(loadMs / 1000).toFixed(1)} s`}
              </dd>
            </div>
            {Object.keys(backend.measuredMs).length > 0 && (
              <div>
                <dt>Measured</dt>
                <dd>
                  {Object.entries(backend.measuredMs)
                    .map(([name, ms]) => `${name} ${ms!.toFixed(1)} ms`)
                    .join(' · ')}
                </dd>
              </div>
            )}
          </dl>
        </div>
      )}
    </section>
  );
}
