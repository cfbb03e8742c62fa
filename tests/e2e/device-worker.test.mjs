// WebGPU from a worker (src/workers/device.rs): with WebGPU on, chapter 6's test-set
// classification runs on a device that a background worker owns (Under the hood counts its jobs),
// and its accuracies equal the page's own WebGPU path's (the worker script blocked: the device
// pool is given up and the page drives the GPU itself, as Under the hood then says). The device
// worker's device lost in the middle of chapter 6's scan: the scan finishes on the CPU, the page
// says so once, and its accuracies are the CPU path's. The Benchmarks appendix classifies 1000 test
// images on both devices and compares the logits bit for bit. Chapter 2's attention and Under the
// hood's kernels and self-test run there too, on the page's one device (it opens none of its own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureDevices, destroyDevices, fineTuningRun, useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers({ browser: { webgpu: true }, cpuBrowser: {} });

async function onWebGpu(page) {
  await page.waitForFunction(() => /WebGPU \(/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? ''),
    null, { timeout: 60_000 });
}

test('chapter 6 classifies on the device worker with the page\'s WebGPU accuracies', async (t) => {
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/pruning?s_conv1=0.6&s_conv2=0.6&eval_images=400`);
    await onWebGpu(page);
    const accuracy = page.locator('[data-out="accuracy"]');
    await accuracy.filter({ hasText: /pruned/ }).waitFor({ timeout: 300_000 });
    const text = await accuracy.textContent();
    assert.match(text, /\(WebGPU\)/, text);
    await page.goto(`${env.server.base}#/under-the-hood`);
    const device = await page.locator('[data-out="device-worker"]').textContent();
    runs.push({ text, device });
    if (blocked) {
      assert.match(device, /^The WebGPU worker stopped \(.+\); the page drives the GPU itself\.$/, device);
    } else {
      const jobs = Number(/Jobs it answered on this visit: (\d+)\./.exec(device)?.[1]);
      // 400 images in jobs of 200, pruned and dense.
      assert.ok(jobs >= 4, device);
      assert.deepEqual(page.problems(), []);
    }
    await page.close();
  }
  runs.forEach((r) => t.diagnostic(`${r.text} | ${r.device}`));
  assert.equal(runs[0].text, runs[1].text);
});

