// Shared by the browser tests: serve dist/ on 127.0.0.1 (at the root and under a sub-path, as a
// static host would), launch Debian's Chromium through playwright-core, and watch for console
// errors and for any request that leaves the machine.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// GLASSBOX_DIST serves another build (a second checkout's, or a variant's) with the same tests.
export const dist = path.resolve(process.env.GLASSBOX_DIST || path.join(root, 'dist'));
export const artifacts = path.join(root, 'tests/e2e/artifacts');
export const SUBPATH = '/course/glassbox/';

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json',
  '.bin': 'application/octet-stream', '.gz': 'application/gzip', '.txt': 'text/plain', '.csv': 'text/csv',
};

/**
 * Start a static server for `dir` (default dist/); resolves to { base, subBase, requests, close }:
 * `requests` lists every path asked for, in order. `transform(path, bytes)`, when given, returns
 * the bytes to send instead of the file's (a fault test damages an asset with it).
 */
export async function serve({ dir = dist, transform = null } = {}) {
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html is missing: build first (scripts/build.sh)`);
  }
  const requests = [];
  const server = http.createServer((req, res) => {
    let url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(url);
    if (url.startsWith(SUBPATH)) url = '/' + url.slice(SUBPATH.length);
    if (url.endsWith('/')) url += 'index.html';
    const file = path.join(dir, path.normalize(url));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    const type = types[path.extname(file)] || 'application/octet-stream';
    if (transform) {
      const body = transform(url, fs.readFileSync(file));
      res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}/`,
    subBase: `http://127.0.0.1:${port}${SUBPATH}`,
    requests,
    // Closing also drops kept-alive connections, so the browser finds no server at all.
    close: () => new Promise((ok) => { server.close(ok); for (const s of sockets) s.destroy(); }),
  };
}

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

/** Launch headless Chromium; `webgpu` adds --enable-unsafe-webgpu. */
export async function launch({ webgpu = false } = {}) {
  const args = [
    '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-default-apps', '--disable-extensions', '--mute-audio',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath, headless: true, args });
}

/**
 * A page that records console errors (a Content-Security-Policy violation among them), page errors
 * and requests to anything but 127.0.0.1.
 * `problems()` lists them; a test ends by asserting it is empty.
 */
export async function watchedPage(browser, { width = 1280, height = 900, colorScheme = 'light', serviceWorkers = 'block' } = {}) {
  // The book's service worker would copy the whole build (20 MB) into every test's fresh profile:
  // blocked, but for the offline tests, which allow it.
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, serviceWorkers });
  const page = await context.newPage();
  const issues = [];
  // Anything the Content-Security-Policy blocks is a problem, reported by the page itself.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  page.on('console', (m) => { if (m.type() === 'error') issues.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => issues.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['127.0.0.1', ''].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol)) {
      issues.push(`request left the machine: ${r.url()}`);
    }
  });
  page.problems = () => issues.slice();
  return page;
}

export async function screenshot(page, name, { fullPage = false } = {}) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

/** Text of the iteration counter, as a number. */
export async function iteration(page) {
  const t = await page.getByLabel('Iteration', { exact: true }).textContent();
  return Number(/iteration (\d+)/.exec(t)[1]);
}

/**
 * For a test file: serve dist/ and launch one browser per entry of `browsers` (name -> launch
 * options) before its tests, close them after. Returns the object that will hold `server` and each
 * named browser.
 */
export function useBrowsers(browsers = { browser: {} }) {
  const env = {};
  before(async () => {
    env.server = await serve();
    for (const [name, opts] of Object.entries(browsers)) env[name] = await launch(opts);
  });
  after(async () => {
    for (const name of Object.keys(browsers)) await env[name]?.close();
    await env.server?.close();
  });
  return env;
}

/** End a benchmark script: close the browser and the server; exit 1 if the page had problems. */
export async function finishBench(page, browser, server) {
  const problems = page.problems();
  await browser.close();
  await server.close();
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
}

/** The longest a main-thread task may take while a chapter computes: the issue's 50 ms (the
 * browser's long-task observer reports only tasks over 50 ms, so any report fails). Sessions 24 to
 * 31 held it at 80 ms after single stray tasks of 56 and 62 ms in session 24's suite (the image
 * lab and chapter 7); every row of the full suites since read 0 ms. */
export const TASK_BUDGET_MS = 50;

/** Start recording the page's longest main-thread task (again from 0), and what the browser says
 * filled each frame over 50 ms (the Long Animation Frames API: scripts with their invoker and
 * duration, style and layout, rendering, and the page's status lines just after), printed by
 * `checkLongTasks` when a task passes 50 ms. */
