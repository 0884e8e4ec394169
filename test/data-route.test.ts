import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';

/** The /data/smartthings/ route of vite.config.ts, against a scratch data folder. */
describe('SmartThings data route', () => {
  let server: ViteDevServer;
  let base: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'behavegpt-data-'));
  const bytes = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 250, 251]);

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'us.csv.gz'), bytes);
    writeFileSync(path.join(dir, 'secret.txt'), 'no');
    const previous = process.env.BEHAVEGPT_DATA;
    process.env.BEHAVEGPT_DATA = dir;
    try {
      server = await createServer({
        configFile: path.resolve('vite.config.ts'),
        logLevel: 'silent',
        server: { port: 0, host: '127.0.0.1' },
      });
    } finally {
      if (previous === undefined) delete process.env.BEHAVEGPT_DATA;
      else process.env.BEHAVEGPT_DATA = previous;
    }
    await server.listen();
    const address = server.httpServer!.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  }, 30_000);

  afterAll(async () => {
    await server?.close();
  });

  it('serves an allowed file as raw bytes', async () => {
    const res = await fetch(`${base}/data/smartthings/us.csv.gz`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it('404s allowed names missing from the folder and anything else', async () => {
    expect((await fetch(`${base}/data/smartthings/fr.csv.gz`)).status).toBe(404);
    expect((await fetch(`${base}/data/smartthings/secret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/data/smartthings/%2e%2e%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base}/data/smartthings/`)).status).toBe(404);
  });

  it('is read-only', async () => {
    const res = await fetch(`${base}/data/smartthings/us.csv.gz`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(405);
  });
});
