/**
 * Corrupted model files against the checks every load runs before it keeps or builds anything
 * (the browser's fetchModelFiles and Node's loadModelDir alike): parseManifest, verifyShards,
 * checkWeightValues. Each case damages the shipped model (shard cut, extended or bit-flipped;
 * manifest fields, shapes, dtypes, paths, sizes, hashes; NaN or infinity written with a matching
 * hash, as a deliberate forgery would); every one must be refused with a typed error
 * (ModelFormatError or ModelIntegrityError). A damaged model accepted, or any other exception,
 * is a failure.
 */
import { createHash } from 'node:crypto';
import { ModelFormatError, ModelIntegrityError } from '../model/errors';
import { checkWeightValues, parseManifest, verifyShards, type ModelManifest } from '../model/weights';
import { createRng, type Rng } from '../core/random';

interface Files {
  manifestText: string;
  shard: Uint8Array;
}

interface Corruption {
  kind: string;
  apply: (files: Files, rng: Rng) => Files;
}

const pick = <T>(items: readonly T[], rng: Rng): T => items[Math.floor(rng() * items.length)];
// biome-ignore lint/suspicious/noExplicitAny: the campaign damages parsed JSON in arbitrary ways
const edit = (files: Files, change: (m: any, rng: Rng) => void, rng: Rng): Files => {
  const m = JSON.parse(files.manifestText);
  change(m, rng);
  return { ...files, manifestText: JSON.stringify(m) };
};
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Offset in the shard of a float32 weight entry (a row scale or min of an int8 file). */
function floatEntryOffset(manifest: ModelManifest, rng: Rng): { offset: number; count: number } {
  const entries = manifest.weightsManifest[0].weights;
  const floats = entries.map((w, i) => ({ w, i })).filter(({ w }) => !w.quantization);
  const { i } = pick(floats, rng);
  const offset = entries
    .slice(0, i)
    .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4), 0);
  return { offset, count: entries[i].shape.reduce((a, b) => a * b, 1) };
}

const CORRUPTIONS: Corruption[] = [
  {
    kind: 'shard truncated',
    apply: (f, rng) => ({ ...f, shard: f.shard.slice(0, Math.floor(rng() * f.shard.length)) }),
  },
  {
    kind: 'shard extended',
    apply: (f, rng) => ({
      ...f,
      shard: Uint8Array.from([
        ...f.shard,
        ...Array.from({ length: 1 + Math.floor(rng() * 64) }, () => Math.floor(rng() * 256)),
      ]),
    }),
  },
  {
    kind: 'shard bits flipped',
    apply: (f, rng) => {
      const shard = f.shard.slice();
      const n = 1 + Math.floor(rng() * 64);
      for (let i = 0; i < n; i++) shard[Math.floor(rng() * shard.length)] ^= 1 << Math.floor(rng() * 8);
      return { ...f, shard };
    },
  },
  {
    kind: 'shard 5% bytes changed',
    apply: (f, rng) => {
      const shard = f.shard.slice();
      for (let i = Math.floor(rng() * 20); i < shard.length; i += 20) shard[i] = Math.floor(rng() * 256);
      return { ...f, shard };
    },
  },
  {
    kind: 'weight shape changed',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) => {
          const w = pick(m.weightsManifest[0].weights as { shape: number[] }[], r);
          if (w.shape.length === 2 && r() < 0.5) w.shape.reverse();
          else w.shape[Math.floor(r() * w.shape.length)] += r() < 0.5 ? 1 : -1;
        },
        rng,
      ),
  },
  {
    kind: 'weight dtype changed',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) =>
          (pick(m.weightsManifest[0].weights as { dtype: string }[], r).dtype = pick(
            ['int32', 'float16', 'uint8', 'bool', 'complex64'],
            r,
          )),
        rng,
      ),
  },
  {
    kind: 'shard path elsewhere',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) =>
          (m.weightsManifest[0].paths = [
            pick(
              [
                'https://evil.example/w.bin',
                '//evil.example/w.bin',
                '/weights.bin',
                '../weights.bin',
                'a/../../w.bin',
                'w.bin?x=1',
                'data:,x',
                'javascript:alert(1)',
              ],
              r,
            ),
          ]),
        rng,
      ),
  },
  {
    kind: 'byte length changed',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) =>
          (m.weightsManifest[0].byteLengths = [
            (m.weightsManifest[0].byteLengths?.[0] ?? f.shard.length) + pick([-1, 1, -1000, 1000], r),
          ]),
        rng,
      ),
  },
  {
    kind: 'hash changed',
    apply: (f, rng) =>
      edit(f, (m, r) => (m.weightsManifest[0].sha256 = [sha256(Uint8Array.of(Math.floor(r() * 256)))]), rng),
  },
  {
    // Values no model of this file can have (a consistent edit, such as dropout 0, is another valid model: see the report).
    kind: 'config changed',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) => {
          const key = pick(
            ['numBehaviors', 'numHeads', 'behaviorDim', 'contextLength', 'numLayers', 'dropout', 'useContext'],
            r,
          );
          const invalid: Record<string, unknown[]> = {
            dropout: [1, 1.5, -0.1, 'x', null],
            useContext: [0, 1, 'true', null],
          };
          m.config[key] = pick(invalid[key] ?? [m.config[key] + 1, -1, 0, null, 'x', 1e9, 1.5], r);
        },
        rng,
      ),
  },
  {
    kind: 'vocabulary damaged',
    apply: (f, rng) =>
      edit(
        f,
        (m, r) => {
          const tokens = m.vocabulary.behaviors.tokens;
          if (r() < 0.5) tokens.pop();
          else tokens[5] = tokens[4];
        },
        rng,
      ),
  },
  {
    kind: 'model.json cut off',
    apply: (f, rng) => ({ ...f, manifestText: f.manifestText.slice(0, Math.floor(rng() * f.manifestText.length)) }),
  },
  {
    kind: 'NaN or infinity with a matching hash',
    apply: (f, rng) => {
      const manifest = JSON.parse(f.manifestText) as ModelManifest;
      const { offset, count } = floatEntryOffset(manifest, rng);
      const shard = f.shard.slice();
      new DataView(shard.buffer).setFloat32(
        offset + 4 * Math.floor(rng() * count),
        pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], rng),
        true,
      );
      manifest.weightsManifest[0].sha256 = [sha256(shard)];
      return { manifestText: JSON.stringify(manifest), shard };
    },
  },
];

