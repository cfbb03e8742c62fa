// What the release needs after Trunk's build, in the build folder DIR (default dist/):
//  0. the stream adapters of wasm-streams (below) out of the wasm's exports and the glue; then
//     short names for the functions the wasm imports from the glue, in both; the functions
//     renamed so wasm-opt's sort by name groups alike code (scripts/wasm.mjs); and
//     wasm-opt (npm's binaryen, installed by scripts/setup.sh) over the wasm, -Os unless
//     GLASSBOX_WASM_OPT names other flags ("0" skips it), and the preload's integrity hash updated;
//     then the JavaScript glue without its comments and indentation (its preload's hash updated);
//  1. the Content-Security-Policy, as a <meta> at the top of index.html, with the SHA-256 of
//     Trunk's one inline script (its loader) so no other inline script can run;
//  2. the service worker, DIR/sw.js, from assets/sw.js with the build's version and every file's
//     SHA-256 (the files it keeps for offline use).
// The policy is also written to DIR/csp.txt, for hosts that send it as a header (the README).
// Run by scripts/build.sh; no dependencies beyond Node and binaryen.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { leb, renamedImports, renamedInOrder, section, sections, uleb } from './wasm.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] || path.join(root, 'dist'));
const indexPath = path.join(dir, 'index.html');

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

if (!fs.existsSync(indexPath)) fail(`${indexPath} is missing: run Trunk's build first`);
let html = fs.readFileSync(indexPath, 'utf8');
if (html.includes('http-equiv="Content-Security-Policy"')) fail(`${indexPath} already has a policy (run Trunk's build again)`);

// Set the integrity attribute of the preload of DIR/NAME to the file's SHA-384 (Trunk's, made
// before the release changed the file, no longer matches).
function updateIntegrity(name) {
  const sri = `sha384-${crypto.createHash('sha384').update(fs.readFileSync(path.join(dir, name))).digest('base64')}`;
  const link = new RegExp(`(<link[^>]*href="\\./${name.replace(/[.]/g, '\\.')}"[^>]*integrity=")[^"]*(")`);
  if (!link.test(html)) fail(`the preload of ${name} has no integrity attribute to update`);
  html = html.replace(link, `$1${sri}$2`);
}

const wasmName = (html.match(/href="\.\/([^"]+_bg\.wasm)"/) || [])[1];
if (!wasmName) fail('no _bg.wasm preload in index.html');
const wasmPath = path.join(dir, wasmName);

// 0a. Dead exports. Leptos always builds its server-function client (the book has no server
// functions), which brings the crate wasm-streams; wasm-bindgen exports its three adapters from a
// Rust stream to a JavaScript one (IntoUnderlyingSource, IntoUnderlyingSink and
// IntoUnderlyingByteSource: their methods, as `intounderlying*` exports, and a class each in the
// glue) from every module that links it. Nothing in the book creates one: no import of the glue
// refers to them. Their exports leave the wasm here, so wasm-opt drops their code, and their
// classes leave the glue (-1.4 KB gzipped in all); the build fails if the glue still names them
// after that.
const jsName = (html.match(/href="\.\/([^"]+\.js)"/) || [])[1];
if (!jsName) fail('no modulepreload of the glue in index.html');
const jsPath = path.join(dir, jsName);
const ADAPTER = /^(__wbg_)?intounderlying(bytesource|sink|source)_/;

