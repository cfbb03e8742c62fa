// Browser benchmark (not a test): the image lab's evaluation and fine-tuning throughput as the page
// reports it, on the CPU path, or with WEBGPU=1 on the browser's WebGPU adapter. Prints JSON.
// IMAGES (default 2000; 200 with WebGPU) test images, STEPS (default 20; 3 with WebGPU) steps of batch 32;
// then the Benchmarks appendix's training-step section (10 steps, CPU and WebGPU side by side).
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const webgpu = process.env.WEBGPU === '1';
const images = Number(process.env.IMAGES || (webgpu ? 200 : 2000));
const steps = Number(process.env.STEPS || (webgpu ? 3 : 20));
const server = await serve();
const browser = await launch({ webgpu });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/image-lab?eval_images=${images}&ft_steps=${steps}&ft_batch=32`);
await page.getByRole('heading', { name: 'Fine-tuning here' }).waitFor();
await page.waitForFunction(() => !/checking/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? 'checking'), null, { timeout: 30_000 });
const group = page.getByRole('group', { name: 'Fine-tuning' });
await group.getByRole('button', { name: 'Run' }).click();
await page.waitForFunction(() => /Done: \d+ steps/.test(document.querySelector('[aria-label="Fine-tuning"] .status')?.textContent ?? ''), null, { timeout: 1_800_000 });
const tuning = await group.getByRole('status').textContent();
await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
const done = page.getByRole('status').filter({ hasText: /Done: \d+ images/ });
await done.waitFor({ timeout: 1_800_000 });
const evaluation = await done.textContent();
const num = (re, s) => Number(re.exec(s)?.[1]);
console.log(JSON.stringify({
  browser: `Chromium ${browser.version()} (headless)`,
  backend: await page.locator('[aria-label="Compute backend"]').textContent(),
  eval_images: images,
  eval_images_per_s: num(/\((\d+) images\/s\)/, evaluation),
  train_steps: steps,
  batch: 32,
  train_images_per_s: num(/\((\d+) training images\/s/, tuning),
}));
// The Benchmarks appendix's training step: 10 steps on the CPU, then on WebGPU where there is one.
await page.goto(`${server.base}#/bench`);
await page.getByRole('button', { name: 'Time training steps' }).click();
await page.locator('[data-out="train-bench-status"]').filter({ hasText: /^(Done\.|The run did not finish\.)$/ }).waitFor({ timeout: 1_800_000 });
const stepRows = await page.$$eval('table[aria-label="Training step benchmark"] tbody tr', (rs) => rs.map((r) => ({
  key: r.dataset.bench,
  per_step: r.querySelector('[data-col="ms"]').textContent,
  rate: r.querySelector('[data-col="rate"]').textContent,
  ratio: r.querySelector('[data-col="ratio"]').textContent,
})));
console.log(JSON.stringify({ train_step: stepRows, losses: await page.locator('[data-out="train-bench-losses"]').textContent() }));
await finishBench(page, browser, server);
