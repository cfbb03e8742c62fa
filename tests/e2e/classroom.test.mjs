// Classroom use: a teacher's link (hide, lock, step), the Share panel (its links reproduce the
// view in a fresh page; its QR code decodes to the class link), Back to the lesson, presenter mode
// stepped with the keyboard, and the phone layout of every page (h1 on the first screen, no
// horizontal scroll, 44 px controls, a one-line backend notice); printing a chapter as a handout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowsers, watchedPage, screenshot, artifacts } from './harness.mjs';

const env = useBrowsers({ browser: {} });

async function openAttention(page, query) {
  await page.goto(`${env.server.base}#/attention${query}`);
  await page.getByRole('heading', { level: 1, name: 'Attention in a captioning transformer' }).waitFor();
  await page.locator('[data-out="ran"]').filter({ hasText: /Computed with/ }).waitFor({ timeout: 30_000 });
}

const visibleSections = (page) => page.$$eval('section[data-section]',
  (ss) => ss.filter((s) => s.getClientRects().length > 0).map((s) => s.dataset.section));

test('a teacher link hides sections, locks controls, starts at a step and names what it cannot use', async () => {
  const page = await watchedPage(env.browser);
  await openAttention(page, '?patch=8&hide=cost,measure,no-such-section&lock=patch,picture,nokey&step=2');
  const shown = await visibleSections(page);
  assert.deepEqual(shown, ['encoder-decoder', 'toy-captioner', 'mask-grid', 'mask-at-work', 'query-window']);
  // The hidden section is in the page (it still computes) but not shown, nor in the accessibility tree.
  assert.equal(await page.locator('h2#cost').count(), 1);
  assert.equal(await page.locator('h2#cost').isVisible(), false);
  assert.equal(await page.getByRole('heading', { name: /The cost of global and windowed attention/ }).count(), 0);
  // Locked: disabled, showing the link's value. Not locked: still enabled.
  const patch = page.locator('input[type="number"][data-key="patch"]');
  assert.equal(await patch.isDisabled(), true);
  assert.equal(await patch.inputValue(), '8');
  assert.equal(await page.locator('select[data-key="picture"]').isDisabled(), true);
  assert.equal(await page.locator('input[type="number"][data-key="window"]').isDisabled(), false);
  // One notice lists what the page does not have; the rest applied.
  const notice = await page.locator('.lesson-notice').textContent();
  assert.match(notice, /no section 'no-such-section'/);
  assert.match(notice, /no control 'nokey'/);
  // step=2: the second section shown is scrolled to the top of the screen.
  await page.waitForFunction(() => Math.abs(document.getElementById('toy-captioner').getBoundingClientRect().top) < 80);
  // The lesson's keys stay in the address as the page publishes its state.
  assert.match(page.url(), /hide=cost,measure/);
  assert.match(page.url(), /lock=patch,picture/);
  assert.deepEqual(page.problems(), []);
});

