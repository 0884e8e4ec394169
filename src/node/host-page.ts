/**
 * The library as a stranger gets it: `npm pack` (which builds dist-lib first), the example host
 * page (examples/host-page) copied to a temporary folder outside this repository, the tarball
 * installed there from the file alone (npm --offline: the package has no dependencies), and
 * the page served by its own serve.mjs. Used by the library's browser test and the benchmark.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from './config';

export const HOST_PAGE_DIR = join(PROJECT_ROOT, 'examples', 'host-page');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The package tarball in `dir`: the one already there, or a fresh `npm pack` (prepack runs
 * npm run build:lib). Returns its path.
 */
export function packLibrary(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (existing) return join(dir, existing);
  const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', resolve(dir)], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const name = out.trim().split('\n').pop()!;
  return join(dir, name);
}

/** A fresh copy of the example host page in a temporary folder, with the tarball installed from the file alone. */
export function installHostPage(tarball: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'behavegpt-host-page-'));
  cpSync(HOST_PAGE_DIR, dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', resolve(tarball)], {
    cwd: dir,
    stdio: 'pipe',
  });
  if (!existsSync(join(dir, 'node_modules', 'behavegpt-web', 'dist-lib', 'index.js')))
    throw new Error(`${dir}: the package did not install`);
  return dir;
}

/** Serves a host page folder with its own serve.mjs on `port`; resolves once it answers. */
export async function serveHostPage(dir: string, port: number): Promise<{ url: string; close: () => void }> {
  const child = spawn(process.execPath, ['serve.mjs', String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}/`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`serve.mjs exited with code ${code}`))),
  );
  exited.catch(() => {});
  for (let i = 0; i < 100; i++) {
    const up = await Promise.race([
      fetch(url).then(
        (r) => r.ok,
        () => false,
      ),
      exited,
    ]);
    if (up) return { url, close: () => child.kill() };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${url} did not answer within 10 s`);
}

/** Removes a folder made by installHostPage. */
export function removeHostPage(dir: string): void {
  if (dir.startsWith(tmpdir())) rmSync(dir, { recursive: true, force: true });
}