export async function watchLongTasks(page) {
  // GLASSBOX_THROTTLE=R runs the page's thread R times slower (Chromium's CPU throttling), so a
  // task over 50 ms there is one over 50/R ms here: how to find the tasks closest to the budget.
  const throttle = Number(process.env.GLASSBOX_THROTTLE || 1);
  if (throttle > 1) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
  }
  await page.evaluate(() => {
    window.__longest = 0;
    window.__longFrames = [];
    if (window.__longTasks) return;
    window.__longTasks = new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    });
    window.__longTasks.observe({ type: 'longtask', buffered: false });
    if (!PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) return;
    new PerformanceObserver((l) => {
      for (const f of l.getEntries()) {
        if (f.blockingDuration <= 0 || window.__longFrames.length >= 20) continue;
        const ms = (x) => Math.round(x);
        const scripts = f.scripts.map((s) => `${s.invoker || s.invokerType} ${ms(s.duration)} ms`
          + ` (layout ${ms(s.forcedStyleAndLayoutDuration)})`).join(', ');
        const render = f.renderStart ? ms(f.startTime + f.duration - f.renderStart) : 0;
        const style = f.styleAndLayoutStart ? ms(f.startTime + f.duration - f.styleAndLayoutStart) : 0;
        // What the page said it was doing just after the frame (its status lines).
        const status = [...document.querySelectorAll('p.status')].map((p) => p.textContent)
          .filter((t) => t).join(' / ').slice(0, 240);
        window.__longFrames.push(`frame ${ms(f.duration)} ms (blocking ${ms(f.blockingDuration)}):`
          + ` scripts [${scripts}], rendering ${render} ms, style and layout ${style} ms; status: ${status}`);
      }
    }).observe({ type: 'long-animation-frame', buffered: false });
  });
}

/** The longest task since `watchLongTasks`, printed as "long tasks, WHAT: N ms" (the README's
 * table comes from these lines) and held to the budget; over 50 ms, the long frames' contents. */
export async function checkLongTasks(page, what) {
  const [ms, frames] = await page.evaluate(() => [window.__longest, window.__longFrames]);
  console.log(`long tasks, ${what}: longest ${ms.toFixed(0)} ms`);
  if (ms > 50) for (const f of frames || []) console.log(`  ${f}`);
  assert.ok(ms <= TASK_BUDGET_MS, `${what}: a main-thread task took ${ms.toFixed(0)} ms (budget ${TASK_BUDGET_MS} ms)`);
  return ms;
}

/** Keep every WebGPU device the page, and its device worker, ask for in the global `__devices`
 * (the worker's capture is put before its script as the page loads it). */
export async function captureDevices(page) {
  function capture() {
    self.__devices = [];
    if (!self.GPUAdapter) return;
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await request.apply(this, args);
      self.__devices.push(device);
      return device;
    };
  }
  await page.addInitScript(capture);
  await page.route('**/glassbox-worker.js', async (route) => {
    // A worker can start after its test ended (the device worker warms up 3 s after WebGPU is
    // chosen): its request then finds the page closed, which is no failure of the test.
    try {
      const response = await route.fetch();
      const body = `(${capture.toString()})();\n${await response.text()}`;
      await route.fulfill({ response, body });
    } catch (e) {
      if (!page.isClosed() && !/disposed|closed/i.test(String(e))) throw e;
    }
  });
}

/** Destroy the devices `captureDevices` kept, in the page and/or its workers; how many. */
export async function destroyDevices(page, { page: inPage, workers }) {
  const destroy = () => { (self.__devices ?? []).forEach((d) => d.destroy()); return (self.__devices ?? []).length; };
  let n = inPage ? await page.evaluate(destroy) : 0;
  if (workers) for (const worker of page.workers()) n += await worker.evaluate(destroy).catch(() => 0);
  return n;
}

/** Chapter 3: one fine-tuning run at `query` (`ready`, if given, waits for the backend first): the
 * status line, the last epoch's loss and the result (without the frozen layers' sentence). */
export async function fineTuningRun(page, base, query, ready = async () => {}) {
  await page.goto(`${base}#/fine-tuning?${query}`);
  await ready(page);
  await page.locator('[data-out="blocks"]').waitFor({ timeout: 120_000 });
  await page.locator('[data-action="run-one"]').click();
  await page.locator('[data-out="run-result"]').waitFor({ timeout: 300_000 });
  const status = await page.locator('section[aria-labelledby="experiment"] p.status').textContent();
  const loss = await page.locator('[data-out="run-loss"]').textContent();
  const result = (await page.locator('[data-out="run-result"]').textContent()).replace(/ The frozen layers.*$/, '');
  return { status, loss, result };
}
