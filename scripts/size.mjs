// The size of every file of a build (DIR, default dist/): raw, gzip (level 9) and brotli (quality
// 11), and the code's total (wasm + JS): what every reader downloads before the first page (data
// and weights are fetched only by the chapters that use them). The budget is 800 KB gzipped, met
// since session 36 (797.4 KB): CI (scripts/test.sh) fails when the code passes it.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const BUDGET_KB = 800;
const dir = path.resolve(process.argv[2] || 'dist');
if (!fs.existsSync(path.join(dir, 'index.html'))) {
  console.error(`size: ${dir} has no build (scripts/build.sh first)`);
  process.exit(1);
}
const kb = (n) => (n / 1024).toFixed(1).padStart(9);
const rows = fs.readdirSync(dir, { recursive: true })
  .map((f) => path.join(dir, f))
  .filter((f) => fs.statSync(f).isFile())
  .map((f) => {
    const bytes = fs.readFileSync(f);
    return {
      file: path.relative(dir, f),
      raw: bytes.length,
      gzip: zlib.gzipSync(bytes, { level: 9 }).length,
      brotli: zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      code: /\.(wasm|js)$/.test(f) && path.basename(f) !== 'sw.js',
    };
  })
  .sort((a, b) => b.raw - a.raw);
console.log(`${'file'.padEnd(44)} ${'raw KB'.padStart(9)} ${'gzip KB'.padStart(9)} ${'brotli KB'.padStart(9)}`);
for (const r of rows) console.log(`${r.file.padEnd(44)} ${kb(r.raw)} ${kb(r.gzip)} ${kb(r.brotli)}`);
const code = rows.filter((r) => r.code);
const sum = (k) => code.reduce((n, r) => n + r[k], 0);
console.log(`${'code (wasm + JS)'.padEnd(44)} ${kb(sum('raw'))} ${kb(sum('gzip'))} ${kb(sum('brotli'))}`);
const gz = sum('gzip') / 1024;
if (gz > BUDGET_KB) {
  console.error(`size: the code is ${gz.toFixed(1)} KB gzipped, over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
console.log(`size: code ${gz.toFixed(1)} KB gzipped, within the ${BUDGET_KB} KB budget`);
