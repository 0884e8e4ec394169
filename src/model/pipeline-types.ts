/**
 * The app-facing contract of the prediction pipeline (transformers.js style: one call loads a
 * model with progress events; backends and caching live behind it).
 */

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface LoadProgress {
  stage: 'backend' | 'download' | 'init' | 'warmup' | 'ready';
  /** Bytes (download) or steps (other stages) done / total; total 0 when unknown. */
  loaded: number;
  total: number;
  message: string;
  /** True when the model files came from the Cache API instead of the network. */
  fromCache?: boolean;
  /** Something the person should know about this load, e.g. why the copy kept in this browser is used. */
  notice?: string;
}

export interface BackendChoice {
  name: BackendName;
  /** Human-readable reason, e.g. "WebGPU adapter is a software fallback (SwiftShader); wasm was faster: 1.9 ms vs 41 ms". */
  reason: string;
  /** Median warm-up latency per backend tried, in ms. */
  measuredMs: Partial<Record<BackendName, number>>;
}

export interface Prediction {
  behavior: string;
  probability: number;
}

export interface ModelSummary {
  name: string;
  parameters: number;
  /** Bytes of the weight shards as stored (int8 or float32). */
  weightBytes: number;
  quantization: 'uint8' | 'float32';
  contextLength: number;
  behaviors: string[];
  locations: string[];
  training: Record<string, unknown>;
}
