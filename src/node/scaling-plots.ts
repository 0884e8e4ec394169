/**
 * PNG plots of the scaling-law report, from the same Vega-Lite specs the app's Scaling view
 * shows (src/charts/scaling-charts.ts): compiled to Vega, rendered headless to SVG, rasterised
 * with resvg. Node only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { lossVsDataSpec, lossVsParamsSpec } from '../charts/scaling-charts';
import type { ScalingReport } from '../core/scaling-report';

/** Width of the written PNGs in pixels. */
export const PLOT_WIDTH = 900;

/** A Vega-Lite spec as SVG text (headless Vega view). */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A Vega-Lite spec as a PNG `width` pixels wide. */
export async function specToPng(spec: TopLevelSpec, width = PLOT_WIDTH): Promise<Buffer> {
  const svg = await specToSvg(spec);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: width },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Writes `dir`/scaling-params.png and `dir`/scaling-data.png; returns their paths. */
export async function writeScalingPlots(report: ScalingReport, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const plots: [string, TopLevelSpec][] = [
    ['scaling-params.png', lossVsParamsSpec(report)],
    ['scaling-data.png', lossVsDataSpec(report)],
  ];
  const written: string[] = [];
  for (const [name, spec] of plots) {
    const path = posix.join(dir, name);
    writeFileSync(path, await specToPng(spec));
    written.push(path);
  }
  return written;
}
