// Accessibility: axe-core's WCAG rules find nothing on the front page and on every page, in the
// light and the dark theme; every figure's canvas is an image whose name states its key numbers;
// and each chapter can be used from the keyboard alone: Tab reaches every control in turn, each
// shows where the focus is, and a value typed and committed with Enter changes what the page shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { useBrowsers, watchedPage } from './harness.mjs';

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol: the page's Content-Security-Policy allows no injected
// <script>, but does not govern evaluation by the test's driver.
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const env = useBrowsers({ browser: {} });

const CHAPTERS = ['meta-learning', 'attention', 'fine-tuning', 'prompting', 'soft-prompting', 'pruning', 'quantization'];
const APPENDIX = ['image-lab', 'under-the-hood', 'bench'];
const PAGES = ['', ...CHAPTERS, ...APPENDIX];
const MAX_TABS = 400;

/** Open `#/slug` and wait until it has drawn its first figures: every visible canvas in main is
 * named with a number or says it is empty, and neither those names nor main's text have changed
 * for 1.5 s (or 10 s have passed: a page still computing is checked as it is then). */
async function openPage(page, slug) {
  await page.goto(`${env.server.base}#/${slug}`);
  await page.locator('main h1').waitFor();
  await page.evaluate(() => { window.__settled = undefined; });
  await page.waitForFunction(() => {
    const names = [...document.querySelectorAll('main canvas')].filter((c) => c.checkVisibility())
      .map((c) => c.getAttribute('aria-label') || '');
    const now = names.join('\n') + document.querySelector('main').textContent;
    const seen = (window.__settled ??= { last: '', since: performance.now() });
    if (now !== seen.last) Object.assign(seen, { last: now, since: performance.now() });
    return names.every((n) => /\d|\. Empty plot\b/.test(n)) && performance.now() - seen.since > 1500;
  }, null, { timeout: 10_000, polling: 250 }).catch(() => {});
}

/** axe's violations, one line each: rule, impact, count, the first few targets. Every disclosure
 * (figure descriptions, hints, answers, the Share panel) is opened first, so that what it holds is
 * checked too. */
async function axeViolations(page) {
  await page.evaluate(() => { for (const d of document.querySelectorAll('details')) d.open = true; });
  await page.waitForTimeout(300);
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
  return violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length} node(s)): ${v.help}\n`
    + v.nodes.slice(0, 4).map((n) => `    ${n.target}\n      ${(n.summary || '').split('\n').slice(0, 3).join(' / ')}`).join('\n'));
}

/** The visible canvases in main that are not images named with a number. */
async function unnamedFigures(page) {
  return page.$$eval('main canvas', (cs) => cs.filter((c) => c.checkVisibility()).flatMap((c) => {
    const label = c.getAttribute('aria-label') || '';
    const where = c.closest('[data-figure]')?.dataset.figure || c.className || c.outerHTML.slice(0, 80);
    if (c.getAttribute('role') !== 'img') return [`${where}: role is ${c.getAttribute('role')}, not img`];
    // A figure whose data is not computed yet (nothing run) says so: "Title. Empty plot: why."
    if (/\. Empty plot\b/.test(label)) return [];
    if (!/\d/.test(label)) return [`${where}: its name "${label}" states no number`];
    return [];
  }));
}

for (const slug of PAGES) {
  for (const colorScheme of ['light', 'dark']) {
    test(`#/${slug}, ${colorScheme}: axe finds no WCAG violation; every figure is an image named with its numbers`, async () => {
      const page = await watchedPage(env.browser, { colorScheme });
      await openPage(page, slug);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), colorScheme);
      const violations = await axeViolations(page);
      assert.deepEqual(violations, [], `#/${slug} (${colorScheme}) has ${violations.length} axe violation(s):\n${violations.join('\n')}`);
      const figures = await unnamedFigures(page);
      assert.deepEqual(figures, [], `#/${slug} (${colorScheme}): figures without a numeric description:\n${figures.join('\n')}`);
      assert.deepEqual(page.problems(), []);
      await page.context().close();
    });
  }
}

