// Browser benchmark (not a test): the Benchmarks appendix's soft-prompt epoch in headless Chromium:
// the training steps of one epoch (CPU), the validation answers with the prompt read once and read
// for every noun (CPU), and with WEBGPU=1 the validation answers and the epoch's training steps
// (the prompt's gradient) on WebGPU: the device worker's, then the page's own.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const server = await serve();
const webgpu = process.env.WEBGPU === '1';
const browser = await launch({ webgpu });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
if (webgpu) await page.locator('[aria-label="Compute backend"]').filter({ hasText: /WebGPU \(/ }).waitFor({ timeout: 30_000 });
await page.getByRole('button', { name: 'Time a soft-prompt epoch' }).click();
// Done: the button enabled again (after the last row, or an error named).
const button = page.getByRole('button', { name: 'Time a soft-prompt epoch' });
await page.waitForFunction((b) => b.disabled, await button.elementHandle());
await page.waitForFunction((b) => !b.disabled, await button.elementHandle(), { timeout: 1_800_000 });
const error = await page.locator('[role="alert"]').allTextContents();
if (error.length) console.log(JSON.stringify({ error }));
const rows = await page.$$eval('table[aria-label="Soft-prompt epoch benchmark"] tbody tr', (rs) => rs.map((r) => ({
  key: r.dataset.bench,
  what: r.querySelector('th').textContent,
  ms: Number(r.querySelector('[data-col="ms"]').textContent.replace(/[^\d.]/g, '')),
})));
console.log(JSON.stringify({ browser: `Chromium ${browser.version()} (headless)`, rows }));
await finishBench(page, browser, server);
