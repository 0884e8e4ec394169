/**
 * Fetching model files, transactionally: nothing enters the Cache API before it has been checked,
 * and a cached model is replaced only by a complete, verified one.
 *
 *   1. model.json from the network (revalidated), checked in full (validateManifest);
 *   2. every shard from the cache (verified again: a damaged entry is deleted and fetched anew)
 *      or the network, its size and SHA-256 checked against the manifest (verifyShards), then
 *      the values (no NaN or infinity);
 *   3. only then the cache is written: shards first, then the manifest, then the shards of other
 *      versions of these files are deleted.
 *
 * When the server's files fail (offline, an HTTP error, a corrupt or truncated file) and the
 * cache holds a complete model for that URL, that model is used and `fallbackReason` says why;
 * otherwise the typed error of the server's files is thrown (errors.ts). Shards are cached under
 * their content hash, so a new model never reuses an old shard and an unchanged one is not
 * fetched again.
 */
import { env } from '../env';
import { ModelFetchError, ModelIntegrityError } from './errors';
import type { LoadProgress, ModelFiles } from './pipeline-types';
import {
  checkWeightValues,
  parseManifest,
  shardPaths,
  verifyShard,
  verifyShards,
  weightBytes,
  type ModelManifest,
} from './weights';

export interface FetchedModel extends ModelFiles {
  manifest: ModelManifest;
  /** Every shard came from the Cache API (and with `fallbackReason`, the manifest too). */
  fromCache: boolean;
  /** Why the copy kept in this browser was used instead of the server's files; null when the server's were used. */
  fallbackReason: string | null;
}

export interface FetchModelOptions {
  /** Use the Cache API (default: env.useBrowserCache, where the Cache API exists). */
  cache?: boolean;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

async function openCache(enabled: boolean): Promise<Cache | null> {
  if (!enabled || typeof caches === 'undefined') return null;
  try {
    return await caches.open(env.cacheName);
  } catch {
    return null; // e.g. an insecure context: load from the network every time.
  }
}

/** A response body read with progress, refused as soon as it holds more than `maxBytes`. */
async function readBody(
  response: Response,
  maxBytes: number,
  name: string,
  onBytes: (n: number) => void,
): Promise<ArrayBuffer> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes && !response.headers.get('content-encoding')) {
    throw new ModelIntegrityError(
      name,
      `the server sends ${declared} bytes, the manifest says ${maxBytes} (a different file)`,
    );
  }
  if (!response.body) {
    const buf = await response.arrayBuffer();
    onBytes(buf.byteLength);
    return buf;
  }
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ModelIntegrityError(name, `more than the ${maxBytes} bytes the manifest says (a different file)`);
    }
    parts.push(value);
    onBytes(value.length);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.buffer;
}

