/**
 * The engine comparison of `npm run bench -- --only engines`, in one page: the same network on
 * the plain-JS decoder, on tfjs (each backend), and on ONNX Runtime Web (wasm and webgpu
 * execution providers, the committed export models/behavegpt-us.onnx), fed the same input
 * arrays and returning the same thing: the distribution over behaviors at the positions asked
 * for. The Node driver (node/bench/browser.ts) interleaves the calls, one engine after another.
 *
 * Each engine computes what its API allows: tfjs and plain JS run the behavior head only at the
 * positions asked for, and plain JS also skips the last layer's attention and feed-forward
 * elsewhere; the ONNX graph returns logits for every position (as exported), of which the asked
 * ones are read. On the "log" input every position is asked for, so all engines do the same work.
 */
import * as ort from 'onnxruntime-web';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import onnxModelUrl from '../../models/behavegpt-us.onnx?url';
import { bucketBatches, encodeBatch, toExamples, type Batch } from '../core/batch';
import { parseBehaviorLog } from '../core/data';
import { splitSequences } from '../core/data';
import { gunzipResponse } from '../browser/behavior-logs';
import { dataFileUrl, env } from '../env';
import { startBackend } from '../model/backend';
import { CpuDecoder } from '../model/cpu-decoder';
import { fetchModelFiles, tf, type BackendName } from '../model/pipeline';
import { fullContextBatch } from '../model/predictor';
import { modelFromArtifacts, type LoadedModel } from '../model/weights';

export interface EngineInfo {
  /** e.g. "js", "tfjs:wasm", "ort:webgpu". */
  id: string;
  engine: 'js' | 'tfjs' | 'onnxruntime-web';
  backend: string;
  /** Largest |Δp| from the plain-JS decoder's probabilities on the check input; null for the decoder itself. */
  maxDifference: number | null;
  error?: string;
}

export interface InputInfo {
  /** "queries-N" (N windows of a 32-event history, one position each) or "log" (real windows, every position). */
  id: string;
  positions: number;
  windows: number;
  description: string;
}

type Run = (batch: Batch, positions: Int32Array) => Promise<Float32Array>;

const runners = new Map<string, { backend?: BackendName; run: Run }>();
/** Each input is one or more batches; a call runs all of them. */
const inputs = new Map<string, { batch: Batch; positions: Int32Array }[]>();
let loaded: LoadedModel | null = null;

function softmaxRows(logits: Float32Array, rows: ArrayLike<number>, V: number): Float32Array {
  const out = new Float32Array(rows.length * V);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[o + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += out[k * V + i] = Math.exp(logits[o + i] - max);
    for (let i = 0; i < V; i++) out[k * V + i] /= sum;
  }
  return out;
}

/** An ONNX Runtime Web session on one execution provider, as a Run. */
async function ortRunner(ep: 'wasm' | 'webgpu', model: ArrayBuffer, V: number): Promise<Run> {
  const session = await ort.InferenceSession.create(new Uint8Array(model), {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
  });
  const names = [
    'behaviors',
    'weekdays',
    'slots',
    'locations',
    'target_weekdays',
    'target_slots',
    'target_locations',
  ] as const;
  return async (batch, positions) => {
    const dims = [batch.batchSize, batch.length];
    const columns = [
      batch.behaviors,
      batch.weekdays,
      batch.slots,
      batch.locations,
      batch.targetWeekdays,
      batch.targetSlots,
      batch.targetLocations,
    ];
    const feeds = Object.fromEntries(names.map((name, i) => [name, new ort.Tensor('int32', columns[i], dims)]));
    const out = await session.run(feeds, ['behavior_logits']);
    const logits = out.behavior_logits;
    try {
      return softmaxRows((await logits.getData()) as Float32Array, positions, V);
    } finally {
      logits.dispose();
    }
  };
}

/**
 * SmartThings US test as `npm run evaluate` scores it: every window (core/batch toExamples),
 * batched by length (`windows` per batch), every counted position (t ≥ 1 of each sequence).
 */
async function logBatches(
  m: LoadedModel,
  windows: number,
): Promise<{ parts: { batch: Batch; positions: Int32Array }[]; source: string; windows: number } | null> {
  const res = await fetch(dataFileUrl('us.csv.gz'));
  if (!res.ok) return null;
  const test = splitSequences(parseBehaviorLog(await gunzipResponse(res), 'us.csv.gz').sequences, 'test');
  const examples = toExamples(test, m.model.config.contextLength);
  const parts = bucketBatches(examples, windows).map((group) => {
    const batch = encodeBatch(group, m.behaviors, m.locations);
    const positions: number[] = [];
    group.forEach((ex, b) => {
      for (let t = Math.max(ex.firstTarget, ex.offset === 0 ? 1 : 0); t < ex.events.length; t++)
        positions.push(b * batch.length + t);
    });
    return { batch, positions: Int32Array.from(positions) };
  });
  return {
    parts,
    source: `SmartThings US test (${test.length} sequences, ${examples.length} windows in batches of ${windows} by length)`,
    windows: examples.length,
  };
}

