/// <reference types="node" />
/**
 * The library build (`npm run build:lib`): src/lib/index.ts as an ES module in dist-lib/, with
 * TensorFlow.js and the rest bundled in (the package has no runtime dependencies), each tfjs
 * backend in a chunk of its own that loads only when that backend starts, the workers as their
 * own files, and the wasm binaries as files beside them (not inlined: a strict CSP refuses
 * data: URLs for fetch). URLs between the files are relative (import.meta.url), so dist-lib
 * works wherever it is served from or bundled.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { SHIPPED_MODEL_DIR } from './src/node/config';

const root = path.dirname(fileURLToPath(import.meta.url));
export const LIB_OUT_DIR = 'dist-lib';

/** Chunks named for the package they start (tfjs-backend-wasm-…js), so a reader of dist-lib sees which is which. */
function chunkName(chunk: { facadeModuleId: string | null; name: string }): string {
  const pkg = chunk.facadeModuleId?.match(/node_modules\/(@[^/]+\/[^/]+|[^/]+)\//)?.[1];
  return `${pkg ? pkg.replace(/^@[^/]+\//, '') : chunk.name}-[hash].js`;
}
const output = { chunkFileNames: chunkName };
/** A worker's own chunks go beside its entry, in assets/. */
const workerOutput = {
  chunkFileNames: (chunk: { facadeModuleId: string | null; name: string }) => `assets/${chunkName(chunk)}`,
};

/** The shipped model goes into the package (dist-lib/models/behavegpt-us/): a host serves it beside the code, or its own. */
function shippedModel(): Plugin {
  return {
    name: 'behavegpt-shipped-model',
    generateBundle() {
      const dir = path.join(root, SHIPPED_MODEL_DIR);
      for (const file of readdirSync(dir)) {
        this.emitFile({
          type: 'asset',
          fileName: `models/${path.basename(dir)}/${file}`,
          source: readFileSync(path.join(dir, file)),
        });
      }
    },
  };
}

export default defineConfig({
  plugins: [shippedModel()],
  base: './',
  publicDir: false,
  build: {
    target: 'es2022',
    outDir: LIB_OUT_DIR,
    emptyOutDir: true,
    lib: { entry: path.join(root, 'src/lib/index.ts'), formats: ['es'], fileName: 'index' },
    // The chunk graph, for the bundle-size figures (src/node/bench/bundle-size.ts).
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { output },
  },
  worker: { format: 'es', rolldownOptions: { output: workerOutput } },
});