/** The wasm module `bytes` without the exports whose names `drop` accepts, and their names. */
function withoutExports(bytes, drop) {
  const parts = [bytes.subarray(0, 8)];
  const dropped = [];
  for (const s of sections(bytes)) {
    if (s.id !== 7) {
      parts.push(bytes.subarray(s.from, s.end));
      continue;
    }
    // The export section: a count, then (name, kind byte, index) each.
    let [count, p] = leb(bytes, s.start);
    const kept = [];
    while (count--) {
      const from = p;
      const [length, nameAt] = leb(bytes, p);
      const name = bytes.subarray(nameAt, nameAt + length).toString();
      p = leb(bytes, nameAt + length + 1)[1];
      if (drop(name)) dropped.push(name);
      else kept.push(bytes.subarray(from, p));
    }
    parts.push(section(7, Buffer.concat([uleb(kept.length), ...kept])));
  }
  return [Buffer.concat(parts), dropped];
}
{
  const [stripped, dropped] = withoutExports(fs.readFileSync(wasmPath), (n) => ADAPTER.test(n));
  if (dropped.length) {
    fs.writeFileSync(wasmPath, stripped);
    const glue = fs.readFileSync(jsPath, 'utf8')
      .replace(/^export class IntoUnderlying\w+ \{\n[\s\S]*?\n\}\n(if \(Symbol\.dispose\) IntoUnderlying\w+\.prototype\[Symbol\.dispose\] = IntoUnderlying\w+\.prototype\.free;\n)?/gm, '')
      .replace(/^const IntoUnderlying\w+Finalization = [\s\S]*?;\n/gm, '');
    if (/intounderlying/i.test(glue)) fail(`${jsName} still names wasm-streams' adapters after their classes were taken out`);
    fs.writeFileSync(jsPath, glue);
    updateIntegrity(wasmName);
    updateIntegrity(jsName);
    console.log(`release: ${dropped.length} exports of wasm-streams' stream adapters left out (nothing creates them)`);
  }
}

// 0b. Short import names. wasm-bindgen names each function the wasm imports from the glue after
// what it calls and a 16-digit hash (`__wbg_value_df0a0e29a4d182fe`), and each name is written
// twice: in the wasm's import section and as a key of the glue's import object. 380 of them, about
// 6.5 KB of hex digits that gzip cannot shorten, in each file. Each becomes a short name of letters
// in both (-10.8 KB gzipped); a name the glue does not define exactly once, on a line of its own
// (`NAME: function(`), and nowhere else, keeps its name.
{
  let glue = fs.readFileSync(jsPath, 'utf8');
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const short = (i) => (i < letters.length ? '' : short(Math.floor(i / letters.length) - 1)) + letters[i % letters.length];
  let renamed = 0;
  let kept = 0;
  const wasm = renamedImports(fs.readFileSync(wasmPath), (module, name) => {
    const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g');
    const key = new RegExp(`^(\\s*)${name.replace(/\$/g, '\\$')}(: function\\()`, 'm');
    if ((glue.match(word) || []).length !== 1 || !key.test(glue)) {
      kept++;
      return undefined;
    }
    const to = short(renamed++);
    glue = glue.replace(key, `$1${to}$2`);
    return to;
  });
  if (renamed) {
    fs.writeFileSync(wasmPath, wasm);
    fs.writeFileSync(jsPath, glue);
    updateIntegrity(wasmName);
    updateIntegrity(jsName);
  }
  console.log(`release: ${renamed} imports of the wasm given short names (${kept} kept theirs)`);
}

