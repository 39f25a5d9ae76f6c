// The service worker: tunesmith works offline after the first visit. Every build writes its file
// list, each file with a hash of its bytes, into PRECACHE below (`./dev precache`, Trunk's
// post-build hook): file names carry no hash, so the list's hash names the cache. A new build's
// worker installs beside the old one, takes over once no page of the old build is open, and
// deletes the old cache; a page never mixes the files of two builds.

const PRECACHE = { version: 'unbuilt', files: [] }; // written by the build
const CACHE = `tunesmith-${PRECACHE.version}`;
const PREFIX = 'tunesmith-';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // Past the HTTP cache: the files must be this build's, as the list says.
      cache.addAll(PRECACHE.files.map(([path]) => new Request(new URL(path, self.location), { cache: 'reload' }))),
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

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // The page's address carries its settings (?seed=…): every navigation here is index.html.
  const navigation = request.mode === 'navigate';
  const key = navigation ? new URL('index.html', self.location) : url;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(key, { ignoreSearch: navigation }))
      .then((hit) => hit ?? fetch(request)),
  );
});
