/**
 * Settings of the browser runtime (the app, the benchmark page, the model pipeline), in one
 * place, like transformers.js's `env`: where the shipped model and the data are served, and how
 * model files are cached. Read when used, so a page may change a field before it loads anything
 * (a worker has its own copy). Node has its own settings; this module imports nothing.
 */

/** Vite's base URL ('/' here); also '/' outside Vite (Node, e.g. vitest without a base). */
const BASE_URL: string = import.meta.env?.BASE_URL ?? '/';

export interface BrowserEnv {
  /** Where the site is served from: every URL below starts with it. */
  baseUrl: string;
  /** The shipped foundation model: what Predict and Generate load first and Fine-tune adapts. */
  modelUrl: string;
  /** Keep model files in the Cache API (a pipeline call's `cache` option overrides it). */
  useBrowserCache: boolean;
  /** The Cache API cache the model files go to. A new name starts an empty cache. */
  cacheName: string;
  /**
   * The data route: the SmartThings data folder as the dev/preview server serves it, read-only
   * (vite.config.ts). Files are gzipped CSV, `<dataRoute><region>.csv.gz`.
   */
  dataRoute: string;
  /** Replay's sequences: the SmartThings US test split, else the demo sequences shipped with the app. */
  replayUrls: { smartThings: string; demo: string };
  /**
   * Where the wasm backend's binaries (tfjs-backend-wasm.wasm, tfjs-backend-wasm-simd.wasm) are
   * served, as a folder URL ending in '/'; null: beside the built code, where the build puts them.
   * Set it when a bundler or CDN serves them elsewhere. Read when the wasm backend first starts.
   */
  wasmPaths: string | null;
  /**
   * The engine of every workload: 'auto' measures the plain-JS decoder against tfjs per workload
   * (one prediction, scoring a log, generating trajectories; model/workloads.ts); 'js' or 'tfjs'
   * forces one (the app's ?engine=).
   */
  engine: 'auto' | 'js' | 'tfjs';
}

const DATA_ROUTE = `${BASE_URL}data/smartthings/`;

export const env: BrowserEnv = {
  baseUrl: BASE_URL,
  modelUrl: `${BASE_URL}models/behavegpt-us/model.json`,
  useBrowserCache: true,
  cacheName: 'behavegpt-models-v1',
  dataRoute: DATA_ROUTE,
  replayUrls: {
    smartThings: `${DATA_ROUTE}us.csv.gz`,
    demo: `${BASE_URL}examples/demo-sequences.csv`,
  },
  wasmPaths: null,
  engine: 'auto',
};

/** URL of a file of the SmartThings data folder, e.g. `dataFileUrl('sp.csv.gz')`. */
export function dataFileUrl(file: string): string {
  return `${env.dataRoute}${file}`;
}
