// Chapter 7: k-means of a layer (colours follow the bits), the two linear-quantization exercises
// and the map, the whole network at 8/4/2 bits against linear, integer-only inference,
// quantization-aware training through an epoch; on the CPU, and k-means on WebGPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers({ browser: {}, gpuBrowser: { webgpu: true } });

async function open(page, query = '') {
  await page.goto(`${env.server.base}#/quantization${query}`);
  await page.getByRole('heading', { level: 1, name: 'Quantizing the trained network' }).waitFor();
  await page.locator('[data-out="distinct"]').waitFor({ timeout: 120_000 });
}

const text = (page, key) => page.locator(`[data-out="${key}"]`).first().textContent();
const pct = (t) => Number(/([\d.]+)%/.exec(t)[1]);
const codebook = (page) => page.$$eval('table[aria-label="Codebook"] tbody tr', (rs) => rs.map((r) => r.children[1].textContent));

async function setField(page, label, value) {
  const input = page.getByLabel(label, { exact: true });
  await input.fill(String(value));
  await input.press('Enter');
}

test('k-means of a layer: at most 2^n values and colours, and the heatmap follows the bits', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  assert.equal(await text(page, 'distinct'), '4');
  assert.equal(await text(page, 'kmeans-ran'), 'CPU');
  const colours = () => page.locator('.weight-maps').getAttribute('data-colours').then(Number);
  assert.ok((await colours()) <= 4 && (await colours()) >= 2);
  const after = page.locator('figure[data-figure="weights-after"] canvas');
  const before = await after.evaluate((c) => c.toDataURL());
  await setField(page, 'Bits n (2^n centroids)', 3);
  await page.waitForFunction(() => document.querySelector('[data-out="distinct"]')?.textContent === '8');
  await page.waitForFunction((b) => document.querySelector('figure[data-figure="weights-after"] canvas').toDataURL() !== b, before);
  assert.ok((await colours()) <= 8 && (await colours()) > 4);
  assert.equal((await codebook(page)).length, 8);
  assert.match(page.url(), /bits=3/);
  await page.getByLabel('Layer', { exact: true }).selectOption('linear');
  await page.waitForFunction(() => /1280/.test(document.querySelector('.readout dd')?.textContent ?? ''));
  assert.ok(Number(await text(page, 'distinct')) <= 8);
  await screenshot(page, 'quantization-kmeans', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('linear quantization: the exercises and the map', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  // The homework's example is the default: S = 1/3, Z = -1.
  assert.equal(await text(page, 'scale'), '0.333333');
  assert.equal(await text(page, 'zero-point'), '-1');
  const s = page.locator('[data-exercise="scale"]');
  await s.getByRole('radio').nth(1).check();
  await s.getByRole('button', { name: 'Check' }).click();
  await s.locator('[data-result="wrong"]').waitFor();
  await s.getByRole('radio').nth(0).check();
  await s.getByRole('button', { name: 'Check' }).click();
  await s.locator('[data-result="correct"]').waitFor();
  const z = page.locator('[data-exercise="zero"]');
  await z.getByRole('radio').nth(2).check();
  await z.getByRole('button', { name: 'Check' }).click();
  assert.match(await z.locator('[data-result="wrong"]').textContent(), /symmetric/);
  await z.getByRole('radio').nth(0).check();
  await z.getByRole('button', { name: 'Check' }).click();
  await z.locator('[data-result="correct"]').waitFor();
  // A ReLU's range on 8 bits: Z = q_min.
  await setField(page, 'r_min', 0);
  await setField(page, 'r_max', 6);
  await setField(page, 'Bits', 8);
  await page.waitForFunction(() => document.querySelector('[data-out="zero-point"]')?.textContent === '-128');
  await setField(page, 'r_max', -1);
  await page.getByRole('alert').filter({ hasText: /r_min < r_max/ }).waitFor();
  assert.deepEqual(page.problems(), []);
});

test('integer-only inference keeps the accuracy without a single ReLU', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?eval_images=300&calib_images=64');
  await watchLongTasks(page);
  await page.getByRole('button', { name: 'Build and run the int8 network' }).click();
  await page.locator('[data-out="int8-acc"]').waitFor({ timeout: 240_000 });
  const fp32 = pct(await text(page, 'int8-fp32'));
  const int8 = pct(await text(page, 'int8-acc'));
  console.log(`browser int8: fp32 ${fp32}%, int8 ${int8}% (${await text(page, 'int8-acc')})`);
  assert.ok(Math.abs(fp32 - int8) <= 2, `${fp32} vs ${int8}`);
  assert.equal(await text(page, 'relu-layers'), '0');
  assert.match(await text(page, 'relu-same'), /200 of 200/);
  assert.ok(pct(await text(page, 'no-relu')) < fp32 - 20);
  assert.ok(Number(/difference ([\d.e+-]+)/.exec(await text(page, 'fold-error'))[1]) < 1e-3);
  await checkLongTasks(page, 'chapter 7, whole-network quantization');
  await screenshot(page, 'quantization-int8', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('the whole network at 8, 4 and 2 bits, k-means against linear', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?eval_images=200');
  await page.getByRole('button', { name: 'Quantize and evaluate' }).click();
  await page.locator('[data-out="compare-status"]').filter({ hasText: /^Done/ }).waitFor({ timeout: 300_000 });
  const rows = await page.$$eval('table[aria-label="k-means against linear quantization"] tbody tr', (rs) => rs.map((r) => ({
    bits: Number(r.dataset.bits),
    kmeans: Number(r.querySelector('[data-out="kmeans"]').textContent.replace('%', '')),
    linear: Number(r.querySelector('[data-out="linear"]').textContent.replace('%', '')),
  })));
  const fp32 = pct(await text(page, 'fp32'));
  console.log(`fp32 ${fp32}; ${JSON.stringify(rows)}`);
  assert.deepEqual(rows.map((r) => r.bits), [8, 4, 2]);
  assert.ok(Math.abs(rows[0].kmeans - fp32) <= 1 && Math.abs(rows[0].linear - fp32) <= 1.5);
  assert.ok(rows[2].kmeans < fp32 - 10, 'two bits lose a lot before QAT');
  assert.deepEqual(page.problems(), []);
});

test('quantization-aware training advances through an epoch and is measured after it', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?eval_images=300&ft_batch=64');
  const qat = page.getByRole('group', { name: 'Quantization-aware training' });
  await page.locator('table[aria-label="Accuracy per epoch of quantization-aware training"] tr[data-epoch="0"]').waitFor({ timeout: 120_000 });
  // One step, then the run through the epoch.
  await qat.getByRole('button', { name: 'Step' }).click();
  await page.waitForFunction(() => /iteration 1 \//.test(document.querySelector('[role="group"][aria-label="Quantization-aware training"] .counter').textContent));
  await qat.getByRole('button', { name: 'Run' }).click();
  await page.locator('tr[data-epoch="1"]').waitFor({ timeout: 300_000 });
  const before = pct(await page.locator('tr[data-epoch="0"] [data-out="qat-acc"]').textContent());
  const after = pct(await page.locator('tr[data-epoch="1"] [data-out="qat-acc"]').textContent());
  console.log(`QAT 4 bits: before ${before}%, after one epoch ${after}%`);
  assert.ok(after >= before - 0.5, `${before} -> ${after}`);
  assert.match(await text(page, 'qat-recovered'), /After 1 epoch/);
  // Reset starts over from the quantized network.
  await qat.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => !document.querySelector('tr[data-epoch="1"]'));
  await screenshot(page, 'quantization-qat', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('on WebGPU k-means runs on the kernel and finds the same codebook; bad URLs are notices', async () => {
  const cpu = await watchedPage(env.browser);
  await open(cpu, '?bits=4&layer=conv3');
  const gpu = await watchedPage(env.gpuBrowser);
  await gpu.goto(`${env.server.base}#/quantization?bits=4&layer=conv3`);
  await gpu.locator('[data-out="kmeans-ran"]').filter({ hasText: 'WebGPU' }).waitFor({ timeout: 180_000 });
  assert.deepEqual(await codebook(gpu), await codebook(cpu));
  // The assignment passes ran on the device worker's device (Under the hood counts its jobs).
  await gpu.goto(`${env.server.base}#/under-the-hood`);
  const device = await gpu.locator('[data-out="device-worker"]').textContent();
  const jobs = Number(/answered on this visit: (\d+)\./.exec(device)?.[1] ?? 0);
  assert.ok(jobs >= 5, device);
  assert.deepEqual(gpu.problems(), []);
  await cpu.goto(`${env.server.base}#/quantization?layer=conv9&bits=12`);
  await cpu.getByRole('alert').filter({ hasText: /URL parameter layer/ }).waitFor();
  await cpu.getByRole('alert').filter({ hasText: /\(bits\)/ }).waitFor();
  assert.deepEqual(cpu.problems(), []);
});

test('the Benchmarks appendix times classification and the codebooks on the CPU, and says WebGPU was not there', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  const button = page.getByRole('button', { name: 'Time classification and codebooks' });
  const done = () => page.waitForFunction(() => document.querySelector('[data-out="compress-bench-status"]')?.textContent === 'Done.',
    null, { timeout: 300_000 });
  await button.click();
  await done();
  // The second run (the data and network already loaded) is held to the task budget like the
  // chapters' computations.
  await watchLongTasks(page);
  await button.click();
  await page.locator('[data-out="compress-bench-status"]').filter({ hasText: /^Classifying/ }).waitFor();
  await done();
  await checkLongTasks(page, 'benchmarks, classification and codebooks (second run)');
  const cell = (key, col) => page.locator(`[data-bench="${key}"] [data-col="${col}"]`).textContent();
  const ms = async (key) => Number(/^(\d+) ms$/.exec(await cell(key, 'cpu'))[1]);
  const [classify, kmeans] = [await ms('classify'), await ms('kmeans4')];
  console.log(`benchmarks on the CPU: classify 1000 images ${classify} ms, 4-bit codebooks ${kmeans} ms`);
  assert.ok(classify > 0 && kmeans > 0, `${classify} ${kmeans}`);
  for (const key of ['classify', 'kmeans4']) {
    assert.equal(await cell(key, 'webgpu'), '–');
    assert.equal(await cell(key, 'ratio'), '–');
  }
  assert.deepEqual(page.problems(), []);
});
