import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { adaptedIdOf, useAdaptedStore } from '../stores/adapted-store';
import { useModelStore } from '../stores/model-store';
import './ModelPicker.css';

/** Which model Predict and Generate use: the shipped base model or an adapted one from this device (shown once there is one). */
export function ModelPicker() {
  const { models, refresh, use } = useAdaptedStore(useShallow((s) => ({ models: s.models, refresh: s.refresh, use: s.use })));
  const active = useModelStore((s) => adaptedIdOf(s.url) ?? 'base');
  const status = useModelStore((s) => s.status);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  if (models.length === 0 && active === 'base') return null;
  return (
    <div className="model-picker field">
      <label htmlFor="model-select">Model</label>
      <select
        id="model-select"
        value={active}
        disabled={status === 'loading'}
        data-testid="model-select"
        onChange={(e) => void use(e.target.value === 'base' ? null : e.target.value)}
      >
        <option value="base">Foundation model (shipped)</option>
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}
          </option>
        ))}
      </select>
    </div>
  );
}
