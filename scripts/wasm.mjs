// The few pieces of the WebAssembly binary format that scripts/release.mjs rewrites: a module is
// an 8-byte header, then sections (an id byte, a LEB128 size, the contents). Nothing here runs or
// validates code; wasm-opt, which runs after these, parses the result and fails on a bad module.

/** The unsigned LEB128 number at `at` in `bytes`: [value, the offset after it]. */
export function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

/** `n` as unsigned LEB128. */
export function uleb(n) {
  const out = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

/** The module's sections in order: { id, from, start, end } (from..end the whole section,
 *  start..end its contents), and each custom section's name. */
export function sections(bytes) {
  const out = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = leb(bytes, at + 1);
    const section = { id, from: at, start, end: start + size };
    if (id === 0) {
      const [length, nameAt] = leb(bytes, start);
      section.name = bytes.subarray(nameAt, nameAt + length).toString();
    }
    out.push(section);
    at = start + size;
  }
  return out;
}

/** A section with id `id` and contents `body`. */
export function section(id, body) {
  return Buffer.concat([Buffer.from([id]), uleb(body.length), body]);
}

/** The name as a length-prefixed UTF-8 string. */
function string(text) {
  const bytes = Buffer.from(text);
  return Buffer.concat([uleb(bytes.length), bytes]);
}

/** The import description (a kind byte and what it imports) at `at`: [kind, the offset after it]. */
function describe(bytes, at) {
  const kind = bytes[at++];
  const limits = () => {
    const flags = bytes[at++];
    at = leb(bytes, at)[1];
    if (flags & 1) at = leb(bytes, at)[1];
  };
  if (kind === 0) at = leb(bytes, at)[1];
  else if (kind === 1) {
    at++;
    limits();
  } else if (kind === 2) limits();
  else if (kind === 3) at += 2;
  else if (kind === 4) at = leb(bytes, at + 1)[1];
  else throw new Error(`an import of unknown kind ${kind}`);
  return [kind, at];
}

/** The import section's entries in order: { module, name, kind, from, kindAt, end } (from..end
 *  the whole entry, kindAt..end its description). */
function* importEntries(bytes, imports) {
  if (!imports) return;
  let [count, p] = leb(bytes, imports.start);
  while (count--) {
    const [moduleLength, moduleAt] = leb(bytes, p);
    const [nameLength, nameAt] = leb(bytes, moduleAt + moduleLength);
    const kindAt = nameAt + nameLength;
    const [kind, end] = describe(bytes, kindAt);
    yield {
      module: bytes.subarray(moduleAt, moduleAt + moduleLength).toString(),
      name: bytes.subarray(nameAt, kindAt).toString(),
      kind,
      from: p,
      kindAt,
      end,
    };
    p = end;
  }
}

/** How many functions the module imports (they come first in its function index space). */
function importedFunctions(bytes, imports) {
  let functions = 0;
  for (const entry of importEntries(bytes, imports)) if (entry.kind === 0) functions++;
  return functions;
}

/**
 * The module with every defined function renamed so that sorting the names (wasm-opt's
 * --reorder-functions-by-name) puts the functions in `order`'s order. `order` gets one
 * { index, name, size } per defined function (name from the module's name section, "" where it
 * has none; size in bytes of its body) and returns them sorted. The name section keeps nothing
 * else: the release strips it after the reorder.
 */
export function renamedInOrder(bytes, order) {
  const all = sections(bytes);
  const imported = importedFunctions(bytes, all.find((s) => s.id === 2));
  const code = all.find((s) => s.id === 10);
  if (!code) return bytes;
  const functions = [];
  let [count, p] = leb(bytes, code.start);
  for (let i = 0; i < count; i++) {
    const [size, at] = leb(bytes, p);
    functions.push({ index: imported + i, name: '', size });
    p = at + size;
  }
  const names = all.find((s) => s.id === 0 && s.name === 'name');
  if (names) {
    let q = leb(bytes, names.start);
    q = q[1] + q[0];
    while (q < names.end) {
      const kind = bytes[q];
      const [size, at] = leb(bytes, q + 1);
      if (kind === 1) {
        let [entries, r] = leb(bytes, at);
        while (entries--) {
          const [index, lengthAt] = leb(bytes, r);
          const [length, textAt] = leb(bytes, lengthAt);
          const f = functions[index - imported];
          if (f) f.name = bytes.subarray(textAt, textAt + length).toString();
          r = textAt + length;
        }
      }
      q = at + size;
    }
  }
  const rank = new Array(functions.length);
  const sorted = order(functions.slice());
  sorted.forEach((f, i) => {
    rank[f.index - imported] = i;
  });
  if (sorted.length !== functions.length || rank.includes(undefined)) {
    throw new Error('the order did not give every function exactly once');
  }
  const width = String(functions.length).length;
  const map = [uleb(functions.length)];
  functions.forEach((f, i) => map.push(uleb(f.index), string(`f${String(rank[i]).padStart(width, '0')}`)));
  const subsection = Buffer.concat(map);
  const nameSection = section(0, Buffer.concat([string('name'), Buffer.from([1]), uleb(subsection.length), subsection]));
  const kept = all.filter((s) => s !== names).map((s) => bytes.subarray(s.from, s.end));
  return Buffer.concat([bytes.subarray(0, 8), ...kept, nameSection]);
}

/**
 * The module with its function imports renamed: `rename(module, name)` gives the new name, or
 * undefined to keep it. Only function imports are offered; the rest stay as they are.
 */
export function renamedImports(bytes, rename) {
  const imports = sections(bytes).find((s) => s.id === 2);
  if (!imports) return bytes;
  const entries = [uleb(leb(bytes, imports.start)[0])];
  for (const { module, name, kind, from, kindAt, end } of importEntries(bytes, imports)) {
    const renamed = kind === 0 ? rename(module, name) : undefined;
    if (renamed === undefined) entries.push(bytes.subarray(from, end));
    else entries.push(string(module), string(renamed), bytes.subarray(kindAt, end));
  }
  return Buffer.concat([bytes.subarray(0, imports.from), section(2, Buffer.concat(entries)), bytes.subarray(imports.end)]);
}
