/**
 * WebGPU vs wasm in Node on this machine's GPU adapter (Dawn via the `webgpu` npm package):
 * batched scoring at growing batch sizes on tfjs (WebGPU, wasm), the plain-JS decoder and ONNX
 * Runtime Web (webgpu, wasm), the batch size from which WebGPU wins, and fine-tuning tokens/s.
 * The measurement: src/node/bench/webgpu.ts. Figures are merged into docs/bench.json / bench.md,
 * each with the adapter's name (a software adapter says so).
 *
 *   npm run bench:webgpu                                    # a machine with a GPU and its Vulkan driver
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench:webgpu   # no GPU: SwiftShader
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BENCH_JSON, DEFAULT_DATA_DIR, gitCommit, SHIPPED_MODEL_DIR } from '../node/config';
import { benchMarkdown, FigureLog, mergeFigures, WRONG_RESULTS, type Figure } from '../node/bench/figures';
import { runWebGPUBench, type WebGPUBenchResult } from '../node/bench/webgpu';
import { numberFlag, parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run bench:webgpu -- [--batches 1,16,256,1024,4096] [--runs 5] [--train-steps 10] [--model DIR] [--onnx FILE] [--out ${BENCH_JSON}] [--no-write] [--json]
  Set VK_ICD_FILENAMES to a Vulkan driver's ICD file to pick the adapter (SwiftShader: /usr/lib/chromium/vk_swiftshader_icd.json).`;

/** The result as docs/bench.json rows. */
export function webgpuFigures(r: WebGPUBenchResult, log: FigureLog): Figure[] {
  const device = `Node ${process.version} + Dawn (webgpu npm), adapter ${r.adapter.description}${r.adapter.fallback ? ' (software, not a GPU)' : ''}`;
  const load = `load average ${r.load.before.toFixed(1)} at the start, ${r.load.after.toFixed(1)} at the end, on ${r.load.cores} cores`;
  for (const [id, byBatch] of Object.entries(r.times)) {
    const [engine, backend] = id.includes(':') ? id.split(':') : ['js', 'cpu (plain JS)'];
    for (const [n, times] of Object.entries(byBatch)) {
      if (!times.length) continue;
      const difference = `max |Δp| vs plain JS ${r.differences[id].toExponential(1)}`;
      const note = `${device}, ${r.differences[id] > WRONG_RESULTS ? `WRONG RESULTS: ${difference}` : difference}`;
      log.record(
        'node webgpu: batched scoring',
        backend,
        'positions/s',
        times.map((ms) => (Number(n) * 1000) / ms),
        note,
        undefined,
        {
          engine: engine === 'ort' ? 'onnxruntime-web' : engine,
          batch: Number(n),
          load,
        },
      );
    }
  }
  for (const [engine, batch] of Object.entries(r.crossover)) {
    if (batch !== null)
      log.record('node webgpu: batch from which WebGPU beats wasm', 'webgpu', 'positions', [batch], device, undefined, {
        engine: engine === 'ort' ? 'onnxruntime-web' : 'tfjs',
        load,
      });
    else console.log(`${engine}: WebGPU did not beat wasm at any batch measured`);
  }
  for (const [backend, rates] of Object.entries(r.training))
    log.record(
      'node webgpu: fine-tuning tokens/s',
      backend,
      'tokens/s',
      rates,
      `${device}, ${r.trainingData}`,
      undefined,
      { engine: 'tfjs', load },
    );
  return log.figures;
}

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    {
      batches: { type: 'string' },
      runs: { type: 'string' },
      'train-steps': { type: 'string' },
      model: { type: 'string' },
      onnx: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
    args,
  );
  const batches = (flags.batches ?? '1,16,256,1024,4096').split(',').map((b) => numberFlag(b.trim(), 'batches', 1));
  const result = await runWebGPUBench({
    modelDir: flags.model ?? SHIPPED_MODEL_DIR,
    dataDir: DEFAULT_DATA_DIR,
    onnxPath: flags.onnx ?? 'models/behavegpt-us.onnx',
    batches,
    runs: numberFlag(flags.runs, 'runs', 5),
    trainSteps: numberFlag(flags['train-steps'], 'train-steps', 10),
    budgetMs: 60_000,
  });
  const crossover = (batch: number | null) =>
    batch === null ? 'not within the batches measured' : `from batch ${batch}`;
  console.log(
    `WebGPU beats wasm: tfjs ${crossover(result.crossover.tfjs)}; onnxruntime-web ${crossover(result.crossover.ort)}`,
  );
  if (flags.json) console.log(JSON.stringify(result));
  if (flags['no-write']) return;
  const out = flags.out ?? BENCH_JSON;
  const fresh = webgpuFigures(result, new FigureLog(new Date().toISOString(), gitCommit()));
  const earlier = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Figure[]) : [];
  const written = mergeFigures(earlier, fresh);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(written, null, 1)}\n`);
  const markdown = out.replace(/\.json$/, '.md');
  writeFileSync(markdown, benchMarkdown(written, { modelDir: SHIPPED_MODEL_DIR, json: out, contextEvents: 32 }));
  console.log(`wrote ${fresh.length} figures (${written.length} in all) to ${out} and ${markdown}`);
}

runIfMain(import.meta.url, main);