test('the Share panel links reproduce the view, its QR code decodes to the class link, and Back to the lesson returns', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openAttention(page, '?window=2');
  // Change a control: the address follows, and so does the view link.
  const patch = page.locator('input[type="number"][data-key="patch"]');
  await patch.fill('8');
  await patch.press('Enter');
  await page.waitForFunction(() => /patch=8/.test(location.hash));
  await page.locator('.share-panel > summary').click();
  const viewLink = await page.locator('#share-view').inputValue();
  assert.match(viewLink, /#\/attention\?.*patch=8/);
  // Build a class link: hide the cost section, lock the window size, present from step 2.
  await page.getByText('Sections to hide').click();
  await page.locator('input[data-hide="cost"]').check();
  await page.getByText('Controls to lock').click();
  await page.locator('input[data-lock="window"]').check();
  await page.locator('#share-present').check();
  await page.locator('#share-step').fill('2');
  await page.locator('#share-step').press('Enter');
  const classLink = await page.locator('#share-class').inputValue();
  assert.match(classLink, /hide=cost/);
  assert.match(classLink, /lock=window/);
  assert.match(classLink, /step=2/);
  assert.match(classLink, /present=1/);
  // Copy puts the link on the clipboard.
  await page.getByRole('button', { name: 'Copy: Link for my class' }).click();
  await page.getByText('Copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), classLink);
  // The QR code, as drawn on screen, decodes to the class link.
  const png = await page.locator('.qr-code').screenshot();
  // Decoded to pixels in a blank page (the book's policy admits no data: images).
  const scratch = await page.context().newPage();
  const { data, width, height } = await scratch.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height);
    return { data: Array.from(d.data), width: d.width, height: d.height };
  }, png.toString('base64'));
  await scratch.close();
  const code = jsQR(Uint8ClampedArray.from(data), width, height);
  assert.ok(code, 'the QR code decodes');
  assert.equal(code.data, classLink);
  await screenshot(page, 'share-panel');

  // The view link in a fresh page: the same control values.
  const fresh = await watchedPage(env.browser);
  await fresh.goto(viewLink);
  await fresh.locator('input[type="number"][data-key="patch"]').waitFor();
  assert.equal(await fresh.locator('input[type="number"][data-key="patch"]').inputValue(), '8');
  assert.equal(await fresh.locator('input[type="number"][data-key="window"]').inputValue(), '2');
  // The class link in a fresh page: presenter mode on step 2, the window locked, cost hidden.
  await fresh.goto('about:blank');
  await fresh.goto(classLink);
  await fresh.locator('.presenter-bar').waitFor();
  assert.deepEqual(await visibleSections(fresh), ['toy-captioner']);
  assert.equal(await fresh.locator('.presenter-step').getAttribute('data-step'), '2');
  await fresh.keyboard.press('End');
  await fresh.waitForFunction(() => /step=6/.test(location.hash));
  assert.deepEqual(await visibleSections(fresh), ['measure'], 'cost is hidden, so 6 steps in all');
  assert.equal(await fresh.locator('input[type="number"][data-key="window"]').isDisabled(), true);
  assert.deepEqual(fresh.problems(), []);

  // Back to the lesson: the page opened with window=2; change it, then return.
  const win = page.locator('input[type="number"][data-key="window"]');
  await win.fill('4');
  await win.press('Enter');
  await page.waitForFunction(() => /window=4/.test(location.hash));
  await page.getByRole('button', { name: 'Back to the lesson' }).click();
  await page.waitForFunction(() => /window=2/.test(location.hash) && !/patch=8/.test(location.hash));
  await page.locator('[data-out="ran"]').filter({ hasText: /Computed with/ }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('input[type="number"][data-key="window"]').inputValue(), '2');
  assert.deepEqual(errors, []);
  await context.close();
});

test('presenter mode shows one section at a time, steps with the keyboard, keeps the step in the URL, and Escape leaves', async () => {
  for (const scheme of ['light', 'dark']) {
    const page = await watchedPage(env.browser, { colorScheme: scheme });
    await page.goto(`${env.server.base}#/attention?present=1&step=3`);
    await page.locator('.presenter-bar').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('section[data-section]').length === 7);
    assert.deepEqual(await visibleSections(page), ['mask-grid']);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.present), '1');
    if (scheme === 'light') {
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => /step=4/.test(location.hash));
      assert.deepEqual(await visibleSections(page), ['mask-at-work']);
      await page.keyboard.press(' ');
      await page.waitForFunction(() => /step=5/.test(location.hash));
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(() => /step=4/.test(location.hash));
      // A refresh lands on the same step.
      await page.reload();
      await page.locator('.presenter-bar').waitFor();
      await page.waitForFunction(() => document.querySelectorAll('section[data-section]').length === 7);
      assert.deepEqual(await visibleSections(page), ['mask-at-work']);
      // Keys typed into a control stay with the control.
      const q = page.locator('select[data-key="query"]');
      await q.focus();
      await page.keyboard.press('ArrowRight');
      assert.match(page.url(), /step=4/);
      await page.locator('h1').click();
    }
    await screenshot(page, `presenter-${scheme}`);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !/present=/.test(location.hash));
    assert.equal((await visibleSections(page)).length, 7);
    assert.equal(await page.locator('.presenter-bar').count(), 0);
    assert.deepEqual(page.problems(), []);
  }
});

