/**
 * Choosing a TensorFlow.js backend in the browser (page or worker) by capability and by
 * measurement, not by name: WebGPU first unless its adapter is a software fallback, then a
 * short timed warm-up decides between WebGPU and wasm; webgl and cpu are the last resorts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { env } from '../env';
import { BackendUnavailableError } from './errors';
import type { BackendChoice, BackendName } from './pipeline-types';

export const BACKEND_START_TIMEOUT_MS = 15_000;

export class TimeoutError extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Registers a backend's code on first use (separate chunks keep the first load small). */
async function register(name: BackendName): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Threaded wasm hangs setBackend in a minified build on isolated pages; it gains nothing on
      // small models. With threads off its binary is never fetched, so it is not shipped.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (env.wasmPaths) {
        wasm.setWasmPaths(env.wasmPaths);
        return;
      }
      // Files beside the built code (no-inline: a library build would inline them as data: URLs, which a strict CSP refuses to fetch).
      const [plain, simd] = await Promise.all([
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url&no-inline'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url&no-inline'),
      ]);
      // tfjs wants an entry for each binary; the threaded one is never fetched with threads off.
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': plain.default,
        'tfjs-backend-wasm-simd.wasm': simd.default,
        'tfjs-backend-wasm-threaded-simd.wasm': simd.default,
      });
      return;
    }
  }
}

/** Why WebGPU is off for the rest of this page's life (its device was lost), or null. */
let webgpuLost: string | null = null;

/**
 * Calls `onLost` (once) when the WebGPU device TensorFlow.js runs on is lost: a driver reset,
 * a removed GPU, the device destroyed. From then on WebGPU counts as unavailable in this page
 * (tfjs would keep using the dead device), so loading again picks the next backend. Returns a
 * function that stops watching. Nothing to watch on other backends.
 */
export function watchDeviceLoss(onLost: (reason: string) => void): () => void {
  if (tf.getBackend() !== 'webgpu') return () => {};
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  if (!device) return () => {};
  let watching = true;
  void device.lost.then((info) => {
    webgpuLost = `the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`;
    if (watching) onLost(webgpuLost);
  });
  return () => {
    watching = false;
  };
}

/** Starts a backend; false (with the reason) when it cannot run here. setBackend's result is checked, not getBackend. */
export async function startBackend(name: BackendName): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (name === 'webgpu' && webgpuLost)
    return { ok: false, reason: `webgpu: ${webgpuLost} earlier in this page; reload the page to use it again` };
  try {
    await register(name);
    const ok = await withTimeout(tf.setBackend(name), BACKEND_START_TIMEOUT_MS, `starting ${name}`);
    if (!ok) return { ok: false, reason: `${name} failed to initialise` };
    await tf.ready();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `${name}: ${(e as Error).message}` };
  }
}

export interface WebGPUProbe {
  available: boolean;
  fallback: boolean;
  /** What the adapter says about itself (vendor / architecture / description). */
  description: string;
  reason?: string;
}

/** Looks at the WebGPU adapter without starting tfjs. */
export async function probeWebGPU(): Promise<WebGPUProbe> {
  if (webgpuLost)
    return {
      available: false,
      fallback: false,
      description: '',
      reason: `WebGPU unavailable (${webgpuLost} earlier in this page)`,
    };
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu)
    return {
      available: false,
      fallback: false,
      description: '',
      reason: 'WebGPU unavailable (navigator.gpu is missing)',
    };
  let adapter: GPUAdapter | null;
  try {
    adapter = await withTimeout(gpu.requestAdapter(), 5000, 'requestAdapter');
  } catch (e) {
    return {
      available: false,
      fallback: false,
      description: '',
      reason: `WebGPU unavailable (${(e as Error).message})`,
    };
  }
  if (!adapter)
    return { available: false, fallback: false, description: '', reason: 'WebGPU unavailable (no adapter)' };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fallback = Boolean(info?.isFallbackAdapter ?? legacyFallback);
  const description =
    [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' / ') || 'unknown adapter';
  return { available: true, fallback, description };
}

export interface ChooseOptions {
  /** Force one backend ('auto' chooses). */
  preferred?: BackendName | 'auto';
  /** Times one prediction on the current backend (ms, median of a few after warm-up). */
  measure: () => Promise<number>;
  onStage?: (message: string) => void;
}

const FALLBACK_ORDER: BackendName[] = ['wasm', 'webgl', 'cpu'];

/**
 * Picks and starts the backend. With 'auto': a hardware WebGPU adapter is raced against wasm
 * by `measure`; a software adapter is skipped (correct, but far slower than wasm).
 */
export async function chooseBackend(options: ChooseOptions): Promise<BackendChoice> {
  const { preferred = 'auto', measure, onStage = () => {} } = options;
  const measuredMs: BackendChoice['measuredMs'] = {};
  if (preferred !== 'auto') {
    onStage(`starting ${preferred} (requested)`);
    const started = await startBackend(preferred);
    if (!started.ok) throw new BackendUnavailableError(preferred, started.reason);
    measuredMs[preferred] = await measure();
    return { name: preferred, reason: `${preferred} requested in the URL`, measuredMs };
  }

  const notes: string[] = [];
  onStage('probing WebGPU');
  const probe = await probeWebGPU();
  let webgpuMs: number | undefined;
  if (!probe.available) notes.push(probe.reason!);
  else if (probe.fallback)
    notes.push(`WebGPU adapter is a software fallback (${probe.description}), far slower than wasm`);
  else {
    onStage('starting WebGPU');
    const started = await startBackend('webgpu');
    if (started.ok) {
      onStage('timing WebGPU');
      webgpuMs = measuredMs.webgpu = await measure();
    } else notes.push(`WebGPU failed to start (${started.reason})`);
  }

  for (const name of FALLBACK_ORDER) {
    onStage(`starting ${name}`);
    const started = await startBackend(name);
    if (!started.ok) {
      notes.push(started.reason);
      continue;
    }
    onStage(`timing ${name}`);
    const ms = await measure();
    measuredMs[name] = ms;
    if (webgpuMs !== undefined && webgpuMs <= ms) {
      await startBackend('webgpu');
      return {
        name: 'webgpu',
        reason: `WebGPU (${probe.description}) measured faster: ${webgpuMs.toFixed(1)} ms vs ${name} ${ms.toFixed(1)} ms per prediction`,
        measuredMs,
      };
    }
    if (webgpuMs !== undefined)
      notes.push(`${name} measured faster than WebGPU: ${ms.toFixed(1)} ms vs ${webgpuMs.toFixed(1)} ms`);
    return { name, reason: notes.join('; ') || `${name} selected`, measuredMs };
  }
  if (webgpuMs !== undefined) {
    await startBackend('webgpu');
    return { name: 'webgpu', reason: notes.join('; '), measuredMs };
  }
  throw new BackendUnavailableError('any', notes.join('; '));
}
