/**
 * TensorFlow.js for Node: the wasm backend (tfjs-node's native binary cannot be installed
 * here), loaded from the package's own dist folder, single-threaded.
 */
import * as tf from '@tensorflow/tfjs-core';
// The union package's Node bundle registers every gradient (and the cpu backend) on tfjs-core.
import '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type NodeBackend = 'wasm' | 'cpu';

export async function initNodeBackend(name: NodeBackend = 'wasm'): Promise<string> {
  if (name === 'wasm') {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(join(dist, '/'));
    setThreadsCount(1);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs: backend "${name}" failed to start`);
  await tf.ready();
  return tf.getBackend();
}

export { tf };