export interface ModelCampaign {
  source: string;
  cases: number;
  byKind: Record<string, { cases: number; refused: number; failures: number }>;
  /** Refusals by error type. */
  refusedBy: Record<string, number>;
  failures: { kind: string; problem: string }[];
}

/** Same JSON value (an edit may change nothing, e.g. a square matrix's shape reversed). */
function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

async function check(files: Files): Promise<void> {
  const manifest = parseManifest(files.manifestText, 'model.json');
  const shards = [files.shard.slice().buffer as ArrayBuffer];
  await verifyShards(manifest, shards);
  checkWeightValues(manifest, shards, 'model.json');
}

export async function runModelCampaign(
  clean: Files,
  options: { cases: number; seed: number; source: string },
): Promise<ModelCampaign> {
  await check(clean); // the clean model passes, or the campaign means nothing
  const rng = createRng(options.seed);
  const byKind: ModelCampaign['byKind'] = {};
  const refusedBy: Record<string, number> = {};
  const failures: ModelCampaign['failures'] = [];
  for (let c = 0; c < options.cases; c++) {
    const corruption = CORRUPTIONS[c % CORRUPTIONS.length];
    byKind[corruption.kind] ??= { cases: 0, refused: 0, failures: 0 };
    const tally = byKind[corruption.kind];
    tally.cases++;
    const damaged = corruption.apply(clean, rng);
    const fail = (problem: string) => {
      tally.failures++;
      if (failures.length < 20) failures.push({ kind: corruption.kind, problem });
    };
    const unchanged =
      sameJson(damaged.manifestText, clean.manifestText) &&
      damaged.shard.length === clean.shard.length &&
      damaged.shard.every((b, i) => b === clean.shard[i]);
    if (unchanged) {
      // A mutation that happened to change nothing (a cut at the full length, a square shape reversed): not a case.
      tally.cases--;
      continue;
    }
    try {
      await check(damaged);
      fail('a damaged model was accepted');
    } catch (e) {
      if (e instanceof ModelFormatError || e instanceof ModelIntegrityError) {
        tally.refused++;
        refusedBy[e.name] = (refusedBy[e.name] ?? 0) + 1;
      } else fail(`untyped error ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  const cases = Object.values(byKind).reduce((n, k) => n + k.cases, 0);
  return { source: options.source, cases, byKind, refusedBy, failures };
}
