// <tunesmith-generator> as other sites embed it: from a second origin under a strict CSP, several
// per page, its documented attributes, properties, methods and events; and tunesmith's own page
// built on it: share links and offline use.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveMounts } from './server.mjs';
import { SLOW, generate, launch, open, watch } from './testkit.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
let assets; // the bundle, on its own origin (CORS on, as README asks of an asset host)
let host; // another site's pages
let hostDir;

/** The policy README gives a host page that embeds the element from `origin`. */
const hostPolicy = (origin) =>
  [
    "default-src 'self'",
    `script-src 'self' ${origin} 'wasm-unsafe-eval'`,
    `worker-src blob: ${origin}`,
    `connect-src 'self' ${origin}`,
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
    'trusted-types tunesmith',
  ].join('; ');

before(async () => {
  assets = await serveMounts({ '/': DIST }, { headers: { 'access-control-allow-origin': '*' } });
  hostDir = await mkdtemp(join(tmpdir(), 'tunesmith-host-'));
  const element = `${assets.url}/www/tunesmith-generator.js`;
  const page = (body, script = '') => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>A site that embeds tunesmith</title>
    <link rel="icon" href="icon.svg" />
    <link rel="stylesheet" href="host.css" />
    <script type="module" src="${element}"></script>${script}
  </head>
  <body>
    ${body}
  </body>
</html>
`;
  await writeFile(
    join(hostDir, 'two.html'),
    page(`<tunesmith-generator id="one" controls="minimal" bars="2" seed="3"></tunesmith-generator>
    <tunesmith-generator id="two" bars="2" seed="4" tempo="150"></tunesmith-generator>`),
  );
  await writeFile(
    join(hostDir, 'grid.html'),
    page('<main></main>', '\n    <script type="module" src="grid.js"></script>').replace(/\n.*tunesmith-generator\.js.*\n/, '\n'),
  );
  // Instances made by a script, as a framework would (?n=10 makes ten), their properties set
  // before the element is defined: it takes them over when it upgrades.
  await writeFile(
    join(hostDir, 'grid.js'),
    `const n = Number(new URLSearchParams(location.search).get('n'));
for (let i = 0; i < n; i++) {
  const el = document.createElement('tunesmith-generator');
  el.setAttribute('controls', 'minimal');
  el.bars = 1;
  el.seed = i + 1;
  document.querySelector('main').append(el);
}
await import(${JSON.stringify(element)});
`,
  );
  await writeFile(
    join(hostDir, 'host.css'),
    `tunesmith-generator::part(generate) { background-color: rgb(1, 2, 3); }
#two { --tunesmith-accent: rgb(4, 5, 6); }
`,
  );
  await writeFile(join(hostDir, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>');
  host = await serveMounts({ '/': hostDir }, { csp: hostPolicy(assets.url) });
});

after(async () => {
  assets?.close();
  host?.close();
  if (hostDir) await rm(hostDir, { recursive: true, force: true });
});

/** A page on the host's origin, watched: errors, requests leaving the two origins, workers. */
async function hostPage(browser, path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page, [assets.url, host.url]);
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto(`${host.url}${path}`);
  return { context, page, problems, workers };
}

const count = (server, from, path) => server.requests.slice(from).filter((r) => r.path === path).length;
const bytes = (server, from) => server.requests.slice(from).reduce((sum, r) => sum + r.bytes, 0);

for (const webgpu of [false, true]) {
  test(`another origin under a strict CSP embeds two generators: both generate and play, one worker, one wasm download (${webgpu ? 'WebGPU' : 'CPU'})`, { timeout: 600_000 }, async (t) => {
    const browser = await launch({ webgpu });
    t.after(() => browser.close());
    const from = assets.requests.length;
    const { page, problems, workers } = await hostPage(browser, '/two.html');
    await page.waitForSelector('#one[state="ready"]', { timeout: SLOW });
    await page.waitForSelector('#two[state="ready"]', { timeout: SLOW });
    if (webgpu) await page.evaluate(() => (document.querySelector('#two').backend = 'webgpu'));
    const [one, two] = await page.evaluate(() => Promise.all(['#one', '#two'].map((id) => document.querySelector(id).generate())));
    for (const m of [one, two]) {
      assert.equal(m.totalSteps, 32);
      assert.ok(m.notes.length >= 2, JSON.stringify(m.notes));
    }
    assert.equal(one.seed, 3);
    assert.equal(two.tempo, 150);
    assert.equal(two.backend, webgpu ? 'webgpu' : 'cpu');
    assert.notDeepEqual(one.notes, two.notes);

    // Playing one stops the other.
    const playing = () => page.evaluate(() => ['#one', '#two'].map((id) => document.querySelector(id).playing));
    await page.click('#one #play');
    await page.waitForFunction(() => document.querySelector('#one').playing);
    await page.click('#two #play');
    await page.waitForFunction(() => document.querySelector('#two').playing);
    assert.deepEqual(await playing(), [false, true]);
    assert.equal(await page.textContent('#one #play'), 'Play');
    await page.click('#two #play');
    assert.deepEqual(await playing(), [false, false]);
    // Through the API too: play() twice, then the other, then back.
    const api = await page.evaluate(async () => {
      const [a, b] = ['#one', '#two'].map((id) => document.querySelector(id));
      const out = [];
      await a.play();
      await a.play();
      out.push([a.playing, b.playing]);
      await b.play();
      out.push([a.playing, b.playing]);
      await a.play();
      out.push([a.playing, b.playing]);
      a.stop();
      return out;
    });
    assert.deepEqual(api, [[true, false], [false, true], [true, false]]);

    // One worker (started through the blob: shim: a page may not start another origin's
    // worker directly), one wasm download, one model download, for both. The full module (Burn,
    // WebGPU) comes only for WebGPU, once; the CPU needs the lite one alone.
    assert.equal(workers.length, 1, workers.join(' '));
    assert.match(workers[0], /^blob:/);
    assert.equal(count(assets, from, '/tunesmith-lite_bg.wasm'), 1);
    assert.equal(count(assets, from, '/tunesmith_bg.wasm'), webgpu ? 1 : 0);
    assert.equal(count(assets, from, '/models/lstm.pack'), 0, 'the data weights: not at the default strength');
    assert.equal(count(assets, from, '/models/lstm.tuned.pack'), 0, 'nor the tuned ones');
    assert.equal(count(assets, from, '/models/lstm.blend.pack'), 1);

    // The host styles it through ::part() and the custom properties; "minimal" hides the settings.
    const style = (selector, property) => page.$eval(selector, (el, p) => getComputedStyle(el)[p], property);
    assert.equal(await style('#one #generate', 'backgroundColor'), 'rgb(1, 2, 3)');
    assert.equal(await style('#two #play', 'borderTopColor'), 'rgb(4, 5, 6)');
    assert.notEqual(await style('#one #play', 'borderTopColor'), 'rgb(4, 5, 6)');
    assert.equal(await page.isVisible('#one #bars'), false);
    assert.equal(await page.isVisible('#two #bars'), true);
    assert.deepEqual(problems, []);
  });
}

test('ten generators on a page: one worker, one wasm download, at most 1.05× the bytes of one', { timeout: 600_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const measure = async (n) => {
    const fromAssets = assets.requests.length;
    const fromHost = host.requests.length;
    const { context, page, problems, workers } = await hostPage(browser, `/grid.html?n=${n}`);
    await page.waitForFunction((k) => document.querySelectorAll('tunesmith-generator[state="ready"]').length === k, n, { timeout: SLOW });
    const melodies = await page.evaluate(() => Promise.all([...document.querySelectorAll('tunesmith-generator')].map((el) => el.generate())));
    assert.equal(melodies.length, n);
    assert.deepEqual(melodies.map((m) => [m.seed, m.totalSteps]), melodies.map((_, i) => [i + 1, 16]));
    const out = {
      workers: workers.length,
      wasm: count(assets, fromAssets, '/tunesmith-lite_bg.wasm') + count(assets, fromAssets, '/tunesmith_bg.wasm'),
      bytes: bytes(assets, fromAssets) + bytes(host, fromHost),
      problems,
    };
    await context.close();
    return out;
  };
  const one = await measure(1);
  const ten = await measure(10);
  t.diagnostic(`bytes: one instance ${one.bytes}, ten ${ten.bytes} (${(ten.bytes / one.bytes).toFixed(4)}×)`);
  assert.equal(ten.workers, 1);
  assert.equal(ten.wasm, 1);
  assert.ok(ten.bytes <= 1.05 * one.bytes, `ten instances load ${ten.bytes} bytes, one ${one.bytes}`);
  assert.deepEqual([...one.problems, ...ten.problems], []);
});

test('attributes, properties, methods and events behave as documented', { timeout: 600_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const server = await serveMounts({ '/': DIST });
  t.after(() => server.close());
  const context = await browser.newContext({ acceptDownloads: true });
  // Every event the element fires, from the very start (capture: they do not bubble).
  await context.addInitScript(() => {
    window.seen = [];
    for (const type of ['ready', 'progress', 'melody', 'start', 'note', 'stop', 'error']) {
      document.addEventListener(type, (e) => e.target.localName === 'tunesmith-generator' && window.seen.push({ type, detail: e.detail }), true);
    }
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: SLOW });
  const seen = (type) => page.evaluate((t) => window.seen.filter((e) => e.type === t).map((e) => e.detail), type);

  // Downloads report their bytes, never going back, each to the end: the lite wasm module,
  // and the weights the default strength runs on (its packed blend).
  const size = async (file) => (await readFile(join(DIST, file))).length;
  const reported = (p, phase, bytes) => {
    for (let i = 1; i < p.length; i++) assert.ok(p[i].loaded >= p[i - 1].loaded, JSON.stringify(p));
    assert.deepEqual(p.at(-1), { phase, loaded: bytes, total: bytes });
  };
  for (const [phase, file] of [['wasm', 'tunesmith-lite_bg.wasm'], ['model', 'models/lstm.blend.pack']]) {
    reported((await seen('progress')).filter((e) => e.phase === phase), phase, await size(file));
  }
  assert.deepEqual(await seen('ready'), [{ model: 'lstm' }]);
  // The Transformer needs the full wasm module (Burn): its bytes count in that model's
  // download with its weights, and arrive in steps (Content-Length known).
  const before = (await seen('progress')).length;
  await page.evaluate(() => window.tunesmith.client.generate({ model: 'transformer', backend: 'cpu', request: { bars: 1 } }));
  const full = (await seen('progress')).slice(before).filter((e) => e.phase === 'model');
  const bytes = (await size('tunesmith_bg.wasm')) + (await size('models/transformer.bpk'));
  reported(full, 'model', bytes);
  assert.ok(full.some((e) => e.loaded < bytes && e.total === bytes), `the bytes arrive in steps: ${JSON.stringify(full)}`);

  // Every control of the core's catalog is an attribute, mirrored by a property.
  const catalog = await page.evaluate(() => window.tunesmith.element.constructor.catalog);
  const observed = await page.evaluate(() => window.tunesmith.element.constructor.observedAttributes);
  for (const c of catalog.controls) assert.ok(observed.includes(c.attribute), c.attribute);
  assert.ok(observed.includes('tonality') && observed.includes('genre') && !observed.includes('key') && !observed.includes('style'));
  // [attribute, attribute value, property value, default when unset]
  const table = [
    ['model', 'transformer', 'transformer', 'lstm'],
    ['backend', 'cpu', 'cpu', 'auto'],
    ['controls', 'minimal', 'minimal', 'all'],
    ['voice', 'reed', 'reed', 'soft'],
    ['autoplay', '', true, false],
    ['loop', '', true, false],
    ['metronome', '', true, false],
    ['count-in', '', true, false],
    ['endless', '', true, false],
    ['bars', '12', 12, 8],
    ['tempo', '96', 96, 120],
    ['meter', '6/8', '6/8', '4/4'],
    ['tonality', 'D dorian', 'D dorian', null],
    ['genre', 'celtic', 'celtic', null],
    ['form', 'AABA', 'AABA', null],
    ['temperature', '0.8', 0.8, 1],
    ['theory', '0.25', 0.25, 0.8],
    ['seed', '42', 42, 1],
    ['candidates', '4', 4, 8],
  ];
  assert.deepEqual(new Set(table.map((r) => r[0])), new Set(observed), 'the table covers every attribute');
  const rows = await page.evaluate((table) => {
    const el = document.createElement('tunesmith-generator');
    const camel = (n) => n.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    return table.map(([name, attr, , ]) => {
      const unset = el[camel(name)];
      el.setAttribute(name, attr);
      const fromAttribute = el[camel(name)];
      el.removeAttribute(name);
      el[camel(name)] = fromAttribute;
      const reflected = el.getAttribute(name);
      el[camel(name)] = null;
      return { name, unset, fromAttribute, reflected, cleared: el.hasAttribute(name) };
    });
  }, table);
  for (const [i, [name, attr, value, unset]] of table.entries()) {
    assert.deepEqual(rows[i], { name, unset, fromAttribute: value, reflected: attr, cleared: false }, name);
  }

  // The settings form and the attributes are one: each shows and sets the other.
  await page.evaluate(() => {
    const el = window.tunesmith.element;
    el.bars = 3;
    el.tonality = 'G major';
  });
  assert.equal(await page.inputValue('#bars'), '3');
  assert.equal(await page.inputValue('#key'), 'G major');
  await page.fill('#seed', '77');
  await page.selectOption('#meter', '3/4');
  assert.deepEqual(await page.evaluate(() => [window.tunesmith.element.seed, window.tunesmith.element.meter]), [77, '3/4']);

  // generate(): resolves to the melody, fires 'melody' with it; read-only melody and midi.
  const melody = await page.evaluate(() => window.tunesmith.element.generate());
  assert.equal(melody.totalSteps, 36);
  assert.equal(melody.seed, 77);
  assert.equal(melody.key, 'G major');
  assert.deepEqual((await seen('melody')).at(-1).melody, melody);
  const after = await page.evaluate(() => {
    const el = window.tunesmith.element;
    const midi = el.midi;
    try {
      el.melody = null; // read-only: ignored (or a TypeError in strict code)
      el.midi = null;
    } catch {}
    return { magic: String.fromCharCode(...midi.slice(0, 4)), melody: el.melody, midi: !!el.midi, state: el.state };
  });
  assert.equal(after.magic, 'MThd');
  assert.deepEqual(after.melody, melody, 'melody is read-only');
  assert.equal(after.midi, true, 'midi is read-only');
  assert.equal(after.state, 'done');
  assert.ok((await seen('progress')).some((p) => p.phase === 'generate' && p.loaded === 3 && p.total === 3));

  // play() and stop(): 'start', a 'note' per note ({index, note}), 'stop'.
  await page.click('#play');
  await page.waitForFunction(() => window.seen.some((e) => e.type === 'note'));
  assert.equal((await seen('start')).length, 1);
  const firstNote = (await seen('note'))[0];
  assert.equal(firstNote.index, 0);
  assert.deepEqual(firstNote.note, melody.notes[0]);
  await page.evaluate(() => window.tunesmith.element.stop());
  assert.equal((await seen('stop')).length, 1);

  // loop: a one-bar melody at 400 bpm (0.6 s) comes round again.
  await page.evaluate(() => Object.assign(window.tunesmith.element, { bars: 1, tempo: 400, loop: true, meter: '4/4' }));
  await page.evaluate(() => window.tunesmith.element.generate());
  await page.evaluate(() => (window.seen = []));
  await page.click('#play');
  await page.waitForFunction(() => window.seen.filter((e) => e.type === 'note' && e.detail.index === 0).length >= 2, null, { timeout: 10_000 });
  await page.evaluate(() => (window.tunesmith.element.loop = false));
  await page.evaluate(() => window.tunesmith.element.stop());

  // download(): the MIDI file of the melody.
  const [download] = await Promise.all([page.waitForEvent('download'), page.evaluate(() => window.tunesmith.element.download())]);
  assert.match(download.suggestedFilename(), /^tunesmith-lstm-seed77\.mid$/);

  // Errors: a readable message, on the page and as an 'error' event; generate() rejects.
  await page.evaluate(() => (window.seen = []));
  const rejected = await page.evaluate(() => {
    const el = window.tunesmith.element;
    el.setAttribute('bars', '0');
    return el.generate().then(() => null, (e) => e.message);
  });
  assert.match(rejected, /Bars must be a whole number from 1 to 64/);
  assert.deepEqual(await seen('error'), [{ message: rejected }]);
  assert.match(await page.textContent('#error'), /Bars must be/);

  // controls: minimal hides the settings; none hides the buttons too, leaving the piano roll.
  await page.evaluate(() => (window.tunesmith.element.controls = 'minimal'));
  assert.deepEqual([await page.isVisible('#bars'), await page.isVisible('#generate')], [false, true]);
  await page.evaluate(() => (window.tunesmith.element.controls = 'none'));
  assert.deepEqual([await page.isVisible('#generate'), await page.isVisible('#roll')], [false, true]);

  // Sized by its container: the piano roll is redrawn at the new size.
  const wide = await page.evaluate(() => window.tunesmith.element.shadowRoot.querySelector('#roll').width);
  await page.evaluate(() => (window.tunesmith.element.style.width = '360px'));
  await page.waitForFunction((before) => {
    const canvas = window.tunesmith.element.shadowRoot.querySelector('#roll');
    return canvas.width !== before && canvas.width === Math.round(canvas.clientWidth * devicePixelRatio) && canvas.clientWidth <= 360;
  }, wide);
  // Light and dark, from the visitor's setting.
  const accent = () => page.$eval('#play', (el) => getComputedStyle(el).borderTopColor);
  const light = await accent();
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.notEqual(await accent(), light);

  // Defining the element twice is harmless.
  const again = await page.evaluate(async () => {
    await import(`/www/tunesmith-generator.js?again`);
    return customElements.get('tunesmith-generator') === window.tunesmith.element.constructor;
  });
  assert.equal(again, true);
  assert.deepEqual(problems, []);
});

test('a share link plays the same notes in a fresh browser without running a model; a settings-only link makes them again', { timeout: 600_000 }, async (t) => {
  const cpu = await launch({ webgpu: false });
  const gpu = await launch({ webgpu: true });
  t.after(() => Promise.all([cpu.close(), gpu.close()]));
  const server = await serveMounts({ '/': DIST });
  t.after(() => server.close());
  const { page, problems } = await open(cpu, server);
  const made = await generate(page, { bars: 4, seed: 9, meter: '3/4', backend: 'cpu' });
  const link = page.url();
  assert.match(link, /\?(.*&)?seed=9(&|#)/);
  assert.match(link, /bars=4/);
  assert.match(link, /#m=[A-Za-z0-9_-]+$/);
  assert.equal(await page.getAttribute('#share-link', 'href'), link);

  // A fresh browser, with WebGPU: the notes come from the link, not from a model run here.
  const friend = await open(gpu, server, { path: link.slice(server.url.length), states: ['done', 'error'] });
  const opened = await friend.page.evaluate(() => window.tunesmith.element.melody);
  assert.deepEqual(opened.notes, made.notes);
  assert.deepEqual([opened.meter, opened.tempo, opened.key, opened.totalSteps], [made.meter, made.tempo, made.key, made.totalSteps]);
  assert.match(await friend.page.textContent('#status'), /^A shared melody: 4 bars/);
  // Its MIDI file is the same file.
  assert.deepEqual(await friend.page.evaluate(() => Array.from(window.tunesmith.element.midi)), made.midi);

  // Without the notes, the settings and the seed make the same melody again.
  await friend.page.goto(link.replace(/#.*/, ''));
  await friend.page.waitForSelector('tunesmith-generator[state="done"]', { timeout: SLOW });
  assert.deepEqual(await friend.page.evaluate(() => window.tunesmith.element.melody.notes), made.notes);

  // A damaged code says so.
  await friend.page.goto(`${server.url}/#m=AQ`);
  await friend.page.waitForSelector('tunesmith-generator[state="error"], #error:not([hidden])', { timeout: SLOW });
  assert.match(await friend.page.textContent('#error'), /Could not open the shared melody: the shared melody is cut short/);
  assert.deepEqual([...problems, ...friend.problems], []);
});

