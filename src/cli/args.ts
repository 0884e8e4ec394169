/** Shared command-line helpers: typed flags on top of node:util parseArgs, phases, the entry point. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_DATA_DIR, gitCommit, RECORDS_DIR } from '../node/config';
import { log } from '../node/log';
import { parseShard } from '../node/plan-runner';

type Flags<T> = { [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean | undefined : string | undefined };

/** The flags of `args`; `--help` prints the usage and exits, a bad flag prints it and exits with 2. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  options: T,
  usage: string,
  args = process.argv.slice(2),
): Flags<T> {
  try {
    const { values } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals: false,
    }) as { values: Record<string, unknown> };
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values as unknown as Flags<T>;
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

/** `--seeds N`: seeds 0 … N − 1. */
export function seedsFlag(value: string | undefined, fallback: number): number[] {
  return Array.from({ length: numberFlag(value, 'seeds', fallback) }, (_, i) => i);
}

/**
 * The phases `--phase` selects: one phase, a group of them, or `all` (every phase). Phases run
 * in the order of `phases` whatever the selection.
 */
export function selectPhases<P extends string>(
  value: string | undefined,
  phases: readonly P[],
  groups: Record<string, readonly P[]> = {},
): Set<P> {
  const name = value ?? 'all';
  if (name === 'all') return new Set(phases);
  if (name in groups) return new Set(groups[name]);
  if ((phases as readonly string[]).includes(name)) return new Set([name as P]);
  const names = ['all', ...Object.keys(groups), ...phases];
  throw new Error(`--phase: "${name}" is not one of ${names.join(', ')}`);
}

/** Runs `main` when the module at `moduleUrl` is the script Node was started with (not when a test imports it). */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  const script = process.argv[1];
  if (!script || realpathSync(script) !== realpathSync(fileURLToPath(moduleUrl))) return;
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}

/** The flags every experiment command takes (plus its own). */
export const EXPERIMENT_FLAGS = {
  phase: { type: 'string' },
  shard: { type: 'string' },
  records: { type: 'string' },
  data: { type: 'string' },
} as const;

/** What those flags set, with the defaults of src/node/config.ts: this process's shard, the records and data folders. */
export function experimentOptions(flags: { shard?: string; records?: string; data?: string }) {
  return {
    shard: parseShard(flags.shard),
    recordsDir: flags.records ?? RECORDS_DIR,
    dataDir: flags.data ?? DEFAULT_DATA_DIR,
    commit: gitCommit(),
    log,
  };
}
