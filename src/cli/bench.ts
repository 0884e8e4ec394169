/**
 * Prints the performance figures and writes them to docs/bench.json. Never fails on speed:
 * each target is reported as met or missed. The measurements: src/node/bench/.
 *
 *   npm run bench               # Node (wasm, cpu) and Chromium (webgpu, wasm, webgl, cpu)
 *   npm run bench -- --node-only
 *   npm run bench -- --only finetune   # re-measure some parts, keep the other figures of the file
 *   npm run bench -- --only explain    # explanations (why and when), Node and Chromium
 *
 * Parts: size, node (latency, memory), training (Node throughput), generation (rollouts with and
 * without the key/value cache, Node and Chromium), browser (load, latency),
 * finetune (one epoch in the app's fine-tune worker per backend, Chromium), explain (influence
 * of a 32-event history and the 56-cell week, interleaved with predictions; Node and Chromium on
 * wasm), engines (the plain-JS decoder, tfjs per backend and ONNX Runtime Web on the same inputs,
 * one prediction and batches of 16 / 256 / 4,096 positions and a log, interleaved; Chromium),
 * library (the npm package: gzip bytes without and with each backend, the example host page's
 * and the app's load to first prediction cold and warm, and its top-5 against the app's on 1,000
 * test positions; src/node/bench/library.ts). A run without
 * --only writes the file afresh; with --only, figures it measures replace those with the same
 * name, backend and runtime, and every other figure is kept with its own date and commit.
 */
import { BENCH_PARTS, runBench, type BenchPart } from '../node/bench/run';
import { BENCH_JSON, DEFAULT_DATA_DIR, SHIPPED_MODEL_DIR } from '../node/config';
import { numberFlag, parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run bench -- [--node-only] [--only ${BENCH_PARTS.join(',')}] [--runs N] [--finetune-events N] [--model DIR] [--out ${BENCH_JSON}] [--port N]
  --port N   port of the preview server the browser parts start (default 4174; the library part also uses N + 1)`;
const BROWSER_PARTS: readonly BenchPart[] = ['browser', 'finetune', 'engines', 'library'];

/** The parts a run measures: those of --only, else all (without the browser ones with --node-only). */
export function benchParts(only: string | undefined, nodeOnly: boolean): Set<BenchPart> {
  if (only === undefined) return new Set(BENCH_PARTS.filter((p) => !(nodeOnly && BROWSER_PARTS.includes(p))));
  const parts = only.split(',').map((p) => p.trim());
  for (const p of parts) {
    if (!(BENCH_PARTS as readonly string[]).includes(p))
      throw new Error(`--only: unknown part "${p}" (parts: ${BENCH_PARTS.join(', ')})`);
  }
  return new Set(parts as BenchPart[]);
}

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      'node-only': { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      'finetune-events': { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      port: { type: 'string' },
    },
    USAGE,
    args,
  );
  let parts: Set<BenchPart>;
  try {
    parts = benchParts(flags.only, !!flags['node-only']);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  await runBench({
    parts,
    partial: flags.only !== undefined,
    nodeOnly: !!flags['node-only'],
    modelDir: flags.model ?? SHIPPED_MODEL_DIR,
    dataDir: DEFAULT_DATA_DIR,
    runs: numberFlag(flags.runs, 'runs', 100),
    finetuneEvents: numberFlag(flags['finetune-events'], 'finetune-events', 10_000),
    out: flags.out ?? BENCH_JSON,
    port: flags.port === undefined ? undefined : numberFlag(flags.port, 'port', 4174),
  });
}

runIfMain(import.meta.url, main);
