/**
 * WebGPU against wasm in Node, on whatever GPU adapter the machine has: Dawn through the
 * `webgpu` npm package provides navigator.gpu, and the same tfjs WebGPU backend the browser
 * uses (and ONNX Runtime Web's webgpu execution provider, where it runs) computes on it. It
 * measures batched scoring at growing batch sizes (interleaved with tfjs wasm, the plain-JS
 * decoder and ONNX Runtime Web on wasm), the batch size from which WebGPU is faster than wasm,
 * and fine-tuning tokens/s on WebGPU vs wasm. Without a GPU, Dawn can run on SwiftShader (a
 * software Vulkan, shipped with Chromium): the figures then say nothing of a real GPU.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { bucketBatches, encodeBatch, toExamples, type Batch } from '../../core/batch';
import { splitSequences } from '../../core/data';
import { CpuDecoder } from '../../model/cpu-decoder';
import { fullContextBatch } from '../../model/predictor';
import type { LoadedModel } from '../../model/weights';
import { createObjective } from '../../train/losses';
import { AdamW } from '../../train/optimizer';
import { trainStep } from '../../train/trainer';
import { loadRegion } from '../data';
import { loadModelDir } from '../model-files';
import { initNodeBackend, tf } from '../tf';
import { median, WRONG_RESULTS } from './figures';

/** Chromium's SwiftShader Vulkan driver: Dawn's software adapter where no GPU driver is installed. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface WebGPUBenchOptions {
  modelDir: string;
  dataDir: string;
  onnxPath: string;
  /** Positions per call (windows of a full context, one position each). */
  batches: number[];
  /** Interleaved rounds per batch size. */
  runs: number;
  /** Optimizer steps per backend and round of the fine-tuning measurement (3 rounds, interleaved). */
  trainSteps: number;
  /** Stop an engine at a batch size once its calls there add up to more than this (ms). */
  budgetMs: number;
  log?: (line: string) => void;
}

export interface AdapterDescription {
  description: string;
  fallback: boolean;
}

export interface WebGPUBenchResult {
  adapter: AdapterDescription;
  /** Median ms per call: engine id → batch → ms. */
  medians: Record<string, Record<number, number>>;
  times: Record<string, Record<number, number[]>>;
  /** Engines that could not run, with why. */
  unavailable: Record<string, string>;
  /** Largest |Δp| of each engine from the plain-JS decoder at batch 16. */
  differences: Record<string, number>;
  /** The smallest batch from which tfjs WebGPU is faster than tfjs wasm at every larger batch measured; null if never. */
  crossover: { tfjs: number | null; ort: number | null };
  /** Fine-tuning tokens/s per backend (each round's figure). */
  training: Record<string, number[]>;
  trainingData: string;
  load: { before: number; after: number; cores: number };
}

/** navigator.gpu from Dawn (the `webgpu` package), and WebGPU's globals (GPUBufferUsage, …). */
export async function installDawn(): Promise<AdapterDescription> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(globalThis.navigator ?? {}), gpu },
    configurable: true,
    writable: true,
  });
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    const hint = existsSync(SWIFTSHADER_ICD)
      ? ` Without a GPU, Chromium's SwiftShader can stand in: VK_ICD_FILENAMES=${SWIFTSHADER_ICD}.`
      : '';
    throw new Error(`WebGPU: Dawn found no adapter (no Vulkan driver for a GPU?).${hint}`);
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
  const fallback =
    Boolean(info.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
    /swiftshader|llvmpipe|lavapipe/i.test(text);
  return { description: text, fallback };
}

type Run = (batch: Batch, positions: Int32Array) => Promise<Float32Array>;

