/**
 * Prints the performance figures and writes them to docs/bench.json. Never fails on speed:
 * each target is reported as met or missed.
 *
 *   npm run bench               # Node (wasm, cpu) and Chromium (webgpu, wasm, webgl, cpu)
 *   npm run bench -- --node-only
 */
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { initNodeBackend, tf } from '../node/tf';
import { loadModelDir } from '../node/model-files';
import { DEFAULT_DATA_DIR, loadRegion } from '../node/data';
import { splitSequences } from '../core/data';
import { bucketBatches, encodeBatch, toExamples } from '../core/batch';
import { fullContextQuery, Predictor } from '../model/predictor';
import { serializeModel, weightBytes } from '../model/weights';
import { createObjective } from '../train/losses';
import { trainStep } from '../train/trainer';
import { AdamW } from '../train/optimizer';
import { gitCommit, parseFlags } from './args';

const USAGE = 'Usage: npm run bench -- [--node-only] [--runs N] [--model DIR] [--out docs/bench.json]';
const flags = parseFlags({ 'node-only': { type: 'boolean' }, runs: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } }, USAGE);
const MODEL_DIR = flags.model ?? 'public/models/behavegpt-us';
const LATENCY_RUNS = Number(flags.runs ?? 100);
const CONTEXT_EVENTS = 32;
const date = new Date().toISOString();
const commit = gitCommit();

interface Figure {
  name: string;
  backend: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  date: string;
  commit: string;
  device: string;
  target?: string;
  met?: boolean;
}
const figures: Figure[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function record(name: string, backend: string, unit: string, values: number[], device: string, target?: { text: string; ok: (median: number) => boolean }): void {
  const med = median(values);
  const f: Figure = { name, backend, unit, median: round(med), min: round(Math.min(...values)), max: round(Math.max(...values)), runs: values.length, date, commit, device };
  if (target) {
    f.target = target.text;
    f.met = target.ok(med);
  }
  figures.push(f);
  const verdict = target ? `  target ${target.text}: ${f.met ? 'met' : 'MISSED'}` : '';
  console.log(`${name.padEnd(34)} ${backend.padEnd(8)} median ${String(f.median).padStart(9)} ${unit.padEnd(8)} (min ${f.min}, max ${f.max}, n=${f.runs})${verdict}`);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const cpuName = (() => {
  try {
    return execSync("grep -m1 'model name' /proc/cpuinfo").toString().split(':')[1].trim() + `, ${execSync('nproc').toString().trim()} cores`;
  } catch {
    return 'unknown CPU';
  }
})();

// --- Model size ---------------------------------------------------------------------------
await initNodeBackend('wasm');
const loaded = loadModelDir(MODEL_DIR);
const int8Bytes = weightBytes(loaded.manifest);
const fp32 = await serializeModel({ ...loaded, name: '', training: {} }, { dtype: 'float32' });
const fp32Bytes = fp32.shards.reduce((s, b) => s + b.length, 0);
console.log(`model ${loaded.manifest.name}: ${loaded.model.parameterCount} parameters; weights int8 ${int8Bytes} B vs float32 ${fp32Bytes} B`);
record('weight bytes int8 / float32', 'n/a', 'ratio', [int8Bytes / fp32Bytes], 'file', { text: '≤ 0.30', ok: (m) => m <= 0.3 });

// --- Node latency per backend and memory ------------------------------------------------------
const names = loaded.behaviors.tokens.filter((_, i) => !loaded.behaviors.isSpecial(i));
const { history, next } = fullContextQuery(names, CONTEXT_EVENTS);
for (const backend of ['wasm', 'cpu'] as const) {
  await initNodeBackend(backend);
  const onBackend = loadModelDir(MODEL_DIR);
  const predictor = new Predictor(onBackend, { name: backend, reason: 'node', measuredMs: {} }, int8Bytes);
  for (let i = 0; i < 30; i++) await predictor.predictNext(history, next, 5);
  const times: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const t0 = performance.now();
    await predictor.predictNext(history, next, 5);
    times.push(performance.now() - t0);
  }
  record(`next-behavior latency (${CONTEXT_EVENTS} events)`, backend, 'ms', times, `Node ${process.version}, ${cpuName}`, backend === 'wasm' ? { text: '< 5 ms', ok: (m) => m < 5 } : undefined);
  if (backend === 'wasm') {
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) await predictor.predictNext(history, next, 5);
    const seconds = (performance.now() - t0) / 1000;
    const after = tf.memory().numTensors;
    console.log(`memory over 10,000 predictions (${seconds.toFixed(1)} s): tensors ${before} → ${after}, bytes ${bytesBefore} → ${tf.memory().numBytes}`);
    record('tensor count change over 10,000 predictions', backend, 'tensors', [after - before], `Node ${process.version}`, { text: '= 0', ok: (m) => m === 0 });
  }
  predictor.dispose();
}

