/**
 * WebGPU device loss (injected by destroying the page's GPUDevice; SwiftShader here): the app
 * moves to the next backend by itself, reloads the model there, runs the visible prediction
 * again and says what happened; predictions continue.
 */
import {
  addEvent,
  backendName,
  composeKey,
  expectRanked,
  readyPredictions,
  setNext,
  waitForModel,
  type TypedEvent,
} from './app-helpers';
import { expect, test } from './fixtures';

const SEQUENCE: TypedEvent[] = [
  { behavior: 'Light:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:setChannel', weekday: 4, slot: 7 },
];

test('a lost WebGPU device: the model moves to wasm, the visible prediction runs again, and the page says why', async ({
  page,
}, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu-available', 'needs a WebGPU adapter');
  // Keep every GPUDevice the page creates, to lose it on purpose.
  await page.addInitScript(() => {
    const devices: GPUDevice[] = [];
    (window as unknown as { __gpuDevices: GPUDevice[] }).__gpuDevices = devices;
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor) {
      const device = await requestDevice.call(this, descriptor);
      devices.push(device);
      return device;
    };
  });
  await page.goto('/?backend=webgpu#type');
  await waitForModel(page);
  expect(await backendName(page)).toBe('webgpu');
  for (const e of SEQUENCE) await addEvent(page, e);
  await setNext(page, 4, 7);
  const key = composeKey(SEQUENCE, 4, 7);
  const onGpu = await readyPredictions(page, key);
  expectRanked(onGpu);

  const lost = await page.evaluate(() => {
    const devices = (window as unknown as { __gpuDevices: GPUDevice[] }).__gpuDevices;
    devices.forEach((d) => d.destroy());
    return devices.length;
  });
  expect(lost).toBeGreaterThan(0);

  // Moved by itself: no reload, no click.
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
  await expect(page.getByTestId('model-notice')).toContainText('The WebGPU device was lost (destroyed');
  await expect(page.getByTestId('model-notice')).toContainText(
    'the model was reloaded on wasm, and predictions continue there',
  );
  await expect(page.getByTestId('backend-reason')).toContainText('WebGPU device was lost');
  // The prediction on screen was computed again, on wasm: the same top-1 as on the GPU.
  const onWasm = await readyPredictions(page, key);
  expectRanked(onWasm);
  expect(onWasm[0].behavior).toBe(onGpu[0].behavior);
  expect(Math.abs(onWasm[0].probability - onGpu[0].probability)).toBeLessThan(1e-3);

  // And predictions continue: one more event, a new answer.
  const more = [...SEQUENCE, { behavior: 'Light:switch off', weekday: 4, slot: 7 }];
  await addEvent(page, more[3]);
  expectRanked(await readyPredictions(page, composeKey(more, 4, 7)));
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', 'ready');
});
