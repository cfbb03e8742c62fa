// The language model in the browser: the weights load only on a page that needs them (the
// Benchmarks appendix here; chapters 4 and 5 later), with their checksum checked; generation and
// the soft-prompt pass run in slices and report their rates; on WebGPU the model generates on the
// device and its whole forward pass matches the CPU's; a corrupt or missing file gets a named
// message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers({ browser: {}, gpuBrowser: { webgpu: true } });

function weightRequests(page) {
  const seen = [];
  page.on('request', (r) => { if (r.url().endsWith('glassbox-lm.bin')) seen.push(r.url()); });
  return seen;
}

test('the front page does not load the model; the Benchmarks appendix loads it and times it', async () => {
  const page = await watchedPage(env.browser);
  const seen = weightRequests(page);
  await page.goto(`${env.server.base}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await page.waitForTimeout(1000);
  assert.equal(seen.length, 0, 'no weights on the front page');

  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Time the language model' }).click();
  const soft = page.locator('[data-bench="lm_soft_pass"] [data-col="rate"]');
  await soft.waitFor({ timeout: 300_000 });
  assert.equal(seen.length, 1);
  const rate = (key) => page.locator(`[data-bench="${key}"] [data-col="rate"]`).textContent()
    .then((t) => Number(t.replace(/[^\d.]/g, '')));
  const gen = await rate('lm_generate');
  console.log(`browser CPU: generation ${gen} characters/s, soft-prompt pass ${await rate('lm_soft_pass')} characters/s`);
  assert.ok(gen > 10, `generation at ${gen} characters/s`);
  const text = await page.locator('[data-out="lm-bench-text"]').textContent();
  assert.ok(text.startsWith('one wolf, two') && text.length > 'one wolf, two'.length + 50, text);
  assert.deepEqual(page.problems(), []);
});

test('on WebGPU the model generates on the device, and its forward pass matches the CPU', async () => {
  const page = await watchedPage(env.gpuBrowser);
  await page.goto(`${env.server.base}#/bench`);
  await page.waitForFunction(() => /WebGPU \(/.test(document.querySelector('[aria-label="Compute backend"]')?.textContent ?? ''),
    null, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Time the language model' }).click();
  const parity = page.locator('[data-out="lm-parity"]');
  await parity.waitFor({ timeout: 600_000 });
  const diff = Number(await parity.getAttribute('data-diff'));
  const head = await page.locator('[data-bench="lm_generate_webgpu"] th').textContent();
  const rate = Number((await page.locator('[data-bench="lm_generate_webgpu"] [data-col="rate"]').textContent())
    .replace(/[^\d.]/g, ''));
  console.log(`browser WebGPU: generation ${rate} characters/s; forward pass max |logit difference| ${diff}; ${await parity.textContent()}`);
  assert.match(head, /on WebGPU$/, 'generated on the device to the end');
  assert.ok(diff < 1e-3, `logits differ by ${diff}`);
  assert.equal(await parity.getAttribute('data-same'), 'true', 'the same greedy text');
  assert.ok(rate > 0);
  await page.locator('[data-bench="lm_soft_pass"]').waitFor({ timeout: 300_000 });
  assert.deepEqual(page.problems(), []);
});

test('a corrupt or missing weights file is named, and the page goes on', async () => {
  for (const [what, fulfil, message] of [
    ['corrupt', { status: 200, body: Buffer.from('GBLM not really weights') }, /not the shipped one/],
    ['missing', { status: 404, body: 'no' }, /HTTP 404/],
  ]) {
    const page = await watchedPage(env.browser);
    await page.route('**/glassbox-lm.bin', (route) => route.fulfill(fulfil));
    await page.goto(`${env.server.base}#/bench`);
    await page.getByRole('button', { name: 'Time the language model' }).click();
    await page.getByText(/The language model could not be loaded/).filter({ hasText: message }).waitFor();
    // The page still works: the button is usable again.
    await page.getByRole('button', { name: 'Time the language model' }).waitFor({ state: 'visible' });
    assert.ok(await page.getByRole('button', { name: 'Time the language model' }).isEnabled(), what);
    const problems = page.problems().filter((p) => !p.includes('404'));
    assert.deepEqual(problems, [], what);
  }
});
