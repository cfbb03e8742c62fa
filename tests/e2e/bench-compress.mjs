// Browser benchmark (not a test): the Benchmarks appendix's classification of 1000 test images and
// 4-bit k-means codebooks (chapters 6 and 7) in headless Chromium, on the CPU path (the page's
// thread alone, and classification on the worker pool as well), and on WebGPU as well with
// WEBGPU=1; prints the times as JSON.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const server = await serve();
const browser = await launch({ webgpu: process.env.WEBGPU === '1' });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
if (process.env.WEBGPU === '1') {
  await page.locator('[aria-label="Compute backend"]').filter({ hasText: /WebGPU \(/ }).waitFor({ timeout: 30_000 });
}
await page.getByRole('button', { name: 'Time classification and codebooks' }).click();
await page.waitForFunction(() => document.querySelector('[data-out="compress-bench-status"]')?.textContent === 'Done.',
  null, { timeout: 3_600_000 });
const rows = await page.$$eval('table[aria-label="Pruning and quantization benchmark"] tbody tr', (rs) => rs.map((r) => ({
  work: r.dataset.bench,
  cpu: r.querySelector('[data-col="cpu"]').textContent,
  workers: r.querySelector('[data-col="workers"]').textContent,
  workersRatio: r.querySelector('[data-col="workers-ratio"]').textContent,
  webgpu: r.querySelector('[data-col="webgpu"]').textContent,
  ratio: r.querySelector('[data-col="ratio"]').textContent,
})));
const same = await page.locator('[data-out="compress-bench-same"]').textContent();
const cores = await page.evaluate(() => navigator.hardwareConcurrency);
console.log(JSON.stringify({ browser: `Chromium ${browser.version()} (headless)`, cores, rows, same }));
await finishBench(page, browser, server);
