import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README's "Code layout" as a test: which folder of src/ may import which, and which packages.
 * Pure logic stays free of tfjs, React and Node; production code never reaches into the tests or
 * into the app's internals.
 */
const SRC = join(__dirname, '..', 'src');

/** Folder (or top-level file) of src/ → the src/ folders it may import from (itself included). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: ['core'],
  model: ['core', 'env.ts', 'model'],
  train: ['core', 'model', 'train'],
  charts: ['charts', 'core'],
  browser: ['browser', 'core', 'env.ts', 'model', 'train'],
  bench: ['bench', 'browser', 'core', 'env.ts', 'model', 'train'],
  reliability: ['core', 'model', 'reliability'],
  // lib: the benchmark types the host page's calls into the package (src/node/bench/library.ts).
  node: ['bench', 'charts', 'core', 'lib', 'model', 'node', 'train'],
  experiments: ['charts', 'core', 'experiments', 'model', 'node', 'train'],
  cli: ['cli', 'core', 'experiments', 'model', 'node', 'reliability', 'train'],
  lib: ['browser', 'core', 'env.ts', 'lib', 'model', 'train'],
  // The app reaches the model only through the library's public API (src/lib), as a host page does.
  app: ['app', 'browser', 'charts', 'core', 'env.ts', 'lib'],
  'env.ts': [],
  'csp.ts': [],
  'main.tsx': ['app'],
};

/** Packages (by prefix) each folder may import; folders not listed may import none. */
const PACKAGES: Record<string, readonly string[]> = {
  model: ['@tensorflow/'],
  train: ['@tensorflow/'],
  charts: ['vega-lite'],
  browser: ['comlink'],
  // The benchmark page runs the peer runtime (ONNX Runtime Web) beside tfjs; the app never imports it.
  bench: ['onnxruntime-web'],
  app: ['react', 'zustand', 'vega-embed', 'vega-interpreter', 'vega-lite', 'virtual:pwa-register/react'],
  'main.tsx': ['react', 'react-dom'],
  // behavegpt-web: this package, as the library benchmark's host page imports it (in the browser).
  node: [
    'node:',
    '@tensorflow/',
    '@playwright/test',
    '@resvg/resvg-js',
    'vega',
    'vega-lite',
    'vite',
    'onnxruntime-web',
    'webgpu',
    'behavegpt-web',
  ],
  experiments: ['node:'],
  cli: ['node:'],
  reliability: ['node:'],
};

/** Files outside src/ a folder may import as assets: the benchmark page loads the committed ONNX export by URL. */
const ASSETS: Record<string, RegExp> = {
  bench: /^(\.\.\/)+models\/[\w.-]+\.onnx\?url$/,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(e.name) ? [path] : [];
  });
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
function importSpecifiers(text: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1]));
}

/** The src/ folder (or top-level file) a path belongs to, or null outside src/. */
function area(root: string, path: string): string | null {
  const rel = relative(root, path);
  if (rel.startsWith('..')) return null;
  return rel.split(/[\\/]/)[0];
}

function violations(root: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = area(root, file)!;
    const allowed = MAY_IMPORT[from];
    const where = relative(join(root, '..'), file);
    if (!allowed) {
      found.push(`${where}: src/${from} is not in the layout`);
      continue;
    }
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = normalize(join(dirname(file), spec));
        const to = area(root, target);
        if (to === null) {
          if (!ASSETS[from]?.test(spec)) found.push(`${where}: imports ${spec}, outside src/`);
        } else if (!allowed.some((a) => a === to || a === `${to}.ts` || a === `${to}.tsx`))
          found.push(`${where}: src/${from} may not import src/${to} (${spec})`);
      } else if (
        !(PACKAGES[from] ?? []).some(
          (p) => spec === p || spec.startsWith(p.endsWith('/') || p.endsWith(':') ? p : `${p}/`),
        )
      ) {
        found.push(`${where}: src/${from} may not import the package ${spec}`);
      }
    }
  }
  return found.sort();
}

describe('code layout', () => {
  it('finds static, re-exported and dynamic imports, over several lines', () => {
    const text = [
      "import { a,\n  b } from '../core/x';",
      "export { c } from './y';",
      "import './side-effect';",
      "const V = lazy(() => import('./view'));",
      "// a comment that says import from 'nowhere' is not an import",
      "const w = new Worker(new URL('./worker.ts', import.meta.url));",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['../core/x', './y', './side-effect', './view']);
  });

  it('names each import that breaks the layout', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'layout-')), 'src');
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('core/a.ts', "import * as tf from '@tensorflow/tfjs-core';\nimport { b } from '../model/b';\n");
    write('model/b.ts', "import { helper } from '../../e2e/helpers';\nexport const b = 1;\n");
    write('app/c.tsx', "import { useState } from 'react';\n");
    write('bench/d.ts', "import onnx from '../../models/m.onnx?url';\nimport data from '../../models/m.json?url';\n");
    write('app/e.ts', "import onnx from '../../models/m.onnx?url';\nimport * as ort from 'onnxruntime-web';\n");
    expect(violations(root)).toEqual([
      'src/app/e.ts: imports ../../models/m.onnx?url, outside src/',
      'src/app/e.ts: src/app may not import the package onnxruntime-web',
      'src/bench/d.ts: imports ../../models/m.json?url, outside src/',
      'src/core/a.ts: src/core may not import src/model (../model/b)',
      'src/core/a.ts: src/core may not import the package @tensorflow/tfjs-core',
      'src/model/b.ts: imports ../../e2e/helpers, outside src/',
    ]);
  });

  it('every import in src/ follows the layout', () => {
    expect(violations(SRC)).toEqual([]);
  });
});
