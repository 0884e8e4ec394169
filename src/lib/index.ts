/**
 * BehaveGPT Web as a library: on-device next-behavior prediction, generation, explanations and
 * fine-tuning for any web page. The package's one entry point (package.json `exports`), built by
 * `npm run build:lib`. The app reaches the model only through here (test/layout.test.ts checks it),
 * so the API is proven by the product.
 *
 *   import { loadModel } from 'behavegpt-web';
 *   const model = await loadModel('/models/behavegpt-us/model.json', { onProgress: console.log });
 *   const top5 = await model.predictNext(history, { weekday: 5, slot: 6, location: '<unknown>' }, { k: 5 });
 *
 * Backends (WebGPU, wasm, WebGL, CPU) are chosen by capability and measurement and load as
 * separate chunks; model files are verified and kept in the Cache API; settings are in `env`.
 */
export { loadModel } from '../model/pipeline';
// tfjs has one current backend per page: a host that keeps models on two backends makes a model's current
// again before using it (startBackend(model.backend.name)); watchDeviceLoss says when WebGPU's device is gone.
export { startBackend, watchDeviceLoss } from '../model/backend';
export { createWorkerModel } from '../browser/worker-model';
export { finetune, importLog } from './finetune';
export { DEFAULT_FINETUNE_SETTINGS } from '../train/finetune-protocol';
export {
  saveAdaptedModel,
  listAdaptedModels,
  getAdaptedModel,
  deleteAdaptedModel,
  newModelId,
  type AdaptedModelRecord,
  type AdaptedModelInfo,
} from '../browser/saved-models';
export { env, type BrowserEnv } from '../env';
export { BackendUnavailableError, ModelFetchError, ModelFormatError, ModelIntegrityError } from '../model/errors';
export { UNKNOWN_LOCATION, WEEKDAY_NAMES, NUM_SLOTS, NUM_WEEKDAYS } from '../core/events';

export type {
  BackendChoice,
  BackendName,
  BehaviorModel,
  EngineChoices,
  ExplainOptions,
  GenerateEventsOptions,
  LoadModelOptions,
  LoadProgress,
  LogScore,
  ModelFiles,
  ModelInfo,
  ModelSource,
  Prediction,
  PredictOptions,
  ScoreLogOptions,
  WhenOptions,
} from '../model/pipeline-types';
export type { EngineChoice, EngineMeasure, EngineName, Workload } from '../model/workloads';
export type { BehaviorEvent, BehaviorSequence, EventContext } from '../core/events';
export type { GeneratedEvent, GenerateOptions, TrajectoryEvent } from '../model/generate';
export type { Explanation, EventInfluence, AttentionView, WhenMap, WeekCell } from '../model/explain';
export type { Removal } from '../core/explain';
export type {
  ContinueRun,
  FinetuneBase,
  FinetuneData,
  FinetuneEvent,
  FinetuneOptions,
  FinetuneResult,
  ImportedLog,
  ImportLogOptions,
} from './finetune';
export type {
  BaselineFigures,
  ContinueFrom,
  FinetuneOutcome,
  FinetuneSettings,
  PreparedInfo,
  ProgressPoint,
  ScratchOutcome,
} from '../train/finetune-protocol';
export type { MetricSet } from '../core/metrics';
export type { ImportSummary } from '../core/finetune';
