// Chapter 2 (in progress): the combined mask exercise by mouse and keyboard, and the cost calculator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot } from './harness.mjs';

const env = useBrowsers();

test('the mask grid is toggled by mouse and keyboard and checked', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/attention`);
  await page.getByRole('heading', { level: 1, name: 'Attention in a captioning transformer' }).waitFor();
  const grid = page.getByRole('table', { name: /Attention mask/ });
  assert.equal(await grid.locator('tbody tr').count(), 8);
  // Keyboard: focus a cell and press Space; mouse: click another.
  await page.getByRole('button', { name: 'key a, query <SOS>' }).focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'key mountain, query <SOS>' }).click();
  assert.equal(await page.getByRole('button', { name: 'key a, query <SOS>' }).getAttribute('aria-pressed'), 'true');
  await page.getByRole('button', { name: 'Check my mask' }).click();
  const wrong = page.locator('[data-result="wrong"]');
  await wrong.waitFor();
  assert.match(await wrong.textContent(), /16 cells are wrong/);
  assert.match(await wrong.textContent(), /may not look ahead|padding/);
  await page.getByRole('button', { name: 'Show the answer' }).click();
  await page.getByRole('button', { name: 'Check my mask' }).click();
  await page.locator('[data-result="correct"]').waitFor();
  await screenshot(page, 'chapter2-mask');
  // Fewer image tokens: the grid follows.
  const images = page.getByLabel('Image tokens', { exact: true });
  await images.fill('1');
  await images.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('table.mask-grid tbody tr').length === 6);
  // The cost calculator: 224 / 16 = 14 patches a side, T = 196, ratio T / K^2 = 4.
  assert.equal(await page.locator('[data-key="tokens"]').textContent(), '196');
  assert.match(await page.locator('[data-key="ratio"]').textContent(), /^4\.0×/);
  const patch = page.getByLabel('Patch size P', { exact: true });
  await patch.fill('15');
  await patch.press('Enter');
  await page.getByRole('alert').filter({ hasText: /must divide/ }).waitFor();
  assert.deepEqual(page.problems(), []);
});
