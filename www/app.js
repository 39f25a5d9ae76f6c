// tunesmith's own page: one <tunesmith-generator controls="all"> (the same element other sites
// embed), plus what only a page of its own can do: the settings and the seed in the address, so
// a link reproduces the melody; the notes themselves in the link's fragment, so a friend whose
// device runs another backend hears exactly the same melody; and a service worker that keeps the
// page working offline, registered once the first melody is on show.

import { TunesmithGenerator, sharedClient } from './tunesmith-generator.js';

const element = document.querySelector('tunesmith-generator');
const link = document.getElementById('share-link');
const copy = document.getElementById('copy-link');
const copied = document.getElementById('share-status');
// What a link carries: the model and the musical settings. Not the backend: the friend's
// device may not have the one this device uses, and the notes in the fragment play anywhere.
const SETTINGS = ['model', ...TunesmithGenerator.catalog.controls.map((c) => c.attribute)];

const query = new URLSearchParams(location.search);
for (const name of SETTINGS) if (query.has(name)) element.setAttribute(name, query.get(name));
// Links from before best-of-N made one candidate: without the setting, they still mean one.
if (query.has('seed') && !query.has('candidates')) element.candidates = 1;
const sharedCode = new URLSearchParams(location.hash.slice(1)).get('m');
const choice = Number(query.get('choice')) || 1; // which candidate, by rank, the link's author chose

element.addEventListener(
  'ready',
  () => {
    // A link with notes shows those notes; a link with only settings makes them again (and
    // picks the candidate its author picked).
    if (sharedCode) element.loadShared(sharedCode).catch(() => {});
    else if (query.has('seed')) {
      element
        .generate()
        .then(() => choice > 1 && element.choose(choice - 1))
        .catch(() => {});
    }
  },
  { once: true },
);

element.addEventListener('melody', ({ detail: { melody } }) => {
  if (!melody.shared) {
    const q = new URLSearchParams();
    for (const name of SETTINGS) {
      const value = name === 'seed' ? String(melody.seed) : name === 'candidates' ? String(element.candidates) : element.getAttribute(name);
      if (value !== null && value !== '') q.set(name, value);
    }
    const rank = element.candidateMelodies.findIndex((m) => m.candidate === melody.candidate);
    if (rank > 0) q.set('choice', String(rank + 1));
    history.replaceState(null, '', `${location.pathname}?${q}#m=${melody.share}`);
  }
  link.href = location.href;
  link.parentElement.hidden = false;
  copied.textContent = '';
  registerServiceWorker(melody);
});

// The generator's shortcuts (Space, G, ← →) act only with focus in it (the element listens on
// itself), never page-wide: single-key shortcuts on the whole page would take the keys a screen
// reader's browse mode uses (WCAG 2.1.4). A click on the generator's background focuses it.

copy.addEventListener('click', () => {
  navigator.clipboard.writeText(link.href).then(
    () => (copied.textContent = 'Link copied.'),
    () => (copied.textContent = 'Could not copy: right-click the link and copy it.'),
  );
});

const used = new Set(); // the weights files (tuned and blended ones too) of the models this page has used
let registered = false;
/**
 * Offline use: registered after the first melody, so its downloads never compete with the first
 * ones. The service worker keeps each model once used; those used before it took over, the page
 * names to it.
 */
function registerServiceWorker(melody) {
  const model = TunesmithGenerator.catalog.models.find((m) => m.name === melody.model);
  for (const file of [model?.weights, model?.tuned, model?.blend]) if (file) used.add(file);
  if (!('serviceWorker' in navigator)) return;
  if (!registered) {
    registered = true;
    navigator.serviceWorker.register(new URL('../sw.js', import.meta.url)).catch((e) => console.warn(`tunesmith works online only here: ${e.message}`));
  }
  navigator.serviceWorker.ready.then((r) => r.active?.postMessage({ type: 'cache', paths: [...used] }));
}

// A read-only handle for people poking at the page from the console (and for the tests).
window.tunesmith = { element, client: sharedClient() };
