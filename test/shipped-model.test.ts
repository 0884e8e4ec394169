/**
 * The shipped int8 model against its float32 reference, on the real US test split (skipped
 * when the data folder is absent).
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { DEFAULT_DATA_DIR, loadRegion } from '../src/node/data';
import { loadModelDir } from '../src/node/model-files';
import { splitSequences } from '../src/core/data';
import { bucketBatches, encodeBatch, toExamples } from '../src/core/batch';
import { ROW_MIN, ROW_SCALE, serializeModel } from '../src/model/weights';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '../src/model/weights';

const SHIPPED = 'public/models/behavegpt-us';
const REFERENCE = 'models/behavegpt-us-fp32';

describe('shipped model', () => {
  let int8: LoadedModel;
  let fp32: LoadedModel;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    int8 = loadModelDir(SHIPPED);
    fp32 = loadModelDir(REFERENCE);
  });

  it('is int8-quantized, at most 30% of the float32 bytes, and equals quantize(float32 reference)', async () => {
    const entries = int8.manifest.weightsManifest[0].weights;
    const params = entries.filter((w) => !w.name.endsWith(ROW_MIN) && !w.name.endsWith(ROW_SCALE));
    expect(params.length).toBe(int8.model.params.size);
    expect(params.filter((w) => w.quantization?.dtype !== 'uint8').map((w) => w.name)).toEqual([]);
    const requantized = await serializeModel(
      { ...fp32, name: fp32.manifest.name, training: fp32.manifest.training },
      { dtype: 'uint8' },
    );
    expect(requantized.manifest.weightsManifest[0].weights).toEqual(entries);
    const shipped = readFileSync(join(SHIPPED, int8.manifest.weightsManifest[0].paths[0]));
    expect(Buffer.compare(shipped, Buffer.from(requantized.shards[0]))).toBe(0);
    const f32 = await serializeModel({ ...fp32, name: '', training: {} }, { dtype: 'float32' });
    const bytes = (s: Uint8Array[]) => s.reduce((a, b) => a + b.length, 0);
    expect(bytes(requantized.shards) / bytes(f32.shards)).toBeLessThanOrEqual(0.3);
  });

  it.skipIf(!existsSync(DEFAULT_DATA_DIR))(
    'agrees with float32 on ≥ 99% of top-1 predictions on the US test split',
    async () => {
      const test = splitSequences(loadRegion('us').sequences, 'test');
      const examples = toExamples(test, int8.model.config.contextLength);
      let agree = 0;
      let total = 0;
      for (const group of bucketBatches(examples, 256)) {
        const batch = encodeBatch(group, int8.behaviors, int8.locations);
        const [a, b] = await Promise.all(
          [int8, fp32].map(async (m) => {
            const t = tf.tidy(() => tf.argMax(m.model.logits(batch), 1));
            const v = await t.data();
            t.dispose();
            return v;
          }),
        );
        // Count the positions the protocol scores (targets; position 0 has no history).
        group.forEach((ex, row) => {
          for (let t = Math.max(1, ex.firstTarget); t < ex.events.length; t++) {
            const i = row * batch.length + t;
            total++;
            if (a[i] === b[i]) agree++;
          }
        });
      }
      expect(total).toBeGreaterThan(25000);
      expect(agree / total).toBeGreaterThanOrEqual(0.99);
    },
    120_000,
  );
});
