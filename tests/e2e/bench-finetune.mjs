// Browser benchmark (not a test): the Benchmarks appendix's fine-tuning epoch (chapter 3) in
// headless Chromium, on the CPU path (and on WebGPU with WEBGPU=1); prints the times as JSON.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const server = await serve();
const browser = await launch({ webgpu: process.env.WEBGPU === '1' });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
await page.getByRole('button', { name: 'Time a fine-tuning epoch' }).click();
await page.waitForFunction(() => document.querySelector('[data-out="ft-bench-status"]')?.textContent === 'Done.',
  null, { timeout: 3_600_000 });
const rows = await page.$$eval('table[aria-label="Fine-tuning benchmark"] tbody tr', (rs) => rs.map((r) => ({
  tune: r.firstElementChild.textContent,
  backend: r.querySelector('[data-col="backend"]').textContent,
  prefix_ms: Number(r.querySelector('[data-col="prefix"]').textContent.replace(/[^\d.]/g, '')),
  epoch_ms: Number(r.querySelector('[data-col="epoch"]').textContent.replace(/[^\d.]/g, '')),
})));
console.log(JSON.stringify({ browser: `Chromium ${browser.version()} (headless)`, images: 1000, rows }));
await finishBench(page, browser, server);
