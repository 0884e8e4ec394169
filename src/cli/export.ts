/**
 * Re-exports a model folder in another weight dtype (e.g. the float32 reference → int8 for the app).
 *
 *   npm run export -- --from models/behavegpt-us-fp32 --to public/models/behavegpt-us --dtype uint8
 */
import type { WeightDtype } from '../model/weights';
import { loadModelDir, saveModelDir } from '../node/model-files';
import { initNodeBackend } from '../node/tf';
import { parseFlags, runIfMain } from './args';

const USAGE = 'Usage: npm run export -- --from DIR --to DIR [--dtype uint8|float32]';

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    { from: { type: 'string' }, to: { type: 'string' }, dtype: { type: 'string' } },
    USAGE,
    args,
  );
  if (!flags.from || !flags.to) {
    console.error(USAGE);
    process.exit(2);
  }
  const dtype = (flags.dtype ?? 'uint8') as WeightDtype;
  if (dtype !== 'uint8' && dtype !== 'float32') throw new Error(`--dtype: "${dtype}" is not uint8 or float32`);
  await initNodeBackend('wasm');
  const loaded = loadModelDir(flags.from);
  const { manifestPath, bytes } = await saveModelDir(
    flags.to,
    { ...loaded, name: loaded.manifest.name, training: loaded.manifest.training },
    { dtype },
  );
  console.log(`wrote ${manifestPath}: ${loaded.model.parameterCount} parameters, ${bytes} weight bytes (${dtype})`);
}

runIfMain(import.meta.url, main);
