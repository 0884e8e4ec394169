/**
 * Transactional model loading (src/model/fetch-model.ts) against a fake server and an in-memory
 * Cache API: nothing unverified is cached, a cached model is replaced only by a complete,
 * verified one, and a failed load falls back to the kept copy with the reason.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { env } from '../src/env';
import { ModelFetchError, ModelFormatError, ModelIntegrityError } from '../src/model/errors';
import { fetchModelFiles } from '../src/model/fetch-model';

const DIR = 'public/models/behavegpt-us';
const MODEL = 'http://site/models/behavegpt-us/model.json';
const SHARD = 'http://site/models/behavegpt-us/weights-shard1of1.bin';
const GOOD_MANIFEST = readFileSync(`${DIR}/model.json`, 'utf8');
const GOOD_SHARD = new Uint8Array(readFileSync(`${DIR}/weights-shard1of1.bin`));

/** The Cache API's part the pipeline uses, in memory; keys compared as URLs, like the real one. */
class MemoryCache {
  readonly entries = new Map<string, { body: ArrayBuffer; type: string }>();
  failPuts = false;
  private static key(k: RequestInfo | URL): string {
    return k instanceof Request ? k.url : new URL(String(k)).href;
  }
  async match(k: RequestInfo | URL): Promise<Response | undefined> {
    const e = this.entries.get(MemoryCache.key(k));
    return e && new Response(e.body.slice(0), { headers: { 'content-type': e.type } });
  }
  async put(k: RequestInfo | URL, res: Response): Promise<void> {
    if (this.failPuts) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.entries.set(MemoryCache.key(k), {
      body: await res.arrayBuffer(),
      type: res.headers.get('content-type') ?? '',
    });
  }
  async delete(k: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(MemoryCache.key(k));
  }
  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((k) => new Request(k));
  }
  text(url: string): string | null {
    const e = this.entries.get(url);
    return e ? new TextDecoder().decode(e.body) : null;
  }
  shardKeys(): string[] {
    return [...this.entries.keys()].filter((k) => k.startsWith(SHARD));
  }
}

/** A server whose files a test changes; `offline` makes every request fail like a dropped network. */
interface FakeServer {
  files: Map<string, Uint8Array | string>;
  offline: boolean;
  requests: string[];
}

let cache: MemoryCache;
let server: FakeServer;

function goodFiles(): Map<string, Uint8Array | string> {
  return new Map<string, Uint8Array | string>([
    [MODEL, GOOD_MANIFEST],
    [SHARD, GOOD_SHARD],
  ]);
}

beforeEach(() => {
  cache = new MemoryCache();
  server = { files: goodFiles(), offline: false, requests: [] };
  vi.stubGlobal('caches', { open: async () => cache });
  vi.stubGlobal('location', { href: 'http://site/' });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL) => {
      const url = input instanceof Request ? input.url : new URL(String(input)).href;
      server.requests.push(url);
      if (server.offline) throw new TypeError('Failed to fetch');
      const body = server.files.get(url);
      return body === undefined
        ? new Response('not found', { status: 404, statusText: 'Not Found' })
        : new Response(body as BodyInit);
    }),
  );
});
afterEach(() => vi.unstubAllGlobals());

const truncated = () => GOOD_SHARD.slice(0, 20_000);
const extended = () => Uint8Array.from([...GOOD_SHARD, 0]);
const flipped = () => {
  const b = GOOD_SHARD.slice();
  for (let i = 0; i < b.length; i += 20) b[i] ^= 0x55; // 5 % of the bytes
  return b;
};
const manifestWith = (edit: (m: any) => void) => {
  const m = JSON.parse(GOOD_MANIFEST);
  edit(m);
  return JSON.stringify(m);
};
const badShape = () =>
  manifestWith((m) => (m.weightsManifest[0].weights.find((w: any) => w.name === 'embed.behavior').shape = [24, 126]));

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected the load to fail');
    },
    (e: Error) => e,
  );
}

