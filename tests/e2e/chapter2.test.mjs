// Chapter 2: the encoder/decoder exercise, the toy captioner's causal demonstration (caption and
// picture edits, by keyboard and mouse), the combined mask exercise and the heatmaps it drives, the
// cost calculator and the timing of global vs windowed attention, on the CPU and on WebGPU; the
// Benchmarks appendix's attention section on the CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage, screenshot, watchLongTasks, checkLongTasks } from './harness.mjs';

const env = useBrowsers({ browser: {}, gpuBrowser: { webgpu: true } });

async function open(page, query = '') {
  await page.goto(`${env.server.base}#/attention${query}`);
  await page.getByRole('heading', { level: 1, name: 'Attention in a captioning transformer' }).waitFor();
  await page.locator('[data-out="ran"]').filter({ hasText: /Computed with/ }).waitFor({ timeout: 30_000 });
}

const movedRow = (page, row) => page.$$eval(`table.moved tr[data-row="${row}"] td`,
  (tds) => tds.map((td) => Number(td.textContent.split(': ').pop())));

async function setCaption(page, text) {
  const before = await page.locator('table.moved caption').textContent();
  const input = page.getByLabel('Caption tokens', { exact: true });
  await input.fill(text);
  await input.press('Enter');
  await page.waitForFunction((b) => document.querySelector('table.moved caption').textContent !== b, before);
}

test('the encoder/decoder exercise accepts the right answers and explains a wrong one', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  const vision = page.locator('[data-exercise="vision"]');
  await vision.getByLabel(/A decoder/).check();
  await vision.getByRole('button', { name: 'Check' }).click();
  assert.match(await vision.locator('[data-result="wrong"]').textContent(), /Not quite/);
  await vision.getByLabel(/An encoder/).check();
  await vision.getByRole('button', { name: 'Check' }).click();
  await vision.locator('[data-result="correct"]').waitFor();
  const language = page.locator('[data-exercise="language"]');
  // Keyboard: focus the first option and move to the second with the arrow key.
  await language.getByLabel(/An encoder/).focus();
  await page.keyboard.press('ArrowDown');
  await language.getByRole('button', { name: 'Check' }).click();
  assert.match(await language.locator('[data-result="correct"]').textContent(), /one token at a time/);
  assert.deepEqual(page.problems(), []);
});

