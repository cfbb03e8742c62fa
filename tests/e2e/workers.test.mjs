// The worker pool (src/workers): the Benchmarks appendix classifies 1000 test images on the page's
// thread and again on the workers, and the logits must agree bit for bit; a worker that dies in the
// middle of a run is restarted and the run finishes with the same logits; a worker that cannot start
// (its script blocked) gives the pool up with one notice, and the page computes on its own thread;
// chapter 4's few-shot sweep, in the chapter and in the Benchmarks appendix, answers on the workers
// as on the page's thread; chapter 5's soft-prompt epoch trains the same prompt with its gradients on
// the workers; chapter 5's meta-learning of the start and comparison (full fine-tuning included)
// and chapter 3's fine-tuning compute there with the page thread's numbers; chapter 2's CPU
// attention timing runs on a worker (on the page's thread in slices without one); chapter 1's
// meta-training and evaluation curves run there with the page thread's numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fineTuningRun, useBrowsers, watchedPage } from './harness.mjs';

const env = useBrowsers();

const status = (page) => page.locator('[data-out="compress-bench-status"]');
const same = (page) => page.locator('[data-out="compress-bench-same"]').textContent();
const cell = (page, key, col) => page.locator(`[data-bench="${key}"] [data-col="${col}"]`).textContent();

async function startBench(page) {
  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Time classification and codebooks' }).click();
}

const done = (page) => page.waitForFunction(
  () => document.querySelector('[data-out="compress-bench-status"]')?.textContent === 'Done.', null, { timeout: 300_000 });

async function workersLine(page) {
  await page.goto(`${env.server.base}#/under-the-hood`);
  return page.locator('[data-out="workers"]').textContent();
}

test('the workers classify 1000 images with the single thread\'s logits and find its codebooks, bit for bit', async () => {
  const page = await watchedPage(env.browser);
  await startBench(page);
  await done(page);
  const workers = await page.evaluate(() => Math.min(4, Math.max(1, navigator.hardwareConcurrency - 1)));
  const named = workers === 1 ? '1 worker' : `${workers} workers`;
  assert.equal(await same(page), `The logits from ${named} (10000) equal the single thread's bit for bit. `
    + `The codebooks from ${named} equal the single thread's.`);
  const one = Number(/^(\d+) ms$/.exec(await cell(page, 'classify', 'cpu'))[1]);
  const all = Number(/^(\d+) ms$/.exec(await cell(page, 'classify', 'workers'))[1]);
  console.log(`classify 1000 images: one thread ${one} ms, ${named} ${all} ms (${(one / all).toFixed(2)}x)`);
  assert.ok(one > 0 && all > 0);
  const kOne = Number(/^(\d+) ms$/.exec(await cell(page, 'kmeans4', 'cpu'))[1]);
  const kAll = Number(/^(\d+) ms$/.exec(await cell(page, 'kmeans4', 'workers'))[1]);
  console.log(`4-bit codebooks: one thread ${kOne} ms, ${named} ${kAll} ms (${(kOne / kAll).toFixed(2)}x)`);
  assert.ok(kOne > 0 && kAll > 0);
  assert.equal(page.workers().length, workers);
  assert.match(await workersLine(page), new RegExp(`runs on ${workers} background worker.*restarted on this visit: 0\\.`));
  assert.deepEqual(page.problems(), []);
});

test('a worker that dies mid-run is restarted and the run gives the same logits', async () => {
  const page = await watchedPage(env.browser);
  await startBench(page);
  await status(page).filter({ hasText: /on \d+ workers?…/ }).waitFor({ timeout: 300_000 });
  // The worker ends itself between two jobs, as a crashed one would: no message, no event; the
  // pool notices by its deadline (8 s). It ends after its first job's answer, not at once: the
  // page says the run started before the worker has started the module, and a worker that dies
  // while starting is one that cannot start (the pool waits 30 s for it, then computes on the
  // page's thread).
  // (Playwright may not have reported the worker yet when the page says it started.)
  const first = page.workers()[0] ?? await page.waitForEvent('worker');
  await first.evaluate(() => {
    const post = self.postMessage.bind(self);
    self.postMessage = (reply, transfer) => {
      post(reply, transfer);
      if (!reply?.ready) setTimeout(() => self.close(), 0);
    };
  });
  await done(page);
  assert.match(await same(page), /^The logits from \d+ workers? \(10000\) equal the single thread's bit for bit\. The codebooks from \d+ workers? equal the single thread's\.$/);
  assert.match(await workersLine(page), /restarted on this visit: 1\./);
  assert.equal(await page.locator('[data-out="workers-notice"]').count(), 0);
  assert.deepEqual(page.problems(), []);
});

