/**
 * Models as files a person can move: exports named for their model, opened again by file
 * picker or by `?model=`, checked before use; a bad file changes nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { addEvent, readyPredictions, waitForModel } from './app-helpers';
import { importLog, runToEnd, VENDOR_NAMES, writeLog } from './finetune-helpers';

const SHIPPED = 'public/models/behavegpt-us';

/** The shipped model's files under another name and stem, optionally spoiled: what a person might have on disk. */
function modelCopy(
  dir: string,
  stem: string,
  spoil: (manifest: Record<string, unknown>, shard: Buffer) => void = () => {},
): string[] {
  const manifest = JSON.parse(readFileSync(`${SHIPPED}/model.json`, 'utf8'));
  const shard = Buffer.from(readFileSync(`${SHIPPED}/${manifest.weightsManifest[0].paths[0]}`));
  manifest.name = `copy ${stem}`;
  manifest.weightsManifest[0].paths = [`${stem}-shard1of1.bin`];
  spoil(manifest, shard);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${stem}.json`), JSON.stringify(manifest));
  writeFileSync(join(dir, `${stem}-shard1of1.bin`), shard);
  return [join(dir, `${stem}.json`), join(dir, `${stem}-shard1of1.bin`)];
}

/** Removes every typed event. */
async function clearTyped(page: Page): Promise<void> {
  const remove = page.getByTestId('type-remove');
  while ((await remove.count()) > 0) await remove.first().click();
}

/** Top-5 of a fixed typed query in Predict → Type. */
async function typedTop5(page: Page): Promise<string> {
  await page.getByTestId('section-predict').click();
  await page.getByTestId('tab-type').click();
  await clearTyped(page);
  await addEvent(page, { behavior: 'Light:switch on', weekday: 4, slot: 6 });
  return JSON.stringify(await readyPredictions(page));
}

test('two models exported to one folder have files of their own, and both open again from them', async ({
  page,
}, testInfo) => {
  test.setTimeout(300_000);
  const csv = writeLog(testInfo.outputPath('vendor.csv'), {
    sequences: 30,
    names: VENDOR_NAMES,
    pattern: 'random',
    split: true,
    seed: 5,
  });
  await page.goto('/#finetune');
  await waitForModel(page);
  await importLog(page, csv);
  await page.getByTestId('finetune-patience').fill('1');
  await runToEnd(page);
  await page.getByTestId('finetune-seed').fill('1');
  await runToEnd(page);
  const models = page.getByTestId('adapted-model');
  await expect(models).toHaveCount(2);
  const names = await models.evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.name!));
  expect(new Set(names).size).toBe(2);

  // Both exports into one folder, under the names the browser suggests.
  const folder = testInfo.outputPath('exports');
  mkdirSync(folder, { recursive: true });
  const saved: string[] = [];
  page.on('download', (d: Download) => {
    saved.push(d.suggestedFilename());
    void d.saveAs(join(folder, d.suggestedFilename()));
  });
  for (let i = 0; i < 2; i++) await models.nth(i).getByTestId('adapted-export').click();
  await expect.poll(() => saved.length).toBe(4);
  expect(new Set(saved).size).toBe(4);
  expect(saved).not.toContain('model.json');
  const manifests = saved.filter((n) => n.endsWith('.json'));
  expect(manifests).toHaveLength(2);
  await expect
    .poll(() =>
      manifests.every((m) => {
        try {
          return !!readFileSync(join(folder, m));
        } catch {
          return false;
        }
      }),
    )
    .toBe(true);
  for (const m of manifests) {
    const manifest = JSON.parse(readFileSync(join(folder, m), 'utf8'));
    // Each manifest names its own shard, saved beside it under that name.
    expect(manifest.weightsManifest[0].paths).toEqual([m.replace(/\.json$/, '-shard1of1.bin')]);
    expect(saved).toContain(manifest.weightsManifest[0].paths[0]);
    expect(names).toContain(manifest.name);
  }

  // Gone from this device; then the whole folder opened at once.
  for (let i = 0; i < 2; i++) await models.first().getByTestId('adapted-delete').click();
  await expect(models).toHaveCount(0);
  await expect
    .poll(() =>
      saved.every((n) => {
        try {
          return readFileSync(join(folder, n)).length > 0;
        } catch {
          return false;
        }
      }),
    )
    .toBe(true);
  await page.getByTestId('model-open-file').setInputFiles(saved.map((n) => join(folder, n)));
  await expect(models).toHaveCount(2);
  await expect(page.getByTestId('model-open-error')).toHaveCount(0);
  for (let i = 0; i < 2; i++) await expect(models.nth(i)).toHaveAttribute('data-origin', 'opened');
  expect((await models.evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.name!))).sort()).toEqual(
    [...names].sort(),
  );

  // Each one in Predict (the last opened is in use), and as the start of Fine-tune.
  for (const name of names) {
    await page.getByTestId('section-predict').click();
    const option = page.getByTestId('model-select').locator('option', { hasText: name });
    await page.getByTestId('model-select').selectOption(await option.getAttribute('value'));
    await waitForModel(page);
    await expect(page.getByTestId('model-name')).toHaveText(name);
    await page.getByTestId('tab-type').click();
    await addEvent(page, { behavior: VENDOR_NAMES[0], weekday: 2, slot: 5 });
    const rows = await readyPredictions(page);
    expect(rows).toHaveLength(5);
    await clearTyped(page);
  }
  await page.getByTestId('tab-finetune').click();
  await expect(page.getByTestId('finetune-overlap')).toContainText(`(${names.at(-1)})`);
  // It knows the vendor's behaviors now.
  await expect(page.getByTestId('finetune-known-behaviors')).toHaveText(String(VENDOR_NAMES.length));
});

test('a corrupted or incomplete model file is refused with the reason, and the model in use keeps working; a good one dropped opens', async ({
  page,
}, testInfo) => {
  const dir = testInfo.outputPath('bad');
  await page.goto('/');
  await waitForModel(page);
  const before = await typedTop5(page);

  const cases: { files: string[]; reason: RegExp }[] = [
    {
      files: modelCopy(dir, 'flipped', (_m, shard) => (shard[100] ^= 0xff)),
      reason: /flipped-shard1of1\.bin: SHA-256 .* does not match/,
    },
    {
      files: modelCopy(
        dir,
        'short',
        (m) => ((m.weightsManifest as { byteLengths: number[] }[])[0].byteLengths[0] += 4),
      ),
      reason: /short.*bytes/,
    },
    {
      files: modelCopy(dir, 'shape', (m) => ((m.config as { behaviorDim: number }).behaviorDim = 25)),
      reason: /shape\.json: field .*(shape|heads)/,
    },
    {
      files: modelCopy(dir, 'lonely').slice(0, 1),
      reason: /lonely\.json: .*lonely-shard1of1\.bin, which was not chosen/,
    },
    {
      files: modelCopy(dir, 'notjson').map((f, i) => {
        if (i === 0) writeFileSync(f, '{"format":');
        return f;
      }),
      reason: /notjson\.json: not valid JSON/,
    },
  ];
  for (const c of cases) {
    await page.getByTestId('model-open-file').setInputFiles(c.files);
    const error = page.getByTestId('model-open-error');
    await expect(error).toContainText(c.reason);
    await expect(error).toContainText('The model in use is unchanged');
    await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', 'ready');
    await expect(page.getByTestId('model-name')).toHaveText('behavegpt-us');
  }
  // Same answers as before: the model in use was never touched; nothing was kept.
  expect(await typedTop5(page)).toBe(before);
  await expect(page.getByTestId('model-select')).toHaveCount(0);

  // A good copy, dropped on the model picker, opens and is used.
  const files = modelCopy(dir, 'good').map((path) => ({
    name: path.split('/').pop()!,
    bytes: [...readFileSync(path)],
  }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    return dt;
  }, files);
  await page.getByTestId('model-picker').dispatchEvent('drop', { dataTransfer });
  await waitForModel(page);
  await expect(page.getByTestId('model-name')).toHaveText('copy good');
  await expect(page.getByTestId('model-open-error')).toHaveCount(0);
});

test('?model= opens a model on this site after checking it; a bad one leaves the shipped model', async ({
  page,
}, testInfo) => {
  const dir = testInfo.outputPath('served');
  const [goodJson, goodShard] = modelCopy(dir, 'served');
  const [badJson, badShard] = modelCopy(dir, 'spoiled', (_m, shard) => (shard[7] ^= 0x01));
  await page.route(
    (url) => url.pathname === '/mine/served.json',
    (r) => r.fulfill({ body: readFileSync(goodJson), contentType: 'application/json' }),
  );
  await page.route(
    (url) => url.pathname === '/mine/served-shard1of1.bin',
    (r) => r.fulfill({ body: readFileSync(goodShard) }),
  );
  await page.route(
    (url) => url.pathname === '/mine/spoiled.json',
    (r) => r.fulfill({ body: readFileSync(badJson), contentType: 'application/json' }),
  );
  await page.route(
    (url) => url.pathname === '/mine/spoiled-shard1of1.bin',
    (r) => r.fulfill({ body: readFileSync(badShard) }),
  );

  await page.goto('/?model=/mine/served.json');
  await waitForModel(page);
  await expect(page.getByTestId('model-name')).toHaveText('copy served');
  await expect(page.getByTestId('model-param-error')).toHaveCount(0);

  await page.goto('/?model=/mine/spoiled.json');
  await waitForModel(page);
  await expect(page.getByTestId('model-param-error')).toContainText('spoiled-shard1of1.bin');
  await expect(page.getByTestId('model-param-error')).toContainText('SHA-256');
  await expect(page.getByTestId('model-name')).toHaveText('behavegpt-us');

  await page.goto('/?model=https://example.org/model.json');
  await waitForModel(page);
  await expect(page.getByTestId('model-param-error')).toContainText('on another site');
  await expect(page.getByTestId('model-name')).toHaveText('behavegpt-us');
});
