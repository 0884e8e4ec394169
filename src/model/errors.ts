/**
 * Typed errors of model loading, so an app can tell a bad file from a bad download from a
 * backend that cannot start (`instanceof`), and show the message as it is: each names the file
 * (and the field, tensor or shard) it is about.
 */

/** The model files are not a valid BehaveGPT model: manifest fields, shapes, dtypes, values. */
export class ModelFormatError extends Error {
  readonly file: string;
  /** The manifest field or tensor at fault, when one is. */
  readonly field: string | null;
  constructor(file: string, field: string | null, problem: string) {
    super(`${file}: ${field !== null ? `field "${field}": ` : ''}${problem}`);
    this.name = 'ModelFormatError';
    this.file = file;
    this.field = field;
  }
}

/** A weight shard is not the one the manifest describes (size or SHA-256): a bad or partial download. */
export class ModelIntegrityError extends Error {
  readonly shard: string;
  constructor(shard: string, problem: string) {
    super(`${shard}: ${problem}`);
    this.name = 'ModelIntegrityError';
    this.shard = shard;
  }
}

/** A model file could not be fetched (network, HTTP status, offline without a cached copy). */
export class ModelFetchError extends Error {
  readonly url: string;
  constructor(url: string, problem: string) {
    super(`Could not load ${url}: ${problem}`);
    this.name = 'ModelFetchError';
    this.url = url;
  }
}

/** A backend asked for by name cannot start here (or no backend can): the reason of each attempt is in the message. */
export class BackendUnavailableError extends Error {
  readonly backend: string;
  constructor(backend: string, reason: string) {
    super(
      `${backend === 'any' ? 'No TensorFlow.js backend could start' : `Requested backend ${backend} is unavailable`}: ${reason}`,
    );
    this.name = 'BackendUnavailableError';
    this.backend = backend;
  }
}