test('a worker that cannot start: one notice, and the page computes the results itself', async () => {
  const page = await watchedPage(env.browser);
  await page.route('**/glassbox-worker.js', (r) => r.abort());
  await startBench(page);
  await done(page);
  assert.match(await same(page), /^The workers failed \(.+\)\.$/);
  assert.equal(await cell(page, 'classify', 'workers'), '–');
  assert.match(await cell(page, 'classify', 'cpu'), /^\d+ ms$/);
  const notice = page.locator('[data-out="workers-notice"]');
  assert.equal(await notice.count(), 1);
  assert.match(await notice.textContent(), /this page now computes on its own thread/);
  // Chapter 6 classifies on the page's thread now, with the same numbers as on the workers.
  const accuracy = async (p) => {
    await p.goto(`${env.server.base}#/pruning`);
    await p.locator('[data-out="accuracy"]').filter({ hasText: /^Test accuracy on the first/ }).waitFor({ timeout: 120_000 });
    return p.locator('[data-out="accuracy"]').textContent();
  };
  const pooled = await watchedPage(env.browser);
  const withWorkers = await accuracy(pooled);
  assert.equal(pooled.workers().length > 0, true);
  assert.equal(await accuracy(page), withWorkers);
  console.log(`chapter 6 on the workers and on the page's thread: ${withWorkers}`);
  assert.equal(await notice.count(), 1);
  assert.match(await workersLine(page), /this page now computes on its own thread/);
  const unexpected = page.problems().filter((p) => !/glassbox-worker\.js|net::ERR_FAILED/.test(p));
  assert.deepEqual(unexpected, []);
});