/** ONNX Runtime Web in Node: the webgpu build (it has the wasm execution provider too). */
async function ortRunners(
  path: string,
  V: number,
  log: (line: string) => void,
  probe: { batch: Batch; positions: Int32Array },
): Promise<{ runs: Map<string, Run>; unavailable: Record<string, string> }> {
  const out = new Map<string, Run>();
  const unavailable: Record<string, string> = {};
  const ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const names = ['behaviors', 'weekdays', 'slots', 'locations', 'target_weekdays', 'target_slots', 'target_locations'];
  for (const ep of ['wasm', 'webgpu'] as const) {
    try {
      const session = await ort.InferenceSession.create(readFileSync(path), {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
      });
      const run: Run = async (batch, positions) => {
        const columns = [
          batch.behaviors,
          batch.weekdays,
          batch.slots,
          batch.locations,
          batch.targetWeekdays,
          batch.targetSlots,
          batch.targetLocations,
        ];
        const feeds = Object.fromEntries(
          names.map((n, i) => [n, new ort.Tensor('int32', columns[i], [batch.batchSize, batch.length])]),
        );
        const result = await session.run(feeds, ['behavior_logits']);
        const logits = (await result.behavior_logits.getData()) as Float32Array;
        result.behavior_logits.dispose();
        const probs = new Float32Array(positions.length * V);
        positions.forEach((p, k) => {
          let max = -Infinity;
          for (let i = 0; i < V; i++) max = Math.max(max, logits[p * V + i]);
          let sum = 0;
          for (let i = 0; i < V; i++) sum += probs[k * V + i] = Math.exp(logits[p * V + i] - max);
          for (let i = 0; i < V; i++) probs[k * V + i] /= sum;
        });
        return probs;
      };
      await run(probe.batch, probe.positions); // a session can open and still fail to run
      out.set(`ort:${ep}`, run);
    } catch (e) {
      log(`  onnxruntime-web ${ep}: unavailable (${(e as Error).message.split('\n')[0]})`);
      unavailable[`ort:${ep}`] = (e as Error).message.split('\n')[0];
    }
  }
  return { runs: out, unavailable };
}

/** Train batches of batch 64 from US train when the data folder exists, else from synthetic full windows. */
function trainBatches(m: LoadedModel, dataDir: string): { batches: Batch[]; source: string } {
  const T = m.model.config.contextLength;
  if (existsSync(dataDir)) {
    const train = splitSequences(loadRegion('us', dataDir).sequences, 'train');
    const groups = bucketBatches(toExamples(train, T), 64, () => 0.5).slice(0, 30);
    return {
      batches: groups.map((g) => encodeBatch(g, m.behaviors, m.locations)),
      source: 'SmartThings US train, batch 64',
    };
  }
  const { batch } = fullContextBatch({ ...m, contextLength: T }, 64);
  // Each token's target is the next token's behavior (the last token's, the query's placeholder, is ignored).
  for (let b = 0; b < batch.batchSize; b++)
    for (let t = 0; t < T - 1; t++) batch.targets[b * T + t] = batch.behaviors[b * T + t + 1];
  return { batches: [batch], source: 'synthetic full windows, batch 64' };
}

/** Tokens/s of `steps` optimizer steps (DRO-free cross-entropy, AdamW) on the current backend. */
async function trainTokensPerSecond(
  m: LoadedModel,
  batches: Batch[],
  steps: number,
  optimizer: AdamW,
  first: number,
): Promise<number> {
  const objective = createObjective({ name: 'ce' }, m.behaviors.counts, (i) => m.behaviors.isSpecial(i));
  let tokens = 0;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const batch = batches[(first + s) % batches.length];
    tokens += batch.batchSize * batch.length;
    await trainStep(m.model, [{ variables: m.model.params, optimizer }], objective, batch, s);
  }
  await tf.ready();
  const seconds = (performance.now() - t0) / 1000;
  objective.dispose();
  return tokens / seconds;
}

