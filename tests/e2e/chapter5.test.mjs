// Chapter 5 (soft prompting our own language model), WebGPU on and off: a soft prompt trains for
// a few epochs and its loss falls, with no main-thread task over 50 ms; the trained prompt answers
// the test irregulars; the loss-position exercise checks a right and a wrong answer; the
// precompute figure reports bit-identical prompt states; the comparison shows the frozen model's
// held-out loss unchanged and full fine-tuning's raised; bad input from the URL and the page is
// named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, checkLongTasks, watchLongTasks } from './harness.mjs';

const env = useBrowsers({ browser: {}, gpuBrowser: { webgpu: true } });

async function open(page, query = '') {
  await page.goto(`${env.server.base}#/soft-prompting${query}`);
  await page.getByRole('heading', { level: 1, name: 'Soft prompting' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Train' && !b.disabled),
    null, { timeout: 60_000 });
}

async function train(page) {
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const status = page.locator('[data-out="train-status"]');
  await status.filter({ hasText: /^(Done|The run stopped)/ }).waitFor({ timeout: 600_000 });
  const text = await status.textContent();
  assert.match(text, /^Done: /);
  const rows = await page.$$eval('table[aria-label="Loss and accuracy per epoch"] tbody tr',
    (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  return { status: text, rows };
}

test('CPU: a soft prompt trains, its loss falls, the page stays responsive', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?k=4&epochs=2');
  await watchLongTasks(page);
  assert.match(await page.locator('[data-out="param-count"]').textContent(), /Trained: 512 numbers \(4 x 128\)/);
  const r = await train(page);
  console.log(r.status, JSON.stringify(r.rows), 'longest task', await page.evaluate(() => window.__longest));
  assert.equal(r.rows.length, 3);
  assert.ok(Number(r.rows[2][1]) < Number(r.rows[0][1]), `loss falls: ${JSON.stringify(r.rows)}`);
  assert.match(r.status, /on the CPU\.$/);
  const tests = await page.$$eval('table[data-answers="The test irregulars under the trained prompt"] tbody tr', (rs) => rs.length);
  assert.equal(tests, 7);
  await screenshot(page, 'chapter5-trained-desktop-light');
  await checkLongTasks(page, 'chapter 5, soft-prompt training');
  assert.deepEqual(page.problems(), []);
});

test('CPU: the loss-position exercise, the precompute figure, and the comparison', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?k=4&epochs=1&ft_epochs=1');
  await watchLongTasks(page);
  // The exercise: the right cells, then one too many.
  const grid = page.locator('[data-exercise="loss-cells"]');
  for (let j = 50; j <= 71; j++) await grid.locator(`[data-cell="${j}"]`).click();
  await grid.getByRole('button', { name: 'Check' }).click();
  await grid.locator('[data-result="correct"]').waitFor();
  await grid.locator('[data-cell="72"]').click();
  await grid.getByRole('button', { name: 'Check' }).click();
  const wrong = await grid.locator('[data-result="wrong"]').textContent();
  assert.match(wrong, /1 cell is wrong/);
  assert.match(wrong, /Output 72 \(newline\) predicts token 73 \(padding\)/);

  // Prompt states: identical across inputs, and the timing with the same answers.
  await page.getByRole('button', { name: 'Compare and time' }).click();
  await page.locator('[data-out="precompute-timing"]').filter({ hasText: /validation answers/ }).waitFor({ timeout: 120_000 });
  const same = await page.$$eval('table[aria-label="Prompt states across inputs"] tbody tr', (rs) => rs.map((r) => r.dataset.identical));
  assert.deepEqual(same, ['true', 'true', 'true', 'true']);
  console.log(await page.locator('[data-out="precompute-timing"]').textContent());

  // The comparison: the frozen model's held-out loss unchanged, full fine-tuning's raised.
  await page.getByRole('button', { name: 'Run the comparison' }).click();
  const status = page.locator('[data-out="compare-status"]');
  await status.filter({ hasText: /^(Done|The comparison stopped)/ }).waitFor({ timeout: 600_000 });
  assert.equal(await status.textContent(), 'Done.');
  const rows = await page.$$eval('table[aria-label="Soft, hard and full fine-tuning"] tbody tr',
    (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  console.log(JSON.stringify(rows), 'longest task', await page.evaluate(() => window.__longest));
  assert.equal(rows.length, 4);
  assert.match(rows[1][0], /^soft prompt, K = 4/);
  assert.match(rows[2][0], /^prefix, K = 4/);
  assert.equal(rows[2][1], String(4 * 2 * 4 * 128), 'the prefix: layers x 2 x K x width');
  for (const r of rows.slice(1, 3)) assert.match(r[5], /\(identical\)$/);
  const [before, after] = [Number(rows[3][4]), Number(rows[3][5].split(' ')[0])];
  assert.ok(after > before, `full fine-tuning: held-out ${before} -> ${after}`);
  assert.equal(rows[3][1], '821504');
  await screenshot(page, 'chapter5-compare-desktop-light');
  await checkLongTasks(page, 'chapter 5, comparison');
  assert.deepEqual(page.problems(), []);
});

test('WebGPU: the gradients and the validation answers on the device give the CPU run\'s curve', async () => {
  // On the device worker (each batch's micro-batches as gpu-grad jobs; Under the hood counts
  // them), then with the worker script blocked on the page's own device (a micro-batch at a
  // time): the CPU run's losses and accuracies to the digits shown. 40 of the 369 training nouns
  // (SwiftShader is slow: all of them took 82 s a run on WebGPU).
  const cpu = await watchedPage(env.browser);
  await open(cpu, '?k=4&epochs=1&nouns=40');
  const a = await train(cpu);
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.gpuBrowser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await open(page, '?k=4&epochs=1&nouns=40');
    await page.locator('[aria-label="Compute backend"]').filter({ hasText: /WebGPU \(/ }).waitFor({ timeout: 30_000 });
    const b = await train(page);
    await page.goto(`${env.server.base}#/under-the-hood`);
    const device = await page.locator('[data-out="device-worker"]').textContent();
    const jobs = Number(/answered on this visit: (\d+)\./.exec(device)?.[1] ?? 0);
    console.log(blocked ? 'page device:' : 'device worker:', jobs, 'device jobs', b.status, JSON.stringify(b.rows));
    assert.match(b.status, /of training on WebGPU and .* of validation answers on WebGPU\.$/);
    assert.deepEqual(b.rows, a.rows, 'the same losses and accuracies to the digits shown');
    assert.ok(Number(b.rows[1][1]) < Number(b.rows[0][1]), 'the loss falls');
    // 40 training nouns in micro-batches of 4: 10 gradient jobs.
    if (blocked) assert.equal(jobs, 0);
    else assert.ok(jobs >= 10, `${jobs} device jobs`);
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
});

test('bad input from the URL and the page is named', async () => {
  const page = await watchedPage(env.browser, { width: 360, height: 740, colorScheme: 'dark' });
  await open(page, '?k=0&lr=NaN&epochs=1000&nouns=2&init=zeros&tuning=both');
  const notices = await page.locator('article.chapter > p.notice.warning').allTextContents();
  const all = notices.join(' | ');
  for (const key of ['(k)', '(lr)', '(epochs)', '(nouns)', 'init', 'tuning']) assert.ok(all.includes(key), `${key} in ${all}`);
  await page.locator('#in-k').fill('1000');
  await page.locator('#in-k').press('Enter');
  assert.match(await page.locator('#err-k').textContent(), /1 to 32/);
  assert.match(await page.locator('[data-out="param-count"]').textContent(), /1792 numbers \(14 x 128\)/);
  await screenshot(page, 'chapter5-phone-dark');
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(scroll <= 0, `the page scrolls ${scroll} px sideways`);
  assert.deepEqual(page.problems(), []);
});

test('CPU: meta-learning the start, then adapting to the held-out task from three starts', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?meta_steps=2&target=past');
  await watchLongTasks(page);
  await page.getByRole('button', { name: 'Meta-learn and adapt' }).click();
  const status = page.locator('[data-out="meta-status"]');
  await status.filter({ hasText: /^(Done|The run stopped)/ }).waitFor({ timeout: 600_000 });
  assert.equal(await status.textContent(), 'Done.');
  const rows = await page.$$eval('table[aria-label="Accuracy on the held-out task by start"] tbody tr',
    (rs) => rs.map((r) => [r.dataset.start, ...[...r.querySelectorAll('td')].map((c) => c.textContent)]));
  console.log(JSON.stringify(rows), 'longest task', await page.evaluate(() => window.__longest));
  assert.deepEqual(rows.map((r) => r[0]), ['meta-learned', 'random', 'hard prompt']);
  for (const r of rows) assert.equal(r.length, 4);
  await checkLongTasks(page, 'chapter 5, meta-learning the start');
  assert.deepEqual(page.problems(), []);
});
