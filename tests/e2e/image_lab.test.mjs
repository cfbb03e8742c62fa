// The image lab appendix: the calculator's tables, and the committed network evaluated on the
// full test set in the browser, matching the accuracy the CLI reported when it trained the weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowsers, watchedPage, screenshot, dist } from './harness.mjs';

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
  await page.waitForFunction(() => document.querySelector('[data-key="prune-ratio"]').textContent.includes('100.0%'));
  assert.equal(await cifar.locator('[data-total="params"]').textContent(), '9,228,362');
  assert.equal(await cifar.locator('[data-total="macs"]').textContent(), '605,754,368');
  await r.fill('0.3');
  await r.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-key="prune-ratio"]').textContent.includes('50.4%'));

  await page.getByRole('button', { name: 'Evaluate on the test set' }).click();
  await page.getByRole('status').filter({ hasText: /Done: 10000 images/ }).waitFor({ timeout: 300_000 });
  const shown = await page.locator('[data-key="accuracy"]').textContent();
  const log = fs.readFileSync(path.join(dist, '..', 'assets', 'fashion-vgg.train.jsonl'), 'utf8').trim().split('\n');
  const cli = JSON.parse(log[log.length - 1]).test_accuracy;
  assert.equal(shown, `${(100 * cli).toFixed(2)}%`);
  const rows = await page.getByRole('table', { name: /Confusion matrix/ }).locator('tbody tr').count();
  assert.equal(rows, 10);
  await screenshot(page, 'image-lab');
  assert.deepEqual(page.problems(), []);
});