test('the device worker\'s device lost mid-scan: chapter 6 finishes on the CPU with its accuracies', async () => {
  const scan = async (page, lose) => {
    await page.goto(`${env.server.base}#/pruning?eval_images=100&scan_images=100&scan_from=0.9&scan_to=0.9`);
    await page.waitForFunction(() => /pruned/.test(document.querySelector('[data-out="accuracy"]')?.textContent ?? ''), null, { timeout: 300_000 });
    await page.getByRole('button', { name: 'Run the scan' }).click();
    if (lose) {
      await page.waitForFunction(() => /^[2-9] \/ 10/.test(document.querySelector('[data-out="scan-progress"]')?.textContent ?? ''), null, { timeout: 300_000 });
      assert.ok(await destroyDevices(page, { page: false, workers: true }) >= 1, 'the device worker had a device');
    }
    await page.waitForFunction(() => (document.querySelector('[data-out="scan-progress"]')?.textContent ?? '') === '10 / 10 evaluations', null, { timeout: 600_000 });
    return page.locator('[data-figure="sensitivity"] .summary-text').textContent();
  };
  const gpu = await watchedPage(env.browser);
  await captureDevices(gpu);
  await gpu.goto(`${env.server.base}#/`);
  await onWebGpu(gpu);
  const lost = await scan(gpu, true);
  const notices = gpu.locator('.backend-notice').filter({ hasText: /lost/ });
  await notices.first().waitFor({ timeout: 60_000 });
  assert.equal(await notices.count(), 1);
  assert.match(await gpu.getByRole('status', { name: 'Compute backend' }).textContent(), /^CPU/);
  const cpu = await watchedPage(env.cpuBrowser);
  const want = await scan(cpu, false);
  const nums = (s) => (s.match(/[\d.]+%/g) || []).map(parseFloat);
  assert.equal(nums(lost).length, nums(want).length, `${lost} vs ${want}`);
  nums(lost).forEach((v, i) => assert.ok(Math.abs(v - nums(want)[i]) <= 1, `${lost} vs ${want}`));
  await gpu.goto(`${env.server.base}#/under-the-hood`);
  assert.match(await gpu.locator('[data-out="device-worker"]').textContent(), /^The WebGPU worker's device was lost \(.+\); the page computes on the CPU\.$/);
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('the Benchmarks appendix: the WebGPU worker\'s 10,000 logits equal the page\'s WebGPU path\'s bit for bit', async (t) => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await onWebGpu(page);
  await page.getByRole('button', { name: 'Time classification and codebooks' }).click();
  await page.waitForFunction(() => document.querySelector('[data-out="compress-bench-status"]')?.textContent === 'Done.',
    null, { timeout: 600_000 });
  const same = await page.locator('[data-out="compress-bench-same"]').textContent();
  t.diagnostic(same);
  assert.match(same, /The WebGPU worker's logits \(10000\) equal the page's own WebGPU path's bit for bit \(the page's device: \d+ ms\)\.$/);
  assert.match(await page.locator('[data-bench="classify"] [data-col="webgpu"]').textContent(), /^\d+ ms$/);
  assert.deepEqual(page.problems(), []);
});

test('chapter 3\'s fine-tuning on the device worker gives the page\'s WebGPU numbers', async (t) => {
  // block2, 60 images, 2 epochs on WebGPU: with the device worker (a unit of 64 images per job)
  // and with the worker script blocked (the page's own device): the last epoch's loss (6 digits)
  // and the result must agree.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    const run = await fineTuningRun(page, env.server.base, 'images=60&test_images=40&epochs=2&lr=0.01&tune=block2', onWebGpu);
    await page.goto(`${env.server.base}#/under-the-hood`);
    const device = await page.locator('[data-out="device-worker"]').textContent();
    runs.push({ ...run, jobs: Number(/answered on this visit: (\d+)\./.exec(device)?.[1] ?? 0) });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  runs.forEach((r) => t.diagnostic(`${r.jobs} device jobs: ${r.status} ${r.loss} ${r.result}`));
  assert.match(runs[0].status, /on WebGPU\.$/);
  assert.match(runs[1].status, /on WebGPU\.$/);
  assert.ok(runs[0].jobs > 0);
  assert.equal(runs[1].jobs, 0);
  assert.match(runs[0].loss, /: \d+\.\d{6}\.$/);
  assert.equal(runs[0].loss, runs[1].loss);
  assert.equal(runs[0].result, runs[1].result);
});

test('the image lab fine-tunes on the device worker with the page\'s WebGPU losses and weights', async (t) => {
  // 3 steps of 16 images on WebGPU, then 200 test images under the tuned weights: with the device
  // worker (the network resident there: a session opened, 3 steps, the weights copied back for
  // the evaluation) and with the worker script blocked (the page's own device). The loss curve's
  // summary, the last step's status and the accuracy must agree.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/image-lab?ft_steps=3&ft_batch=16&eval_images=200`);
    await onWebGpu(page);
    const group = page.getByRole('group', { name: 'Fine-tuning' });
    await group.getByRole('button', { name: 'Run' }).click();
    await page.waitForFunction(() => /Done: 3 steps/.test(document.querySelector('[aria-label="Fine-tuning"] .status')?.textContent ?? ''),
      null, { timeout: 300_000 });
    const curve = await page.locator('[data-figure="fine-tuning"] .summary-text').textContent();
    await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
    await page.getByRole('status').filter({ hasText: /Done: 200 images with fine-tuned for 3 steps/ }).waitFor({ timeout: 300_000 });
    const accuracy = page.locator('[data-out="accuracy"]');
    const run = { curve, accuracy: await accuracy.textContent(), backend: await accuracy.getAttribute('data-backend') };
    await page.goto(`${env.server.base}#/under-the-hood`);
    const device = await page.locator('[data-out="device-worker"]').textContent();
    runs.push({ ...run, jobs: Number(/answered on this visit: (\d+)\./.exec(device)?.[1] ?? 0) });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  runs.forEach((r) => t.diagnostic(`${r.jobs} device jobs: ${r.curve} | ${r.accuracy} (${r.backend})`));
  // Open, 3 steps, the weights, 1 logits job of 200 images.
  assert.ok(runs[0].jobs >= 6, `${runs[0].jobs} device jobs`);
  assert.equal(runs[1].jobs, 0);
  assert.equal(runs[0].backend, 'WebGPU');
  assert.equal(runs[1].backend, 'WebGPU');
  assert.equal(runs[0].curve, runs[1].curve);
  assert.equal(runs[0].accuracy, runs[1].accuracy);
});

test('chapter 6\'s goal fine-tunes a pruned network on the device worker with its masks kept', async (t) => {
  // conv7 and conv8 at 50%, 2 steps on WebGPU, with the device worker (the masks sent with the
  // session) and with the worker script blocked. The goal's verdict counts the nonzero weights
  // after fine-tuning and classifies 200 test images: it must be the same, the pruned size kept.
  const verdicts = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/pruning?s_conv8=0.5&s_conv7=0.5&eval_images=200&ft_steps=2&ft_batch=16`);
    await onWebGpu(page);
    await page.locator('[data-out="accuracy"]').filter({ hasText: /pruned/ }).waitFor({ timeout: 300_000 });
    const size = /\(([\d.]+)% of dense/.exec(await page.locator('[data-out="size"]').textContent())[1];
    const group = page.getByRole('group', { name: 'Fine-tuning the pruned network' });
    await group.getByRole('button', { name: 'Run' }).click();
    await page.waitForFunction(() => /Done: 2 steps/.test(document.querySelector('[aria-label="Fine-tuning the pruned network"] .status')?.textContent ?? ''),
      null, { timeout: 300_000 });
    await page.getByRole('button', { name: 'Check the goal' }).click();
    const verdict = page.locator('[data-exercise="goal"] [data-result]');
    await verdict.waitFor({ timeout: 300_000 });
    const text = await verdict.textContent();
    assert.ok(text.includes(`Size: ${size}% of dense`), `${size}: ${text}`);
    verdicts.push(text);
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  verdicts.forEach((v) => t.diagnostic(v));
  assert.equal(verdicts[0], verdicts[1]);
});

test('chapter 4 generates on the device worker with the page\'s WebGPU text and answers', async (t) => {
  // Greedy, 40 characters, then the 7 test irregulars (3 shots) on WebGPU: with the device worker
  // (a reading opened there per generation, a feed job per character) and with the worker script
  // blocked (the page's own device). The same text, answers and probabilities.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/prompting?t=0&chars=40`);
    await onWebGpu(page);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Generate' && !b.disabled),
      null, { timeout: 60_000 });
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const status = page.locator('[data-out="play-status"]');
    await status.filter({ hasText: /characters in .* ms on/ }).waitFor({ timeout: 300_000 });
    const text = await page.locator('[data-out="play-output"]').textContent();
    const on = await status.textContent();
    await page.getByRole('button', { name: 'Ask the test nouns' }).click();
    await page.locator('[data-out="test-summary"]').filter({ hasText: /^\d of 7 right/ }).waitFor({ timeout: 300_000 });
    const answers = await page.$$eval('table[data-out="test-answers"] tbody tr', (rs) => rs.map((r) => r.textContent));
    await page.goto(`${env.server.base}#/under-the-hood`);
    const device = await page.locator('[data-out="device-worker"]').textContent();
    runs.push({ text, on, answers, jobs: Number(/answered on this visit: (\d+)\./.exec(device)?.[1] ?? 0) });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  runs.forEach((r) => t.diagnostic(`${r.jobs} device jobs: ${r.on} ${JSON.stringify(r.text)} | ${r.answers.join(' | ')}`));
  for (const r of runs) assert.match(r.on, /on WebGPU\./);
  // 40 characters: an open and at least 40 feeds; then 7 readings of the test nouns.
  assert.ok(runs[0].jobs >= 41 + 14, `${runs[0].jobs} device jobs`);
  assert.equal(runs[1].jobs, 0);
  assert.equal(runs[0].text, runs[1].text);
  assert.equal(runs[0].answers.length, 7);
  assert.deepEqual(runs[0].answers, runs[1].answers);
});