/** Text of a hash that names a manifest without shard hashes (files written before they existed). */
async function textDigest(text: string): Promise<string> {
  if (!globalThis.crypto?.subtle) return String(text.length);
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Cache keys of a model's shards: the shard URL with its SHA-256 (content-addressed), or for
 * files without hashes, with a digest of the manifest text that lists them.
 */
async function shardKeys(
  manifest: ModelManifest,
  manifestText: string,
  manifestUrl: string,
): Promise<{ url: string; key: string; bytes: number | null }[]> {
  const hashes = manifest.weightsManifest.flatMap((g) => g.sha256 ?? g.paths.map(() => null));
  const sizes = manifest.weightsManifest.flatMap((g) => g.byteLengths ?? g.paths.map(() => null));
  const version = hashes.every((h) => h !== null) ? null : await textDigest(manifestText);
  return shardPaths(manifest).map((path, i) => {
    const url = new URL(path, manifestUrl).href;
    return { url, key: hashes[i] !== null ? `${url}?sha256=${hashes[i]}` : `${url}?v=${version}`, bytes: sizes[i] };
  });
}

/** Checks shards against the manifest: sizes, SHA-256, then values (what modelFromArtifacts would refuse). */
async function verifyModel(manifest: ModelManifest, shards: ArrayBuffer[], file: string): Promise<void> {
  await verifyShards(manifest, shards);
  checkWeightValues(manifest, shards, file);
}

function abortIfAsked(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/** Is this the abort of our own signal (rethrown as it is, never turned into a fallback)? */
function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (e === signal.reason || (e instanceof DOMException && e.name === 'AbortError'));
}

export async function fetchModelFiles(modelUrl: string, options: FetchModelOptions = {}): Promise<FetchedModel> {
  const { onProgress = () => {}, signal } = options;
  const cache = await openCache(options.cache ?? env.useBrowserCache);
  const manifestUrl = new URL(modelUrl, globalThis.location?.href).href;
  try {
    return await fromServer(modelUrl, manifestUrl, cache, onProgress, signal);
  } catch (serverError) {
    if (isAbort(serverError, signal) || !cache) throw serverError;
    const kept = await fromCacheOnly(modelUrl, manifestUrl, cache, onProgress, signal).catch((e: unknown) => {
      if (isAbort(e, signal)) throw e;
      return null;
    });
    if (!kept) throw serverError;
    return { ...kept, fallbackReason: (serverError as Error).message };
  }
}

/** The server's model (its shards from the cache where they match), committed to the cache once verified. */
async function fromServer(
  modelUrl: string,
  manifestUrl: string,
  cache: Cache | null,
  onProgress: (p: LoadProgress) => void,
  signal: AbortSignal | undefined,
): Promise<FetchedModel> {
  let response: Response;
  try {
    response = await fetch(manifestUrl, { cache: 'no-cache', signal });
  } catch (e) {
    if (isAbort(e, signal)) throw e;
    throw new ModelFetchError(modelUrl, `${(e as Error).message} (offline?)`);
  }
  if (!response.ok)
    throw new ModelFetchError(
      modelUrl,
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    );
  const manifestText = await response.text();
  const manifest = parseManifest(manifestText, modelUrl);
  const keys = await shardKeys(manifest, manifestText, manifestUrl);
  const total = weightBytes(manifest);
  let loaded = 0;
  let fromCache = true;
  const shards: ArrayBuffer[] = [];
  const fresh: boolean[] = [];
  for (const [i, { url, key, bytes }] of keys.entries()) {
    abortIfAsked(signal);
    const name = shardPaths(manifest)[i];
    const cached = await cache?.match(key);
    if (cached) {
      const buf = await cached.arrayBuffer();
      // A cached shard is trusted only if it still matches; a damaged one is dropped and fetched again.
      if (await shardMatches(manifest, i, buf)) {
        loaded += buf.byteLength;
        shards.push(buf);
        fresh.push(false);
        onProgress({ stage: 'download', loaded, total, message: 'weights from cache', fromCache: true });
        continue;
      }
      await cache!.delete(key);
    }
    fromCache = false;
    const before = loaded;
    const download = async (mode: RequestCache): Promise<ArrayBuffer> => {
      loaded = before;
      let res: Response;
      try {
        res = await fetch(url, { cache: mode, signal });
      } catch (e) {
        if (isAbort(e, signal)) throw e;
        throw new ModelFetchError(url, `${(e as Error).message} (offline?)`);
      }
      if (!res.ok) throw new ModelFetchError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      const buf = await readBody(res, bytes ?? total, name, (n) => {
        loaded += n;
        onProgress({ stage: 'download', loaded, total, message: 'downloading weights', fromCache: false });
      });
      await verifyShard(manifest, i, buf);
      return buf;
    };
    let buf: ArrayBuffer;
    try {
      buf = await download('default');
    } catch (e) {
      // A bad copy in the HTTP cache must not outlive a fixed server: ask the server itself once.
      if (!(e instanceof ModelIntegrityError)) throw e;
      buf = await download('reload');
    }
    shards.push(buf);
    fresh.push(true);
  }
  await verifyModel(manifest, shards, modelUrl);
  if (cache) await commit(cache, manifestUrl, manifestText, keys, shards, fresh);
  return { manifestText, manifest, shards, fromCache, fallbackReason: null };
}

/** Whether shard `i` has the size and hash the manifest gives it. */
async function shardMatches(manifest: ModelManifest, i: number, buf: ArrayBuffer): Promise<boolean> {
  try {
    await verifyShard(manifest, i, buf);
    return true;
  } catch (e) {
    if (e instanceof ModelIntegrityError) return false;
    throw e;
  }
}

/**
 * Writes a verified model: new shards, then the manifest, then removes the shards of the version
 * it replaces and any other cached version of these shard files.
 */
async function commit(
  cache: Cache,
  manifestUrl: string,
  manifestText: string,
  keys: { url: string; key: string }[],
  shards: ArrayBuffer[],
  fresh: boolean[],
): Promise<void> {
  try {
    for (const [i, { key }] of keys.entries()) {
      if (fresh[i])
        await cache.put(key, new Response(shards[i], { headers: { 'content-type': 'application/octet-stream' } }));
    }
    const replaced = await (await cache.match(manifestUrl))?.text();
    if (replaced === manifestText) return;
    await cache.put(manifestUrl, new Response(manifestText, { headers: { 'content-type': 'application/json' } }));
    const current = new Set(keys.map((k) => k.key));
    const stale = new Set<string>();
    if (replaced !== undefined) {
      try {
        for (const { key } of await shardKeys(parseManifest(replaced, manifestUrl), replaced, manifestUrl))
          stale.add(key);
      } catch {
        // The replaced manifest was unreadable: only the sweep below applies.
      }
    }
    const urls = new Set(keys.map((k) => k.url));
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      url.search = '';
      if (urls.has(url.href)) stale.add(request.url);
    }
    for (const key of stale) if (!current.has(key)) await cache.delete(key);
  } catch {
    // A full or unavailable cache costs the next load a download, nothing else: the model in memory is complete.
  }
}

/** The model kept in the cache for this URL, verified like a download; throws when there is none or it is damaged. */
async function fromCacheOnly(
  modelUrl: string,
  manifestUrl: string,
  cache: Cache,
  onProgress: (p: LoadProgress) => void,
  signal: AbortSignal | undefined,
): Promise<Omit<FetchedModel, 'fallbackReason'>> {
  const kept = await cache.match(manifestUrl);
  if (!kept) throw new ModelFetchError(modelUrl, 'no copy in this browser');
  const manifestText = await kept.text();
  const manifest = parseManifest(manifestText, modelUrl);
  const keys = await shardKeys(manifest, manifestText, manifestUrl);
  const total = weightBytes(manifest);
  const shards: ArrayBuffer[] = [];
  let loaded = 0;
  for (const { key } of keys) {
    abortIfAsked(signal);
    const hit = await cache.match(key);
    if (!hit) throw new ModelIntegrityError(key, 'missing from the cache');
    const buf = await hit.arrayBuffer();
    shards.push(buf);
    loaded += buf.byteLength;
    onProgress({ stage: 'download', loaded, total, message: 'weights from cache', fromCache: true });
  }
  try {
    await verifyModel(manifest, shards, modelUrl);
  } catch (e) {
    // A damaged copy is removed, so that the next complete download replaces it cleanly.
    await cache.delete(manifestUrl).catch(() => false);
    throw e;
  }
  return { manifestText, manifest, shards, fromCache: true };
}
