/**
 * Benchmark figures: a median of runs with its range, where and when it was measured, and the
 * target it is checked against (met or missed, never a failure). Pure: docs/bench.json rows,
 * merging a partial run into the file, and docs/bench.md.
 */

export interface Figure {
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
  /** What computed it: 'tfjs', 'js' (the plain-JS decoder) or 'onnxruntime-web'; absent in rows written before engines were compared. */
  engine?: string;
  /** Positions per call, for batched figures. */
  batch?: number;
  /** 99th percentile, for figures of at least 100 runs. */
  p99?: number;
  /** Median time over the best engine's median time on the same input, in the same run (1 = the best). */
  ratio?: number;
  /** The machine's load average while it was measured (other work on 2 cores slows every figure). */
  load?: string;
}

/** Optional fields of a figure. */
export type FigureExtra = Partial<Pick<Figure, 'engine' | 'batch' | 'ratio' | 'load'>>;

/** A target a median is checked against. */
export interface Target {
  text: string;
  ok: (median: number) => boolean;
}

/** The q-quantile (nearest rank). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The figures of one benchmark run (one date and commit), printed as they are recorded. */
export class FigureLog {
  readonly figures: Figure[] = [];
  constructor(
    private readonly date: string,
    private readonly commit: string,
    private readonly print: (line: string) => void = console.log,
  ) {}

  record(
    name: string,
    backend: string,
    unit: string,
    values: readonly number[],
    device: string,
    target?: Target,
    extra: FigureExtra = {},
  ): Figure {
    const med = median(values);
    const f: Figure = {
      ...(extra.engine !== undefined && { engine: extra.engine }),
      ...(extra.batch !== undefined && { batch: extra.batch }),
      name,
      backend,
      unit,
      median: round3(med),
      min: round3(Math.min(...values)),
      max: round3(Math.max(...values)),
      runs: values.length,
      date: this.date,
      commit: this.commit,
      device,
    };
    if (values.length >= 100) f.p99 = round3(quantile(values, 0.99));
    if (extra.ratio !== undefined) f.ratio = round3(extra.ratio);
    if (extra.load !== undefined) f.load = extra.load;
    if (target) {
      f.target = target.text;
      f.met = target.ok(med);
    }
    this.figures.push(f);
    const verdict = target ? `  target ${target.text}: ${f.met ? 'met' : 'MISSED'}` : '';
    const range = `(min ${f.min}, max ${f.max}, n=${f.runs})`;
    const label = [extra.engine, backend, extra.batch !== undefined ? `batch ${extra.batch}` : '']
      .filter(Boolean)
      .join(' ');
    this.print(
      `${name.padEnd(34)} ${label.padEnd(8)} median ${String(f.median).padStart(9)} ${unit.padEnd(8)} ${range}${verdict}`,
    );
    return f;
  }
}

/** Where a figure was measured: Node, Chromium or the file. */
function runtime(f: Figure): string {
  return f.device.split(' ')[0];
}

/** The earlier figures, each replaced in place by this run's figure of the same name, backend and runtime; new ones appended. */
export function mergeFigures(earlier: readonly Figure[], fresh: readonly Figure[]): Figure[] {
  const key = (f: Figure) => `${f.name}|${f.engine ?? ''}|${f.backend}|${f.batch ?? ''}|${runtime(f)}`;
  const byKey = new Map(fresh.map((f) => [key(f), f]));
  const merged = earlier.map((f) => byKey.get(key(f)) ?? f);
  const present = new Set(merged.map(key));
  return [...merged, ...fresh.filter((f) => !present.has(key(f)))];
}

/** An engine whose probabilities are further than this from the plain-JS decoder's returns wrong results: timed, never ranked. */
export const WRONG_RESULTS = 1e-4;

/** Names of the engine-comparison figures (node/bench/run.ts records them; bench.md tabulates them apart). */
export const ENGINE_FIGURES = {
  latency: 'engines: one prediction (32 events)',
  throughput: 'engines: batched scoring',
  log: 'engines: scoring a log, every position',
} as const;

const isEngineFigure = (f: Figure) => (Object.values(ENGINE_FIGURES) as string[]).includes(f.name);