// Reflow (WCAG 1.4.10): at 320 CSS px no page scrolls sideways, and no formula in the running text
// reaches past the text column (a formula does not break across lines: a long one is set as a
// display formula, which scrolls inside itself, or as shorter ones). Two did, by up to 50 px, once
// formulas were set in a math font (session 31).
test('at 320 px wide no page scrolls sideways and every formula in the text fits its column', async () => {
  const page = await watchedPage(env.browser, { width: 320, height: 740 });
  const problems = [];
  for (const slug of PAGES) {
    await openPage(page, slug);
    const r = await page.evaluate(() => {
      const column = document.querySelector('main').getBoundingClientRect().right;
      const wide = [...document.querySelectorAll('main math')].filter((m) => !m.closest('.math-block'))
        .map((m) => [m.getBoundingClientRect().right - column, m.textContent])
        .filter(([over]) => over > 0.5).map(([over, text]) => `"${text.slice(0, 40)}" ${over.toFixed(0)} px`);
      return { scroll: document.documentElement.scrollWidth - window.innerWidth, wide, formulas: document.querySelectorAll('main math').length };
    });
    console.log(`#/${slug} at 320 px: ${r.formulas} formulas, sideways scroll ${r.scroll} px`);
    if (r.scroll > 0) problems.push(`#/${slug} scrolls ${r.scroll} px sideways`);
    for (const w of r.wide) problems.push(`#/${slug}: ${w} past the text column`);
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

/** In the page: record every element that receives focus, with whether it shows a focus indicator. */
function recordFocus() {
  window.__focused = [];
  document.addEventListener('focusin', (e) => {
    const el = e.target;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    const shadow = s.boxShadow !== 'none';
    window.__focused.push({ el, indicated: outline || shadow });
  });
}

/** In the page: the interactive controls in main that Tab must reach (visible and enabled), each
 * described; radio buttons count once per group, as Tab enters a group once. */
function describeControls() {
  const SELECTOR = 'button, a[href], input, select, textarea, summary, [tabindex="0"]';
  const describe = (el) => {
    const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || el.getAttribute('title') || '';
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.dataset.key ? `[data-key=${el.dataset.key}]` : ''} "${name.trim().slice(0, 50)}"`;
  };
  const key = (el) => (el.type === 'radio' && el.name ? `radio group ${el.name}` : el);
  const main = document.querySelector('main');
  // A control counts when it was enabled before the first Tab and still is: one the page enables
  // while the Tabs go past it (a computation that ends meanwhile) cannot have been reached.
  const controls = [...main.querySelectorAll(SELECTOR)].filter((el) => !el.disabled
    && (!('disabled' in el) || window.__enabledAtStart.has(el))
    && el.type !== 'hidden' && el.getAttribute('tabindex') !== '-1'
    && el.checkVisibility({ checkVisibilityCSS: true })
    // Only a details element's first summary is its toggle.
    && !(el.tagName === 'SUMMARY' && el.parentElement.querySelector(':scope > summary') !== el));
  const focused = window.__focused.map((f) => f.el);
  // Tab follows the document's order (no positive tabindex reorders it).
  const inMain = focused.filter((el) => main.contains(el) && el.isConnected);
  const outOfOrder = [];
  for (let i = 1; i < inMain.length; i++) {
    if (inMain[i] === inMain[0]) break;
    if (inMain[i - 1].compareDocumentPosition(inMain[i]) & Node.DOCUMENT_POSITION_PRECEDING) {
      outOfOrder.push(`${describe(inMain[i])} after ${describe(inMain[i - 1])}`);
    }
  }
  const reached = new Set(focused.map(key));
  const missed = controls.filter((el) => !reached.has(key(el)));
  const unindicated = window.__focused.filter((f) => !f.indicated && main.contains(f.el)).map((f) => describe(f.el));
  return {
    controls: new Set(controls.map(key)).size,
    focusedInMain: new Set(focused.filter((el) => main.contains(el)).map(key)).size,
    missed: [...new Set(missed.map(describe))],
    unindicated: [...new Set(unindicated)],
    outOfOrder,
  };
}

/** Press Tab from the top of the page until the focus leaves the page's last control (it wraps to
 * the browser's chrome or back to the top), at most MAX_TABS times. Returns the number of Tabs. */
async function tabThrough(page) {
  await page.evaluate(recordFocus);
  await page.evaluate(() => {
    window.__enabledAtStart = new Set([...document.querySelectorAll('main *')].filter((el) => 'disabled' in el && !el.disabled));
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  let tabs = 0;
  while (tabs < MAX_TABS) {
    await page.keyboard.press('Tab');
    tabs++;
    const done = await page.evaluate(() => {
      const f = window.__focused;
      // Back at the first control, or out of the document.
      return (f.length > 1 && f[f.length - 1].el === f[0].el) || document.activeElement === document.body
        || document.activeElement === null;
    });
    if (done && tabs > 1) break;
  }
  return tabs;
}

for (const slug of [...CHAPTERS, ...APPENDIX]) {
  test(`#/${slug}: Tab reaches every control in main, each with a visible focus indicator`, async () => {
    const page = await watchedPage(env.browser);
    await openPage(page, slug);
    const tabs = await tabThrough(page);
    const r = await page.evaluate(describeControls);
    assert.ok(tabs < MAX_TABS, `#/${slug}: ${MAX_TABS} Tabs did not get through the page (${r.focusedInMain} of ${r.controls} controls reached)`);
    assert.deepEqual(r.missed, [], `#/${slug}: Tab never reached ${r.missed.length} of ${r.controls} controls:\n${r.missed.join('\n')}`);
    console.log(`#/${slug}: ${tabs} Tabs reached ${r.focusedInMain} of the ${r.controls} controls in main`);
    assert.deepEqual(r.unindicated, [], `#/${slug}: no visible focus indicator on:\n${r.unindicated.join('\n')}`);
    assert.deepEqual(r.outOfOrder, [], `#/${slug}: the focus went back up the page:\n${r.outOfOrder.join('\n')}`);
    assert.ok(r.focusedInMain >= r.controls, `#/${slug}: ${r.focusedInMain} of ${r.controls} controls focused`);
    assert.deepEqual(page.problems(), []);
    await page.context().close();
  });
}

test('the keyboard alone: skip to the content, commit a typed value with Enter, open a description with Enter', async () => {
  const page = await watchedPage(env.browser);
  await openPage(page, 'quantization');
  // The first Tab reaches "Skip to content"; Enter moves the focus to main.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // Bits: typed and committed with Enter, the scale's readout follows (S = (rmax - rmin) / (2^b - 1)).
  const scale = page.locator('[data-out="scale"]');
  const before = await scale.textContent();
  const bits = page.getByLabel('Bits', { exact: true });
  await bits.focus();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('3');
  await page.keyboard.press('Enter');
  await page.waitForFunction((b) => document.querySelector('[data-out="scale"]').textContent !== b, before);
  const [rmin, rmax] = await page.evaluate(() => [
    Number(document.querySelector('input[type="number"][data-key="rmin"]').value),
    Number(document.querySelector('input[type="number"][data-key="rmax"]').value)]);
  assert.ok(Math.abs(Number(await scale.textContent()) - (rmax - rmin) / 7) < 1e-4, await scale.textContent());
  assert.match(page.url(), /lin_bits=3/);
  // A figure's description: its summary opens with Enter, and again closes with it.
  const summary = page.locator('main details.plot-summary summary').first();
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), true);
  assert.ok((await page.locator('main details.plot-summary .summary-text').first().textContent()).length > 10);
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), false);
  // A button by Space: Present starts presenter mode; Escape leaves it.
  const present = page.getByRole('button', { name: 'Present' });
  await present.focus();
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.documentElement.hasAttribute('data-present'));
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.documentElement.hasAttribute('data-present'));
  assert.equal(await present.getAttribute('aria-pressed'), 'false');
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});
