// Damaged downloads: every asset the book fetches, served with a byte flipped or cut to half by the
// test's server, gives a message in the page that names it (each is checked against its SHA-256
// as it arrives), and the rest of the book keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, watchedPage } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const DAMAGE = {
  flipped: (b) => { const c = Buffer.from(b); c[c.length >> 1] ^= 0x20; return c; },
  cut: (b) => b.subarray(0, b.length >> 1),
};

// FNV-1a, 64-bit, as 16 hex digits: the checksum of the book's text files (crates/pack).
const fnv = (buf) => {
  let h = 0xcbf29ce484222325n;
  for (const b of buf) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
};

// Each asset, a page that uses it, and where that page says what went wrong.
const ASSETS = [
  { file: 'fashion-mnist.gbds', page: '#/pruning?eval_images=100', where: '.status', name: /Fashion-MNIST images \(fashion-mnist\.gbds\) arrived damaged/ },
  { file: 'fashion-vgg.gbnet', page: '#/', where: '[data-out="card-pruning-status"]', name: /trained weights \(fashion-vgg\.gbnet\) arrived damaged/ },
  { file: 'finetune-severity5.csv', page: '#/fine-tuning', where: '#full-table ~ [role="alert"], [data-section="full-table"] [role="alert"]', name: /fine-tuning table \(finetune-severity5\.csv\) arrived damaged/ },
  { file: 'loss.csv', page: '#/', where: '[data-out="card-prompting-status"]', name: /training log \(loss\.csv\) arrived damaged/ },
  { file: 'glassbox-lm.bin', page: '#/prompting', where: '.status', name: /language model could not be loaded: .*weights file is not/ },
  { file: 'glassbox-lm-small.bin', page: '#/', where: '[data-out="card-soft-prompting-status"]', name: /small language model|could not be loaded: .*weights file is not/ },
  // The word lists come with the model (not in the code); chapter 5's other lists when its run needs them.
  { file: 'plurals.tsv', page: '#/prompting', where: '.status', name: /pluralize word list \(plurals\.tsv\) arrived damaged/ },
  { file: 'words.tsv', page: '#/prompting', where: '.status', name: /word ranks \(words\.tsv\) arrived damaged/ },
  { file: 'past.tsv', page: '#/soft-prompting', click: 'Meta-learn and adapt', where: '[data-out="meta-status"]', name: /past-tense word list \(past\.tsv\) arrived damaged/ },
];

for (const a of ASSETS) {
  for (const [how, damage] of Object.entries(DAMAGE)) {
    test(`${a.file}, ${how}: the page names it and the book goes on`, async () => {
      const server = await serve({ transform: (url, bytes) => (url.endsWith(`/${a.file}`) ? damage(bytes) : bytes) });
      const page = await watchedPage(browser);
      await page.goto(`${server.base}${a.page}`);
      await page.locator('main h1').waitFor();
      if (a.click) await page.getByRole('button', { name: a.click }).click({ timeout: 60_000 });
      const message = page.locator(a.where).filter({ hasText: a.name });
      await message.first().waitFor({ timeout: 60_000 });
      const text = await message.first().textContent();
      if (a.file !== 'glassbox-lm.bin' && a.file !== 'glassbox-lm-small.bin') assert.match(text, new RegExp(a.file.replace('.', '\\.')), text);
      // Another chapter still computes.
      await page.goto(`${server.base}#/quantization`);
      await page.getByRole('heading', { level: 1, name: 'Quantizing the trained network' }).waitFor();
      await page.locator('[data-out="scale"]').filter({ hasText: /\d/ }).waitFor();
      await page.goto(`${server.base}#/meta-learning`);
      await page.locator('main h1').waitFor();
      assert.deepEqual(page.problems(), []);
      await page.context().close();
      await server.close();
    });
  }
}

// A page's prose (ui::prose: prose-PAGE.txt, summed with FNV-1a) damaged, cut or missing: the page
// opens without its text, says which file and why, and its figures still compute; the next page's
// text comes as usual.
for (const [how, damage] of [...Object.entries(DAMAGE), ['missing', null]]) {
  test(`prose-quantization.txt, ${how}: the page says so and still computes`, async () => {
    const file = 'prose-quantization.txt';
    const server = await serve({ transform: (url, bytes) => (damage && url.endsWith(`/${file}`) ? damage(bytes) : bytes) });
    const page = await watchedPage(browser);
    if (!damage) await page.route(`**/${file}`, (r) => r.fulfill({ status: 404, body: 'not found' }));
    await page.goto(`${server.base}#/quantization`);
    await page.getByRole('heading', { level: 1, name: 'Quantizing the trained network' }).waitFor();
    const notice = page.locator('[data-out="text-notice"]');
    await notice.waitFor();
    const text = await notice.textContent();
    assert.match(text, damage ? /prose-quantization\.txt: the file is damaged/ : /prose-quantization\.txt: HTTP 404/, text);
    assert.match(text, /figures and controls work without it/);
    assert.equal(await page.locator('main .prose').count(), 0);
    await page.locator('[data-out="scale"]').filter({ hasText: /\d/ }).waitFor();
    // Another page's text arrives and the notice goes.
    await page.goto(`${server.base}#/pruning`);
    await page.locator('main .prose').first().waitFor();
    assert.equal(await notice.count(), 0);
    const problems = page.problems().filter((p) => !(damage === null && /404/.test(p)));
    assert.deepEqual(problems, []);
    await page.context().close();
    await server.close();
  });
}

