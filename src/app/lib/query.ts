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

/**
 * `?model=<url>` opens a model.json on this site instead of the shipped one. Same origin only: a
 * link cannot make the page fetch someone else's files. Null when absent.
 */
export function modelUrlFromSearch(search: string, pageUrl: string): { url: string } | { error: string } | null {
  const value = new URLSearchParams(search).get('model');
  if (value === null || value.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(value, pageUrl);
  } catch {
    return { error: `?model=${value} is not a URL` };
  }
  const origin = new URL(pageUrl).origin;
  if (url.origin !== origin)
    return {
      error: `?model=${value} is on another site (${url.origin}); only models on this site (${origin}) can be opened by URL`,
    };
  return { url: url.href };
}
