/**
 * Prints the performance figures and writes them to docs/bench.json. Never fails on speed:
 * each target is reported as met or missed.
 *
 *   npm run bench               # Node (wasm, cpu) and Chromium (webgpu, wasm, webgl, cpu)
 *   npm run bench -- --node-only
 *   npm run bench -- --only finetune   # re-measure some parts, keep the other figures of the file
 *   npm run bench -- --only explain    # explanations (why and when), Node and Chromium
 *
 * Parts: size, node (latency, memory), training (Node throughput), generation (rollouts with and
 * without the key/value cache, Node and Chromium), browser (load, latency),
 * finetune (one epoch in the app's fine-tune worker per backend, Chromium), explain (influence
 * of a 32-event history and the 56-cell week heatmap, interleaved with predictions; Node and
 * Chromium on wasm). A run without
 * --only writes the file afresh; with --only, figures it measures replace those with the same
 * name, backend and runtime, and every other figure is kept with its own date and commit.
 */
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { initNodeBackend, tf } from '../node/tf';
import { loadModelDir, SHIPPED_MODEL_DIR } from '../node/model-files';
import { DEFAULT_DATA_DIR, loadRegion } from '../node/data';
import { splitSequences } from '../core/data';
import { bucketBatches, encodeBatch, toExamples } from '../core/batch';
import { fullContextQuery, Predictor, timeExplanations, type ExplanationTimes } from '../model/predictor';
import { timeRollout } from '../model/generate';
import { serializeModel, weightBytes } from '../model/weights';
import { createObjective } from '../train/losses';
import { trainStep } from '../train/trainer';
import { AdamW } from '../train/optimizer';
import { gitCommit, parseFlags } from './args';