// 0c. wasm-opt. Trunk's own wasm-opt download cannot work offline, so index.html asks it for none
// (data-wasm-opt="0") and the pinned binaryen from npm runs here. The features are those rustc's
// wasm32 target and our +simd128 build use.
// -Os, not -Oz: with the functions in the order below, -Os's code is 2.5 KB smaller gzipped (its
// raw bytes 2% more) and chapter 1's benchmarks as fast (session 34).
const optFlags = (process.env.GLASSBOX_WASM_OPT ?? '-Os').trim();
if (optFlags !== '0') {
  const wasmOpt = path.join(root, 'node_modules/.bin/wasm-opt');
  if (!fs.existsSync(wasmOpt)) fail(`${wasmOpt} is missing: run scripts/setup.sh (npm's binaryen)`);
  const before = fs.statSync(wasmPath).size;
  const t0 = Date.now();
  const features = ['simd', 'bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals', 'reference-types', 'multivalue']
    .map((f) => `--enable-${f}`);
  // Rust's wasm32 memory puts the stack first (data from 1 MiB) and the module creates its memory
  // zeroed: wasm-opt may drop zero bytes of data and assume the low 1 KiB unused (-4 KB gzipped).
  const memory = ['--low-memory-unused', '--zero-filled-memory'];
  // gzip finds a repeat only in the 32 KB before it, and wasm-opt leaves the functions in the order of
  // how often they are called, so alike code (a chapter's view closures, the drop glue, one
  // crate's kernels) lies scattered over 2 MB. The functions are renamed so that wasm-opt's
  // reorder by name groups them by the first two parts of their Rust path (crate and module),
  // smallest first within a group: -36.6 KB gzipped (903.1 -> 866.4 KB for the wasm at -Oz, session 34), the
  // same bytes otherwise (only the order of the functions and the indices that name them change).
  fs.writeFileSync(wasmPath, renamedInOrder(fs.readFileSync(wasmPath), (functions) => {
    const group = (name) => name.replace(/::h[0-9a-f]{16}$/, '').split('::').slice(0, 2).join('::');
    for (const f of functions) f.group = group(f.name);
    return functions.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.size - b.size || a.index - b.index));
  }));
  const order = ['--reorder-functions-by-name'];
  execFileSync(wasmOpt, [...optFlags.split(/\s+/), ...order, ...memory, '--strip-debug', '--strip-producers', ...features, wasmPath, '-o', wasmPath], { stdio: 'inherit' });
  const after = fs.statSync(wasmPath).size;
  console.log(`release: wasm-opt ${optFlags}: ${wasmName} ${(before / 1e6).toFixed(2)} MB -> ${(after / 1e6).toFixed(2)} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  // Trunk's preload carries the wasm's SHA-384: the optimised file needs its own.
  updateIntegrity(wasmName);
}

// 0d. The JavaScript glue without its comments and indentation: wasm-bindgen writes it to be read,
// and Trunk's --minify leaves it (-1.4 KB gzipped). Every line is trimmed and comment lines and
// /* */ blocks that open a line are dropped; nothing else changes. That is safe while no string
// spans lines (no template literal left open, no line continued with a backslash): checked, and
// otherwise the glue stays as it is.
{
  const source = fs.readFileSync(jsPath, 'utf8');
  const kept = [];
  let inComment = false;
  let safe = true;
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (inComment) {
      inComment = !line.includes('*/');
      continue;
    }
    if (line.startsWith('/*')) {
      inComment = !line.includes('*/');
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    if ((line.split('`').length - 1) % 2 === 1 || line.endsWith('\\')) safe = false;
    kept.push(line);
  }
  if (!safe) {
    console.log(`release: ${jsName} has a string across lines: left as it is`);
  } else {
    fs.writeFileSync(jsPath, `${kept.join('\n')}\n`);
    updateIntegrity(jsName);
    console.log(`release: ${jsName} ${(source.length / 1e3).toFixed(1)} -> ${(kept.join('\n').length / 1e3).toFixed(1)} KB without comments and indentation`);
  }
}

// 1. The policy. Every inline script is hashed (Trunk writes exactly one, the wasm loader).
const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
if (inline.length !== 1) fail(`expected Trunk's one inline script in index.html, found ${inline.length}`);
const hashes = inline.map((s) => `'sha256-${crypto.createHash('sha256').update(s, 'utf8').digest('base64')}'`);
const policy = [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`,
  "worker-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');
// The meta must precede every script it governs: right after <meta charset>.
html = html.replace(/(<meta charset="utf-8"\s*\/?>)/, `$1\n    <meta http-equiv="Content-Security-Policy" content="${policy}" />`);
if (!html.includes('Content-Security-Policy')) fail('no <meta charset="utf-8"> in index.html to put the policy after');
fs.writeFileSync(indexPath, html);
fs.writeFileSync(path.join(dir, 'csp.txt'), `${policy}\n`);

// 2. The service worker: every file of the build but itself.
function walk(d) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}
const files = walk(dir)
  .map((p) => path.relative(dir, p).split(path.sep).join('/'))
  .filter((p) => p !== 'sw.js')
  .sort()
  .map((p) => ({ path: p, sha256: crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, p))).digest('hex') }));
const version = crypto.createHash('sha256')
  .update(files.map((f) => `${f.path} ${f.sha256}\n`).join(''))
  .digest('hex')
  .slice(0, 16);
const template = fs.readFileSync(path.join(root, 'assets/sw.js'), 'utf8');
if (!template.includes("'__VERSION__'") || !template.includes('__FILES__')) fail('assets/sw.js lacks its placeholders');
const sw = template
  .replace("'__VERSION__'", JSON.stringify(version))
  .replace('__FILES__', JSON.stringify(files, null, 1));
fs.writeFileSync(path.join(dir, 'sw.js'), sw);
const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f.path)).size, 0);
console.log(`release: ${dir}: policy with ${hashes.length} script hash; service worker ${version} keeps ${files.length} files (${(bytes / 1e6).toFixed(1)} MB)`);