test('offline after the first visit; a new build replaces the old cache', { timeout: 600_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  // A copy of the bundle, so the test can make a "new build" of it.
  const dir = await mkdtemp(join(tmpdir(), 'tunesmith-offline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(DIST, dir, { recursive: true });
  const server = await serveMounts({ '/': dir });
  t.after(() => server.close());
  const { page, problems } = await open(browser, server);
  await generate(page, { bars: 2, seed: 5 });
  // The bundle is cached, and the model the page used; not the other model.
  const cacheName = await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 300; i++) {
      const names = await caches.keys();
      const cache = await caches.open(names[0] ?? 'none');
      if (names.length === 1 && (await cache.match('/models/lstm.blend.pack'))) return names[0];
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`the model was not cached: ${await caches.keys()}`);
  });
  assert.match(cacheName, /^tunesmith-[0-9a-f]{16}$/);
  assert.ok(!server.requests.some((r) => r.path.includes('transformer')), 'the unused model is not downloaded');

  // Offline: the page, the wasm and the model come from the cache; nothing reaches the server.
  const before = server.requests.length;
  await page.context().setOffline(true);
  await page.reload(); // the address now holds the melody: it shows again, then a new one is made
  await page.waitForSelector('tunesmith-generator[state="done"]', { timeout: SLOW });
  const offline = await generate(page, { bars: 2, seed: 6 });
  assert.ok(offline.notes.length > 0);
  // (Except the browser's own check for a newer service worker, which would fail offline.)
  assert.deepEqual(server.requests.slice(before).map((r) => r.path).filter((p) => p !== '/sw.js'), []);
  await page.context().setOffline(false);

  // A new build: a changed file, a new list. Its worker installs, takes over once the old
  // build's pages are closed, and only its cache is left.
  await writeFile(join(dir, 'www/style.css'), `${await readFile(join(dir, 'www/style.css'), 'utf8')}\n/* new build */\n`);
  execFileSync('bash', [join(ROOT, 'dev'), 'precache', dir]);
  await page.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration();
    await r.update();
    const w = r.installing ?? r.waiting;
    if (!w) throw new Error('no new service worker');
    if (w.state !== 'installed') {
      await new Promise((ok, fail) =>
        w.addEventListener('statechange', () => (w.state === 'installed' ? ok() : w.state === 'redundant' && fail(new Error('the new worker failed to install')))),
      );
    }
  });
  const context = page.context();
  await page.close();
  const next = await context.newPage();
  await next.goto(`${server.url}/`);
  await next.evaluate(async (old) => {
    for (let i = 0; i < 200; i++) {
      const names = await caches.keys();
      if (names.length === 1 && names[0] !== old) return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`the old cache is still there: ${await caches.keys()}`);
  }, cacheName);
  const after = await next.evaluate(async () => ({ caches: await caches.keys(), css: await (await fetch('/www/style.css')).text() }));
  assert.notDeepEqual(after.caches, [cacheName]);
  assert.match(after.css, /new build/);
  assert.deepEqual(problems, []);
});
