import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { modelFileStem } from '../../core/finetune';
import { download, exportFiles } from '../lib/finetune-data';
import { formatBytes, formatPercent } from '../lib/format';
import { getAdaptedModel } from '../../browser/saved-models';
import { adaptedIdOf, useAdaptedStore } from '../stores/adapted-store';
import { useModelStore } from '../stores/model-store';
import { errorMessage } from '../../core/errors';

/** Step 3: the models kept on this device (fine-tuned here or opened from files): use, export, delete. */
export function SavedModels() {
  const { models, status, error, refresh, remove, use } = useAdaptedStore(
    useShallow((s) => ({
      models: s.models,
      status: s.status,
      error: s.error,
      refresh: s.refresh,
      remove: s.remove,
      use: s.use,
    })),
  );
  const activeId = useModelStore((s) => adaptedIdOf(s.url));
  const [exportError, setExportError] = useState<string | null>(null);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const exportModel = async (id: string) => {
    setExportError(null);
    try {
      const record = await getAdaptedModel(id);
      if (!record) throw new Error('the model is no longer stored');
      download(exportFiles(modelFileStem(record), record.manifestText, record.shards));
    } catch (e) {
      setExportError(errorMessage(e));
    }
  };

  return (
    <section className="ft-block" aria-labelledby="ft-saved-title">
      <h3 id="ft-saved-title">3. Models on this device</h3>
      {status === 'error' && <p className="error">Stored models cannot be read: {error}</p>}
      {exportError && <p className="error">Export failed: {exportError}</p>}
      {status === 'ready' && models.length === 0 && (
        <p className="muted" data-testid="adapted-none">
          None yet. A finished run is kept here (IndexedDB) and survives a reload; model files you open are kept here
          too.
        </p>
      )}
      <ul className="adapted-list" data-testid="adapted-list">
        {models.map((m) => (
          <li
            key={m.id}
            data-testid="adapted-model"
            data-id={m.id}
            data-name={m.name}
            data-origin={m.origin ?? 'adapted'}
          >
            <div>
              <strong>{m.name}</strong>
              {activeId === m.id && <span className="badge"> in use</span>}
              {m.origin === 'opened' && <span className="badge muted"> opened from files</span>}
              <div className="small muted">
                {new Date(m.createdAt).toLocaleString()} · {formatBytes(m.bytes)}
                {m.metrics && (
                  <>
                    {' '}
                    · held-out R@1 {formatPercent(m.metrics.before['weighted_recall@1'] ?? 0)} →{' '}
                    {formatPercent(m.metrics.after['weighted_recall@1'] ?? 0)}, R@5{' '}
                    {formatPercent(m.metrics.before['weighted_recall@5'] ?? 0)} →{' '}
                    {formatPercent(m.metrics.after['weighted_recall@5'] ?? 0)}
                  </>
                )}
              </div>
            </div>
            <div className="actions">
              <button
                type="button"
                onClick={() => void use(m.id)}
                disabled={activeId === m.id}
                data-testid="adapted-use"
              >
                Use
              </button>
              <button
                type="button"
                onClick={() => void exportModel(m.id)}
                data-testid="adapted-export"
                title="Downloads the model's files, named for this model"
              >
                Export
              </button>
              <button type="button" onClick={() => void remove(m.id)} data-testid="adapted-delete">
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
