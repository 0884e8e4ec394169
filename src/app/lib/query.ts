/** Reading app options from the page URL. Pure. */
import type { BackendName } from '../../lib/index';

export const BACKENDS: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

export interface BackendParam {
  backend: BackendName | 'auto';
  /** Set when ?backend= holds something that is not a backend (then 'auto' is used). */
  warning?: string;
}

/** `?backend=webgpu|wasm|webgl|cpu` forces a backend; absent or `auto` lets the pipeline choose. */
export function backendFromSearch(search: string): BackendParam {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '' || value === 'auto') return { backend: 'auto' };
  const name = value.trim().toLowerCase();
  if ((BACKENDS as readonly string[]).includes(name)) return { backend: name as BackendName };
  return {
    backend: 'auto',
    warning: `Ignoring ?backend=${value}: expected one of ${BACKENDS.join(', ')} (or auto).`,
  };
}

export const ENGINES = ['js', 'tfjs'] as const;

export interface EngineParam {
  engine: 'auto' | (typeof ENGINES)[number];
  warning?: string;
}

/** `?engine=js|tfjs` runs every workload on one engine; absent or `auto` measures per workload. */
export function engineFromSearch(search: string): EngineParam {
  const value = new URLSearchParams(search).get('engine');
  if (value === null || value === '' || value === 'auto') return { engine: 'auto' };
  const name = value.trim().toLowerCase();
  if ((ENGINES as readonly string[]).includes(name)) return { engine: name as EngineParam['engine'] };
  return { engine: 'auto', warning: `Ignoring ?engine=${value}: expected one of ${ENGINES.join(', ')} (or auto).` };
}
