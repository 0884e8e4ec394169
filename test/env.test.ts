import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openLogUrl, parseLogStream } from '../src/browser/behavior-logs';
import { dataFileUrl, env } from '../src/env';
import { fetchModelFiles } from '../src/model/pipeline';

/** A fetch that serves public/ as the site root (what `vite preview` serves there). */
function servePublic(): (url: string | URL | Request) => Promise<Response> {
  return async (input) => {
    const path = new URL(input instanceof Request ? input.url : String(input), 'http://site/').pathname;
    const file = `public${path}`;
    return existsSync(file)
      ? new Response(readFileSync(file))
      : new Response('not found', { status: 404, statusText: 'Not Found' });
  };
}

describe('browser env', () => {
  const saved = structuredClone(env);
  afterEach(() => {
    Object.assign(env, structuredClone(saved));
    vi.unstubAllGlobals();
  });

  it('points at the shipped model and the demo sequences in public/', () => {
    expect(env.modelUrl).toBe('/models/behavegpt-us/model.json');
    expect(existsSync(`public${env.modelUrl}`)).toBe(true);
    expect(existsSync(`public${env.replayUrls.demo}`)).toBe(true);
    expect(env.replayUrls.smartThings).toBe(dataFileUrl('us.csv.gz'));
    expect(dataFileUrl('sp.csv.gz')).toBe('/data/smartthings/sp.csv.gz');
  });

  it('the pipeline keeps model files in the cache env names, and in none when env says not to', async () => {
    const opened: string[] = [];
    const stored = new Map<string, Response>();
    vi.stubGlobal('caches', {
      open: async (name: string) => {
        opened.push(name);
        return {
          match: async (key: string) => stored.get(key)?.clone(),
          put: async (key: string, res: Response) => void stored.set(key, res),
          keys: async () => [...stored.keys()].map((k) => new Request(k)),
          delete: async (key: string) => stored.delete(key),
        };
      },
    });
    vi.stubGlobal('fetch', vi.fn(servePublic()));
    vi.stubGlobal('location', { href: 'http://site/' });

    env.cacheName = 'test-cache-v9';
    const first = await fetchModelFiles(env.modelUrl);
    expect(opened).toEqual(['test-cache-v9']);
    expect(first.fromCache).toBe(false);
    expect((await fetchModelFiles(env.modelUrl)).fromCache).toBe(true);

    env.useBrowserCache = false;
    const uncached = await fetchModelFiles(env.modelUrl);
    expect(opened).toHaveLength(2);
    expect(uncached.fromCache).toBe(false);
    expect(uncached.shards.map((s) => s.byteLength)).toEqual(first.shards.map((s) => s.byteLength));
    // The per-call option still wins over env.
    await fetchModelFiles(env.modelUrl, { cache: true });
    expect(opened).toEqual(['test-cache-v9', 'test-cache-v9', 'test-cache-v9']);
  });

  it('data files come through env.dataRoute, and a missing one says so', async () => {
    const csv = 'sequence_id,step,weekday,time_slot,behavior\na,0,0,1,Light:switch on\na,1,0,1,Fan:switch on\n';
    env.dataRoute = '/elsewhere/';
    const asked: string[] = [];
    const fake = async (url: string) => {
      asked.push(url);
      return url === '/elsewhere/sp.csv.gz'
        ? new Response(gzipSync(csv))
        : new Response('', { status: 404, statusText: 'Not Found' });
    };
    expect((await parseLogStream((await openLogUrl(dataFileUrl('sp.csv.gz'), fake)).body, 'sp.csv.gz')).events).toBe(2);
    await expect(openLogUrl(dataFileUrl('fr.csv.gz'), fake)).rejects.toThrow(
      '/elsewhere/fr.csv.gz: HTTP 404 Not Found (is the data folder present?)',
    );
    expect(asked).toEqual(['/elsewhere/sp.csv.gz', '/elsewhere/fr.csv.gz']);
  });
});