test('a later caption token never moves an earlier output; any patch moves every encoder output', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  assert.match(await page.locator('[data-out="ran"]').textContent(), /the CPU/);
  // Change position 3 ("range"): outputs 0-2 stay exactly, 3 moves.
  await setCaption(page, '<SOS> a mountain ridge <PAD>');
  const dec = await movedRow(page, 'decoder');
  assert.equal(dec.length, 5);
  assert.deepEqual(dec.slice(0, 3), [0, 0, 0]);
  assert.ok(dec[3] > 0, JSON.stringify(dec));
  // The caption change does not touch the encoder.
  assert.ok((await movedRow(page, 'encoder')).every((d) => d === 0));
  // Change position 1: 0 stays, 1.. move.
  await setCaption(page, '<SOS> the mountain ridge <PAD>');
  const dec2 = await movedRow(page, 'decoder');
  assert.equal(dec2[0], 0);
  assert.ok(dec2[1] > 0 && dec2[2] > 0 && dec2[3] > 0, JSON.stringify(dec2));
  assert.match(await page.locator('[data-out="causal"]').textContent(), /Causal/);

  // Keyboard on the picture: move the cursor and toggle a pixel.
  const pad = page.getByRole('img', { name: /Picture, 16 by 16 pixels/ });
  await pad.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Space');
  await page.locator('table.moved caption').filter({ hasText: /the picture \(patch 1\)/ }).waitFor();
  const enc = await movedRow(page, 'encoder');
  assert.equal(enc.length, 16);
  assert.ok(enc.every((d) => d > 0), JSON.stringify(enc));
  // Every real caption token sees every image token; <PAD> makes no query.
  const decImg = await movedRow(page, 'decoder');
  assert.ok(decImg.slice(0, 4).every((d) => d > 0) && decImg[4] === 0, JSON.stringify(decImg));
  // Mouse: click a pixel in the last patch.
  const box = await pad.boundingBox();
  await page.mouse.click(box.x + box.width * 0.95, box.y + box.height * 0.95);
  await page.locator('table.moved caption').filter({ hasText: /patch 16/ }).waitFor();
  assert.ok((await movedRow(page, 'encoder')).every((d) => d > 0));
  // The drawing is in the link.
  assert.match(page.url(), /picture=[0-9a-f]{256}/);
  await screenshot(page, 'chapter2-model', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('the mask grid is toggled by mouse and keyboard, checked, and drives the heatmaps', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  const grid = page.getByRole('table', { name: /Attention mask/ });
  assert.equal(await grid.locator('tbody tr').count(), 8);
  await page.getByRole('button', { name: 'key a, query <SOS>' }).focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'key mountain, query <SOS>' }).click();
  assert.equal(await page.getByRole('button', { name: 'key a, query <SOS>' }).getAttribute('aria-pressed'), 'true');
  await page.getByRole('button', { name: 'Check my mask' }).click();
  const wrong = page.locator('[data-result="wrong"]');
  await wrong.waitFor();
  assert.match(await wrong.textContent(), /16 cells are wrong/);
  assert.match(await wrong.textContent(), /may not look ahead|padding/);

  // The decoder with the reader's (incomplete) mask: later tokens leak into earlier outputs.
  const weights = page.locator('figure[data-figure="decoder-weights"] canvas');
  const drawn = () => weights.evaluate((c) => c.toDataURL());
  const correctPicture = await drawn();
  await page.getByLabel('Mask used by the decoder').selectOption('mine');
  await page.locator('[data-result="leaks"]').waitFor();
  assert.match(await page.locator('[data-result="leaks"]').textContent(), /Not causal/);
  await page.waitForFunction((before) => document.querySelector('figure[data-figure="decoder-weights"] canvas').toDataURL() !== before, correctPicture);
  assert.match(page.url(), /mask=mine/);
  assert.match(page.url(), /grid=[01]{40}/);
  // Show the answer: the reader's grid is now correct, and the decoder is causal again.
  await page.getByRole('button', { name: 'Show the answer' }).click();
  await page.locator('[data-result="causal"]').waitFor();
  await page.getByRole('button', { name: 'Check my mask' }).click();
  await page.locator('[data-result="correct"]').waitFor();
  // Another query redraws the heatmaps.
  const before = await drawn();
  await page.getByLabel('Query to follow').selectOption('3');
  await page.waitForFunction((b) => document.querySelector('figure[data-figure="decoder-weights"] canvas').toDataURL() !== b, before);
  assert.match(await page.locator('figure[data-figure="decoder-weights"] .summary-text').textContent(), /8 rows \(keys\) by 5 columns/);
  await screenshot(page, 'chapter2-mask', { fullPage: true });
  // Fewer image tokens: the grid follows.
  const images = page.getByLabel('Image tokens', { exact: true });
  await images.fill('1');
  await images.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('table.mask-grid tbody tr').length === 6);
  assert.deepEqual(page.problems(), []);
});

test('a link reproduces the settings; bad parameters are notices', async () => {
  const page = await watchedPage(env.browser);
  await open(page, '?caption=%3CSOS%3E%20two%20cats&images=2&picture=checker&query=2&patch=15&qr=99');
  assert.equal(await page.getByRole('table', { name: /Attention mask/ }).locator('tbody tr').count(), 5);
  assert.equal(await page.getByLabel('Picture', { exact: true }).inputValue(), 'checker');
  assert.equal(await page.getByLabel('Query to follow').inputValue(), '2');
  // patch 15 does not divide 224: the calculator says so.
  await page.getByRole('alert').filter({ hasText: /must divide/ }).waitFor();
  await page.goto(`${env.server.base}#/attention?images=99&picture=cat&grid=2`);
  await page.getByRole('alert').filter({ hasText: /URL parameter Image tokens \(images\)/ }).waitFor();
  await page.getByRole('alert').filter({ hasText: /URL parameter picture/ }).waitFor();
  await page.getByRole('alert').filter({ hasText: /URL parameter grid/ }).waitFor();
  assert.deepEqual(page.problems(), []);
});

async function measure(page) {
  await watchLongTasks(page);
  await page.getByRole('button', { name: 'Measure', exact: true }).click();
  await page.locator('[data-out="timing-count"]').filter({ hasText: /of up to [1-9]/ }).waitFor();
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Measure');
    return b && !b.disabled;
  }, null, { timeout: 240_000 });
  const rows = await page.$$eval('table[aria-label="Measured attention time"] tbody tr', (rs) => rs.map((r) => ({
    image: Number(r.dataset.image),
    global: Number(r.querySelector('[data-out="global-ms"]').textContent),
    windowed: Number(r.querySelector('[data-out="windowed-ms"]').textContent),
  })));
  return { rows, longest: await page.evaluate(() => window.__longest) };
}

