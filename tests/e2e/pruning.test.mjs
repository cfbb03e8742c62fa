// Chapter 6 (pruning), on the CPU path: the controls change the pruned network and the accuracy
// readout follows; the mask of a small layer is drawn; the sensitivity scan runs to the end, can be
// stopped, and its suggestion fills the sparsities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers();

const accuracyText = (page) => page.locator('[data-out="accuracy"]').textContent();
const achieved = (page, layer) => page.locator(`tr[data-layer="${layer}"] [data-col="achieved"]`).textContent();

async function waitForAccuracy(page, previous = null) {
  await page.waitForFunction((prev) => {
    const t = document.querySelector('[data-out="accuracy"]')?.textContent ?? '';
    return /pruned/.test(t) && t !== prev;
  }, previous, { timeout: 120_000 });
  const t = await accuracyText(page);
  const m = /: ([\d.]+)% pruned, ([\d.]+)% dense/.exec(t);
  return { pruned: Number(m[1]), dense: Number(m[2]), text: t };
}

test('sparsity controls change the pruned network and the accuracy readout follows', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/pruning?eval_images=300&layer=conv1`);
  await page.getByRole('heading', { level: 1, name: 'Pruning the trained network' }).waitFor();
  const first = await waitForAccuracy(page);
  assert.equal(first.pruned, first.dense, 'nothing pruned yet');
  assert.ok(first.dense > 85, first.text);
  assert.match(await page.locator('[data-out="size"]').textContent(), /100\.0% of dense/);
  // Typed value: conv8 at 0.9 (round(0.9 · 147456) = 132710 zeros).
  const conv8 = page.getByLabel('conv8 sparsity', { exact: true });
  await conv8.fill('0.9');
  await conv8.press('Enter');
  await page.waitForFunction(() => document.querySelector('tr[data-layer="conv8"] [data-col="achieved"]')?.textContent === '0.9000');
  assert.equal(await page.locator('tr[data-layer="conv8"] td:nth-of-type(4)').textContent(), '132710');
  assert.equal(await page.locator('[data-out="params"]').textContent(),
    `Nonzero parameters: ${295002 - 132710} of 295002 (weights, batch-norm scales and shifts, the linear bias).`);
  const second = await waitForAccuracy(page, first.text);
  assert.equal(second.dense, first.dense);
  // Keyboard on the slider: conv1 from 0 to 0.01 (round(0.01 · 144) = 1 weight).
  const slider = page.getByLabel('conv1 sparsity slider', { exact: true });
  await slider.focus();
  await slider.press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('tr[data-layer="conv1"] [data-col="achieved"]')?.textContent === '0.0069');
  // Heavy pruning of conv1 costs accuracy.
  const conv1 = page.getByLabel('conv1 sparsity', { exact: true });
  await conv1.fill('0.9');
  await conv1.press('Enter');
  const third = await waitForAccuracy(page, (await accuracyText(page)));
  assert.ok(third.pruned < first.dense - 20, third.text);
  assert.match(page.url(), /s_conv1=0\.9/);
  assert.match(page.url(), /s_conv8=0\.9/);
  // conv1 is small enough to show its mask.
  await page.getByRole('img', { name: /Keep-mask of conv1/ }).waitFor();
  await screenshot(page, 'pruning-fine-grained');
  assert.deepEqual(page.problems(), []);
});

test('the sensitivity scan runs to the end, stops on request, and suggests sparsities', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/pruning?eval_images=200&scan_images=200&scan_from=0.5&scan_to=0.9&scan_step=0.4`);
  await page.getByRole('heading', { level: 1, name: 'Pruning the trained network' }).waitFor();
  await waitForAccuracy(page);
  await watchLongTasks(page);
  const run = page.getByRole('button', { name: 'Run the scan' });
  // Stop part-way: the count stays.
  await run.click();
  await page.waitForFunction(() => /^[3-9] \//.test(document.querySelector('[data-out="scan-progress"]')?.textContent ?? ''));
  await page.getByRole('button', { name: 'Stop' }).click();
  const stopped = await page.locator('[data-out="scan-progress"]').textContent();
  await page.waitForTimeout(1000);
  assert.equal(await page.locator('[data-out="scan-progress"]').textContent(), stopped);
  // Run to the end: 1 + 9 layers × 2 sparsities.
  const t0 = Date.now();
  await run.click();
  await page.waitForFunction(() => (document.querySelector('[data-out="scan-progress"]')?.textContent ?? '') === '19 / 19 evaluations', null, { timeout: 300_000 });
  console.log(`sensitivity scan on the CPU, 19 evaluations of 200 images: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const verdict = await page.locator('[data-out="most-sensitive"]').textContent();
  assert.match(verdict, /most sensitive layer is conv\d/);
  console.log(verdict);
  const csv = await page.locator('[data-figure="sensitivity"] .summary-text').textContent();
  assert.match(csv, /9 layers/);
  await page.getByRole('button', { name: "Use the scan's suggestion" }).click();
  await page.waitForFunction(() => /% of dense/.test(document.querySelector('[data-out="size"]')?.textContent ?? ''));
  const size = Number(/\(([\d.]+)% of dense/.exec(await page.locator('[data-out="size"]').textContent())[1]);
  assert.ok(size <= 25, `suggested size ${size}%`);
  await checkLongTasks(page, 'chapter 6, sensitivity scan');
  await page.locator('[data-figure="sensitivity"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'pruning-scan');
  assert.deepEqual(page.problems(), []);
});

test('bad pruning URL parameters are notices and the defaults are used', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/pruning?s_conv2=1.5&layer=conv42&scan_from=0.9&scan_to=0.4`);
  await page.getByRole('heading', { level: 1, name: 'Pruning the trained network' }).waitFor();
  const alerts = (await page.getByRole('alert').allTextContents()).join(' | ');
  for (const key of ['s_conv2', 'layer', 'scan_from']) assert.ok(alerts.includes(key), alerts);
  assert.equal(await page.getByLabel('conv2 sparsity', { exact: true }).inputValue(), '0');
  assert.deepEqual(page.problems(), []);
});

