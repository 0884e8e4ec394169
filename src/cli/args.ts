/** Shared command-line helpers: typed flags on top of node:util parseArgs. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { execSync } from 'node:child_process';

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(options: T, usage: string) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean' } }, allowPositionals: false }) as { values: Record<string, unknown> };
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values as unknown as { [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean | undefined : string | undefined };
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

export function numberFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name}: "${value}" is not a number`);
  return n;
}

export function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