export async function runWebGPUBench(o: WebGPUBenchOptions): Promise<WebGPUBenchResult> {
  const log = o.log ?? console.log;
  const loadBefore = loadavg()[0];
  const adapter = await installDawn();
  log(
    `WebGPU adapter: ${adapter.description}${adapter.fallback ? ' (software fallback: these figures say nothing of a real GPU)' : ''}`,
  );
  await initNodeBackend('wasm');
  await import('@tensorflow/tfjs-backend-webgpu');
  const models: Record<string, LoadedModel> = {};
  const runners = new Map<string, { backend?: 'wasm' | 'webgpu'; run: Run }>();
  const unavailable: Record<string, string> = {};
  for (const backend of ['wasm', 'webgpu'] as const) {
    if (!(await tf.setBackend(backend))) {
      unavailable[`tfjs:${backend}`] = `tfjs ${backend} failed to start`;
      continue;
    }
    await tf.ready();
    const m = loadModelDir(o.modelDir); // its tensors live on this backend
    models[backend] = m;
    runners.set(`tfjs:${backend}`, {
      backend,
      run: (batch, positions) => m.model.probabilities(batch, Array.from(positions)),
    });
  }
  await tf.setBackend('wasm');
  const reference = models.wasm ?? loadModelDir(o.modelDir);
  const decoder = await CpuDecoder.fromModel(reference.model);
  runners.set('js', { run: async (batch, positions) => decoder.batchProbabilities(batch, positions) });
  const V = reference.model.config.numBehaviors;
  const T = reference.model.config.contextLength;
  const check = fullContextBatch({ ...reference, contextLength: T }, 16);
  const ortEngines = await ortRunners(o.onnxPath, V, log, check);
  for (const [id, run] of ortEngines.runs) runners.set(id, { run });
  Object.assign(unavailable, ortEngines.unavailable);

  const call = async (id: string, input: { batch: Batch; positions: Int32Array }) => {
    const r = runners.get(id)!;
    if (r.backend && tf.getBackend() !== r.backend) await tf.setBackend(r.backend);
    const t0 = performance.now();
    await r.run(input.batch, input.positions);
    return performance.now() - t0;
  };
  const expected = await runners.get('js')!.run(check.batch, check.positions);
  const differences: Record<string, number> = {};
  for (const [id, r] of runners) {
    if (r.backend) await tf.setBackend(r.backend);
    const p = await r.run(check.batch, check.positions);
    differences[id] = p.reduce((w, v, i) => Math.max(w, Math.abs(v - expected[i])), 0);
  }
  log(
    `  max |Δp| vs plain JS at batch 16: ${Object.entries(differences)
      .map(([id, d]) => `${id} ${d.toExponential(1)}`)
      .join(', ')}`,
  );

  const ids = [...runners.keys()];
  const times: Record<string, Record<number, number[]>> = Object.fromEntries(ids.map((id) => [id, {}]));
  const stopped = new Set<string>();
  for (const n of [...o.batches].sort((a, b) => a - b)) {
    const input = fullContextBatch({ ...reference, contextLength: T }, n);
    const active = ids.filter((id) => !stopped.has(id));
    for (const id of active) {
      times[id][n] = [];
      await call(id, input); // warm-up: shader compilation, buffer allocation
    }
    const spent = new Map(active.map((id) => [id, 0]));
    for (let round = 0; round < o.runs; round++) {
      for (let k = 0; k < active.length; k++) {
        const id = active[(k + round) % active.length];
        if (stopped.has(id)) continue;
        const ms = await call(id, input);
        times[id][n].push(ms);
        spent.set(id, spent.get(id)! + ms);
        if (spent.get(id)! > o.budgetMs) stopped.add(id);
      }
    }
    log(`  batch ${n}: ${active.map((id) => `${id} ${median(times[id][n]).toFixed(2)} ms`).join(', ')}`);
  }
  const medians = Object.fromEntries(
    ids.map((id) => [id, Object.fromEntries(Object.entries(times[id]).map(([n, t]) => [Number(n), median(t)]))]),
  );
  // WebGPU that computes wrong probabilities (ONNX Runtime's provider on SwiftShader) wins nothing.
  const correct = (id: string) => (differences[id] > WRONG_RESULTS ? undefined : medians[id]);
  const crossover = {
    tfjs: crossoverBatch(correct('tfjs:webgpu'), medians['tfjs:wasm']),
    ort: crossoverBatch(correct('ort:webgpu'), medians['ort:wasm']),
  };

  const { batches, source } = trainBatches(reference, o.dataDir);
  const training: Record<string, number[]> = {};
  const optimizers: Record<string, AdamW> = {};
  for (let round = 0; round < 3; round++)
    for (const backend of Object.keys(models)) {
      await tf.setBackend(backend);
      optimizers[backend] ??= new AdamW(1e-4);
      const rate = await trainTokensPerSecond(
        models[backend],
        batches,
        o.trainSteps,
        optimizers[backend],
        round * o.trainSteps,
      );
      training[backend] ??= [];
      training[backend].push(rate);
    }
  for (const [backend, rates] of Object.entries(training))
    log(`  fine-tuning ${backend}: ${Math.round(median(rates))} tokens/s (${source})`);
  for (const opt of Object.values(optimizers)) opt.dispose();
  return {
    adapter,
    medians,
    times,
    unavailable,
    differences,
    crossover,
    training,
    trainingData: source,
    load: { before: loadBefore, after: loadavg()[0], cores: cpus().length },
  };
}

/** The smallest measured batch from which `gpu` is faster than `cpu` at it and every larger batch measured by both. */
export function crossoverBatch(
  gpu: Record<number, number> | undefined,
  cpu: Record<number, number> | undefined,
): number | null {
  if (!gpu || !cpu) return null;
  const sizes = Object.keys(gpu)
    .map(Number)
    .filter((n) => cpu[n] !== undefined)
    .sort((a, b) => a - b);
  let from: number | null = null;
  for (const n of sizes) {
    if (gpu[n] < cpu[n]) from ??= n;
    else from = null;
  }
  return from;
}
