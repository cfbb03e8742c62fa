import { serve, launch, watchedPage } from './harness.mjs';
const server = await serve();
const browser = await launch({ webgpu: true });
const page = await watchedPage(browser);
page.on('console', m => console.log('PAGE', m.type(), m.text().slice(0, 200)));
await page.goto(`${server.base}#/pruning?s_conv8=0.8&eval_images=100&scan_images=100&scan_from=0.9&scan_to=0.9`);
for (let i = 0; i < 16; i++) {
  await page.waitForTimeout(5000);
  const a = await page.evaluate(() => [document.querySelector('[data-key="accuracy"]')?.textContent, document.querySelector('[data-key="channel-before"]')?.textContent, document.querySelector('[aria-label="Compute backend"]')?.textContent]);
  console.log(i * 5, JSON.stringify(a));
}
console.log(page.problems());
await browser.close(); await server.close();