/** The engine comparison as a table: per input, every engine × backend with its ratio to the best. */
function enginesTable(list: readonly Figure[]): string {
  const rows = list.filter(isEngineFigure);
  if (rows.length === 0) return '';
  const lines = rows.map((f) => {
    const latency = f.unit === 'ms';
    const input =
      f.name === ENGINE_FIGURES.latency
        ? 'one prediction'
        : f.name === ENGINE_FIGURES.log
          ? `log, ${f.batch} positions`
          : `${f.batch} positions`;
    const value = latency
      ? `p50 ${f.median} ms, p99 ${f.p99 ?? '–'} ms`
      : `${Math.round(f.median).toLocaleString('en-US')} positions/s`;
    return `| ${input} | ${f.engine ?? ''} | ${f.backend} | ${value} | ${f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`} | ${f.runs} | ${f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : ''} | ${f.load ?? ''} | ${f.date.slice(0, 10)} \`${f.commit}\` |`;
  });
  return `
## Engines: the same network and inputs on every engine

\`npm run bench -- --only engines\`: in one Chromium page, the plain-JS decoder, tfjs on each backend and ONNX Runtime
Web (wasm and webgpu execution providers, on the committed export \`models/behavegpt-us.onnx\`) get the same input arrays
and return the distribution over behaviors at the same positions; calls are interleaved (one engine after another, the
order rotating each round). "N positions": N windows of a 32-event history, the distribution at each one's last position
("one prediction" is N = 1, p50/p99 of its latency). "log": full windows of SmartThings US test, the distribution at every
position (the "score this log" workload, where every engine computes every position). tfjs and plain JS compute the
behavior head only at the positions asked for, and plain JS also skips the last layer's attention and feed-forward
where no output is read; the ONNX graph computes every position (as exported). "× best": the engine's median time over
the best median on the same input in the same run (1.00× = the best). WebGPU and WebGL here are software (SwiftShader).

| input | engine | backend | median | × best | runs | target | load | measured |
|---|---|---|---|---|---|---|---|---|
${lines.join('\n')}
`;
}

/** docs/bench.md: how the figures were measured, then one row per figure. */
export function benchMarkdown(
  list: readonly Figure[],
  source: { modelDir: string; json: string; contextEvents: number },
): string {
  const rows = list.map((f) => {
    const target = f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : '';
    const where = [f.device, f.load].filter(Boolean).join(', ');
    return `| ${f.name} | ${f.engine ?? ''} | ${f.backend} | ${f.batch ?? ''} | ${f.median} ${f.unit} | ${f.p99 ?? ''} | ${f.min} – ${f.max} | ${f.runs} | ${target} | ${where} | ${f.date.slice(0, 10)} \`${f.commit}\` |`;
  });
  const runs = new Set(list.map((f) => `${f.date}|${f.commit}`)).size;
  const provenance =
    runs === 1
      ? 'All figures were measured in the same run.'
      : `The figures come from ${runs} runs (\`npm run bench -- --only PART\` re-measures a part and keeps the rest): each row gives its date and commit.`;
  return `# Benchmarks

Generated by \`npm run bench\`, model \`${source.modelDir}\`; the same figures are in \`${source.json}\`. Medians of the given number of runs
(latency: after warm-up, a context of ${source.contextEvents} events; p99 where there are at least 100 runs). ${provenance} The benchmark page is served
cross-origin isolated, so its timers resolve microseconds (otherwise Chromium rounds them to 0.1 ms). Each row says what
computed it (engine: tfjs, the plain-JS decoder \`js\`, or \`onnxruntime-web\`) and, for rows measured since the engine comparison, the load average. WebGPU in headless Chromium here is SwiftShader, a software adapter: its figure is not what a real GPU gives (the app
skips software adapters). Fine-tuning figures: one epoch of the library's training worker, which the Fine-tune tab uses (the same module and request
builder, default settings: DRO, all parameters, batch 32) on a forced backend, timed from the worker's step progress
(training steps only, no evaluation); events/s counts the events of the train part. A missed target is shown, not hidden.

| figure | engine | backend | batch | median | p99 | min – max | runs | target | where | measured |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${enginesTable(list)}`;
}
