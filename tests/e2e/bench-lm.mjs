// Browser benchmark (not a test): the Benchmarks appendix's language-model section in headless
// Chromium: generation characters per second on the CPU path (and on WebGPU with WEBGPU=1), and the
// soft-prompt pass over 64 prompts.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const server = await serve();
const browser = await launch({ webgpu: process.env.WEBGPU === '1' });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
await page.getByRole('button', { name: 'Time the language model' }).click();
await page.locator('[data-bench="lm_soft_pass"]').waitFor({ timeout: 600_000 });
const rows = await page.$$eval('table[aria-label="Language model benchmark"] tbody tr', (rs) => rs.map((r) => ({
  key: r.dataset.bench,
  ms: Number(r.querySelector('[data-col="ms"]').textContent.replace(/[^\d.]/g, '')),
  rate: r.querySelector('[data-col="rate"]').textContent,
})));
const parity = await page.$eval('[data-key="lm-parity"]', (e) => e.dataset.diff).catch(() => null);
console.log(JSON.stringify({ browser: `Chromium ${browser.version()} (headless)`, rows, logits_max_abs_diff: parity }));
await finishBench(page, browser, server);
