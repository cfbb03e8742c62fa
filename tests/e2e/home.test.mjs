// The front page: the chapters as cards in the book's order with live figures, each card's list of
// exercises matching its chapter's page, and exercise progress kept in this browser: it survives a
// reload, shows on the front page, and is erased by one control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot } from './harness.mjs';

const env = useBrowsers({ browser: {} });

test('the front page shows the chapters in order with live figures, and each card lists its chapter\'s exercises', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(env.server.base);
  await page.locator('.cards .card').first().waitFor();
  const cards = await page.$$eval('.cards .card', (cs) => cs.map((c) => ({
    slug: c.dataset.chapter, title: c.querySelector('h2').textContent, exercises: c.dataset.exercises,
  })));
  const toc = await page.$$eval('.toc ol a', (as) => as.map((a) => a.getAttribute('href').slice(2)));
  assert.deepEqual(cards.map((c) => c.slug), toc);
  assert.deepEqual(cards.map((c) => Number.parseInt(c.title, 10)), [1, 2, 3, 4, 5, 6, 7]);
  // The live figures are drawn (not blank): chapters 1, 2, 3 (the shipped table), 4 (the model's
  // training log), 5 (a soft prompt trained here on the small model), 6 (the network's weights) and 7.
  for (const slug of cards.map((c) => c.slug)) {
    const canvas = page.locator(`.card[data-chapter="${slug}"] canvas`);
    await page.waitForFunction((s) => {
      const c = document.querySelector(`.card[data-chapter="${s}"] canvas`);
      if (!c) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) colours.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      return colours.size > 5;
    }, slug, { timeout: 30_000 });
    assert.match(await canvas.getAttribute('aria-label'), /\. \S/, `${slug}: the figure says what it shows`);
  }
  // Chapter 5's card trains for three epochs here, and the prompt learns: the validation accuracy
  // after the last epoch is above the starting point's (0% to about 30% natively).
  const soft = page.locator('.card[data-chapter="soft-prompting"]');
  await soft.locator('[data-out="card-soft-prompting-status"]').getByText(/^Trained here on the CPU in [\d.]+ s: 784 of the small model's 89,152 numbers\.$/)
    .waitFor({ timeout: 120_000 });
  const label = await soft.locator('canvas').getAttribute('aria-label');
  const m = label.match(/validation accuracy (\d+(?:\.\d+)?)% to (\d+(?:\.\d+)?)% over 3 epochs/);
  assert.ok(m, label);
  assert.ok(Number(m[2]) > Number(m[1]) + 10, label);
  // Chapter 6's card: conv2's weights with the threshold removing 75% of them.
  const prune = await page.locator('.card[data-chapter="pruning"] canvas').getAttribute('aria-label');
  assert.match(prune, /conv2/);
  assert.match(prune, /sparsity 0\.75/);
  await screenshot(page, 'home');
  // Each card's exercises are exactly the checked exercises on its chapter's page.
  for (const c of cards) {
    await page.goto(`${env.server.base}#/${c.slug}`);
    await page.locator('main h1').waitFor();
    await page.waitForTimeout(500);
    const onPage = (await page.$$eval('[data-exercise]', (es) => es.map((e) => e.dataset.exercise))).sort();
    assert.deepEqual(onPage, c.exercises ? c.exercises.split(',').sort() : [], c.slug);
  }
  assert.deepEqual(page.problems(), []);
});

test('a numeric exercise is checked against the live values; progress survives a reload, shows on the front page, and is erased', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/quantization?rmin=-1&rmax=2&lin_bits=3`);
  const ex = page.locator('[data-exercise="quantize-a-value"]');
  await ex.waitFor();
  // S = 3 / 7 and Z = round(-4 + 1 / S) = -2 on 3 bits; the page shows the same.
  const S = 3 / 7;
  const Z = Math.round(-4 + 1 / S);
  assert.ok(Math.abs(Number(await page.locator('[data-out="scale"]').textContent()) - S) < 1e-5);
  assert.equal(Number(await page.locator('[data-out="zero-point"]').textContent()), Z);
  // The value three quarters up [-1, 2] is 1.25: q = round(1.25 / S) + Z = 3 - 2 = 1 (no tie).
  const q = Math.min(3, Math.max(-4, Math.round(1.25 / S) + Z));
  assert.equal(q, 1);
  await ex.getByLabel('Your answer').fill(String(q + 1));
  await ex.getByRole('button', { name: 'Check' }).click();
  assert.match(await ex.locator('[data-result="wrong"]').textContent(), /Not quite\. q = clamp\(round/);
  // The hint, by keyboard.
  await ex.locator('.hint summary').focus();
  await page.keyboard.press('Enter');
  await ex.getByText(/ties to even/).waitFor();
  await ex.getByLabel('Your answer').fill(String(q));
  await ex.getByLabel('Your answer').press('Tab');
  await page.keyboard.press('Enter');
  await ex.locator('[data-result="correct"]').waitFor();
  // Another setting changes the answer: the old verdict is cleared.
  await page.getByLabel('Bits', { exact: true }).fill('4');
  await page.getByLabel('Bits', { exact: true }).press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-exercise="quantize-a-value"]').dataset.state === 'open');
  // A choice exercise on the same page, answered right.
  const scale = page.locator('[data-exercise="scale"]');
  const options = scale.locator('input[type="radio"]');
  for (let i = 0; i < await options.count(); i++) {
    await options.nth(i).check();
    await scale.getByRole('button', { name: 'Check' }).click();
    if (await scale.locator('[data-result="correct"]').count()) break;
  }
  await scale.locator('[data-result="correct"]').waitFor();

  // The front page counts both; a reload keeps them; Erase forgets them.
  await page.goto(env.server.base);
  const prog = page.locator('[data-out="progress-quantization"]');
  await prog.waitFor();
  assert.equal(await prog.textContent(), 'Exercises: 2 of 3 answered correctly here.');
  await page.reload();
  await prog.waitFor();
  assert.equal(await prog.textContent(), 'Exercises: 2 of 3 answered correctly here.');
  await page.goto(`${env.server.base}#/quantization`);
  await page.locator('[data-exercise="scale"] .earlier').waitFor();
  await page.goto(env.server.base);
  await page.getByRole('button', { name: 'Erase my progress' }).click();
  assert.equal(await prog.textContent(), 'Exercises: 0 of 3 answered correctly here.');
  assert.equal(await page.evaluate(() => localStorage.getItem('glassbox-progress')), null);
  assert.deepEqual(page.problems(), []);
});

test('a chapter\'s main computation, run to the end, leaves its time on the front page; Erase forgets it', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(env.server.base);
  const time = page.locator('[data-out="time-attention"]');
  await time.waitFor();
  assert.equal(await time.textContent(), 'Main computation (timing global against windowed attention): not run in this browser yet.');
  await page.goto(`${env.server.base}#/attention`);
  await page.getByRole('button', { name: 'Measure', exact: true }).click();
  await page.locator('[data-out="timing-count"]').filter({ hasText: /of up to [1-9]/ }).waitFor();
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Measure');
    return b && !b.disabled;
  }, null, { timeout: 240_000 });
  await page.goto(env.server.base);
  await time.waitFor();
  const text = await time.textContent();
  const m = /: ([\d.]+) (ms|s) here, your last run\.$/.exec(text);
  assert.ok(m, text);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  assert.ok(ms > 0 && ms < 240_000, text);
  await page.getByRole('button', { name: 'Erase my progress' }).click();
  assert.match(await time.textContent(), /not run in this browser yet/);
  assert.deepEqual(page.problems(), []);
});