test('chapter 2\'s attention and Under the hood\'s kernels run on the device worker with the page\'s WebGPU results', async (t) => {
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    await captureDevices(page);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/attention?patch=8&window=2&dim=32`);
    await page.locator('[data-out="ran"]').filter({ hasText: /WebGPU/ }).waitFor({ timeout: 120_000 });
    // What every output moved at a caption edit (the toy captioner's attention on the kernel).
    const before = await page.locator('table.moved caption').textContent();
    const input = page.getByLabel('Caption tokens', { exact: true });
    await input.fill('<SOS> a mountain ridge <PAD>');
    await input.press('Enter');
    await page.waitForFunction((b) => document.querySelector('table.moved caption')?.textContent !== b, before);
    const cells = await page.$$eval('table.moved td', (tds) => tds.map((td) => td.textContent));
    await page.getByRole('button', { name: 'Measure', exact: true }).click();
    await page.waitForFunction(() => {
      const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Measure');
      return b && !b.disabled && document.querySelectorAll('table[aria-label="Measured attention time"] tbody tr').length >= 2;
    }, null, { timeout: 240_000 });
    const timed = await page.$$eval('table[aria-label="Measured attention time"] tbody tr', (rs) => rs.length);
    await page.goto(`${env.server.base}#/under-the-hood`);
    await page.getByRole('button', { name: 'Run the benchmark' }).click();
    await page.getByRole('status').filter({ hasText: 'Done.' }).waitFor({ timeout: 180_000 });
    const gflops = await page.$$eval('table[aria-label="Kernel benchmark"] [data-col="gpu"]', (cs) => cs.map((c) => Number(c.textContent)));
    const parity = await page.$$eval('table[aria-label="Kernel parity"] tbody tr', (rs) => rs.map((r) => `${r.firstElementChild.textContent} ${r.dataset.ok} ${r.children[1].textContent}`));
    const device = await page.locator('[data-out="device-worker"]').textContent();
    t.diagnostic(`${blocked ? 'worker blocked' : 'device worker'}: ${timed} sizes timed; WebGPU GFLOP/s ${gflops.join(', ')}; ${device}`);
    assert.ok(timed >= 2);
    assert.ok(gflops.length === 6 && gflops.every((g) => g > 0), JSON.stringify(gflops));
    assert.ok(parity.length >= 18 && parity.every((p) => / true /.test(p)), JSON.stringify(parity));
    // One device per page: the device worker's, or (its script blocked) the page's own.
    const pageDevices = await page.evaluate(() => self.__devices.length);
    let workerDevices = 0;
    for (const w of page.workers()) workerDevices += await w.evaluate(() => self.__devices?.length ?? 0).catch(() => 0);
    assert.deepEqual([pageDevices, workerDevices], blocked ? [1, 0] : [0, 1]);
    if (!blocked) {
      const jobs = Number(/Jobs it answered on this visit: (\d+)\./.exec(device)?.[1]);
      // The captioner's layers (2 + one per caption token, twice), 2 timings per size, 6 kernels, the self-test.
      assert.ok(jobs >= 2 * 2 + 2 * timed + 7, device);
    } else {
      assert.match(device, /the page drives the GPU itself/, device);
    }
    runs.push({ cells, parity });
    assert.deepEqual(page.problems(), []);
    await page.close();
  }
  assert.deepEqual(runs[0].cells, runs[1].cells);
  assert.deepEqual(runs[0].parity, runs[1].parity);
});