test('at 360 x 740 every page shows its h1 on the first screen, never scrolls sideways, and its controls are 44 px tall', async () => {
  for (const scheme of ['light', 'dark']) {
    const page = await watchedPage(env.browser, { width: 360, height: 740, colorScheme: scheme });
    await page.goto(env.server.base);
    await page.locator('main h1').waitFor();
    // Every page the contents list, chapters and appendix.
    const routes = ['', ...await page.$$eval('.toc a', (as) => as.map((a) => a.getAttribute('href').slice(2)))];
    assert.equal(routes.length, 11);
    for (const r of routes) {
      await page.goto(`${env.server.base}#/${r}`);
      await page.locator('main h1').waitFor();
      await page.waitForTimeout(800);
      const m = await page.evaluate(() => {
        const shown = (e) => e.getClientRects().length > 0;
        const small = [...document.querySelectorAll('button, select, input, textarea, summary')].filter(shown)
          .filter((e) => {
            const target = ['checkbox', 'radio'].includes(e.type) ? e.parentElement : e;
            return target.getBoundingClientRect().height < 43.5;
          })
          .map((e) => `${e.tagName} ${e.id || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 20)}`);
        return {
          h1: document.querySelector('main h1').getBoundingClientRect().bottom,
          scroll: document.documentElement.scrollWidth,
          tocOpen: document.querySelector('.toc details').open,
          small,
        };
      });
      assert.ok(m.h1 <= 740, `#/${r}: h1 ends at ${m.h1} px`);
      assert.ok(m.scroll <= 360, `#/${r}: the page is ${m.scroll} px wide`);
      assert.equal(m.tocOpen, false, `#/${r}: the contents start closed`);
      assert.deepEqual(m.small, [], `#/${r}: controls under 44 px`);
      if (r === 'meta-learning') await screenshot(page, `phone-${scheme}`);
    }
    assert.deepEqual(page.problems(), []);
  }
});

test('the backend notice is one line with the reason behind Details, and dismissing it lasts until the tab closes', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/attention`);
  const notice = page.locator('.backend-notice');
  await notice.waitFor();
  assert.equal(await notice.locator('.notice-line').textContent(), 'Running on the CPU: this browser offers no WebGPU.');
  const box = await notice.boundingBox();
  assert.ok(box.height < 60, `the notice is ${box.height} px tall`);
  assert.equal(await notice.getByText(/Computing on the CPU: /).isVisible(), false);
  await notice.getByText('Details').click();
  await notice.getByText(/Computing on the CPU: /).waitFor();
  await notice.getByRole('button', { name: 'Dismiss this notice' }).click();
  assert.equal(await page.locator('.backend-notice').count(), 0);
  await page.reload();
  await page.locator('main h1').waitFor();
  await page.waitForTimeout(1000);
  assert.equal(await page.locator('.backend-notice').count(), 0, 'still dismissed after a reload');
  // A new tab (a fresh session) shows it again.
  const other = await watchedPage(env.browser);
  await other.goto(`${env.server.base}#/attention`);
  await other.locator('.backend-notice').waitFor();
  assert.deepEqual(page.problems(), []);
});

test('a chapter prints as a handout: pages with its figures and exercises, no controls or navigation', async () => {
  const page = await watchedPage(env.browser);
  await openAttention(page, '');
  fs.mkdirSync(artifacts, { recursive: true });
  const pdf = path.join(artifacts, 'attention-handout.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))[1]);
  assert.ok(pages >= 1, `${pages} pages`);
  // The canvas figures are in the PDF as images (the cost curve, the heatmaps, the toy's picture).
  const images = execFileSync('pdfimages', ['-list', pdf], { encoding: 'utf8' }).trim().split('\n').length - 2;
  assert.ok(images >= 3, `${images} images in the handout`);
  const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
  assert.match(text, /Attention in a captioning transformer/);
  assert.match(text, /Encoder or decoder\?/);
  assert.match(text, /Answer:/, 'the exercises have answer space');
  for (const control of ['Back to the lesson', 'Share', 'Contents', 'Check', 'PNG', 'CSV', 'Theme']) {
    assert.ok(!text.includes(control), `the handout shows '${control}'`);
  }
  // Pages as pictures, to look at.
  execFileSync('pdftoppm', ['-png', '-r', '50', '-f', '1', '-l', '3', pdf, path.join(artifacts, 'handout')]);
  assert.ok(fs.readdirSync(artifacts).some((f) => /^handout-\d+\.png$/.test(f)));
  assert.deepEqual(page.problems(), []);
});
