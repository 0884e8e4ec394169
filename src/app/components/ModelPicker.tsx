import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { env } from '../../env';
import { adaptedIdOf, useAdaptedStore } from '../stores/adapted-store';
import { useModelStore } from '../stores/model-store';
import './ModelPicker.css';

/**
 * Which model Predict, Generate and Fine-tune use: the shipped one, one opened by `?model=`, or
 * one kept on this device (fine-tuned here or opened from files); and opening model files by
 * picking or dropping them. Files are checked in full first: a bad file leaves the model in use.
 */
export function ModelPicker({ label = 'Model' }: { label?: string }) {
  const { models, refresh, use, openFiles, opening, openErrors } = useAdaptedStore(
    useShallow((s) => ({
      models: s.models,
      refresh: s.refresh,
      use: s.use,
      openFiles: s.openFiles,
      opening: s.opening,
      openErrors: s.openErrors,
    })),
  );
  const url = useModelStore((s) => s.url);
  const status = useModelStore((s) => s.status);
  const modelName = useModelStore((s) => s.summary?.name ?? null);
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const storedId = adaptedIdOf(url);
  const fromUrl = storedId === null && url !== '' && url !== env.modelUrl;
  const active = storedId ?? (fromUrl ? 'url' : 'base');
  const open = (files: FileList | null | undefined) => {
    if (files && files.length > 0) void openFiles([...files]);
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: drag and drop only; the file input inside is the accessible control
    <div
      className={`model-picker${dragging ? ' over' : ''}`}
      data-testid="model-picker"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        open(e.dataTransfer.files);
      }}
    >
      <div className="model-picker-row">
        {(models.length > 0 || active !== 'base') && (
          <div className="field">
            <label htmlFor="model-select">{label}</label>
            <select
              id="model-select"
              value={active}
              disabled={status === 'loading' || opening}
              data-testid="model-select"
              onChange={(e) => void use(e.target.value === 'base' ? null : e.target.value)}
            >
              <option value="base">Foundation model (shipped)</option>
              {fromUrl && <option value="url">{modelName ?? url} (from the address)</option>}
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <button
          type="button"
          className="link small"
          onClick={() => input.current?.click()}
          disabled={opening}
          data-testid="model-open"
        >
          Open model files…
        </button>
        <input
          ref={input}
          type="file"
          multiple
          accept=".json,.bin,application/json,application/octet-stream"
          className="visually-hidden"
          data-testid="model-open-file"
          aria-label="Model files (a .json manifest and its .bin shards)"
          onChange={(e) => {
            open(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      {opening && (
        <p className="small muted" role="status">
          Checking the model files…
        </p>
      )}
      {openErrors.length > 0 && (
        <div className="error-box small" role="alert" data-testid="model-open-error">
          <strong>
            {openErrors.length === 1 ? 'A model was not opened.' : `${openErrors.length} models were not opened.`}
          </strong>
          {openErrors.map((e) => (
            <p key={e}>{e}</p>
          ))}
          <p className="muted">The model in use is unchanged.</p>
        </div>
      )}
    </div>
  );
}
