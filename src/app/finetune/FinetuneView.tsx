import { DataImport } from './DataImport';
import { ScoreLog } from '../score/ScoreLog';
import { SavedModels } from './SavedModels';
import { TrainingSettings } from './TrainingSettings';
import './finetune.css';

/** Fine-tune: import a log, adapt the model on this device, keep and manage the adapted models. Loaded when the tab is first opened. */
export function FinetuneView() {
  return (
    <div className="finetune">
      <DataImport />
      <ScoreLog where="finetune" />
      <TrainingSettings />
      <SavedModels />
    </div>
  );
}