test('the cost calculator, and global vs windowed attention timed on the CPU', async () => {
  const page = await watchedPage(env.browser);
  await open(page);
  // 224 / 16 = 14 patches a side, T = 196, ratio T / K^2 = 4.
  assert.equal(await page.locator('[data-out="tokens"]').textContent(), '196');
  assert.match(await page.locator('[data-out="ratio"]').textContent(), /^4\.0×/);
  assert.match(await page.locator('figure[data-figure="attention-cost"] .summary-text').textContent(), /H\^4/);
  assert.match(await page.locator('figure[data-figure="window-view"] .summary-text').textContent(), /only the 49 patches/);
  const { rows, longest } = await measure(page);
  console.log(`CPU attention timing: ${JSON.stringify(rows)}; longest task ${longest.toFixed(0)} ms`);
  assert.ok(rows.length >= 4, JSON.stringify(rows));
  const last = rows[rows.length - 1];
  assert.ok(last.global > 4 * last.windowed, JSON.stringify(last));
  assert.match(await page.locator('[data-out="exponents"]').textContent(), /grew as H\^/);
  await checkLongTasks(page, 'chapter 2, attention timing');
  await screenshot(page, 'chapter2-timing-cpu', { fullPage: true });
  // A dimension beyond the measurement's range is refused with a reason.
  const dim = page.getByLabel('Dimension D', { exact: true });
  await dim.fill('1024');
  await dim.press('Enter');
  await page.getByRole('button', { name: 'Measure', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /up to D = 256/ }).waitFor();
  assert.deepEqual(page.problems(), []);
});

test('on WebGPU the toy captioner and the timing run on the kernel, with the same causal result', async () => {
  const page = await watchedPage(env.gpuBrowser);
  await page.goto(`${env.server.base}#/attention?patch=8&window=2&dim=32`);
  await page.locator('[data-out="ran"]').filter({ hasText: /WebGPU/ }).waitFor({ timeout: 60_000 });
  await setCaption(page, '<SOS> a mountain ridge <PAD>');
  const dec = await movedRow(page, 'decoder');
  assert.deepEqual(dec.slice(0, 3), [0, 0, 0]);
  assert.ok(dec[3] > 0);
  assert.match(await page.locator('[data-out="causal"]').textContent(), /Causal/);
  const { rows } = await measure(page);
  console.log(`WebGPU attention timing: ${JSON.stringify(rows)}`);
  assert.ok(rows.length >= 2, JSON.stringify(rows));
  assert.match(await page.locator('figure[data-figure="attention-timing"] .summary-text').textContent(), /WebGPU/);
  await screenshot(page, 'chapter2-webgpu', { fullPage: true });
  assert.deepEqual(page.problems(), []);
});

test('the Benchmarks appendix times global and windowed attention on the CPU', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await watchLongTasks(page);
  await page.getByRole('button', { name: 'Time attention' }).click();
  await page.locator('[data-out="attention-bench-status"]').filter({ hasText: /^Done\.$/ }).waitFor({ timeout: 300_000 });
  const rows = await page.$$eval('table[aria-label="Attention benchmark"] tbody tr', (rs) => rs.map((r) => ({
    key: r.dataset.bench,
    h: r.querySelector('th').textContent,
    cells: [...r.querySelectorAll('td')].map((c) => c.textContent),
  })));
  console.log(`attention benchmark on the CPU: ${JSON.stringify(rows)}`);
  assert.deepEqual(rows.map((r) => r.h), ['224 (196)', '896 (3136)']);
  const ms = (s) => Number(/^([\d.]+) ms$/.exec(s)[1]);
  for (const r of rows) {
    assert.ok(ms(r.cells[0]) > 0 && ms(r.cells[1]) > 0, JSON.stringify(r));
    assert.deepEqual(r.cells.slice(2), ['–', '–', '–']);
  }
  // At 3136 tokens windowed attention (49-token windows) is far cheaper than global.
  assert.ok(ms(rows[1].cells[0]) > 4 * ms(rows[1].cells[1]), JSON.stringify(rows[1]));
  await checkLongTasks(page, 'Benchmarks, attention');
  assert.deepEqual(page.problems(), []);
});
