// The image lab appendix: the calculator's tables, and the committed network evaluated on the
// full test set in the browser, matching the accuracy the CLI reported when it trained the weights;
// fine-tuning in the page; the Benchmarks appendix's training step with the image lab's losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useBrowsers, watchedPage, screenshot, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers();

test('the calculator reproduces the original lab and the evaluation matches the CLI', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/image-lab`);
  await page.getByRole('heading', { level: 1, name: 'The image lab' }).waitFor();
  const lab = page.getByRole('table', { name: 'Layers of our network' });
  assert.equal(await lab.locator('[data-total="params"]').textContent(), '295,002');
  // r = 0: the original network's published totals.
  const r = page.getByLabel('Channel pruning ratio r', { exact: true });
  await r.fill('0');
  await r.press('Enter');
  const cifar = page.getByRole('table', { name: "Layers of the original lab's network" });
  await page.waitForFunction(() => document.querySelector('[data-out="prune-ratio"]').textContent.includes('100.0%'));
  assert.equal(await cifar.locator('[data-total="params"]').textContent(), '9,228,362');
  assert.equal(await cifar.locator('[data-total="macs"]').textContent(), '605,754,368');
  await r.fill('0.3');
  await r.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-out="prune-ratio"]').textContent.includes('50.4%'));

  await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
  await page.getByRole('status').filter({ hasText: /Done: 10000 images/ }).waitFor({ timeout: 300_000 });
  const shown = await page.locator('[data-out="accuracy"]').textContent();
  const log = fs.readFileSync(new URL('../../assets/fashion-vgg.train.jsonl', import.meta.url), 'utf8').trim().split('\n');
  const cli = JSON.parse(log[log.length - 1]).test_accuracy;
  assert.equal(shown, `${(100 * cli).toFixed(2)}%`);
  const rows = await page.getByRole('table', { name: /Confusion matrix/ }).locator('tbody tr').count();
  assert.equal(rows, 10);
  await screenshot(page, 'image-lab');
  assert.deepEqual(page.problems(), []);
});

/** Scope to the fine-tuning run controls. */
const tuningGroup = (page) => page.getByRole('group', { name: 'Fine-tuning' });

async function stepsDone(page) {
  const t = await tuningGroup(page).getByLabel('Iteration', { exact: true }).textContent();
  return Number(/iteration (\d+)/.exec(t)[1]);
}

test('fine-tuning on the CPU advances with a live curve, pauses, resets, and never freezes the page', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/image-lab?ft_steps=400&ft_batch=32`);
  await page.getByRole('heading', { name: 'Fine-tuning here' }).waitFor();
  await watchLongTasks(page);
  const group = tuningGroup(page);
  await group.getByRole('button', { name: 'Run' }).click();
  // The download reports bytes as they arrive, then training starts.
  await page.waitForFunction(() => {
    const n = document.querySelector('[aria-label="Fine-tuning"] .counter')?.textContent ?? '';
    return /iteration ([4-9]|\d\d+) \//.test(n);
  }, null, { timeout: 120_000 });
  await group.getByRole('button', { name: 'Pause' }).click();
  await group.getByRole('button', { name: 'Run' }).waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('[aria-label="Fine-tuning"] button.primary').disabled);
  const paused = await stepsDone(page);
  await page.waitForTimeout(1500);
  assert.equal(await stepsDone(page), paused, 'no step after Pause');
  const status = await group.getByRole('status').textContent();
  const speed = /\((\d+) training images\/s on the CPU/.exec(status);
  assert.ok(speed, status);
  console.log(`fine-tuning on the browser's CPU: ${speed[1]} training images/s (batch 32)`);
  // The curve has one point per step.
  const csv = await page.evaluate(() => {
    const fig = document.querySelector('[data-figure="fine-tuning"]');
    return fig?.querySelector('.summary-text')?.textContent ?? '';
  });
  assert.match(csv, new RegExp(`over ${paused} training steps`));
  // Continue, then evaluate the fine-tuned network on 500 test images.
  await group.getByRole('button', { name: 'Step' }).click();
  await page.waitForFunction((p) => {
    const n = document.querySelector('[aria-label="Fine-tuning"] .counter')?.textContent ?? '';
    return n.startsWith(`iteration ${p + 1} `);
  }, paused);
  await page.locator('[data-figure="fine-tuning"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'image-lab-finetune-curve');
  await checkLongTasks(page, 'image lab, fine-tuning');
  const n = page.getByLabel('Test images to classify', { exact: true });
  await n.fill('500');
  await n.press('Enter');
  await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
  await page.getByRole('status').filter({ hasText: new RegExp(`Done: 500 images with fine-tuned for ${paused + 1} steps`) }).waitFor({ timeout: 120_000 });
  const acc = parseFloat(await page.locator('[data-out="accuracy"]').textContent());
  assert.ok(acc > 80, `fine-tuned accuracy ${acc}%`);
  await screenshot(page, 'image-lab-finetune', { fullPage: false });
  // Reset: back to the committed weights, no steps.
  await group.getByRole('button', { name: 'Reset' }).click();
  assert.equal(await stepsDone(page), 0);
  assert.match(page.url(), /ft_steps=400/);
  assert.deepEqual(page.problems(), []);
});