test('chapter 4\'s few-shot sweep on the workers gives the page thread\'s answers', async () => {
  // The first 200 answers (correct labels, 0 to 4 examples) with the pool, then with the worker
  // script blocked (the page's thread answers one prompt at a time): the table's five cells (the
  // share right and the share invalid of each 40 answers) must be the same. (The pool pauses
  // between rounds of answers, the page between answers, so the runs stop at different counts.)
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/prompting`);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Run the sweep' && !b.disabled),
      null, { timeout: 60_000 });
    await page.getByRole('button', { name: 'Run the sweep' }).click();
    const status = page.locator('[data-out="shots-status"]');
    await page.waitForFunction(() => Number(/^(\d+) of 800/.exec(document.querySelector('[data-out="shots-status"]')?.textContent ?? '')?.[1] ?? 0) >= 200,
      null, { timeout: 300_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume the sweep' }).waitFor();
    const text = await status.textContent();
    const cells = await page.$$eval('table[aria-label="Accuracy per number of shots"] tbody tr',
      (rs) => rs.slice(0, 5).map((r) => r.querySelector('[data-col="correct"]').textContent));
    runs.push({ text, cells, workers: page.workers().length });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  console.log(`chapter 4 sweep: ${runs.map((r) => `${r.text} ${r.cells.join(' | ')}`).join(' // ')}`);
  assert.match(runs[0].text, /ms on the CPU, \d workers?\)$/);
  assert.match(runs[1].text, /ms on the CPU\)$/);
  assert.equal(runs[1].workers, 0);
  for (const c of runs[0].cells) assert.match(c, /%/);
  assert.deepEqual(runs[0].cells, runs[1].cells);
});

test('the Benchmarks appendix times the pluralize sweep on one thread and on the workers, with the same answers', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Time the pluralize sweep' }).click();
  await page.locator('[data-bench="lm_sweep_workers"]').waitFor({ timeout: 600_000 });
  const out = page.locator('[data-out="lm-sweep"]');
  assert.equal(await out.getAttribute('data-workers-same'), 'true');
  assert.match(await out.textContent(), /; the workers' are the same\.$/);
  const ms = async (key) => Number(/^(\d+) ms$/.exec(await page.locator(`[data-bench="${key}"] [data-col="ms"]`).textContent())[1]);
  const [one, pooled] = [await ms('lm_sweep'), await ms('lm_sweep_workers')];
  const named = page.workers().length === 1 ? '1 worker' : `${page.workers().length} workers`;
  assert.match(await page.locator('[data-bench="lm_sweep_workers"] th').textContent(), new RegExp(`on the CPU, ${named}$`));
  console.log(`pluralize sweep, 400 answers: one thread ${one} ms, ${named} ${pooled} ms (${(one / pooled).toFixed(2)}x); ${await out.textContent()}`);
  assert.deepEqual(page.problems(), []);
});

test('chapter 5\'s soft-prompt epoch trains the same prompt with its gradients on the workers', async () => {
  // The Benchmarks appendix trains the epoch on the page's thread, then with each batch's
  // micro-batches on the workers, and names any difference in the trained prompt as an error.
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Time a soft-prompt epoch' }).click();
  await page.locator('[data-bench="soft_val_each"]').waitFor({ timeout: 300_000 });
  const row = page.locator('[data-bench="soft_epoch_train_workers"]');
  assert.match(await row.locator('th').textContent(), /^training steps, 369 nouns \(CPU, \d workers?; the same prompt to the bit\)$/);
  const ms = async (key) => Number(/^(\d+) ms$/.exec(await page.locator(`[data-bench="${key}"] [data-col="ms"]`).textContent())[1]);
  console.log(`soft-prompt epoch: page's thread ${await ms('soft_epoch_train')} ms, workers ${await ms('soft_epoch_train_workers')} ms`);
  assert.equal(await page.getByRole('alert').filter({ hasText: /workers' epoch/ }).count(), 0);
  assert.deepEqual(page.problems(), []);
});

test('chapter 5\'s meta-learning of the start trains on the workers as on the page\'s thread', async () => {
  // Two meta-iterations then adaptation from three starts, with the pool (each inner and adaptation
  // step's micro-batches on the workers) and with the worker script blocked (the page's thread, a
  // micro-batch per slice): how far the start moved (5 digits) and the accuracy table must agree.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/soft-prompting?meta_steps=2&target=past`);
    const run = page.getByRole('button', { name: 'Meta-learn and adapt' });
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Meta-learn and adapt' && !b.disabled),
      null, { timeout: 120_000 });
    await run.click();
    const status = page.locator('[data-out="meta-status"]');
    await status.filter({ hasText: /^(Done|The run stopped)/ }).waitFor({ timeout: 600_000 });
    assert.equal(await status.textContent(), 'Done.');
    const moved = await page.locator('[data-out="meta-moved"]').textContent();
    const rows = await page.$$eval('table[aria-label="Accuracy on the held-out task by start"] tbody tr',
      (rs) => rs.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent).join(' ')));
    runs.push({ moved, rows, workers: page.workers().length });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  console.log(`chapter 5 meta-learning: ${runs.map((r) => `${r.workers} workers: ${r.moved} ${r.rows.join(' | ')}`).join(' // ')}`);
  assert.ok(runs[0].workers > 0);
  assert.equal(runs[1].workers, 0);
  assert.match(runs[0].moved, /by \d\.\d{5} times its length/);
  assert.ok(!/by 0\.00000 /.test(runs[0].moved), runs[0].moved);
  assert.equal(runs[0].rows.length, 3);
  assert.deepEqual(runs[0], { ...runs[1], workers: runs[0].workers });
});

test('chapter 3\'s fine-tuning computes on the workers with the page thread\'s numbers', async () => {
  // Runs of block2 (Auto-RGN would add its multipliers; block2 keeps it short) and of the head,
  // with the pool (a batch's chunks of 4 images split between the workers at group ends, each
  // group of 16 images summed there; the head's counts and gradients stay on the page's thread)
  // and with the worker script blocked: the last epoch's loss (6 digits) and the result must agree.
  for (const tune of ['block2', 'head']) {
    const runs = [];
    for (const blocked of [false, true]) {
      const page = await watchedPage(env.browser);
      if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
      const run = await fineTuningRun(page, env.server.base, `images=60&test_images=40&epochs=2&lr=0.01&tune=${tune}`);
      runs.push({ ...run, workers: page.workers().length });
      if (!blocked) assert.deepEqual(page.problems(), []);
      await page.close();
    }
    console.log(`chapter 3 fine-tuning, ${tune}: ${runs.map((r) => `${r.workers} workers: ${r.status} ${r.loss} ${r.result}`).join(' // ')}`);
    assert.match(runs[0].status, /on the CPU, in background workers\.$/);
    assert.match(runs[1].status, /on the CPU\.$/);
    assert.ok(runs[0].workers > 0);
    assert.equal(runs[1].workers, 0);
    assert.match(runs[0].loss, /: \d+\.\d{6}\.$/);
    assert.equal(runs[0].loss, runs[1].loss);
    assert.equal(runs[0].result, runs[1].result);
  }
});