describe('fetchModelFiles: transactional loading and cache', () => {
  it('caches a verified model (shards by content hash) and reloads it from the cache', async () => {
    const first = await fetchModelFiles('/models/behavegpt-us/model.json');
    expect(first.fromCache).toBe(false);
    expect(first.fallbackReason).toBeNull();
    const hash = JSON.parse(GOOD_MANIFEST).weightsManifest[0].sha256[0];
    expect(cache.shardKeys()).toEqual([`${SHARD}?sha256=${hash}`]);
    expect(cache.text(MODEL)).toBe(GOOD_MANIFEST);
    server.requests.length = 0;
    const second = await fetchModelFiles('/models/behavegpt-us/model.json');
    expect(second.fromCache).toBe(true);
    expect(server.requests).toEqual([MODEL]); // the manifest is revalidated, the shard is not fetched
  });

  for (const [kind, bytes] of [
    ['truncated', truncated],
    ['extended', extended],
    ['empty', () => new Uint8Array(0)],
    ['bit-flipped', flipped],
  ] as const) {
    it(`a ${kind} shard on a first visit is refused, nothing is cached, and the good file then loads`, async () => {
      server.files.set(SHARD, bytes());
      const error = await failure(fetchModelFiles(MODEL));
      expect(error).toBeInstanceOf(ModelIntegrityError);
      expect(error.message).toMatch(/^weights-shard1of1\.bin: /);
      expect(cache.entries.size).toBe(0);
      // Retried once bypassing the HTTP cache, in case only a stale copy there was bad.
      expect(server.requests.filter((u) => u === SHARD)).toHaveLength(2);

      server.files = goodFiles();
      const good = await fetchModelFiles(MODEL);
      expect(good.fallbackReason).toBeNull();
      expect(new Uint8Array(good.shards[0])).toEqual(GOOD_SHARD);
    });
  }

  it('a corrupt model.json never replaces the cached model: the kept copy is used with the reason, and works offline after', async () => {
    await fetchModelFiles(MODEL);
    server.files.set(MODEL, badShape());
    const kept = await fetchModelFiles(MODEL);
    expect(kept.fromCache).toBe(true);
    expect(kept.fallbackReason).toContain('field "weight "embed.behavior"": shape [24,126]');
    expect(cache.text(MODEL)).toBe(GOOD_MANIFEST);
    expect(cache.shardKeys()).toHaveLength(1);

    server.offline = true;
    const offline = await fetchModelFiles(MODEL);
    expect(offline.fallbackReason).toMatch(/Could not load .*model\.json: Failed to fetch \(offline\?\)/);
    expect(new Uint8Array(offline.shards[0])).toEqual(GOOD_SHARD);
  });

  it('a new version whose shard is bad leaves the cached model in use, and the cache untouched', async () => {
    await fetchModelFiles(MODEL);
    const before = [...cache.entries.keys()].sort();
    const v2 = 'http://site/models/behavegpt-us/weights-v2.bin';
    server.files.set(
      MODEL,
      manifestWith((m) => {
        m.name = 'v2';
        m.weightsManifest[0].paths = ['weights-v2.bin'];
      }),
    );
    server.files.set(v2, truncated());
    const kept = await fetchModelFiles(MODEL);
    expect(kept.fallbackReason).toContain('weights-v2.bin: 20000 bytes, the manifest says 36666');
    expect(JSON.parse(kept.manifestText).name).not.toBe('v2');
    expect([...cache.entries.keys()].sort()).toEqual(before);

    // The fixed v2 replaces v1 completely: its shard, its manifest, and v1's shard removed.
    server.files.set(v2, GOOD_SHARD);
    const updated = await fetchModelFiles(MODEL);
    expect(updated.fallbackReason).toBeNull();
    expect(JSON.parse(cache.text(MODEL)!).name).toBe('v2');
    expect(cache.shardKeys()).toEqual([]);
    expect([...cache.entries.keys()].filter((k) => k.startsWith(v2))).toHaveLength(1);
  });

  it('a damaged cached shard is deleted and fetched again', async () => {
    await fetchModelFiles(MODEL);
    const [key] = cache.shardKeys();
    cache.entries.set(key, { body: truncated().buffer as ArrayBuffer, type: '' });
    const again = await fetchModelFiles(MODEL);
    expect(again.fromCache).toBe(false);
    expect(new Uint8Array(again.shards[0])).toEqual(GOOD_SHARD);
    expect(new Uint8Array(await (await cache.match(key))!.arrayBuffer())).toEqual(GOOD_SHARD);
  });

  it('offline with nothing cached: a ModelFetchError naming the URL', async () => {
    server.offline = true;
    const error = await failure(fetchModelFiles(MODEL));
    expect(error).toBeInstanceOf(ModelFetchError);
    expect(error.message).toBe(`Could not load ${MODEL}: Failed to fetch (offline?)`);
  });

  it('a cross-origin shard path is refused before anything is fetched', async () => {
    server.files.set(
      MODEL,
      manifestWith((m) => (m.weightsManifest[0].paths = ['https://evil.example/w.bin'])),
    );
    const error = await failure(fetchModelFiles(MODEL));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.message).toContain('is not a path relative to the manifest');
    expect(server.requests).toEqual([MODEL]);
  });

  it('NaN weights are refused before they are cached', async () => {
    const m = JSON.parse(GOOD_MANIFEST);
    const entries = m.weightsManifest[0].weights as { name: string; shape: number[]; quantization?: unknown }[];
    const target = entries.findIndex((w) => w.name === 'head.out.w:rowScale');
    const offset = entries
      .slice(0, target)
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4), 0);
    const shard = GOOD_SHARD.slice();
    new DataView(shard.buffer).setFloat32(offset, Number.NaN, true);
    const { createHash } = await import('node:crypto');
    m.weightsManifest[0].sha256 = [createHash('sha256').update(shard).digest('hex')];
    server.files.set(MODEL, JSON.stringify(m));
    server.files.set(SHARD, shard);
    const error = await failure(fetchModelFiles(MODEL));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.message).toContain('field "weight "head.out.w:rowScale"": value 0 is NaN');
    expect(cache.entries.size).toBe(0);
  });

  it('a full cache costs only the caching: the verified model is still returned', async () => {
    cache.failPuts = true;
    const files = await fetchModelFiles(MODEL);
    expect(files.fallbackReason).toBeNull();
    expect(cache.entries.size).toBe(0);
  });

  it("an abort stops the load with the signal's reason, and is never turned into a fallback", async () => {
    await fetchModelFiles(MODEL);
    const controller = new AbortController();
    controller.abort(new DOMException('stop', 'AbortError'));
    const error = await failure(fetchModelFiles(MODEL, { signal: controller.signal }));
    expect(error.name).toBe('AbortError');
  });

  it('does not use the cache when told not to (env or option)', async () => {
    env.useBrowserCache = false;
    try {
      await fetchModelFiles(MODEL);
      expect(cache.entries.size).toBe(0);
      await fetchModelFiles(MODEL, { cache: true });
      expect(cache.entries.size).toBe(2);
    } finally {
      env.useBrowserCache = true;
    }
  });
});
