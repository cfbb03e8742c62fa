// The compute engine in a real browser: Chromium with --enable-unsafe-webgpu offers a software
// (SwiftShader) WebGPU adapter; without the flag it offers none and the page uses the CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot } from './harness.mjs';

const env = useBrowsers({ gpuBrowser: { webgpu: true }, cpuBrowser: {} });

const badge = (page) => page.getByRole('status', { name: 'Compute backend' });

async function runBenchmark(page) {
  await page.getByRole('button', { name: 'Run the benchmark' }).click();
  await page.getByRole('status').filter({ hasText: 'Done.' }).waitFor({ timeout: 180_000 });
  return page.$$eval('table[aria-label="Kernel benchmark"] tbody tr', (rows) => rows.map((r) => ({
    size: Number(r.dataset.size),
    cpu: Number(r.querySelector('[data-col="cpu"]').textContent),
    gpu: Number(r.querySelector('[data-col="gpu"]').textContent),
    err: Number(r.querySelector('[data-col="err"]').textContent),
    note: r.lastElementChild.textContent,
  })));
}

test('with WebGPU the badge names the adapter and the kernels agree with the CPU', async () => {
  const page = await watchedPage(env.gpuBrowser);
  await page.goto(`${env.server.base}#/under-the-hood`);
  await page.waitForFunction(() => /WebGPU \(/.test((document.querySelector('[aria-label="Compute backend"]')?.textContent ?? '')), null, { timeout: 30_000 });
  await page.locator('[data-backend="webgpu"]').waitFor();
  const rows = await runBenchmark(page);
  assert.equal(rows.length, 6);
  for (const r of rows) {
    assert.ok(r.cpu > 0 && r.gpu > 0, JSON.stringify(r));
    assert.ok(r.err < 1e-4, `parity error ${r.err} at ${r.size}`);
  }
  console.log(`browser GFLOP/s: ${rows.map((r) => `${r.size || 'conv'}: CPU ${r.cpu}, WebGPU ${r.gpu}`).join('; ')}`);
  // Every kernel matches its CPU reference on this adapter.
  const parity = await page.$$eval('table[aria-label="Kernel parity"] tbody tr', (rs) => rs.map((r) => [r.firstElementChild.textContent, r.dataset.ok]));
  assert.ok(parity.length >= 18, JSON.stringify(parity));
  assert.deepEqual(parity.filter(([, ok]) => ok !== 'true'), []);
  await screenshot(page, 'under-the-hood-webgpu');

  // A lost device: the page says so, switches to the CPU and still finishes.
  await page.getByRole('button', { name: 'Simulate losing the GPU device' }).click();
  const after = await runBenchmark(page);
  assert.equal(after.length, 6);
  assert.ok(after.every((r) => r.cpu > 0), JSON.stringify(after));
  await page.getByText(/device was lost/).first().waitFor();
  assert.match(await badge(page).textContent(), /^CPU/);
  assert.deepEqual(page.problems(), []);
});

test('without WebGPU the badge reads CPU and says why; backend=cpu forces the CPU', async () => {
  const page = await watchedPage(env.cpuBrowser);
  await page.goto(`${env.server.base}#/under-the-hood`);
  await page.locator('[data-backend="cpu"]').waitFor({ timeout: 30_000 });
  assert.equal((await badge(page).textContent()).trim(), 'CPU');
  // The backend notice: one line, the reason behind Details.
  await page.locator('.backend-notice').waitFor();
  assert.equal(await page.locator('.backend-notice .notice-line').textContent(), 'Running on the CPU: this browser offers no WebGPU.');
  assert.match(await page.locator('.backend-notice details p').first().textContent(), /^Computing on the CPU: /);
  const rows = await runBenchmark(page);
  assert.ok(rows.every((r) => r.cpu > 0 && r.note === 'CPU only'), JSON.stringify(rows));
  assert.deepEqual(page.problems(), []);

  const forced = await watchedPage(env.gpuBrowser);
  await forced.goto(`${env.server.base}#/meta-learning?backend=cpu&seed=4`);
  await forced.getByRole('heading', { level: 1 }).waitFor();
  await forced.waitForTimeout(500);
  assert.equal((await badge(forced).textContent()).trim(), 'CPU');
  assert.match(forced.url(), /backend=cpu/);
  assert.match(forced.url(), /seed=4/);
  // The header control switches back to WebGPU, and the URL follows.
  await forced.getByRole('combobox', { name: 'Compute backend choice' }).selectOption('auto');
  await forced.waitForFunction(() => /WebGPU/.test((document.querySelector('[aria-label="Compute backend"]')?.textContent ?? '')), null, { timeout: 30_000 });
  assert.doesNotMatch(forced.url(), /backend=cpu/);
  assert.deepEqual(forced.problems(), []);
});

test('chapter 1 computes the same figures with WebGPU on and off', async () => {
  const summaries = [];
  for (const browser of [env.gpuBrowser, env.cpuBrowser]) {
    const page = await watchedPage(browser);
    await page.goto(`${env.server.base}#/meta-learning?iters=10&seed=2`);
    const cf = page.locator('section[aria-labelledby="part-e"]');
    await cf.getByRole('status').filter({ hasText: /Ready: press Run/ }).waitFor({ timeout: 60_000 });
    await cf.getByRole('button', { name: 'Run' }).click();
    await cf.getByRole('status').filter({ hasText: /Done: 10 meta-iterations/ }).waitFor({ timeout: 60_000 });
    summaries.push(await page.locator('[data-figure="test_loss"] .summary-text').textContent());
    assert.deepEqual(page.problems(), []);
  }
  assert.equal(summaries[0], summaries[1]);
});

/** Fine-tune three steps and evaluate 200 test images on the image-lab page; what the page reports. */
async function fineTuneAndEvaluate(page) {
  await page.goto(`${env.server.base}#/image-lab?ft_steps=3&ft_batch=16&eval_images=200`);
  await page.getByRole('heading', { name: 'Fine-tuning here' }).waitFor();
  await page.waitForFunction(() => !/checking/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? 'checking'), null, { timeout: 30_000 });
  const group = page.getByRole('group', { name: 'Fine-tuning' });
  await group.getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(() => (document.querySelector('[aria-label="Fine-tuning"] .counter')?.textContent ?? '').startsWith('iteration 3 '), null, { timeout: 300_000 });
  await page.waitForFunction(() => /Done: 3 steps/.test(document.querySelector('[aria-label="Fine-tuning"] .status')?.textContent ?? ''));
  const curve = await page.locator('[data-figure="fine-tuning"] .summary-text').textContent();
  await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
  const done = page.getByRole('status').filter({ hasText: /Done: 200 images with fine-tuned for 3 steps/ });
  await done.waitFor({ timeout: 300_000 });
  const acc = page.locator('[data-out="accuracy"]');
  return {
    curve,
    tuningStatus: await group.getByRole('status').textContent(),
    evalStatus: await done.textContent(),
    accuracy: parseFloat(await acc.textContent()),
    backend: await acc.getAttribute('data-backend'),
  };
}