test('the goal exercise fine-tunes with the masks kept and checks the result', async () => {
  const page = await watchedPage(env.browser);
  // conv8 alone at 0.5: well over the 25% budget.
  await page.goto(`${env.server.base}#/pruning?s_conv8=0.5&s_conv7=0.5&eval_images=200&ft_steps=4&ft_batch=16`);
  await page.getByRole('heading', { level: 1, name: 'Pruning the trained network' }).waitFor();
  await waitForAccuracy(page);
  const tableSize = /\(([\d.]+)% of dense/.exec(await page.locator('[data-out="size"]').textContent())[1];
  const group = page.getByRole('group', { name: 'Fine-tuning the pruned network' });
  await group.getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(() => /Done: 4 steps/.test(document.querySelector('[aria-label="Fine-tuning the pruned network"] .status')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Check the goal' }).click();
  const verdict = page.locator('[data-exercise="goal"] [data-result]');
  await verdict.waitFor({ timeout: 120_000 });
  const text = await verdict.textContent();
  // The masks stayed applied: the size after fine-tuning is the size of the pruned network.
  assert.ok(text.includes(`Size: ${tableSize}% of dense, over the 25% budget`), text);
  assert.match(text, /^Not quite\. Size: /);
  assert.match(text, /Accuracy on the first 200 test images: [\d.]+% against [\d.]+% dense/);
  // Changing a sparsity starts the fine-tuning over.
  const conv8 = page.getByLabel('conv8 sparsity', { exact: true });
  await conv8.fill('0.95');
  await conv8.press('Enter');
  await page.waitForFunction(() => (document.querySelector('[aria-label="Fine-tuning the pruned network"] .counter')?.textContent ?? '').startsWith('iteration 0 '));
  assert.equal(await verdict.count(), 0);
  await page.locator('[data-figure="pruned-fine-tuning"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'pruning-exercise');
  assert.deepEqual(page.problems(), []);
});

test('channel pruning: the calculator\'s compute, sorting keeps more accuracy, fine-tuning and latency', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/pruning?eval_images=300&ft_steps=3&ft_batch=16`);
  await page.getByRole('heading', { name: 'Channel pruning', exact: true }).waitFor();
  const table = page.getByRole('table', { name: 'Dense and channel-pruned network' });
  await table.waitFor({ timeout: 60_000 });
  // The same numbers as `glassbox image stats --arch lab --channel-prune 0.3`.
  assert.equal(await table.locator('[data-col="widths"]').textContent(), '11, 11, 22, 22, 45, 45, 90, 128');
  assert.equal(await table.locator('[data-col="params"]').textContent(), '177025');
  assert.equal(await table.locator('[data-col="macs-ratio"]').textContent(), '0.523');
  const before = async () => {
    await page.waitForFunction(() => /before fine-tuning/.test(document.querySelector('[data-out="channel-before"]')?.textContent ?? ''), null, { timeout: 120_000 });
    return parseFloat(/: ([\d.]+)%/.exec(await page.locator('[data-out="channel-before"]').textContent())[1]);
  };
  const sorted = await before();
  await page.getByLabel('Sort channels by importance first').uncheck();
  await page.waitForFunction(() => /computing/.test(document.querySelector('[data-out="channel-before"]')?.textContent ?? ''));
  const plain = await before();
  console.log(`channel pruning r = 0.3 before fine-tuning: sorted ${sorted}%, unsorted ${plain}%`);
  assert.ok(sorted > plain, `sorted ${sorted}% vs unsorted ${plain}%`);
  assert.match(page.url(), /ch_sort=0/);
  const group = page.getByRole('group', { name: 'Fine-tuning the channel-pruned network' });
  await group.getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(() => /Done: 3 steps/.test(document.querySelector('[aria-label="Fine-tuning the channel-pruned network"] .status')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Evaluate the fine-tuned network' }).click();
  await page.waitForFunction(() => /After 3 fine-tuning steps/.test(document.querySelector('[data-out="channel-after"]')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Measure latency' }).click();
  await page.waitForFunction(() => /CPU: [\d.]+ ms dense/.test(document.querySelector('[data-out="latency"]')?.textContent ?? ''), null, { timeout: 60_000 });
  const latency = await page.locator('[data-out="latency"]').textContent();
  console.log(latency);
  const [, dense, pruned] = /CPU: ([\d.]+) ms dense, ([\d.]+) ms pruned/.exec(latency).map(Number);
  assert.ok(pruned < dense, latency);
  await page.waitForFunction(() => /fine-grained pruning keeps/.test(document.querySelector('[data-out="compare"]')?.textContent ?? ''));
  await page.getByRole('heading', { name: 'Channel pruning', exact: true }).scrollIntoViewIfNeeded();
  await screenshot(page, 'pruning-channel');
  assert.deepEqual(page.problems(), []);
});
