// Chapter 1 in a real browser, as a reader uses it (CPU path: Chromium without WebGPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, iteration, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers();

const READY = /Ready: press Run/;

async function openChapter(page, query = '') {
  await page.goto(`${env.server.base}#/meta-learning${query}`);
  await page.getByRole('heading', { level: 1, name: 'Meta-learning for learning 1D functions' }).waitFor();
}

// The closed-form experiment's section (the chapter holds three experiments).
const cf = (page) => page.locator('section[aria-labelledby="part-e"]');

async function waitReady(page) {
  await cf(page).getByRole('status').filter({ hasText: READY }).waitFor({ timeout: 60_000 });
}

test('the table of contents opens the chapter; the badge reads CPU', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(env.server.base);
  const nav = page.getByRole('navigation', { name: 'Table of contents' });
  await nav.getByRole('link', { name: /Meta-learning/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Meta-learning for learning 1D functions' }).waitFor();
  assert.equal(await page.locator('h1').count(), 1);
  assert.match(page.url(), /#\/meta-learning/);
  const badge = page.getByRole('status', { name: 'Compute backend' });
  assert.match(await badge.textContent(), /CPU/);
  // Mathematics is rendered as MathML, offline.
  assert.ok((await page.locator('math').count()) > 10);
  await waitReady(page);
  await screenshot(page, 'chapter1-light');
  assert.deepEqual(page.problems(), []);
});

test('meta-training runs, redraws, pauses, resumes and resets', async () => {
  const page = await watchedPage(env.browser);
  await openChapter(page);
  await waitReady(page);
  const summary = page.locator('[data-figure="test_loss"] .summary-text');
  assert.match(await summary.textContent(), /after 0 meta-iterations/);
  const weightsSummary = await page.locator('[data-figure="feature_weights"] .summary-text').textContent();

  // Watch for long tasks (frozen page) while training runs.
  assert.ok(await page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask')));
  await watchLongTasks(page);

  await cf(page).getByRole('button', { name: 'Run' }).click();
  await page.waitForFunction(() => /iteration (\d+)/.exec(document.querySelector('section[aria-labelledby="part-e"] [aria-label="Iteration"]').textContent)[1] >= 20, null, { timeout: 60_000 });
  await cf(page).getByRole('button', { name: 'Pause' }).click();
  const paused = await iteration(cf(page));
  assert.ok(paused >= 20);
  await page.waitForTimeout(1500);
  const later = await iteration(cf(page));
  assert.equal(later, paused, `counter moved while paused: ${paused} -> ${later}`);
  await page.waitForFunction(() => !/after 0 meta-iterations/.test(document.querySelector('[data-figure="test_loss"] .summary-text').textContent), null, { timeout: 60_000 });
  assert.notEqual(await page.locator('[data-figure="feature_weights"] .summary-text').textContent(), weightsSummary);

  // Step advances by exactly one.
  await cf(page).getByRole('button', { name: 'Step' }).click();
  await page.waitForFunction((p) => Number(/iteration (\d+)/.exec(document.querySelector('section[aria-labelledby="part-e"] [aria-label="Iteration"]').textContent)[1]) === p + 1, later, { timeout: 30_000 });

  // Resume to the end: the notebook's 100 iterations.
  await cf(page).getByRole('button', { name: 'Run' }).click();
  await cf(page).getByRole('status').filter({ hasText: /Done: 100 meta-iterations/ }).waitFor({ timeout: 120_000 });
  assert.equal(await iteration(cf(page)), 100);
  const text = await summary.textContent();
  assert.match(text, /after 100 meta-iterations/);
  // At n = 32 the meta-learned weights beat all ones by far (read off the page).
  const at32 = /At n = 32: meta-learned ([\d.]+), all ones ([\d.]+), oracle ([\d.]+)/.exec(text);
  assert.ok(at32, text);
  assert.ok(Number(at32[1]) * 5 <= Number(at32[2]), text);
  await screenshot(page, 'chapter1-trained', { fullPage: true });

  await checkLongTasks(page, 'chapter 1, meta-training');
  // The observer does see a frozen page: block the main thread for 150 ms on purpose.
  await page.evaluate(() => setTimeout(() => { const t = performance.now(); while (performance.now() - t < 150) {} }, 0));
  await page.waitForFunction(() => window.__longest >= 140, null, { timeout: 5_000 });

  await cf(page).getByRole('button', { name: 'Reset' }).click();
  assert.equal(await iteration(cf(page)), 0);
  await waitReady(page);
  assert.deepEqual(page.problems(), []);
});

test('a URL with parameters reproduces them; the keyboard drives the controls', async () => {
  const page = await watchedPage(env.browser);
  await openChapter(page, '?seed=5&iters=12&n_inner=16&toy_c0=0.5');
  assert.equal(await cf(page).getByLabel('Seed', { exact: true }).inputValue(), '5');
  assert.equal(await cf(page).getByLabel('Meta-iterations', { exact: true }).inputValue(), '12');
  assert.equal(await page.getByLabel('Initial c0', { exact: true }).inputValue(), '0.5');
  assert.match(await cf(page).getByLabel('Iteration', { exact: true }).textContent(), /\/ 12/);
  await waitReady(page);
  // Keyboard: focus Run and press Enter.
  await cf(page).getByRole('button', { name: 'Run' }).focus();
  await page.keyboard.press('Enter');
  await cf(page).getByRole('status').filter({ hasText: /Done: 12 meta-iterations/ }).waitFor({ timeout: 60_000 });
  const first = await page.locator('[data-figure="test_loss"] .summary-text').textContent();

  // The same URL gives the same figure.
  const again = await watchedPage(env.browser);
  await again.goto(page.url());
  await again.getByRole('heading', { level: 1 }).waitFor();
  await waitReady(again);
  await cf(again).getByRole('button', { name: 'Run' }).click();
  await cf(again).getByRole('status').filter({ hasText: /Done: 12 meta-iterations/ }).waitFor({ timeout: 60_000 });
  assert.equal(await again.locator('[data-figure="test_loss"] .summary-text').textContent(), first);

  // Typing a value updates the URL; an invalid one is refused with a message.
  const seed = cf(page).getByLabel('Seed', { exact: true });
  await seed.fill('9');
  await seed.press('Enter');
  await page.waitForFunction(() => location.hash.includes('seed=9'));
  await seed.fill('-3');
  await seed.press('Enter');
  await page.getByText(/Seed \(seed\): -3 is outside/).waitFor();
  assert.ok(page.url().includes('seed=9'));
  assert.deepEqual(page.problems(), []);
  assert.deepEqual(again.problems(), []);
});

test('a malformed URL shows a notice naming the parameter and falls back to defaults', async () => {
  const page = await watchedPage(env.browser);
  await openChapter(page, '?d=abc&inner=spiral&lr=-1');
  const notice = page.getByRole('alert').filter({ hasText: 'not usable' });
  await notice.waitFor();
  const text = await notice.textContent();
  assert.match(text, /\(d\)/);
  assert.match(text, /\(inner\)/);
  assert.match(text, /\(lr\)/);
  assert.equal(await page.getByLabel('Features d (odd)', { exact: true }).inputValue(), '501');
  await waitReady(page);
  assert.deepEqual(page.problems(), []);
});

test('the page works under a sub-path, at phone width, in the dark theme', async () => {
  const page = await watchedPage(env.browser, { width: 360, height: 780, colorScheme: 'dark' });
  await page.goto(`${env.server.subBase}#/meta-learning`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than the phone screen`);
  await waitReady(page);
  await screenshot(page, 'chapter1-phone-dark');
  // "system" follows the system's scheme live.
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  // The toggle goes system -> light.
  await page.getByRole('button', { name: /Colour theme/ }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await page.goto(`${env.server.subBase}#/no-such-chapter`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  assert.deepEqual(page.problems(), []);
});

test('a diverging run stops with a message and keeps the last good state', async () => {
  const page = await watchedPage(env.browser);
  await openChapter(page, '?d=51&n_inner=30&inner=uniform');
  await waitReady(page);
  await cf(page).getByRole('button', { name: 'Run' }).click();
  const alert = page.getByRole('alert').filter({ hasText: /diverged at iteration 7/ });
  await alert.waitFor({ timeout: 60_000 });
  assert.match(await alert.textContent(), /Lower the meta step/);
  assert.equal(await iteration(cf(page)), 6);
  for (const f of ['test_loss', 'feature_weights', 'task_fit']) {
    const s = await page.locator(`[data-figure="${f}"] .summary-text`).textContent();
    assert.doesNotMatch(s, /NaN|inf/i, `${f}: ${s}`);
  }
  assert.equal(await cf(page).getByRole('button', { name: 'Run' }).isDisabled(), true);
  await cf(page).getByRole('button', { name: 'Reset' }).click();
  await waitReady(page);
  assert.equal(await cf(page).getByRole('button', { name: 'Run' }).isDisabled(), false);
  assert.deepEqual(page.problems(), []);
});
