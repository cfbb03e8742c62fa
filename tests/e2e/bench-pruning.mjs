// Browser benchmark (not a test): the pruning chapter's sensitivity scan, timed as the reader runs
// it. CPU path: the page's default scan (6 sparsities x 9 layers + dense, 500 test images each);
// WEBGPU=1: SCAN_FROM..SCAN_TO (default one sparsity, 0.9) on IMAGES (default 100) images. Prints JSON.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const webgpu = process.env.WEBGPU === '1';
const images = Number(process.env.IMAGES || (webgpu ? 100 : 500));
const from = process.env.SCAN_FROM || (webgpu ? '0.9' : '0.4');
const to = process.env.SCAN_TO || '0.9';
const server = await serve();
const browser = await launch({ webgpu });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/pruning?eval_images=100&scan_images=${images}&scan_from=${from}&scan_to=${to}`);
await page.waitForFunction(() => /pruned/.test(document.querySelector('[data-out="accuracy"]')?.textContent ?? ''), null, { timeout: 600_000 });
const t0 = Date.now();
await page.getByRole('button', { name: 'Run the scan' }).click();
await page.waitForFunction(() => {
  const m = /^(\d+) \/ (\d+)/.exec(document.querySelector('[data-out="scan-progress"]')?.textContent ?? '');
  return m && m[1] === m[2] && m[2] !== '0';
}, null, { timeout: 7_200_000 });
const seconds = (Date.now() - t0) / 1000;
const progress = await page.locator('[data-out="scan-progress"]').textContent();
const evaluations = Number(/\/ (\d+)/.exec(progress)[1]);
console.log(JSON.stringify({
  browser: `Chromium ${browser.version()} (headless)`,
  backend: (await page.locator('[aria-label="Compute backend"]').textContent()).trim(),
  evaluations, images_per_evaluation: images, seconds,
  images_per_s: evaluations * images / seconds,
  verdict: await page.locator('[data-out="most-sensitive"]').textContent(),
}));
await finishBench(page, browser, server);
