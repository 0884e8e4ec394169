import { useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { formatBytes, PARSE_LIMITS } from '../../core/data';
import { BUNDLED_DATASETS } from '../lib/finetune-data';
import { useFinetuneStore } from '../stores/finetune-store';
import { DataSummary } from './DataSummary';

/** Step 1: a log picked, dropped or chosen from the bundled data sets; what was read, or why it was not. */
export function DataImport() {
  const { data, importing, importProgress, importError, importFile, importBundled, epochUnit, setEpochUnit } =
    useFinetuneStore(
      useShallow((s) => ({
        data: s.data,
        importing: s.importing,
        importProgress: s.importProgress,
        importError: s.importError,
        importFile: s.importFile,
        importBundled: s.importBundled,
        epochUnit: s.epochUnit,
        setEpochUnit: s.setEpochUnit,
      })),
    );
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void importFile(file);
  };

  return (
    <section className="ft-block" aria-labelledby="ft-data-title">
      <h3 id="ft-data-title">1. Your data</h3>
      {/* The drop zone's keyboard path is the "choose a file" button inside it. */}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: drag and drop only; the button is the accessible control */}
      <div
        className={`dropzone${dragging ? ' over' : ''}`}
        data-testid="finetune-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>
          Drop a behavior log here, or{' '}
          <button type="button" className="link" onClick={() => input.current?.click()}>
            choose a file
          </button>
          . CSV with <code>sequence_id,step,weekday,time_slot,behavior</code> or <code>user_id,timestamp,behavior</code>{' '}
          (gzip accepted). The file is read here and never uploaded. Up to {formatBytes(PARSE_LIMITS.maxBytes)},{' '}
          {PARSE_LIMITS.maxEvents.toLocaleString('en-US')} events, names of {PARSE_LIMITS.maxNameChars} characters.
        </p>
        <p className="small">
          <label htmlFor="ft-epoch-unit">Unix timestamps are in </label>
          <select
            id="ft-epoch-unit"
            value={epochUnit}
            data-testid="finetune-epoch-unit"
            onChange={(e) => setEpochUnit(e.target.value as 'seconds' | 'milliseconds')}
          >
            <option value="seconds">seconds</option>
            <option value="milliseconds">milliseconds</option>
          </select>{' '}
          <span className="muted">(ISO 8601 timestamps need no unit)</span>
        </p>
        <input
          ref={input}
          type="file"
          accept=".csv,.gz,text/csv"
          className="visually-hidden"
          data-testid="finetune-file"
          aria-label="Behavior log file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importFile(file);
            e.target.value = ''; // the same file can be picked again after a fix
          }}
        />
        <p className="small muted">
          Or a bundled data set:{' '}
          {BUNDLED_DATASETS.map((d) => (
            <button
              key={d.id}
              type="button"
              className="link"
              data-testid={`finetune-bundled-${d.id}`}
              onClick={() => void importBundled(d.id)}
            >
              {d.label}
            </button>
          ))}
        </p>
      </div>
      {importing && (
        <p className="muted" role="status" data-testid="finetune-importing">
          Reading…{' '}
          {importProgress && importProgress.total > 0 && (
            <>
              <progress
                max={importProgress.total}
                value={importProgress.loaded}
                data-testid="finetune-import-progress"
                aria-label="Import progress"
              />{' '}
              {formatBytes(importProgress.loaded)} of {formatBytes(importProgress.total)}
            </>
          )}
        </p>
      )}
      {importError && (
        <div className="error-box" role="alert" data-testid="finetune-import-error">
          <strong>The file was not imported.</strong>
          <p>{importError}</p>
          <p className="muted small">
            {data ? `The data imported before (${data.name}) is still used.` : 'Nothing was changed.'}
          </p>
        </div>
      )}
      {data && data.warnings.length > 0 && (
        <ul className="warning small" data-testid="finetune-warnings">
          {data.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {data && <DataSummary />}
    </section>
  );
}
