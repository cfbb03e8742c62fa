// Glassbox's service worker: after the first visit the whole book (code, styles, data, weights)
// is served from a cache named after the build, so it opens and computes without a network.
//
// scripts/release.mjs writes this file into the build with VERSION (a hash of every file's hash)
// and FILES (each file of the build, relative to this script, with its SHA-256). A new build is a
// new script: the browser installs it beside the old one, it fills its own cache (taking each
// unchanged file from the old cache instead of the network), and waits; the page offers "reload",
// which tells it to take over (a first visit's page is not taken over: the next visit is served
// from the cache). Activation removes every older cache of ours. Paths are relative
// to the script's own URL, so the book works from any folder or sub-path of a static host.

const VERSION = '__VERSION__';
const FILES = __FILES__;
const PREFIX = 'glassbox-';
const CACHE = PREFIX + VERSION;
const MANIFEST = '__manifest__.json';

const url = (path) => new URL(path, self.registration.scope).href;

async function fill() {
  const cache = await caches.open(CACHE);
  // The newest older cache's manifest: a file with the same hash is copied, not downloaded.
  const older = [];
  for (const name of await caches.keys()) {
    if (name === CACHE || !name.startsWith(PREFIX)) continue;
    const old = await caches.open(name);
    const m = await old.match(url(MANIFEST));
    if (m) older.push({ cache: old, files: new Map((await m.json()).map((f) => [f.path, f.sha256])) });
  }
  for (const f of FILES) {
    if (await cache.match(url(f.path))) continue;
    let response = null;
    for (const o of older) {
      if (o.files.get(f.path) === f.sha256) {
        response = await o.cache.match(url(f.path));
        if (response) break;
      }
    }
    if (!response) {
      response = await fetch(url(f.path), { cache: 'no-cache' });
      if (!response.ok) throw new Error(`${f.path}: HTTP ${response.status}`);
    }
    await cache.put(url(f.path), response);
  }
  await cache.put(url(MANIFEST), new Response(JSON.stringify(FILES), {
    headers: { 'content-type': 'application/json' },
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil(fill());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
  if (event.data && event.data.type === 'version') event.source?.postMessage({ type: 'version', version: VERSION });
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(self.registration.scope)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // A page load (any hash route) is the book's one page.
    const key = request.mode === 'navigate' ? url('index.html') : new URL(request.url).origin + new URL(request.url).pathname;
    const hit = await cache.match(key);
    if (hit) return hit;
    return fetch(request);
  })());
});
