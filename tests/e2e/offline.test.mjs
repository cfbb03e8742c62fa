// Offline use: after a first visit (under a sub-path, as a static host serves it) the whole book
// works with the server gone; a new build is offered with "reload" and fills its cache from the
// old one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dist, serve, launch, watchedPage } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A copy of the build, so a test can serve a "new version" of it. */
function copyOfDist() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-dist-'));
  fs.cpSync(dist, dir, { recursive: true });
  return dir;
}

/** The files the service worker keeps, read from the build's sw.js. */
function keptFiles(dir) {
  const sw = fs.readFileSync(path.join(dir, 'sw.js'), 'utf8');
  return JSON.parse(/const FILES = (\[[\s\S]*?\]);/.exec(sw)[1]);
}

/** Wait until a worker of ours is active (its cache filled); the names of our caches. */
async function ready(page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  return page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('glassbox-')));
}

test('after one visit under a sub-path the whole book works with the server gone', async () => {
  const dir = copyOfDist();
  const server = await serve({ dir });
  const page = await watchedPage(browser, { serviceWorkers: 'allow' });
  await page.goto(`${server.subBase}#/`);
  await page.locator('.cards .card').first().waitFor();
  const caches = await ready(page);
  assert.equal(caches.length, 1, String(caches));
  const stored = await page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => r.url), caches[0]);
  const files = keptFiles(dir);
  assert.ok(files.length >= 10, JSON.stringify(files));
  for (const f of files) assert.ok(stored.includes(`${server.subBase}${f.path}`), `${f.path} is kept`);
  await page.locator('[data-out="home-backend"]').getByText(/Kept in this browser for offline use/).waitFor();

  await server.close();
  // The server is gone: the book opens, and the chapters load their data and weights.
  await page.reload();
  await page.locator('main h1').getByText('Glassbox').waitFor();
  await page.goto(`${server.subBase}#/pruning?eval_images=100`);
  await page.waitForFunction(() => /pruned/.test(document.querySelector('[data-out="accuracy"]')?.textContent ?? ''),
    null, { timeout: 120_000 });
  await page.goto(`${server.subBase}#/prompting`);
  await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Generate' && !b.disabled),
    null, { timeout: 60_000 });
  // Only the failed connection attempts of the reload may be reported; nothing else.
  assert.deepEqual(page.problems().filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), []);
  await page.context().close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a new build is offered with "reload", fills its cache from the old one, and replaces it', async () => {
  const dir = copyOfDist();
  const server = await serve({ dir });
  const page = await watchedPage(browser, { serviceWorkers: 'allow' });
  await page.goto(`${server.base}#/quantization`);
  const [first] = await ready(page);
  // The second visit is served by the worker.
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  assert.equal(await page.locator('.update-notice').count(), 0);

  // Deploy a "new build": the same files under a new version.
  const sw = fs.readFileSync(path.join(dir, 'sw.js'), 'utf8');
  const version = /const VERSION = "([0-9a-f]+)"/.exec(sw)[1];
  fs.writeFileSync(path.join(dir, 'sw.js'), sw.replace(`"${version}"`, '"0000000000000001"'));
  const before = server.requests.length;
  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  const notice = page.locator('.update-notice');
  await notice.getByText('A new version of the book is available.').waitFor({ timeout: 60_000 });
  // Unchanged files came from the old cache: only the worker itself was fetched.
  assert.deepEqual(server.requests.slice(before).filter((u) => !u.endsWith('/sw.js')), []);

  await Promise.all([page.waitForEvent('load'), notice.getByRole('button', { name: 'Reload' }).click()]);
  await page.locator('main h1').waitFor();
  const after = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('glassbox-')));
  assert.deepEqual(after, ['glassbox-0000000000000001'], `old cache ${first} removed`);
  assert.equal(await page.locator('.update-notice').count(), 0);
  assert.deepEqual(page.problems(), []);
  await server.close();
  await page.context().close();
  fs.rmSync(dir, { recursive: true, force: true });
});
