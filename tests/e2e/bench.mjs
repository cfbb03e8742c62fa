// Browser benchmark (not a test): opens the Benchmarks appendix of the built dist/ in headless
// Chromium, runs it `REPEAT` times and prints the best times as JSON.
import { serve, launch, watchedPage, finishBench } from './harness.mjs';

const repeat = Number(process.env.REPEAT || 3);
const server = await serve();
const browser = await launch({ webgpu: process.env.WEBGPU === '1' });
const page = await watchedPage(browser);
await page.goto(`${server.base}#/bench`);
const best = { train_ms: Infinity, sweep_ms: Infinity };
for (const v of ['gd', 'cls']) for (const k of [1, 5, 10]) best[`${v}_k${k}_ms`] = Infinity;
for (let i = 0; i < repeat; i++) {
  await page.getByRole('button', { name: 'Run the benchmark' }).click();
  await page.getByRole('status').filter({ hasText: 'Done.' }).waitFor({ timeout: 300_000 });
  for (const key of Object.keys(best)) {
    const t = await page.locator(`[data-bench="${key}"]`).textContent();
    best[key] = Math.min(best[key], Number(t.replace(/[^\d.]/g, '')));
  }
}
const version = browser.version();
console.log(JSON.stringify({ browser: `Chromium ${version} (headless)`, repeat, ...best }));
await finishBench(page, browser, server);