// --- Node training throughput -------------------------------------------------------------------
await initNodeBackend('wasm');
if (existsSync(DEFAULT_DATA_DIR)) {
  const train = splitSequences(loadRegion('us').sequences, 'train');
  const model = loadModelDir(MODEL_DIR);
  const batches = bucketBatches(toExamples(train, model.model.config.contextLength), 64, () => 0.5).slice(0, 60);
  const optimizer = new AdamW(1e-4);
  const objective = createObjective({ name: 'ce' }, model.behaviors.counts, (i) => model.behaviors.isSpecial(i));
  const stepsPerSecond: number[] = [];
  const tokensPerSecond: number[] = [];
  let b = 0;
  for (let run = 0; run < 4; run++) {
    let tokens = 0;
    const t0 = performance.now();
    for (let s = 0; s < 15; s++) {
      const batch = encodeBatch(batches[b++ % batches.length], model.behaviors, model.locations);
      tokens += batch.batchSize * batch.length;
      await trainStep(model.model, [{ variables: model.model.params, optimizer }], objective, batch, s);
    }
    const seconds = (performance.now() - t0) / 1000;
    if (run > 0) {
      stepsPerSecond.push(15 / seconds);
      tokensPerSecond.push(tokens / seconds);
    }
  }
  record('training steps/s (batch 64, US train)', 'wasm', 'steps/s', stepsPerSecond, `Node ${process.version}, ${cpuName}`);
  record('training tokens/s (US train)', 'wasm', 'tokens/s', tokensPerSecond, `Node ${process.version}, ${cpuName}`);
  optimizer.dispose();
  objective.dispose();
  model.model.dispose();
} else console.log(`training throughput skipped: no data folder at ${DEFAULT_DATA_DIR}`);

// --- Browser: load time and latency per backend -------------------------------------------------
if (!flags['node-only']) {
  const { runBrowserBench } = await import('../../e2e/bench-browser');
  const browser = await runBrowserBench({ runs: LATENCY_RUNS, contextEvents: CONTEXT_EVENTS });
  const device = `Chromium ${browser.version} headless, ${cpuName}`;
  record('model load, cold (empty cache)', 'wasm', 'ms', browser.cold, device, { text: '< 1000 ms', ok: (m) => m < 1000 });
  record('model load, cached (Cache API)', 'wasm', 'ms', browser.cached, device, { text: '< 300 ms', ok: (m) => m < 300 });
  for (const [backend, r] of Object.entries(browser.latency)) {
    if ('error' in r) {
      console.log(`next-behavior latency ${backend}: unavailable (${r.error})`);
      continue;
    }
    const note = backend === 'webgpu' ? `${device}, WebGPU on SwiftShader (software adapter)` : device;
    record(`next-behavior latency (${CONTEXT_EVENTS} events)`, backend, 'ms', r.times, note, backend === 'wasm' ? { text: '< 5 ms', ok: (m) => m < 5 } : undefined);
    record('tensor count change over latency runs', backend, 'tensors', [r.tensorsAfter - r.tensorsBefore], note, { text: '= 0', ok: (m) => m === 0 });
  }
}

const out = flags.out ?? 'docs/bench.json';
mkdirSync('docs', { recursive: true });
writeFileSync(out, JSON.stringify(figures, null, 1) + '\n');
const markdown = out.replace(/\.json$/, '.md');
writeFileSync(markdown, benchMarkdown(figures));
console.log(`wrote ${figures.length} figures to ${out} and ${markdown}`);

function benchMarkdown(list: Figure[]): string {
  const rows = list.map(
    (f) => `| ${f.name} | ${f.backend} | ${f.median} ${f.unit} | ${f.min} – ${f.max} | ${f.runs} | ${f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : ''} | ${f.device} |`,
  );
  return `# Benchmarks

Generated by \`npm run bench\` on ${date.slice(0, 10)}, commit \`${commit}\`, model \`${MODEL_DIR}\`; the same figures are in
\`${out}\`. Medians of the given number of runs (latency: after warm-up, a context of ${CONTEXT_EVENTS} events); all figures of a
table were measured in the same run. WebGPU in headless Chromium here is SwiftShader, a software adapter: its figure is
not what a real GPU gives (the app skips software adapters). A missed target is shown, not hidden.

| figure | backend | median | min – max | runs | target | where |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}