test('chapter 5\'s comparison, full fine-tuning included, trains on the workers as on the page\'s thread', async () => {
  // Soft prompt, prefix and full fine-tuning (one epoch each; the full run's micro-batches go to the
  // workers with the model's weights after each Adam step, and so do its answers), with the pool
  // and with the worker script blocked: every cell of the table, the held-out losses to 4 digits,
  // must agree. On 40 of the 369 training nouns.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/soft-prompting?k=4&epochs=1&ft_epochs=1&nouns=40`);
    await page.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Run the comparison' && !b.disabled),
      null, { timeout: 120_000 });
    await page.getByRole('button', { name: 'Run the comparison' }).click();
    const status = page.locator('[data-out="compare-status"]');
    await status.filter({ hasText: /^(Done|The comparison stopped)/ }).waitFor({ timeout: 600_000 });
    assert.equal(await status.textContent(), 'Done.');
    const rows = await page.$$eval('table[aria-label="Soft, hard and full fine-tuning"] tbody tr',
      (rs) => rs.map((r) => [...r.children].map((c) => c.textContent).join(' | ')));
    runs.push({ rows, workers: page.workers().length });
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
  console.log(`chapter 5 comparison: ${runs.map((r) => `${r.workers} workers: ${r.rows.join(' // ')}`).join(' ;; ')}`);
  assert.ok(runs[0].workers > 0);
  assert.equal(runs[1].workers, 0);
  assert.equal(runs[0].rows.length, 4);
  assert.match(runs[0].rows[3], /^full fine-tuning/);
  assert.deepEqual(runs[0].rows, runs[1].rows);
});

