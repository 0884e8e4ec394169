/**
 * Model files a person opens: files picked or dropped (a manifest `.json` and the shard files it
 * names), or a same-origin `?model=` URL. Every model is checked before it replaces anything:
 * the manifest in full (fields, shapes, dtypes, vocabularies: parseManifest), the shards
 * against it (count, byte sizes, SHA-256: verifyShards) and the weight values (no NaN or
 * infinity). A model that fails names its file and the problem; the
 * model in use is never touched. Imported on demand (it brings TensorFlow.js with it).
 */
import { errorMessage } from '../core/errors';
import { pickedModelFiles } from '../model/pipeline';
import { checkWeightValues, parseManifest, verifyShards, type ModelManifest } from '../model/weights';

/** Model files in memory, checked: what the app stores and loads. */
export interface CheckedModel {
  /** The manifest's file name (or URL), for messages. */
  source: string;
  manifest: ModelManifest;
  manifestText: string;
  shards: ArrayBuffer[];
}

/** Checks a manifest's text and its shards (in manifest path order); throws an error naming the file and problem. */
export async function checkModelFiles(
  source: string,
  manifestText: string,
  shards: ArrayBuffer[],
): Promise<CheckedModel> {
  const manifest = parseManifest(manifestText, source);
  await verifyShards(manifest, shards);
  // Values: NaN or infinite weights are refused with the tensor named.
  checkWeightValues(manifest, shards, source);
  return { source, manifest, manifestText, shards };
}

/**
 * The models among picked or dropped files: every `.json` file is a manifest, and its shards are
 * the chosen files with the names it lists. Files of several models may be chosen at once (say,
 * a whole export folder). Returns the models that pass every check and one error per model or
 * file that does not.
 */
export async function modelsFromFiles(files: readonly File[]): Promise<{ models: CheckedModel[]; errors: string[] }> {
  const manifests = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const models: CheckedModel[] = [];
  const errors: string[] = [];
  if (manifests.length === 0) {
    const names = files.map((f) => f.name).join(', ');
    return {
      models,
      errors: [
        `${names || 'no file'}: no model manifest (.json) among the chosen files; choose a model's .json file together with its .bin shard files`,
      ],
    };
  }
  for (const file of manifests) {
    try {
      const { manifestText, shards } = await pickedModelFiles(file, files);
      models.push(await checkModelFiles(file.name, manifestText, shards));
    } catch (e) {
      errors.push(errorMessage(e));
    }
  }
  return { models, errors };
}
