// scripts/wasm.mjs, which scripts/release.mjs uses to rewrite the wasm: the renaming that puts the
// functions in a chosen order through wasm-opt's sort by name, on a small module built here with
// binaryen from text.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { leb, renamedImports, renamedInOrder, sections } from '../../scripts/wasm.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasmOpt = path.join(root, 'node_modules/.bin/wasm-opt');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-wasm-'));

/** The module from WebAssembly text, names kept. */
function assemble(text) {
  fs.writeFileSync(path.join(tmp, 'in.wat'), text);
  execFileSync(wasmOpt, ['-g', path.join(tmp, 'in.wat'), '-o', path.join(tmp, 'in.wasm')]);
  return fs.readFileSync(path.join(tmp, 'in.wasm'));
}

/** The constant each defined function returns, in the order the code section holds them. */
function constants(bytes) {
  const code = sections(bytes).find((s) => s.id === 10);
  let [count, p] = leb(bytes, code.start);
  const out = [];
  while (count--) {
    const [size, at] = leb(bytes, p);
    // No locals (0), i32.const (0x41) and a one-byte signed value, end.
    assert.equal(bytes[at], 0);
    assert.equal(bytes[at + 1], 0x41);
    out.push(bytes[at + 2]);
    p = at + size;
  }
  return out;
}

const text = `(module
  (import "env" "log" (func $log (param i32)))
  (memory 1)
  (func $alpha::one (result i32) (i32.const 1))
  (func $gamma::three (result i32) (i32.const 3))
  (func $beta::two (result i32) (i32.const 2))
  (export "one" (func $alpha::one))
  (export "two" (func $beta::two))
  (export "three" (func $gamma::three)))`;

test('renamed in a chosen order, wasm-opt puts the functions in that order', () => {
  const module = assemble(text);
  assert.deepEqual(constants(module), [1, 3, 2]);
  const seen = [];
  const renamed = renamedInOrder(module, (functions) => {
    seen.push(...functions.map((f) => `${f.index} ${f.name} ${f.size}`));
    return functions.sort((a, b) => (a.name < b.name ? 1 : -1));
  });
  // The import comes first in the index space; names and body sizes are read.
  assert.deepEqual(seen, ['1 alpha::one 4', '2 gamma::three 4', '3 beta::two 4']);
  fs.writeFileSync(path.join(tmp, 'renamed.wasm'), renamed);
  execFileSync(wasmOpt, [path.join(tmp, 'renamed.wasm'), '--reorder-functions-by-name', '-o', path.join(tmp, 'out.wasm')]);
  const out = fs.readFileSync(path.join(tmp, 'out.wasm'));
  assert.deepEqual(constants(out), [3, 2, 1]);
  // Still the same module: every export returns its own number.
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out), { env: { log() {} } });
  assert.deepEqual([instance.exports.one(), instance.exports.two(), instance.exports.three()], [1, 2, 3]);
});

test('a module without names is ordered by the other keys', () => {
  assemble(text);
  const bare = execFileSync(wasmOpt, [path.join(tmp, 'in.wasm'), '--strip-debug', '-o', '-']);
  assert.ok(!sections(bare).some((s) => s.name === 'name'));
  const renamed = renamedInOrder(bare, (functions) => {
    assert.ok(functions.every((f) => f.name === ''));
    return functions.sort((a, b) => b.index - a.index);
  });
  fs.writeFileSync(path.join(tmp, 'bare.wasm'), renamed);
  const out = execFileSync(wasmOpt, [path.join(tmp, 'bare.wasm'), '--reorder-functions-by-name', '-o', '-']);
  assert.deepEqual(constants(out), [2, 3, 1]);
  // An order that loses or repeats a function is refused.
  assert.throws(() => renamedInOrder(bare, (functions) => functions.slice(1)), /exactly once/);
  assert.throws(() => renamedInOrder(bare, (functions) => [functions[0], functions[0], functions[1]]), /exactly once/);
});

test('a function import renamed is looked up by its new name; the memory import keeps its own', () => {
  const module = assemble(`(module
    (import "env" "memory" (memory 1))
    (import "env" "__wbg_log_0123456789abcdef" (func $log (param i32)))
    (func (export "run") (call $log (i32.const 7))))`);
  const offered = [];
  const renamed = renamedImports(module, (from, name) => {
    offered.push(`${from} ${name}`);
    return 'a';
  });
  assert.deepEqual(offered, ['env __wbg_log_0123456789abcdef']);
  const logged = [];
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(renamed), { env: { memory, a: (x) => logged.push(x) } });
  instance.exports.run();
  assert.deepEqual(logged, [7]);
  assert.throws(() => new WebAssembly.Instance(new WebAssembly.Module(renamed), { env: { memory, __wbg_log_0123456789abcdef() {} } }));
  // Kept where the callback gives nothing.
  assert.deepEqual(renamedImports(module, () => undefined), module);
});
