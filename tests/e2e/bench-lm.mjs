// Browser benchmark (not a test): the Benchmarks appendix's language-model section in headless
// Chromium: generation characters per second on the CPU path (and on WebGPU with WEBGPU=1), and the
// soft-prompt pass over 64 prompts; then chapter 4's full pluralize sweep (0-9 shots x the validation
// nouns) on the CPU path (the page's thread, then the worker pool) and on WebGPU.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const server = await serve();
const browser = await launch({ webgpu: process.env.WEBGPU === '1' });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
if (process.env.WEBGPU === '1') {
  await page.locator('[aria-label="Compute backend"]').filter({ hasText: /WebGPU \(/ }).waitFor({ timeout: 30_000 });
}
await page.getByRole('button', { name: 'Time the language model' }).click();
await page.locator('[data-bench="lm_soft_pass"]').waitFor({ timeout: 600_000 });
const rows = await page.$$eval('table[aria-label="Language model benchmark"] tbody tr', (rs) => rs.map((r) => ({
  key: r.dataset.bench,
  ms: Number(r.querySelector('[data-col="ms"]').textContent.replace(/[^\d.]/g, '')),
  rate: r.querySelector('[data-col="rate"]').textContent,
})));
const parity = await page.$eval('[data-out="lm-parity"]', (e) => e.dataset.diff).catch(() => null);
await page.getByRole('button', { name: 'Time the pluralize sweep' }).click();
await page.locator('[data-bench="lm_sweep"]').waitFor({ timeout: 1_800_000 });
await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Time the pluralize sweep' && !b.disabled),
  null, { timeout: 1_800_000 });
const sweep = await page.$$eval('table[aria-label="Pluralize sweep benchmark"] tbody tr', (rs) => rs.map((r) => ({
  key: r.dataset.bench,
  ms: Number(r.querySelector('[data-col="ms"]').textContent.replace(/[^\d.]/g, '')),
  rate: r.querySelector('[data-col="rate"]').textContent,
})));
const counts = await page.$eval('[data-out="lm-sweep"]', (e) => ({ correct: e.dataset.correct, same: e.dataset.same ?? null, workersSame: e.dataset.workersSame ?? null, text: e.textContent }));
console.log(JSON.stringify({ browser: `Chromium ${browser.version()} (headless)`, rows, logits_max_abs_diff: parity, sweep, sweep_correct: counts }));
await finishBench(page, browser, server);
