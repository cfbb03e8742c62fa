// Chapter 1, parts g to i in a real browser: the gradient-descent and classification variants run,
// their counters advance, their figures redraw, and the numbers read off the page agree with the
// homework's answers (CPU path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, iteration, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers();

const section = (page, id) => page.locator(`section[aria-labelledby="${id}"]`);

async function runVariant(page, id, figure, iterations) {
  const sec = section(page, id);
  await sec.getByRole('status').filter({ hasText: /[Pp]ress Run/ }).waitFor({ timeout: 60_000 });
  const summary = page.locator(`[data-figure="${figure}"] .summary-text`);
  await sec.getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(
    (f) => /after 0 meta-iterations/.test(document.querySelector(`[data-figure="${f}"] .summary-text`)?.textContent ?? ''),
    figure, { timeout: 120_000 });
  await sec.getByRole('status').filter({ hasText: new RegExp(`Done: ${iterations} meta-iterations`) }).waitFor({ timeout: 300_000 });
  assert.equal(await iteration(sec), iterations);
  const text = await summary.textContent();
  assert.match(text, new RegExp(`after ${iterations} meta-iterations`));
  return text;
}

test('(g) gradient-descent MAML runs and beats all-ones; K = 0 learns nothing', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/meta-learning?gd_iters=20&gd_steps=1`);
  await page.getByRole('heading', { name: '(g) An inner loop of gradient steps' }).waitFor();
  assert.equal(await section(page, 'part-g').getByLabel('Inner gradient steps K', { exact: true }).inputValue(), '1');
  const text = await runVariant(page, 'part-g', 'gd_test_loss', 20);
  const at32 = /At n = 32: meta-learned ([\d.]*\d), all ones ([\d.]*\d)/.exec(text);
  assert.ok(at32, text);
  assert.ok(Number(at32[1]) < Number(at32[2]), text);
  const weights = await page.locator('[data-figure="gd_feature_weights"] .summary-text').textContent();
  await screenshot(page, 'chapter1-gd', { fullPage: false });

  // K = 0: the weights never move (typed into the control, then run).
  const k = section(page, 'part-g').getByLabel('Inner gradient steps K', { exact: true });
  await k.fill('0');
  await k.press('Enter');
  await page.waitForFunction(() => location.hash.includes('gd_steps=0'));
  await runVariant(page, 'part-g', 'gd_test_loss', 20);
  const still = await page.locator('[data-figure="gd_feature_weights"] .summary-text').textContent();
  assert.notEqual(still, weights);
  assert.match(still, /true features 1\.000, grid aliases 1\.000, other features 1\.000/, still);
  assert.deepEqual(page.problems(), []);
});

test('(h)-(i) classification MAML runs, beats all-ones, stays above the oracle, never freezes the page', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/meta-learning?cls_iters=20&cls_ilr=0.3`);
  await page.getByRole('heading', { name: '(h)–(i) Meta-learning for classification' }).waitFor();
  await watchLongTasks(page);
  const t0 = Date.now();
  const text = await runVariant(page, 'part-h', 'cls_test_error', 20);
  console.log(`classification, 20 iterations with 3 evaluations and 2 baselines: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.match(text, /classification error/);
  const at32 = /At n = 32: meta-learned ([\d.]*\d), all ones ([\d.]*\d), oracle ([\d.]*\d)/.exec(text);
  assert.ok(at32, text);
  const [meta, ones, oracle] = at32.slice(1).map(Number);
  assert.ok(meta < ones && oracle <= meta, text);
  await checkLongTasks(page, 'chapter 1, classification MAML');
  await section(page, 'part-h').scrollIntoViewIfNeeded();
  await screenshot(page, 'chapter1-classification');
  assert.deepEqual(page.problems(), []);
});