export interface SetupOptions {
  tfjsBackends: BackendName[];
  ortProviders: ('wasm' | 'webgpu')[];
  /** Query batches (windows of one position each). */
  batches: number[];
  /** Windows per batch of the log input (0: no log input). */
  logWindows: number;
}

/**
 * Builds every engine and input. Each tfjs backend gets its own copy of the model, built while
 * that backend is current, so switching backends between calls moves no weights.
 */
export async function setup(options: SetupOptions): Promise<{ engines: EngineInfo[]; inputs: InputInfo[] }> {
  const files = await fetchModelFiles(env.modelUrl, { cache: false });
  const manifest = JSON.parse(files.manifestText);
  await startBackend('cpu');
  loaded = modelFromArtifacts(manifest, files.shards);
  const m = loaded;
  const V = m.model.config.numBehaviors;
  for (const n of options.batches)
    inputs.set(`queries-${n}`, [fullContextBatch({ ...m, contextLength: m.model.config.contextLength }, n)]);
  const log = options.logWindows > 0 ? await logBatches(m, options.logWindows) : null;
  if (log) inputs.set('log', log.parts);
  const check = fullContextBatch({ ...m, contextLength: m.model.config.contextLength }, 16);

  const engines: EngineInfo[] = [];
  const decoder = await CpuDecoder.fromModel(m.model);
  runners.set('js', { run: async (batch, positions) => decoder.batchProbabilities(batch, positions) });
  const reference = await runners.get('js')!.run(check.batch, check.positions);
  const difference = (p: Float32Array) => p.reduce((worst, v, i) => Math.max(worst, Math.abs(v - reference[i])), 0);
  engines.push({ id: 'js', engine: 'js', backend: 'cpu (plain JS)', maxDifference: null });

  for (const backend of options.tfjsBackends) {
    const id = `tfjs:${backend}`;
    const started = await startBackend(backend);
    if (!started.ok) {
      engines.push({ id, engine: 'tfjs', backend, maxDifference: null, error: started.reason });
      continue;
    }
    const copy = modelFromArtifacts(manifest, files.shards).model;
    const run: Run = (batch, positions) => copy.probabilities(batch, Array.from(positions));
    runners.set(id, { backend, run });
    engines.push({ id, engine: 'tfjs', backend, maxDifference: difference(await run(check.batch, check.positions)) });
  }

  ort.env.wasm.numThreads = 1; // as tfjs here: the page is not cross-origin isolated
  ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
  const onnx = await (await fetch(onnxModelUrl)).arrayBuffer();
  for (const ep of options.ortProviders) {
    const id = `ort:${ep}`;
    try {
      const run = await ortRunner(ep, onnx, V);
      runners.set(id, { run });
      engines.push({
        id,
        engine: 'onnxruntime-web',
        backend: ep,
        maxDifference: difference(await run(check.batch, check.positions)),
      });
    } catch (e) {
      engines.push({
        id,
        engine: 'onnxruntime-web',
        backend: ep,
        maxDifference: null,
        error: (e as Error).message.split('\n')[0],
      });
    }
  }
  const T = m.model.config.contextLength;
  const described: InputInfo[] = options.batches.map((n) => ({
    id: `queries-${n}`,
    positions: n,
    windows: n,
    description: `${n} windows of a ${T - 1}-event history, the distribution at each window's last position`,
  }));
  if (log)
    described.push({
      id: 'log',
      positions: log.parts.reduce((n, p) => n + p.positions.length, 0),
      windows: log.windows,
      description: `${log.source}, the distribution at every position`,
    });
  return { engines, inputs: described };
}

/** Times one call of an engine on an input (ms); a backend switch, if any, happens before the clock starts. */
export async function runOnce(engineId: string, inputId: string): Promise<number> {
  const runner = runners.get(engineId);
  const input = inputs.get(inputId);
  if (!runner || !input) throw new Error(`no engine ${engineId} or input ${inputId}`);
  if (runner.backend && tf.getBackend() !== runner.backend) await tf.setBackend(runner.backend);
  const V = loaded!.model.config.numBehaviors;
  const t0 = performance.now();
  const outs: Float32Array[] = [];
  for (const part of input) outs.push(await runner.run(part.batch, part.positions));
  const ms = performance.now() - t0;
  outs.forEach((out, i) => {
    if (out.length !== input[i].positions.length * V)
      throw new Error(`${engineId} returned ${out.length} values for ${input[i].positions.length} positions`);
  });
  return ms;
}

/** What the WebGPU adapter is (for the device note). */
export async function adapterInfo(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return 'no WebGPU adapter';
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  return (
    [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' / ') +
    (info?.isFallbackAdapter ? ' (software fallback adapter)' : '')
  );
}
