/// <reference types="node" />
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Connect, type Plugin, type PluginOption } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { CSP_HEADER, CSP_META } from './src/csp';
import { gitCommit, resolveDataDir } from './src/node/config';

/** The only files the data route serves: the three SmartThings regions, gzipped CSV. */
export const DATA_FILES = ['us.csv.gz', 'fr.csv.gz', 'sp.csv.gz'] as const;
export const DATA_ROUTE = '/data/smartthings/';

/**
 * Serves the SmartThings data folder read-only at /data/smartthings/<file> in `vite` (dev) and
 * `vite preview`, straight from disk: the data is never copied into public/ or dist/. The bytes
 * are sent as they are stored (gzip, application/octet-stream, no Content-Encoding), and the app
 * gunzips them with DecompressionStream.
 *
 * Folder: the Node commands' data folder (src/node/config.ts: $BEHAVEGPT_DATA, else
 * ../shared/data/smartthings), resolved against the project root.
 */
function smartThingsData(): Plugin {
  let dataDir = '';

  const handler: Connect.NextHandleFunction = (req: IncomingMessage, res: ServerResponse, next) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(DATA_ROUTE)) return next();
    const name = decodeURIComponent(url.pathname.slice(DATA_ROUTE.length));
    if (!(DATA_FILES as readonly string[]).includes(name)) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`Not found: ${url.pathname} (served files: ${DATA_FILES.join(', ')})`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      res.end();
      return;
    }
    const file = path.join(dataDir, name);
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
    } catch {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`Not found: ${url.pathname} (no ${name} in the data folder)`);
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', (err) => {
      if (!res.headersSent) res.statusCode = 500;
      res.destroy(err);
    });
    stream.pipe(res);
  };

  return {
    name: 'behavegpt-smartthings-data',
    configResolved(config) {
      dataDir = resolveDataDir(config.root);
    },
    configureServer(server) {
      server.middlewares.use(handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler);
    },
  };
}

/** The Content-Security-Policy (src/csp.ts): a <meta> in every built page, and a header from `vite preview`. */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'behavegpt-csp',
    // Not in the dev server, whose hot reload needs inline script.
    apply: (_config, env) => env.command === 'build' || env.isPreview === true,
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP_META }, injectTo: 'head-prepend' },
    ],
    configurePreviewServer(server) {
      server.middlewares.use((_req, res, next) => {
        res.setHeader('Content-Security-Policy', CSP_HEADER);
        next();
      });
    },
  };
}

/**
 * The offline, installable app (vite-plugin-pwa, Workbox's generateSW): the service worker
 * precaches everything the app runs on — the shell, every code chunk (lazy tabs, workers,
 * tfjs backends, wasm binaries), the shipped model, the demo sequences and the icons — under
 * content-hashed or revisioned URLs. A new deployment installs beside the old one and waits:
 * the page offers to reload (registerType 'prompt'), and until then the old worker keeps
 * serving the old shell and the old chunks, so they never mix. Models a person opens by URL
 * are kept by the pipeline itself (the Cache API, verified: model/fetch-model.ts), adapted ones
 * in IndexedDB. The SmartThings data route is never cached: third-party data, online only.
 */
function offlineApp(): PluginOption {
  return VitePWA({
    registerType: 'prompt',
    // Registered by the app (src/app/components/AppStatus.tsx), never by an inline script (CSP).
    injectRegister: false,
    // The icons are in the precache through the glob below.
    includeManifestIcons: false,
    manifest: {
      name: 'BehaveGPT Web',
      short_name: 'BehaveGPT',
      description:
        'Next-behavior prediction for smart homes, on this device: predict, generate, explain and fine-tune, offline.',
      start_url: '.',
      scope: '.',
      display: 'standalone',
      background_color: '#ffffff',
      theme_color: '#1f4e79',
      icons: [
        { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
        { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
        { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      ],
    },
    workbox: {
      globPatterns: ['**/*.{html,js,css,wasm,json,bin,csv,png,svg,webmanifest}'],
      // The benchmark page is not part of the app (nor its engine comparison with ONNX Runtime Web, ~30 MB of wasm).
      globIgnores: ['bench.html', 'assets/bench-*.js', 'assets/engines-*.js', 'assets/ort-*'],
      // tfjs chunks and the chart library are large; the whole app is ~10 MB.
      maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      navigateFallback: 'index.html',
      navigateFallbackDenylist: [new RegExp(`^${DATA_ROUTE}`), /^\/bench\.html/],
      cleanupOutdatedCaches: true,
      // Without a route the data route goes to the network only, like any other unlisted URL.
      runtimeCaching: [],
    },
  });
}

/** What the footer shows as the build: $BEHAVEGPT_BUILD_ID, else the commit. */
const BUILD_ID = process.env.BEHAVEGPT_BUILD_ID ?? gitCommit();

const root = path.dirname(fileURLToPath(import.meta.url));
/** The app, plus the benchmark page driven by `npm run bench`. */
const pages = { main: path.join(root, 'index.html'), bench: path.join(root, 'bench.html') };

export default defineConfig({
  plugins: [react(), smartThingsData(), contentSecurityPolicy(), offlineApp()],
  define: { __BEHAVEGPT_BUILD__: JSON.stringify(BUILD_ID) },
  build: {
    target: 'es2022',
    rollupOptions: { input: pages },
    // tfjs is large; the app loads it once. Keep the warning for anything unexpectedly larger.
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
});