test('chapter 2\'s CPU attention timing runs on a worker, and on the page\'s thread with the workers blocked', async (t) => {
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    await page.goto(`${env.server.base}#/attention?dim=16`);
    await page.locator('[data-out="ran"]').filter({ hasText: /Computed with/ }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Measure', exact: true }).click();
    await page.waitForFunction(() => {
      const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Measure');
      return b && !b.disabled && document.querySelectorAll('table[aria-label="Measured attention time"] tbody tr').length >= 2;
    }, null, { timeout: 240_000 });
    const rows = await page.$$eval('table[aria-label="Measured attention time"] tbody tr', (rs) => rs.map((r) => r.querySelector('[data-out="global-ms"]').textContent));
    const summary = await page.locator('figure[data-figure="attention-timing"] .summary-text').textContent();
    t.diagnostic(`${blocked ? 'workers blocked' : 'workers'}: global ms ${rows.join(', ')}`);
    assert.match(summary, blocked ? /CPU \(WebAssembly, this page's thread\)/ : /CPU \(WebAssembly, a background worker\)/, summary);
    assert.ok(rows.length >= 4 && rows.every((ms) => Number(ms) > 0), JSON.stringify(rows));
    if (!blocked) assert.deepEqual(page.problems(), []);
    await page.close();
  }
});

test('chapter 1\'s meta-training and evaluation curves run on the workers with the page thread\'s numbers', async () => {
  // Parts (g) and (h)-(i), 10 meta-iterations each (both baselines, runs of meta-training steps and
  // one evaluation of the meta-learned weights): with the pool (an entry of n_train_post per job, a
  // run of steps per job) and with the worker script blocked (the page's thread, in slices). The
  // figures' CSV (7 significant digits) must agree: test error (with the zero predictor's line) and
  // feature weights.
  const runs = [];
  for (const blocked of [false, true]) {
    const page = await watchedPage(env.browser);
    if (blocked) await page.route('**/glassbox-worker.js', (r) => r.abort());
    // Whether the page ever says it prepares the test Gram matrix (only a curve computed on the
    // page's thread needs it).
    await page.addInitScript(() => {
      window.__preparing = 0;
      new MutationObserver((ms) => {
        for (const m of ms) {
          const el = m.target.nodeType === Node.TEXT_NODE ? m.target.parentElement : m.target;
          if (/^Preparing the test tasks/.test(el?.closest?.('[role="status"]')?.textContent ?? '')) window.__preparing++;
        }
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.goto(`${env.server.base}#/meta-learning?gd_iters=10&cls_iters=10&cls_ilr=0.3`);
    const run = { workers: 0, places: [], training: [], csv: [] };
    for (const [id, figures] of [['part-g', ['gd_test_loss', 'gd_feature_weights']], ['part-h', ['cls_test_error', 'cls_feature_weights']]]) {
      const sec = page.locator(`section[aria-labelledby="${id}"]`);
      await sec.getByRole('status').filter({ hasText: /[Pp]ress Run/ }).waitFor({ timeout: 60_000 });
      // Every status line the run shows (meta-training's lasts a fraction of a second).
      await sec.getByRole('status').first().evaluate((el) => {
        window.__statuses = [];
        new MutationObserver(() => window.__statuses.push(el.textContent)).observe(el, { subtree: true, childList: true, characterData: true });
      });
      await sec.getByRole('button', { name: 'Run' }).click();
      const evaluating = sec.getByRole('status').filter({ hasText: /Evaluating the all-ones baseline/ });
      await evaluating.waitFor({ timeout: 60_000 });
      run.places.push(await evaluating.textContent());
      await sec.getByRole('status').filter({ hasText: /Done: 10 meta-iterations/ }).waitFor({ timeout: 300_000 });
      const statuses = await page.evaluate(() => window.__statuses);
      run.training.push(statuses.find((t) => /^Meta-training.*: iteration/.test(t)) ?? '');
      run.background ||= statuses.some((t) => /in the background/.test(t));
      for (const figure of figures) {
        const download = page.waitForEvent('download');
        await page.locator(`[data-figure="${figure}"]`).getByRole('button', { name: /as CSV/ }).click();
        run.csv.push(fs.readFileSync(await (await download).path(), 'utf8'));
      }
    }
    run.workers = page.workers().length;
    run.preparing = await page.evaluate(() => window.__preparing);
    if (!blocked) assert.deepEqual(page.problems(), []);
    runs.push(run);
    await page.close();
  }
  console.log(`chapter 1: ${runs.map((r) => `${r.workers} workers: ${[...r.places, ...r.training].join(' / ')}`).join(' // ')}`);
  for (const place of runs[0].places) assert.match(place, /on \d+ workers? in the background…$/);
  for (const place of runs[1].places) assert.match(place, /n_train_post…$/);
  for (const t of runs[0].training) assert.match(t, /^Meta-training on \d+ workers? in the background: iteration \d+\.$/);
  assert.equal(runs[1].background, false);
  // With the workers the page's thread never builds the test Gram matrix; without, part (g) does.
  assert.equal(runs[0].preparing, 0);
  assert.ok(runs[1].preparing > 0, `${runs[1].preparing}`);
  assert.ok(runs[0].workers > 0);
  assert.equal(runs[1].workers, 0);
  for (const [i, csv] of runs[0].csv.entries()) {
    assert.ok(csv.split('\n').length > 30, csv);
    assert.match(csv.split('\n')[1], /^\d+,-?\d/);
    assert.equal(csv, runs[1].csv[i]);
  }
});

test('the Benchmarks appendix times chapter 1\'s sweep on the workers, with the page thread\'s curves', async () => {
  const page = await watchedPage(env.browser);
  await page.goto(`${env.server.base}#/bench`);
  await page.getByRole('button', { name: 'Run the benchmark' }).click();
  const status = page.getByRole('status').filter({ hasText: /^Done\.$/ }).first();
  await status.waitFor({ timeout: 180_000 });
  const here = await page.locator('[data-bench="sweep_ms"]').textContent();
  const there = page.locator('[data-bench="workers_sweep_ms"]');
  const row = await there.locator('xpath=..').textContent();
  console.log(`chapter 1's sweep: this page's thread ${here}; ${row}`);
  assert.match(here, /^\d+ ms$/);
  assert.equal(await there.getAttribute('data-same'), 'true');
  assert.match(row, /on \d+ workers?, an entry of n per job\d+ ms, the same curves/);
  assert.match(await page.locator('[data-bench="cls_k10_ms"]').textContent(), /^\d+ ms$/);
  assert.deepEqual(page.problems(), []);
});
