// Security: the release's Content-Security-Policy is the one the README states (no page of the
// suite violates it: the harness reports any violation as a problem), an injected inline script
// does not run, and text from the URL or typed into any text field is never read as HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dist, useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers({ browser: {} });

test('the release ships the strict Content-Security-Policy, with only the loader\'s hash', async () => {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
  assert.ok(meta, 'index.html has the policy');
  const policy = meta[1];
  assert.equal(`${policy}\n`, fs.readFileSync(path.join(dist, 'csp.txt'), 'utf8'));
  const directives = Object.fromEntries(policy.split('; ').map((d) => { const [k, ...v] = d.split(' '); return [k, v]; }));
  assert.deepEqual(directives['default-src'], ["'self'"]);
  assert.deepEqual(directives['style-src'], ["'self'"]);
  assert.deepEqual(directives['object-src'], ["'none'"]);
  assert.deepEqual(directives['base-uri'], ["'self'"]);
  const script = directives['script-src'];
  assert.deepEqual(script.slice(0, 2), ["'self'", "'wasm-unsafe-eval'"]);
  assert.equal(script.length, 3);
  assert.match(script[2], /^'sha256-[A-Za-z0-9+/]+=*'$/);
  assert.ok(!policy.includes('unsafe-inline') && !policy.includes("'unsafe-eval'") && !/https?:/.test(policy), policy);
  // The policy comes before every script it governs.
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<script'), 'the policy is first');

  // An inline script that is not the loader does not run.
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/`);
  await page.locator('.cards .card').first().waitFor();
  const ran = await page.evaluate(() => new Promise((ok) => {
    window.__injected = false;
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true;';
    document.body.append(s);
    setTimeout(() => ok(window.__injected), 200);
  }));
  assert.equal(ran, false, 'an injected inline script ran');
  const problems = page.problems();
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.ok(problems.every((p) => /script-src/.test(p)), problems.join('\n'));
  await page.context().close();
});

// Markup that would run script if the page ever read text as HTML.
const PAYLOADS = ['<img src=x onerror="window.__xss=1">', '"><script>window.__xss=2</script><b id=xss>'];
const PAGES = ['meta-learning', 'attention', 'fine-tuning', 'prompting', 'soft-prompting', 'pruning',
  'quantization', 'image-lab', 'under-the-hood', 'bench'];

/** Nothing was injected: no element the payloads would make, no script ran, the page stands. */
async function assertInert(page, where) {
  const found = await page.evaluate(() => ({
    xss: window.__xss ?? null,
    img: document.querySelectorAll('img[src="x"]').length,
    bold: document.querySelectorAll('#xss').length,
    scripts: [...document.scripts].filter((s) => s.textContent.includes('__xss')).length,
    h1: document.querySelector('main h1')?.textContent ?? '',
  }));
  assert.deepEqual({ ...found, h1: found.h1 !== '' }, { xss: null, img: 0, bold: 0, scripts: 0, h1: true }, where);
}

for (const slug of PAGES) {
  test(`${slug}: markup in every URL parameter and every text field is shown as text or rejected`, async (t) => {
    const page = await watchedPage(env.browser);
    await page.goto(`${env.server.base}#/${slug}`);
    await page.locator('main h1').waitFor();
    // Every control's URL key, and the teacher's keys.
    const keys = await page.$$eval('[data-key]', (es) => [...new Set(es.map((e) => e.dataset.key))]);
    for (const payload of PAYLOADS) {
      const query = [...keys, 'hide', 'lock', 'step', 'present', 'backend', 'seed']
        .map((k) => `${k}=${encodeURIComponent(payload)}`).join('&');
      await page.goto(`${env.server.base}#/${slug}?${query}`);
      await page.locator('main h1').waitFor();
      await page.waitForTimeout(300);
      await assertInert(page, `${slug} URL ${payload}`);
      // Rejected values are named in a notice, as text.
      const notices = await page.$$eval('[role="alert"], .notice', (ns) => ns.map((n) => n.textContent).join(' '));
      if (keys.length) assert.ok(notices.includes(payload.slice(0, 12)), `${slug}: a notice quotes the rejected value: ${notices.slice(0, 300)}`);
    }
    // Every enabled text field, typed into and committed.
    await page.goto(`${env.server.base}#/${slug}`);
    await page.locator('main h1').waitFor();
    const fields = page.locator('main input[type="text"]:not([readonly]):not([disabled]), main textarea:not([readonly]):not([disabled])');
    const n = await fields.count();
    let typed = 0;
    for (let i = 0; i < n; i++) {
      const f = fields.nth(i);
      if (!(await f.isVisible())) continue;
      typed += 1;
      for (const payload of PAYLOADS) {
        await f.fill(payload);
        await f.press('Tab');
        await page.waitForTimeout(100);
        await assertInert(page, `${slug} field ${i} ${payload}`);
      }
    }
    t.diagnostic(`${slug}: ${keys.length} URL keys, ${typed} text fields`);
    assert.deepEqual(page.problems(), []);
    await page.context().close();
  });
}