const USAGE = 'Usage: npm run bench -- [--node-only] [--only size,node,training,generation,browser,finetune,explain] [--runs N] [--finetune-events N] [--model DIR] [--out docs/bench.json]';
const flags = parseFlags(
  {
    'node-only': { type: 'boolean' },
    only: { type: 'string' },
    runs: { type: 'string' },
    'finetune-events': { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
  },
  USAGE,
);
const PARTS = ['size', 'node', 'training', 'generation', 'browser', 'finetune', 'explain'] as const;
type Part = (typeof PARTS)[number];
const only = flags.only?.split(',').map((p) => p.trim()) ?? null;
for (const p of only ?? []) {
  if (!(PARTS as readonly string[]).includes(p)) {
    console.error(`--only: unknown part "${p}" (parts: ${PARTS.join(', ')})\n\n${USAGE}`);
    process.exit(2);
  }
}
const BROWSER_PARTS: readonly Part[] = ['browser', 'finetune'];
/** Rollout lengths of the generation benchmark (events), with and without the key/value cache. */
const ROLLOUTS = [256, 1000];
/** Whether this run measures `part`. */
function part(p: Part): boolean {
  if (only) return only.includes(p);
  return !(flags['node-only'] && BROWSER_PARTS.includes(p));
}
/** Train events of the fine-tuning benchmark's one epoch (the issue's target: 10,000 in under 30 s on wasm). */
const FINETUNE_EVENTS = Number(flags['finetune-events'] ?? 10_000);
const MODEL_DIR = flags.model ?? SHIPPED_MODEL_DIR;
const LATENCY_RUNS = Number(flags.runs ?? 100);
const CONTEXT_EVENTS = 32;
const date = new Date().toISOString();
/** Other work on the machine slows every figure: the 1-minute load average at the start is noted with the fine-tuning figures. */
const startLoad = loadavg()[0];
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

/**
 * The explanation figures of one runtime: each call's median over interleaved runs, and the
 * ratio to a next-behavior prediction measured in the same runs. The 20 ms targets are the
 * issue's, on wasm in Chromium.
 */
function recordExplanations(backend: string, times: ExplanationTimes, device: string, withTargets: boolean): void {
  const target = withTargets ? { text: '< 20 ms', ok: (m: number) => m < 20 } : undefined;
  record(`explain: influence + attention (${CONTEXT_EVENTS} events)`, backend, 'ms', times.explain, device, target);
  record('when: 56-cell heatmap + time head + joint', backend, 'ms', times.when, device, target);
  record(`next-behavior latency, interleaved with explanations`, backend, 'ms', times.predict, device);
  record('explain / next-behavior (same runs)', backend, '×', [median(times.explain) / median(times.predict)], device);
}

/** The 1-minute load average now, with the core count: figures measured under load are noise. */
function loadNote(): string {
  return `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`;
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
if (part('size')) record('weight bytes int8 / float32', 'n/a', 'ratio', [int8Bytes / fp32Bytes], 'file', { text: '≤ 0.30', ok: (m) => m <= 0.3 });

// --- Node latency per backend and memory ------------------------------------------------------
const names = loaded.behaviors.tokens.filter((_, i) => !loaded.behaviors.isSpecial(i));
const { history, next } = fullContextQuery(names, CONTEXT_EVENTS);
for (const backend of part('node') ? (['wasm', 'cpu'] as const) : []) {
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

// --- Explanations in Node (the same plain-JS decoder the browser runs) ------------------------------
if (part('explain')) {
  await initNodeBackend('wasm');
  const onBackend = loadModelDir(MODEL_DIR);
  const predictor = new Predictor(onBackend, { name: 'wasm', reason: 'node', measuredMs: {} }, int8Bytes);
  const before = loadNote();
  const times = await timeExplanations(predictor, CONTEXT_EVENTS, LATENCY_RUNS);
  recordExplanations('wasm', times, `Node ${process.version}, ${cpuName}, ${before} at the start, ${loadNote()} at the end`, false);
  predictor.dispose();
}

// --- Generation: events/s of long rollouts, with and without the key/value cache -----------------
/** Records one backend's rollout timings (ms per rollout) as events/s, with the issue's targets. */
function recordRollouts(backend: string, rollouts: Record<string, number[]>, device: string): void {
  for (const events of ROLLOUTS) {
    for (const cache of [true, false]) {
      const times = rollouts[`${events}-${cache}`];
      if (!times?.length) continue;
      const target = backend === 'wasm' && events === 1000 && cache ? { text: '1,000 events < 1 s', ok: (m: number) => m > 1000 } : undefined;
      record(`generation ${events} events, ${cache ? 'cached' : 'recompute'}`, backend, 'events/s', times.map((ms) => (events * 1000) / ms), device, target);
    }
    const cached = rollouts[`${events}-true`];
    const recompute = rollouts[`${events}-false`];
    if (cached?.length && recompute?.length) {
      const ratio = median(recompute) / median(cached);
      record(`generation ${events} events, cached speed-up`, backend, '×', [ratio], device, events === 256 ? { text: '≥ 5×', ok: (m) => m >= 5 } : undefined);
    }
  }
}

for (const backend of part('generation') ? (['wasm', 'cpu'] as const) : []) {
  await initNodeBackend(backend);
  const onBackend = loadModelDir(MODEL_DIR);
  if (!onBackend.model.config.timeHead) {
    console.log('generation skipped: the model has no time head');
    onBackend.model.dispose();
    break;
  }
  const prefix = fullContextQuery(names, 8).history;
  await timeRollout(onBackend, prefix, 32, true, 99); // warm-up
  const rollouts: Record<string, number[]> = {};
  for (const events of ROLLOUTS)
    for (const cache of [true, false]) {
      // The plain-JS cpu backend recomputing 1,000 windows takes minutes: one run there.
      const repetitions = backend === 'cpu' && !cache ? 1 : 3;
      rollouts[`${events}-${cache}`] = [];
      for (let r = 0; r < repetitions; r++) rollouts[`${events}-${cache}`].push(await timeRollout(onBackend, prefix, events, cache, r));
    }
  recordRollouts(backend, rollouts, `Node ${process.version}, ${cpuName}`);
  onBackend.model.dispose();
}

// --- Node training throughput -------------------------------------------------------------------
await initNodeBackend('wasm');
if (part('training') && existsSync(DEFAULT_DATA_DIR)) {
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
} else if (part('training')) console.log(`training throughput skipped: no data folder at ${DEFAULT_DATA_DIR}`);

// --- Browser: load time and latency per backend; fine-tuning throughput in the worker -------------
const browserExplain = part('explain') && !flags['node-only'];
if (part('browser') || part('finetune') || (part('generation') && !flags['node-only']) || browserExplain) {
  const { runBrowserBench } = await import('../../e2e/bench-browser');
  const browser = await runBrowserBench({
    runs: LATENCY_RUNS,
    contextEvents: CONTEXT_EVENTS,
    latency: part('browser'),
    generation: part('generation') && !flags['node-only'] ? ROLLOUTS : undefined,
    explain: browserExplain ? { runs: LATENCY_RUNS } : undefined,
    // Software WebGPU (SwiftShader) and the plain-JS cpu backend are slow: fewer, capped runs.
    finetune: part('finetune')
      ? { trainEvents: FINETUNE_EVENTS, repetitions: { wasm: 5, cpu: 3, webgl: 3, webgpu: 1 }, maxSeconds: { wasm: 300, cpu: 120, webgl: 120, webgpu: 60 } }
      : undefined,
  });
  const device = `Chromium ${browser.version} headless, ${cpuName}`;
  if (browser.explain) {
    if ('error' in browser.explain) console.log(`explanations in Chromium: unavailable (${browser.explain.error})`);
    else recordExplanations(browser.explain.backend, browser.explain.times, `${device}, ${browser.explain.loadBefore} at the start, ${loadNote()} at the end`, browser.explain.backend === 'wasm');
  }
  if (part('browser')) {
    record('model load, cold (empty cache)', 'wasm', 'ms', browser.cold, device, { text: '< 1000 ms', ok: (m) => m < 1000 });
    record('model load, cached (Cache API)', 'wasm', 'ms', browser.cached, device, { text: '< 300 ms', ok: (m) => m < 300 });
  }
  for (const [backend, r] of Object.entries(browser.latency)) {
    if ('error' in r) {
      console.log(`next-behavior latency ${backend}: unavailable (${r.error})`);
      continue;
    }
    const note = backend === 'webgpu' ? `${device}, WebGPU on SwiftShader (software adapter)` : device;
    record(`next-behavior latency (${CONTEXT_EVENTS} events)`, backend, 'ms', r.times, note, backend === 'wasm' ? { text: '< 5 ms', ok: (m) => m < 5 } : undefined);
    record('tensor count change over latency runs', backend, 'tensors', [r.tensorsAfter - r.tensorsBefore], note, { text: '= 0', ok: (m) => m === 0 });
  }
  for (const [backend, r] of Object.entries(browser.generation)) {
    if ('error' in r) {
      console.log(`generation ${backend}: unavailable (${r.error})`);
      continue;
    }
    recordRollouts(backend, r.rollouts, backend === 'webgpu' ? `${device}, WebGPU on SwiftShader (software adapter)` : device);
  }
  for (const [backend, r] of Object.entries(browser.finetune)) {
    if ('error' in r) {
      console.log(`fine-tuning throughput ${backend}: unavailable (${r.error})`);
      continue;
    }
    const runs = r.runs;
    const first = runs[0];
    const capped = runs.filter((x) => x.capped);
    const parts = [
      device,
      backend === 'webgpu' ? 'WebGPU on SwiftShader (software adapter)' : null,
      `app's fine-tune worker, ${first.data}, ${first.trainEvents.toLocaleString('en-US')} train events (${first.trainSequences} sequences), ${first.totalSteps} steps of batch 32`,
      capped.length
        ? `capped run${capped.length > 1 ? 's' : ''}: stopped after ${capped.map((x) => `${x.steps} of ${x.totalSteps} steps (${x.seconds.toFixed(0)} s)`).join(', ')}, epoch time extrapolated`
        : null,
      first.backend !== backend ? `ran on ${first.backend}` : null,
    ];
    parts.push(`load average ${startLoad.toFixed(1)} on ${cpus().length} cores when the benchmark started`);
    const note = parts.filter(Boolean).join(', ');
    record('fine-tuning throughput (worker, 1 epoch)', backend, 'events/s', runs.map((x) => x.eventsPerSecond), note);
    record(
      'fine-tuning time per 10,000-event epoch (worker)',
      backend,
      's',
      runs.map((x) => 10_000 / x.eventsPerSecond),
      note,
      backend === 'wasm' ? { text: '< 30 s', ok: (m) => m < 30 } : undefined,
    );
  }
}

const out = flags.out ?? 'docs/bench.json';
mkdirSync('docs', { recursive: true });
const written = only ? mergeFigures(existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Figure[]) : [], figures) : figures;
writeFileSync(out, JSON.stringify(written, null, 1) + '\n');
const markdown = out.replace(/\.json$/, '.md');
writeFileSync(markdown, benchMarkdown(written));
console.log(`wrote ${figures.length} figures${only ? ` (merged: ${written.length} in all)` : ''} to ${out} and ${markdown}`);

/** Where a figure was measured: Node, Chromium or the file. */
function runtime(f: Figure): string {
  return f.device.split(' ')[0];
}

/** The earlier figures, each replaced in place by this run's figure of the same name, backend and runtime; new ones appended. */
function mergeFigures(earlier: Figure[], fresh: Figure[]): Figure[] {
  const key = (f: Figure) => `${f.name}|${f.backend}|${runtime(f)}`;
  const byKey = new Map(fresh.map((f) => [key(f), f]));
  const merged = earlier.map((f) => byKey.get(key(f)) ?? f);
  const present = new Set(merged.map(key));
  return [...merged, ...fresh.filter((f) => !present.has(key(f)))];
}

function benchMarkdown(list: Figure[]): string {
  const rows = list.map(
    (f) =>
      `| ${f.name} | ${f.backend} | ${f.median} ${f.unit} | ${f.min} – ${f.max} | ${f.runs} | ${f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : ''} | ${f.device} | ${f.date.slice(0, 10)} \`${f.commit}\` |`,
  );
  const runs = new Set(list.map((f) => `${f.date}|${f.commit}`)).size;
  return `# Benchmarks

Generated by \`npm run bench\`, model \`${MODEL_DIR}\`; the same figures are in \`${out}\`. Medians of the given number of runs
(latency: after warm-up, a context of ${CONTEXT_EVENTS} events). ${
    runs === 1
      ? 'All figures were measured in the same run.'
      : `The figures come from ${runs} runs (\`npm run bench -- --only PART\` re-measures a part and keeps the rest): each row gives its date and commit.`
  } WebGPU in headless Chromium here is SwiftShader, a software adapter: its figure is not what a real GPU gives (the app
skips software adapters). Fine-tuning figures: one epoch of the Fine-tune tab's own worker (the same module and request
builder, default settings: DRO, all parameters, batch 32) on a forced backend, timed from the worker's step progress
(training steps only, no evaluation); events/s counts the events of the train part. A missed target is shown, not hidden.

| figure | backend | median | min – max | runs | target | where | measured |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}
