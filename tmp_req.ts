import { initNodeBackend } from './src/node/tf';
import { loadModelDir, saveModelDir } from './src/node/model-files';
await initNodeBackend('wasm');
const m = loadModelDir(process.argv[2]);
console.log(await saveModelDir(process.argv[3], { ...m, name: m.manifest.name, training: m.manifest.training }, { dtype: 'uint8' }));
