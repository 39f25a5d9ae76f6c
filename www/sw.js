// The service worker: tunesmith works offline after the first visit. Every build writes its file
// list, each file with a hash of its bytes, into PRECACHE below (`./dev precache`, Trunk's
// post-build hook): file names carry no hash, so the list's hash names the cache. A new build's
// worker installs beside the old one, takes over once no page of the old build is open, and
// deletes the old cache; a page never mixes the files of two builds.
//
// The bundle is cached when the worker installs (after the page's first melody). A model is
// cached once it is used: the page downloads only the models it uses, and tells this worker
// which ones it already has (the first melody's came before the worker did).

const PRECACHE = { version: 'unbuilt', files: [] }; // written by the build
const CACHE = `tunesmith-${PRECACHE.version}`;
const PREFIX = 'tunesmith-';
const ROOT = new URL('./', self.location);
const inList = (url) => PRECACHE.files.some(([path]) => new URL(path, ROOT).href === url.href);
const onUse = (path) => path.startsWith('models/');

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // Revalidated, not taken from the HTTP cache as it is: the files must be this build's.
      cache.addAll(PRECACHE.files.filter(([path]) => !onUse(path)).map(([path]) => new Request(new URL(path, ROOT), { cache: 'no-cache' }))),
    ),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      // The first visit's page (not yet controlled) is served from the cache from now on too.
      await self.clients.claim();
    })(),
  );
});

/** A file of the list from the cache; one cached on use is fetched and kept the first time. */
async function respond(request, url) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(url);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && inList(url)) await cache.put(url, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== ROOT.origin) return;
  // The page's address carries its settings (?seed=…): a navigation to it is index.html.
  if (request.mode === 'navigate') {
    if (url.pathname !== ROOT.pathname && url.pathname !== `${ROOT.pathname}index.html`) return;
    event.respondWith(respond(request, new URL('index.html', ROOT)));
    return;
  }
  if (inList(url)) event.respondWith(respond(request, url));
});

// {type: 'cache', paths}: files of the list the page already has (models it used before this
// worker controlled it), to keep for offline use.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'cache' || !Array.isArray(event.data.paths)) return;
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      for (const path of event.data.paths) {
        const url = new URL(String(path), ROOT);
        if (inList(url) && !(await cache.match(url))) await cache.add(url);
      }
    })(),
  );
});