// A prose file from another build: well formed and summed, but without a passage this build asks
// for. The passage says so in its place; the others show.
test('prose-quantization.txt without one of its passages: that passage says so', async () => {
  const drop = (bytes) => {
    const [, first, ...rest] = bytes.toString('utf8').split('\n');
    const body = rest.join('\n');
    assert.match(first, /^[0-9a-f]{16} </);
    return Buffer.from(`glassbox-prose ${fnv(Buffer.from(body))}\n${body}`);
  };
  const server = await serve({ transform: (url, bytes) => (url.endsWith('/prose-quantization.txt') ? drop(bytes) : bytes) });
  const page = await watchedPage(browser);
  await page.goto(`${server.base}#/quantization`);
  await page.getByRole('heading', { level: 1, name: 'Quantizing the trained network' }).waitFor();
  const missing = page.locator('main .notice').filter({ hasText: /missing from prose-quantization\.txt/ });
  await missing.first().waitFor();
  assert.equal(await missing.count(), 1);
  assert.ok((await page.locator('main .prose').count()) >= 5);
  assert.equal(await page.locator('[data-out="text-notice"]').count(), 0);
  assert.deepEqual(page.problems(), []);
  await page.context().close();
  await server.close();
});

// The WGSL kernels (kernels.txt, crates/pack: summed with FNV-1a, fetched only when a WebGPU device
// opens) damaged or cut: the page says WebGPU could not be started and why, and computes on the CPU.
// A sound file from another build (its kernels changed, its checksum redone) is refused too.
const otherBuild = (bytes) => {
  const body = bytes.toString('utf8').split('\n').slice(1).join('\n').replace('fn main', 'fn  main');
  return Buffer.from(`glassbox-kernels ${fnv(Buffer.from(body))}\n${body}`);
};
for (const [how, damage, why] of [
  ['flipped', DAMAGE.flipped, /kernels\.txt: the file is damaged/],
  ['cut', DAMAGE.cut, /kernels\.txt: the file is damaged/],
  ['from another build', otherBuild, /kernels\.txt: it is from another build of the book/],
]) {
  test(`kernels.txt, ${how}: the page computes on the CPU and says why`, async () => {
    const server = await serve({ transform: (url, bytes) => (url.endsWith('/kernels.txt') ? damage(bytes) : bytes) });
    const gpuBrowser = await launch({ webgpu: true });
    try {
      const page = await watchedPage(gpuBrowser);
      await page.goto(`${server.base}#/under-the-hood`);
      const backend = page.locator('[data-backend="cpu"]');
      await backend.waitFor({ timeout: 30_000 });
      const text = await backend.textContent();
      assert.match(text, /the kernels file could not be used/, text);
      assert.match(text, why, text);
      const notice = page.locator('.backend-notice');
      assert.equal(await notice.locator('.notice-line').textContent(), 'Running on the CPU: WebGPU could not be started.');
      // The chapters compute on the CPU.
      await page.goto(`${server.base}#/quantization`);
      await page.locator('[data-out="scale"]').filter({ hasText: /\d/ }).waitFor();
      assert.ok(server.requests.some((u) => u.endsWith('/kernels.txt')), 'the kernels were asked for');
      assert.deepEqual(page.problems(), []);
    } finally {
      await gpuBrowser.close();
      await server.close();
    }
  });
}

// A reader without WebGPU never downloads the kernels.
test('without WebGPU the kernels file is never fetched', async () => {
  const server = await serve();
  const page = await watchedPage(browser);
  await page.goto(`${server.base}#/under-the-hood`);
  await page.locator('[data-backend="cpu"]').waitFor({ timeout: 30_000 });
  await page.goto(`${server.base}#/quantization`);
  await page.locator('[data-out="scale"]').filter({ hasText: /\d/ }).waitFor();
  assert.ok(server.requests.some((u) => u.endsWith('.wasm')), server.requests.join(' '));
  assert.deepEqual(server.requests.filter((u) => u.endsWith('/kernels.txt')), []);
  assert.deepEqual(page.problems(), []);
  await page.context().close();
  await server.close();
});