test('the image lab fine-tunes and evaluates on WebGPU with the CPU path\'s results', async () => {
  const gpuPage = await watchedPage(env.gpuBrowser);
  const gpu = await fineTuneAndEvaluate(gpuPage);
  console.log(`WebGPU image lab: ${gpu.tuningStatus} | ${gpu.evalStatus}`);
  assert.match(gpu.tuningStatus, /on the WebGPU/);
  assert.equal(gpu.backend, 'WebGPU');
  await screenshot(gpuPage, 'image-lab-webgpu');
  const cpuPage = await watchedPage(env.cpuBrowser);
  const cpu = await fineTuneAndEvaluate(cpuPage);
  console.log(`CPU image lab: ${cpu.tuningStatus} | ${cpu.evalStatus}`);
  assert.equal(cpu.backend, 'CPU');
  // Same seed, same batches: the same losses (to rounding) and the same accuracy.
  const losses = (s) => /loss from ([\d.]+) to ([\d.]+)/.exec(s).slice(1).map(Number);
  const [g0, g1] = losses(gpu.curve);
  const [c0, c1] = losses(cpu.curve);
  assert.ok(Math.abs(g0 - c0) < 0.002 && Math.abs(g1 - c1) < 0.002, `${gpu.curve} vs ${cpu.curve}`);
  assert.ok(Math.abs(gpu.accuracy - cpu.accuracy) <= 0.5, `${gpu.accuracy} vs ${cpu.accuracy}`);
  assert.deepEqual(gpuPage.problems(), []);
  assert.deepEqual(cpuPage.problems(), []);
});

// The pruned network's accuracy and one image's latency. The sensitivity scan classifies through the
// same path (tests/e2e/pruning.test.mjs runs it on the CPU); on the CI's software WebGPU it took
// 140 s, so it is not repeated here.
async function pruningReadout(page) {
  await page.goto(`${env.server.base}#/pruning?s_conv8=0.8&eval_images=100`);
  await page.getByRole('heading', { level: 1, name: 'Pruning the trained network' }).waitFor();
  await page.waitForFunction(() => /pruned/.test(document.querySelector('[data-out="accuracy"]')?.textContent ?? ''), null, { timeout: 300_000 });
  const readout = await page.locator('[data-out="accuracy"]').textContent();
  // One image's latency: dense, fine-grained and channel-pruned, on the CPU and (when in use) WebGPU.
  await page.getByRole('button', { name: 'Measure latency' }).click();
  await page.waitForFunction(() => /CPU: [\d.]+ ms dense/.test(document.querySelector('[data-out="latency"]')?.textContent ?? ''), null, { timeout: 300_000 });
  const latency = await page.locator('[data-out="latency"]').textContent();
  return { readout, latency };
}

test('the pruning chapter computes on WebGPU with the CPU path\'s numbers', async () => {
  const gpuPage = await watchedPage(env.gpuBrowser);
  const gpu = await pruningReadout(gpuPage);
  console.log(`WebGPU pruning: ${gpu.readout}`);
  assert.match(gpu.readout, /\(WebGPU\)/);
  console.log(`WebGPU latency: ${gpu.latency}`);
  assert.match(gpu.latency, /WebGPU: [\d.]+ ms dense, [\d.]+ ms pruned/);
  const cpuPage = await watchedPage(env.cpuBrowser);
  const cpu = await pruningReadout(cpuPage);
  console.log(`CPU pruning: ${cpu.readout}`);
  assert.match(cpu.readout, /\(CPU\)/);
  assert.doesNotMatch(cpu.latency, /WebGPU/);
  const nums = (s) => (s.match(/[\d.]+%/g) || []).map(parseFloat);
  const [gp, gd] = nums(gpu.readout);
  const [cp, cd] = nums(cpu.readout);
  assert.ok(Math.abs(gp - cp) <= 1 && Math.abs(gd - cd) <= 1, `${gpu.readout} vs ${cpu.readout}`);
  assert.deepEqual(gpuPage.problems(), []);
  assert.deepEqual(cpuPage.problems(), []);
});
