// Cold start, in a fresh profile (nothing cached): when the browser first paints, when the wasm
// module starts, when the page is mounted, and when the first figure is drawn (the first call
// that draws on a canvas), for the front page and chapter 1. Printed for the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers({ browser: {} });

/** Opening a page was one task of 147-299 ms; it is now the module's start with the shell (40-90
 * ms on the 2-core Xeon, mostly the browser instantiating the 2.3 MB module), then the route's page,
 * then each of its sections and each figure in a task of its own (under 40 ms each for chapter 1).
 * The goal is 50 ms; the test fails above 120 ms, which the old single task always exceeded. */
const OPEN_BUDGET_MS = 120;

/** One cold open of `hash` in a fresh profile: the longest task from the page's start, and the marks. */
async function open(hash) {
  const page = await watchedPage(env.browser);
  await page.addInitScript(() => {
    // Every task from the page's start: the wasm module's start and the shell, then the page a
    // task later, then each figure in a task of its own (none a freeze of the page).
    window.__openTasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__openTasks.push(Math.round(e.duration));
    }).observe({ type: 'longtask', buffered: true });
    // Every frame that kept input waiting (the Long Animation Frames API): a task's script, then
    // the style and layout the page's new elements need, which the long-task entries leave out.
    // Printed, not held to a budget: chapter 1's first layout varies 40-170 ms between opens on
    // the 2-core machine (session 31), too widely for a test that fails only on a regression.
    window.__openFrames = [];
    new PerformanceObserver((l) => {
      for (const f of l.getEntries()) {
        if (f.blockingDuration <= 0) continue;
        const layout = f.styleAndLayoutStart ? f.startTime + f.duration - f.styleAndLayoutStart : 0;
        window.__openFrames.push({ blocking: Math.round(f.blockingDuration), layout: Math.round(layout) });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
    window.__firstDraw = null;
    for (const name of ['fillRect', 'fillText', 'stroke', 'fill']) {
      const original = CanvasRenderingContext2D.prototype[name];
      CanvasRenderingContext2D.prototype[name] = function (...args) {
        if (window.__firstDraw === null) window.__firstDraw = performance.now();
        return original.apply(this, args);
      };
    }
  });
  await page.goto(`${env.server.base}${hash}`);
  await page.locator('main h1').waitFor();
  await page.waitForFunction(() => window.__firstDraw !== null, null, { timeout: 30_000 });
  const m = await page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
    return {
      firstPaint: at('first-contentful-paint'),
      wasmStarted: at('glassbox-wasm-started'),
      mounted: at('glassbox-mounted'),
      firstFigure: window.__firstDraw,
    };
  });
  // A second for the figures after the first to draw, then the longest task since the start.
  await page.waitForTimeout(1000);
  const [tasks, frames] = await page.evaluate(() => [window.__openTasks, window.__openFrames]);
  const problems = page.problems();
  await page.context().close();
  const blocking = Math.max(0, ...frames.map((f) => f.blocking));
  return { longest: Math.max(0, ...tasks), tasks, frames, blocking, m, problems };
}

// Three cold opens each; the median's longest task is held to the budget, so that one stray task
// of the machine's (a compile, a collection: the first task's length varies 40-110 ms here) does
// not fail the test, while a page that opens in one long task every time still does.
for (const hash of ['#/', '#/meta-learning']) {
  test(`cold start of ${hash}: first paint, wasm started, mounted, first figure`, async (t) => {
    const opens = [];
    for (let i = 0; i < 3; i++) opens.push(await open(hash));
    for (const { longest, tasks, frames, blocking, m, problems } of opens) {
      t.diagnostic(`cold start ${hash}: longest task ${longest} ms (tasks over 50 ms: ${tasks.join(', ') || 'none'})`);
      t.diagnostic(`cold start ${hash}: longest blocking frame ${blocking} ms (frames: ${frames.map((f) => `${f.blocking} ms, style and layout ${f.layout} ms`).join('; ') || 'none'})`);
      t.diagnostic(`cold start ${hash}: ${Object.entries(m).map(([k, v]) => `${k} ${v?.toFixed(0)} ms`).join(', ')}`);
      assert.ok(m.wasmStarted > 0 && m.mounted >= m.wasmStarted && m.firstFigure >= m.wasmStarted, JSON.stringify(m));
      assert.ok(m.firstPaint !== null, 'the browser painted');
      assert.deepEqual(problems, []);
    }
    const median = opens.map((o) => o.longest).sort((a, b) => a - b)[1];
    assert.ok(median <= OPEN_BUDGET_MS, `opening ${hash}: the median open's longest task is ${median} ms (budget ${OPEN_BUDGET_MS} ms)`);
  });
}