// Seeded random links and typed values in the browser (the native test src/url_fuzz.rs reads
// 10,000 links per chapter and checks each notice; here the page itself): no console error, no
// panic, every page keeps its h1, and every notice shown for a link is about a URL parameter.
// GLASSBOX_FUZZ_SEED reproduces a run; GLASSBOX_FUZZ_CASES sets the number of links (default 300).
test('browser fuzz: random links and typed values never break a page', async (t) => {
  const seed = Number(process.env.GLASSBOX_FUZZ_SEED ?? Date.now() % 1e9);
  const cases = Number(process.env.GLASSBOX_FUZZ_CASES ?? 300);
  t.diagnostic(`browser fuzz seed ${seed} (GLASSBOX_FUZZ_SEED=${seed} reproduces), ${cases} links`);
  let state = seed >>> 0;
  const rand = () => { // mulberry32
    state = (state + 0x6D2B79F5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const values = ['', '0', '-1', '1e999', 'NaN', '-inf', '0.5', '3', '12345678901234567890', 'abc', 'conv2',
    '1,2,3', '%', '%zz', ...PAYLOADS, 'ü😀', ' 7 ', '+2', '.5'];
  const value = () => (rand() < 0.6 ? pick(values) : String(Math.round((rand() * 2 - 1) * 10 ** Math.floor(rand() * 8))));
  const page = await watchedPage(env.browser);
  const keysOf = {};
  for (const slug of PAGES) {
    await page.goto(`${env.server.base}#/${slug}`);
    await page.locator('main h1').waitFor();
    keysOf[slug] = await page.$$eval('[data-key]', (es) => [...new Set(es.map((e) => e.dataset.key))]);
  }
  for (let c = 0; c < cases; c++) {
    const slug = pick(PAGES);
    const keys = [...keysOf[slug], 'hide', 'lock', 'step', 'present', 'backend', 'nokey'];
    const query = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => `${pick(keys)}=${encodeURIComponent(value())}`).join('&');
    const url = `${env.server.base}#/${slug}?${query}`;
    await page.goto(url);
    await page.locator('main h1').waitFor({ timeout: 10_000 });
    const notices = await page.$$eval('.notice.warning', (ns) => ns.map((n) => n.textContent));
    for (const n of notices) {
      assert.ok(/URL parameter|Running on the CPU|no chapter/.test(n), `seed ${seed}, case ${c}, ${url}: ${n}`);
    }
    await assertInert(page, `seed ${seed}, case ${c}, ${url}`);
    assert.deepEqual(page.problems(), [], `seed ${seed}, case ${c}, ${url}`);
  }
  // Typed values into every number and text field of every page.
  for (const slug of PAGES) {
    await page.goto(`${env.server.base}#/${slug}`);
    await page.locator('main h1').waitFor();
    const fields = page.locator('main input[type="number"]:not([disabled]), main input[type="text"]:not([readonly]):not([disabled])');
    const n = await fields.count();
    for (let i = 0; i < n; i++) {
      const f = fields.nth(i);
      if (!(await f.isVisible())) continue;
      const v = value();
      const numeric = (await f.getAttribute('type')) === 'number';
      // A number field takes only what a reader can type into it.
      await f.fill(numeric ? (Number.isFinite(Number(v)) ? v : '') : v);
      await f.press('Enter');
      await assertInert(page, `seed ${seed}, ${slug} field ${i} '${v}'`);
    }
    await page.goto(`${env.server.base}#/meta-learning`);
    assert.deepEqual(page.problems(), [], `seed ${seed}, ${slug}`);
  }
  await page.context().close();
});
