// The README's screenshots: the front page, a chapter in presenter mode and a chapter on a phone,
// in the light and the dark theme, written to tests/screenshots/. Run by hand after a release
// build (node tests/e2e/screenshots.mjs); not part of the test suite.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve, launch, watchedPage } from './harness.mjs';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../screenshots');
fs.mkdirSync(out, { recursive: true });
const server = await serve();
const browser = await launch();
const shots = [
  { name: 'front', hash: '#/', width: 1280, height: 800 },
  { name: 'presenter', hash: '#/attention?present=1&step=3', width: 1280, height: 800 },
  { name: 'phone', hash: '#/meta-learning', width: 360, height: 740 },
];
for (const scheme of ['light', 'dark']) {
  for (const s of shots) {
    const page = await watchedPage(browser, { width: s.width, height: s.height, colorScheme: scheme });
    await page.goto(server.base + s.hash);
    await page.locator('main h1').waitFor();
    await page.waitForTimeout(2500);
    await page.screenshot({ path: path.join(out, `${s.name}-${scheme}.png`) });
    const problems = page.problems();
    if (problems.length) throw new Error(`${s.name}-${scheme}: ${problems.join('; ')}`);
    await page.context().close();
  }
}
await browser.close();
await server.close();
console.log(`screenshots in ${out}`);
