// Chapter 4 (prompting our own language model), WebGPU on and off: the playground streams text,
// greedy text is deterministic and the same on WebGPU as on the CPU, Stop stops, the distribution
// chart moves with the temperature; five temperatures side by side; the digits histogram and its
// chi-square; the shot sweep pauses and resumes to the same table as an uninterrupted run, with no
// main-thread task over 50 ms, with a table per rule; the test irregulars, the sweep's zero-shot
// row and the multiple-choice table the same on WebGPU and the CPU; bad input from the URL and the
// page is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers({ browser: {}, gpuBrowser: { webgpu: true } });

async function open(page, query = '') {
  await page.goto(`${env.server.base}#/prompting${query}`);
  await page.getByRole('heading', { level: 1, name: 'Prompting a language model' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Generate' && !b.disabled),
    null, { timeout: 60_000 });
}

async function generate(page) {
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  const status = page.locator('[data-out="play-status"]');
  await status.filter({ hasText: /characters in .* ms on/ }).waitFor({ timeout: 300_000 });
  return { status: await status.textContent(), text: await page.locator('[data-out="play-output"]').textContent() };
}

const summary = (page, f) => page.locator(`[data-figure="${f}"] .summary-text`).textContent();

async function askTestNouns(page) {
  await page.getByRole('button', { name: 'Ask the test nouns' }).click();
  await page.locator('[data-out="test-summary"]').filter({ hasText: /^\d of 7 right/ }).waitFor({ timeout: 300_000 });
  return page.$$eval('table[data-out="test-answers"] tbody tr', (rs) => rs.map((r) => [...r.children].slice(0, 4).map((c) => c.textContent)));
}

async function sweepTable(page) {
  return page.$$eval('table[aria-label="Accuracy per number of shots"] tbody tr', (rs) => rs.map((r) => r.textContent));
}

test('CPU: playground, temperatures, digits and the shot sweep', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?t=0&chars=60');
  const a = await generate(page);
  assert.match(a.status, /^60 characters in \d+ ms on the CPU\./);
  assert.ok(a.text.startsWith('one wolf, two') && a.text.length === 'one wolf, two'.length + 60, a.text);
  const b = await generate(page);
  assert.equal(b.text, a.text, 'greedy is deterministic');

  // The distribution reshapes with the temperature.
  const cold = await summary(page, 'next-character');
  await page.locator('#in-t').fill('1.5');
  await page.locator('#in-t').dispatchEvent('change');
  await page.waitForFunction((c) => document.querySelector('[data-figure="next-character"] .summary-text').textContent !== c, cold);
  assert.match(page.url(), /t=1\.5/);

  // Stop: a long generation ends early.
  await page.locator('#in-chars').fill('2000');
  await page.locator('#in-chars').dispatchEvent('change');
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('[data-out="play-status"]').filter({ hasText: /^Stopped: \d+ characters/ }).waitFor({ timeout: 60_000 });

  await page.getByRole('button', { name: 'Sample at five temperatures' }).click();
  await page.locator('[data-out="temperature-status"]').filter({ hasText: /^Five samples/ }).waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('table[aria-label="Samples by temperature"] tbody tr').count(), 5);

  await page.getByRole('button', { name: 'Ask for digits' }).click();
  const digits = page.locator('[data-out="digits-status"]');
  await digits.filter({ hasText: /of 100 digits found/ }).waitFor({ timeout: 120_000 });
  console.log(`digits: ${await digits.textContent()}`);
  // The exercise on these counts: digit 7's chi-square term, worked from what the model wrote.
  const written = await page.locator('[data-out="digits-text"]').evaluate((e) => e.textContent);
  const ds = [...written].filter((c) => c >= '0' && c <= '9').slice(0, 100);
  const expected = ds.length / 10;
  const observed = ds.filter((c) => c === '7').length;
  const term = (observed - expected) ** 2 / expected;
  const ex = page.locator('[data-exercise="digit-term"]');
  await ex.getByLabel('Your answer').fill(term.toFixed(4));
  await ex.getByRole('button', { name: 'Check' }).click();
  assert.match(await ex.locator('[data-result="correct"]').textContent(), new RegExp(`O = ${observed}, E = ${expected}`));

  // The sweep, paused and resumed, ends as an uninterrupted one does; the page never freezes.
  await watchLongTasks(page);
  await page.getByRole('button', { name: 'Run the sweep' }).click();
  await page.locator('[data-out="shots-status"]').filter({ hasText: /^\d+ of 800 answers/ }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume the sweep' }).waitFor();
  const paused = await page.locator('progress[aria-label="Answers so far"]').getAttribute('value');
  assert.ok(Number(paused) < 800, `paused at ${paused}`);
  await page.getByRole('button', { name: 'Resume the sweep' }).click();
  await page.locator('[data-out="shots-status"]').filter({ hasText: /^All 800 answers/ }).waitFor({ timeout: 600_000 });
  const resumed = await sweepTable(page);
  console.log(`sweep: ${resumed.join(' | ')}`);
  await checkLongTasks(page, 'chapter 4, few-shot sweep');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Run the sweep' }).click();
  await page.locator('[data-out="shots-status"]').filter({ hasText: /^All 800 answers/ }).waitFor({ timeout: 600_000 });
  assert.deepEqual(await sweepTable(page), resumed);
  const rules = await page.$$eval('table[data-out="per-rule"] tbody tr', (rs) => rs.map((r) => r.textContent));
  console.log(`per rule: ${rules.join(' | ')}`);
  assert.ok(rules.length >= 4, 'a row per rule of the validation nouns');
  const common = await page.locator('[data-out="common-share"]').textContent();
  console.log(`common words: ${common}`);
  assert.match(common, /^Of the \d+ wrong answers so far, \d+% are among the corpus's 50 most frequent words/);
  await screenshot(page, 'chapter4', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('WebGPU: greedy text, digits, the test irregulars, the sweep and multiple choice as on the CPU', async () => {
  const gpu = await watchedPage(env.gpuBrowser);
  await open(gpu, '?t=0&chars=40');
  await gpu.waitForFunction(() => /WebGPU \(/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? ''),
    null, { timeout: 30_000 });
  const g = await generate(gpu);
  assert.match(g.status, /on WebGPU\./);
  const cpu = await watchedPage(env.browser);
  await open(cpu, '?t=0&chars=40');
  const c = await generate(cpu);
  assert.equal(g.text, c.text, 'the same greedy text');
  for (const page of [gpu, cpu]) {
    await page.goto(`${env.server.base}#/prompting?digits=30&digits_t=0.7&seed=4`);
    await page.getByRole('button', { name: 'Ask for digits' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Ask for digits' && !b.disabled),
      null, { timeout: 60_000 });
    await page.getByRole('button', { name: 'Ask for digits' }).click();
    await page.locator('[data-out="digits-status"]').filter({ hasText: /of 30 digits found/ }).waitFor({ timeout: 300_000 });
  }
  const found = async (p) => (await p.locator('[data-out="digits-status"]').textContent()).replace(/\(.*? on [^)]*\)/, '');
  assert.equal(await found(gpu), await found(cpu));
  const [onGpu, onCpu] = [await askTestNouns(gpu), await askTestNouns(cpu)];
  console.log(`test nouns, 3 shots: ${onCpu.map((r) => `${r[0]} -> ${r[2]} (${r[3]})`).join(', ')}`);
  assert.equal(onGpu.length, 7);
  assert.deepEqual(onGpu, onCpu, 'the same greedy answers on WebGPU and the CPU');
  assert.match(await gpu.locator('[data-out="test-status"]').textContent(), /on WebGPU\)$/);

  // The shot sweep on WebGPU (its zero-shot row: the first 40 answers, then paused) and the
  // multiple-choice table give the CPU's numbers.
  const zeroShot = [];
  const choiceRows = [];
  for (const page of [gpu, cpu]) {
    await page.getByRole('button', { name: 'Run the sweep' }).click();
    const cell = page.locator('table[aria-label="Accuracy per number of shots"] tr[data-shots="0"] td[data-col="correct"]');
    await cell.filter({ hasText: /%/ }).waitFor({ timeout: 300_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume the sweep' }).waitFor();
    zeroShot.push(await cell.textContent());
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Ask the questions' && !b.disabled));
    await page.getByRole('button', { name: 'Ask the questions' }).click();
    await page.locator('[data-out="choice-status"]').filter({ hasText: /^All 120 questions/ }).waitFor({ timeout: 300_000 });
    choiceRows.push(await page.$$eval('table[aria-label="Multiple choice by strategy"] tbody tr', (rs) => rs.map((r) => r.textContent)));
  }
  console.log(`zero-shot on WebGPU and the CPU: ${zeroShot.join(' / ')}; choice: ${choiceRows[0].join(' | ')}`);
  assert.equal(zeroShot[0], zeroShot[1]);
  assert.deepEqual(choiceRows[0], choiceRows[1]);
  assert.match(await gpu.locator('[data-out="choice-status"]').textContent(), /on WebGPU\)\.$/);
  assert.match(await gpu.locator('[data-out="shots-status"]').textContent(), /on WebGPU\)$/);
  await gpu.setViewportSize({ width: 360, height: 740 });
  await screenshot(gpu, 'chapter4-webgpu-phone');
  assert.deepEqual(gpu.problems(), []);
  assert.deepEqual(cpu.problems(), []);
});

test('multiple choice, bigger against smaller, and confidence (the small model loads on demand)', async () => {
  const page = await watchedPage(env.browser);
  const small = [];
  page.on('request', (r) => { if (r.url().endsWith('glassbox-lm-small.bin')) small.push(r.url()); });
  await open(page);
  assert.equal(small.length, 0, 'the small model loads only when asked for');
  await page.getByRole('button', { name: 'Compare the two models' }).click();
  await page.locator('[data-out="sizes-status"]').filter({ hasText: /^All 160 answers/ }).waitFor({ timeout: 300_000 });
  assert.equal(small.length, 1);
  const rows = await page.$$eval('table[aria-label="Bigger against smaller"] tbody tr', (rs) => rs.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  console.log(`sizes: ${JSON.stringify(rows)}`);
  for (const row of rows) for (const cell of row) assert.match(cell, /^\d+\.\d%$/);

  await page.getByRole('button', { name: 'Ask the questions' }).click();
  await page.locator('[data-out="choice-status"]').filter({ hasText: /^All 120 questions/ }).waitFor({ timeout: 300_000 });
  const choice = await page.$$eval('table[aria-label="Multiple choice by strategy"] tbody tr', (rs) => rs.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  console.log(`choice: ${JSON.stringify(choice)}`);
  assert.equal(choice.length, 3);
  for (const [right, wrong, invalid] of choice) {
    assert.equal(parseInt(right) + parseInt(wrong) + parseInt(invalid) >= 99, true, `${right} ${wrong} ${invalid}`);
  }

  await page.getByRole('button', { name: 'Measure the confidence' }).click();
  const conf = page.locator('[data-out="confidence-status"]');
  await conf.filter({ hasText: /^All \d+ answers/ }).waitFor({ timeout: 300_000 });
  console.log(`confidence: ${await conf.textContent()}`);
  assert.match(await conf.textContent(), /Mean probability when right \d\.\d\d, when wrong \d\.\d\d/);
  assert.match(await summary(page, 'reliability'), /share right/);
  assert.deepEqual(page.problems(), []);
});

test('bad input is named, and the page goes on', async () => {
  const page = await watchedPage(env.browser, { colorScheme: 'dark' });
  const long = 'x'.repeat(10_000);
  await open(page, `?prompt=${long}&t=NaN&top_k=500&chars=0&digits=5&shots_seed=-1&test_shots=10`);
  const notices = await page.locator('.notice.warning').allTextContents();
  for (const key of ['prompt', 't:', 'top_k', 'chars', 'digits', 'shots_seed', 'test_shots']) {
    assert.ok(notices.some((n) => n.includes(key)), `${key}: ${notices.join(' / ')}`);
  }
  await page.locator('#in-prompt').fill('');
  await page.locator('#in-prompt').dispatchEvent('change');
  await page.locator('#err-prompt').filter({ hasText: /empty/ }).waitFor();
  await page.locator('#in-prompt').fill('caf\u00e9 \u2713 wolf');
  await page.locator('#in-prompt').dispatchEvent('change');
  const r = await generate(page);
  assert.match(r.status, /Characters the model does not know \(é✓\) were read as/);
  await page.setViewportSize({ width: 360, height: 740 });
  await screenshot(page, 'chapter4-dark-phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'nothing scrolls sideways at 360 px');
  assert.deepEqual(page.problems(), []);
});
