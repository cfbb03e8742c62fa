// A WebGPU device lost in the middle of a computation, in every chapter that computes on the GPU:
// the test destroys the device worker's device (the page's one) and any the page opened itself
// (captured as they are asked for)
// once the computation is under way; the computation finishes on the CPU with the CPU path's result (within tolerance),
// and the page says so in one notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureDevices, destroyDevices, useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers({ gpuBrowser: { webgpu: true }, cpuBrowser: {} });

/** A page whose WebGPU devices, and its device worker's, the test can reach (`__devices`). */
async function gpuPage() {
  const page = await watchedPage(env.gpuBrowser);
  await captureDevices(page);
  return page;
}

async function onWebGpu(page) {
  await page.waitForFunction(() => /WebGPU \(/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? ''),
    null, { timeout: 30_000 });
}

/** Destroy every device of the page and of its workers once `running` holds (and, with
 * `onWorker`, once the device worker has its device: it asks for one at its first job). */
async function loseDeviceWhen(page, running, { onWorker = false } = {}) {
  await page.waitForFunction(running, null, { timeout: 300_000 });
  for (let i = 0; onWorker && i < 600; i++) {
    let n = 0;
    for (const w of page.workers()) n += await w.evaluate(() => (self.__devices ?? []).length).catch(() => 0);
    if (n > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const n = await destroyDevices(page, { page: true, workers: true });
  assert.ok(n >= 1, 'the page had a device to lose');
}

/** The one notice that says the device was lost, and the backend now the CPU. */
async function assertOneNotice(page) {
  const notices = page.locator('.backend-notice').filter({ hasText: /lost/ });
  await notices.first().waitFor({ timeout: 60_000 });
  assert.equal(await notices.count(), 1);
  assert.match(await page.getByRole('status', { name: 'Compute backend' }).textContent(), /^CPU/);
}


test('chapter 2: the attention timing finishes on the CPU', async () => {
  const page = await gpuPage();
  await page.goto(`${env.server.base}#/attention?patch=8&window=2&dim=32`);
  // The first WebGPU page of the file: SwiftShader's adapter and the captioner once took over 60 s
  // in a full suite (2026-12-05; alone, about 7 s).
  await page.locator('[data-out="ran"]').filter({ hasText: /WebGPU/ }).waitFor({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Measure', exact: true }).click();
  await loseDeviceWhen(page, () => /of up to [1-9]/.test(document.querySelector('[data-out="timing-count"]')?.textContent ?? ''));
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Measure');
    return b && !b.disabled;
  }, null, { timeout: 240_000 });
  await assertOneNotice(page);
  const rows = await page.$$eval('table[aria-label="Measured attention time"] tbody tr', (rs) => rs.length);
  assert.ok(rows >= 2, `${rows} rows`);
  // The toy captioner, computed again, runs on the CPU with the same causal result.
  await page.goto(`${env.server.base}#/attention?patch=8&window=3&dim=32`);
  await page.locator('[data-out="causal"]').filter({ hasText: /Causal/ }).waitFor({ timeout: 60_000 });
  assert.deepEqual(page.problems(), []);
});

test('chapter 5: a soft-prompt run finishes on the CPU with the CPU run\'s curve', async () => {
  const run = async (page, lose) => {
    await page.goto(`${env.server.base}#/soft-prompting?k=4&epochs=1`);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Train' && !b.disabled),
      null, { timeout: 60_000 });
    if (lose) await onWebGpu(page);
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    // The gradients go to the device worker: its device is lost too.
    if (lose) await loseDeviceWhen(page, () => /^Epoch 1 of 1/.test(document.querySelector('[data-out="train-status"]')?.textContent ?? ''), { onWorker: true });
    const status = page.locator('[data-out="train-status"]');
    await status.filter({ hasText: /^(Done|The run stopped)/ }).waitFor({ timeout: 600_000 });
    assert.match(await status.textContent(), /^Done: /);
    return page.$$eval('table[aria-label="Loss and accuracy per epoch"] tbody tr',
      (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  };
  const gpu = await gpuPage();
  const lost = await run(gpu, true);
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  const want = await run(cpu, false);
  assert.equal(lost.length, want.length);
  lost.forEach((r, i) => {
    assert.ok(Math.abs(Number(r[1]) - Number(want[i][1])) <= 0.002, `${lost} vs ${want}`);
    assert.equal(r[2], want[i][2], `${lost} vs ${want}`);
  });
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('chapter 7: k-means finishes on the CPU with the same codebook', async () => {
  const codebook = (page) => page.$$eval('table[aria-label="Codebook"] tbody tr', (rs) => rs.map((r) => r.children[1].textContent));
  const gpu = await gpuPage();
  await gpu.goto(`${env.server.base}#/`);
  await onWebGpu(gpu);
  // The device (the device worker's, the page's one) goes as the chapter opens: its first k-means
  // runs on a lost device.
  await gpu.goto(`${env.server.base}#/quantization?bits=4&layer=conv8`);
  await loseDeviceWhen(gpu, () => true, { onWorker: true });
  await gpu.locator('[data-out="kmeans-ran"]').filter({ hasText: /CPU/ }).waitFor({ timeout: 300_000 });
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  await cpu.goto(`${env.server.base}#/quantization?bits=4&layer=conv8`);
  await cpu.locator('[data-out="kmeans-ran"]').waitFor({ timeout: 300_000 });
  assert.deepEqual(await codebook(gpu), await codebook(cpu));
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('chapter 4: generation hands over to the CPU where it stands, with the same greedy text', async () => {
  const run = async (page, lose) => {
    await page.goto(`${env.server.base}#/prompting?t=0&chars=60`);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Generate' && !b.disabled),
      null, { timeout: 60_000 });
    if (lose) await onWebGpu(page);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    // The characters come from the device worker: its device is lost too.
    if (lose) await loseDeviceWhen(page, () => (document.querySelector('[data-out="play-output"]')?.textContent ?? '').length >= 8, { onWorker: true });
    await page.locator('[data-out="play-status"]').filter({ hasText: /characters in .* ms on/ }).waitFor({ timeout: 300_000 });
    return page.locator('[data-out="play-output"]').textContent();
  };
  const gpu = await gpuPage();
  const lost = await run(gpu, true);
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  assert.equal(lost, await run(cpu, false));
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('chapter 6: the sensitivity scan finishes on the CPU with the CPU path\'s accuracies', async () => {
  const run = async (page, lose) => {
    await page.goto(`${env.server.base}#/pruning?eval_images=100&scan_images=100&scan_from=0.9&scan_to=0.9`);
    await page.waitForFunction(() => /pruned/.test(document.querySelector('[data-out="accuracy"]')?.textContent ?? ''), null, { timeout: 300_000 });
    await page.getByRole('button', { name: 'Run the scan' }).click();
    if (lose) await loseDeviceWhen(page, () => /^[2-9] \/ 10/.test(document.querySelector('[data-out="scan-progress"]')?.textContent ?? ''));
    await page.waitForFunction(() => (document.querySelector('[data-out="scan-progress"]')?.textContent ?? '') === '10 / 10 evaluations', null, { timeout: 600_000 });
    return page.locator('[data-figure="sensitivity"] .summary-text').textContent();
  };
  const gpu = await gpuPage();
  await gpu.goto(`${env.server.base}#/`);
  await onWebGpu(gpu);
  const lost = await run(gpu, true);
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  const want = await run(cpu, false);
  const nums = (s) => (s.match(/[\d.]+%/g) || []).map(parseFloat);
  assert.equal(nums(lost).length, nums(want).length, `${lost} vs ${want}`);
  nums(lost).forEach((v, i) => assert.ok(Math.abs(v - nums(want)[i]) <= 1, `${lost} vs ${want}`));
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('chapter 3: a fine-tuning run finishes on the CPU with the CPU path\'s accuracy', async () => {
  const run = async (page, lose) => {
    await page.goto(`${env.server.base}#/fine-tuning?images=10&test_images=10&epochs=2&lr=0.01&tune=block4`);
    await page.locator('[data-out="blocks"]').waitFor({ timeout: 120_000 });
    if (lose) await onWebGpu(page);
    await page.locator('[data-action="run-one"]').click();
    // The run's units go to the device worker: its device is lost too.
    if (lose) await loseDeviceWhen(page, () => /[1-9]/.test(document.querySelector('section[aria-labelledby="experiment"] progress')?.value ?? '0'), { onWorker: true });
    await page.locator('[data-out="run-result"]').waitFor({ timeout: 300_000 });
    const t = await page.locator('[data-out="run-result"]').textContent();
    return /test accuracy ([\d.]+)% before, ([\d.]+)% after/.exec(t).slice(1).map(Number);
  };
  const gpu = await gpuPage();
  const lost = await run(gpu, true);
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  const want = await run(cpu, false);
  console.log(`block4, 10 images, device lost mid-run: ${lost}; CPU: ${want} (% before, after)`);
  assert.equal(lost[0], want[0]);
  assert.ok(Math.abs(lost[1] - want[1]) <= 10, `${lost} vs ${want}`);
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('image lab: fine-tuning continues on the CPU with the CPU path\'s losses', async () => {
  const run = async (page, lose) => {
    await page.goto(`${env.server.base}#/image-lab?ft_steps=4&ft_batch=16&eval_images=200`);
    await page.getByRole('heading', { name: 'Fine-tuning here' }).waitFor();
    if (lose) await onWebGpu(page);
    const group = page.getByRole('group', { name: 'Fine-tuning' });
    await group.getByRole('button', { name: 'Run' }).click();
    if (lose) {
      // The steps run on the device worker: its device is lost too.
      await loseDeviceWhen(page, () => Number(/iteration (\d+)/.exec(document.querySelector('[aria-label="Fine-tuning"] .counter')?.textContent ?? '')?.[1] ?? 0) >= 1, { onWorker: true });
    }
    await page.waitForFunction(() => /Done: 4 steps/.test(document.querySelector('[aria-label="Fine-tuning"] .status')?.textContent ?? ''), null, { timeout: 300_000 });
    return page.locator('[data-figure="fine-tuning"] .summary-text').textContent();
  };
  const gpu = await gpuPage();
  const lost = await run(gpu, true);
  await assertOneNotice(gpu);
  const cpu = await watchedPage(env.cpuBrowser);
  const want = await run(cpu, false);
  const losses = (s) => /loss from ([\d.]+) to ([\d.]+)/.exec(s).slice(1).map(Number);
  const [g0, g1] = losses(lost);
  const [c0, c1] = losses(want);
  assert.ok(Math.abs(g0 - c0) < 0.002 && Math.abs(g1 - c1) < 0.002, `${lost} vs ${want}`);
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});