test('a bad fine-tuning URL parameter is a notice, and the default is used', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/image-lab?ft_batch=7000&ft_lr=abc`);
  await page.getByRole('heading', { name: 'Fine-tuning here' }).waitFor();
  const alerts = await page.getByRole('alert').allTextContents();
  assert.ok(alerts.some((a) => a.includes('ft_batch')), alerts.join(' | '));
  assert.ok(alerts.some((a) => a.includes('ft_lr')), alerts.join(' | '));
  assert.equal(await page.getByLabel('Batch size', { exact: true }).inputValue(), '32');
  assert.deepEqual(page.problems(), []);
});

test('the Benchmarks appendix times the training step on the page and on a worker, with the image lab\'s losses', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Time training steps' }).click();
  await page.locator('[data-out="train-bench-status"]').filter({ hasText: /^Done\.$/ }).waitFor({ timeout: 300_000 });
  const rateOf = async (row) => Number(/^(\d+) images\/s$/.exec(await row.locator('[data-col="rate"]').textContent())[1]);
  const row = page.locator('[data-bench="train_step"]');
  assert.match(await row.locator('th').textContent(), /^10 steps of 32 images on the CPU$/);
  const rate = await rateOf(row);
  assert.ok(rate > 0);
  // The same steps with each forward and backward pass on a background worker: the same losses.
  const worker = page.locator('[data-bench="train_step_workers"]');
  assert.match(await worker.locator('th').textContent(), /^10 steps of 32 images on the CPU, in a background worker$/);
  const workerRate = await rateOf(worker);
  assert.equal(await page.locator('[data-bench="train_step_webgpu"]').count(), 0);
  const text = await page.locator('[data-out="train-bench-losses"]').textContent();
  const losses = /^Batch losses on the CPU: ([\d.]+) at the first step, ([\d.]+) at the last\. On the worker: the same, bit for bit\.$/.exec(text);
  assert.ok(losses, text);
  // The image lab's own first step (seed 0, batch 32, the same learning rate at step 1), which the
  // page sends to its worker.
  await page.goto(`${env.server.base}#/image-lab?ft_steps=10&ft_batch=32`);
  const group = tuningGroup(page);
  await group.getByRole('button', { name: 'Step' }).click();
  const status = group.getByRole('status').filter({ hasText: /^Step 1 of 10 on the CPU, in a background worker: batch loss/ });
  await status.waitFor({ timeout: 120_000 });
  const first = /batch loss ([\d.]+)/.exec(await status.textContent())[1];
  console.log(`training step on the CPU: page ${rate} images/s, worker ${workerRate} images/s; losses ${losses[1]} -> ${losses[2]}; the image lab's first step ${first}`);
  assert.equal(first, losses[1]);
  assert.deepEqual(page.problems(), []);
});
