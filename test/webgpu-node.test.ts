import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { crossoverBatch, SWIFTSHADER_ICD } from '../src/node/bench/webgpu';
import type { WebGPUBenchResult } from '../src/node/bench/webgpu';

describe('the Node WebGPU benchmark (npm run bench:webgpu)', () => {
  it('finds the batch from which WebGPU stays faster than wasm', () => {
    expect(crossoverBatch({ 1: 9, 16: 5, 256: 2 }, { 1: 1, 16: 6, 256: 40 })).toBe(16);
    // Faster at 16 but slower again at 256: only from 1024 on does it stay faster.
    expect(crossoverBatch({ 1: 9, 16: 5, 256: 50, 1024: 10 }, { 1: 1, 16: 6, 256: 40, 1024: 90 })).toBe(1024);
    expect(crossoverBatch({ 1: 9, 16: 50 }, { 1: 1, 16: 6 })).toBeNull();
    expect(crossoverBatch(undefined, { 1: 1 })).toBeNull();
    // Batches only one side measured are left out.
    expect(crossoverBatch({ 1: 0.5, 16: 1 }, { 1: 1 })).toBe(1);
  });

  // Without a GPU, Dawn runs on the SwiftShader Vulkan driver that Debian's Chromium ships (CI installs Chromium).
  it.skipIf(!existsSync(SWIFTSHADER_ICD))(
    'runs tfjs WebGPU through Dawn on the software adapter, with results equal to wasm and fine-tuning on both',
    async () => {
      const env = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD, LD_LIBRARY_PATH: '/usr/lib/chromium' };
      const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli/bench-webgpu.ts', '--batches', '1,4', '--runs', '1', '--train-steps', '1', '--no-write', '--json'], {
        env,
        maxBuffer: 64 << 20,
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as WebGPUBenchResult;
      expect(result.adapter.description).toMatch(/swiftshader/i);
      expect(result.adapter.fallback).toBe(true);
      for (const id of ['tfjs:wasm', 'tfjs:webgpu', 'js']) {
        expect(result.medians[id][1]).toBeGreaterThan(0);
        expect(result.medians[id][4]).toBeGreaterThan(0);
        expect(result.differences[id]).toBeLessThan(1e-5);
      }
      expect(result.training.wasm).toHaveLength(3);
      expect(result.training.webgpu).toHaveLength(3);
      for (const rate of [...result.training.wasm, ...result.training.webgpu]) expect(rate).toBeGreaterThan(0);
      expect(stdout).toContain('WebGPU beats wasm: tfjs ');
    },
    600_000,
  );
});
