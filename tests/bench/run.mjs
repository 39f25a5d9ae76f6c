// tunesmith against Magenta.js, side by side in one headless Debian Chromium session:
//   node tests/bench/run.mjs [--steps 256] [--runs 5] [--short-steps 32] [--json out.json]
//                            [--only magenta|tunesmith] [--magenta cpu,wasm,wasm-mt,webgl]
//                            [--tunesmith cpu,webgpu] [--models lstm,transformer]
//                            [--wasm-threads N] [--flag=--x ...]
//                            [--anchors ort-wasm,ort-wasm2,ort-webgpu,tfjs-wasm,tfjs-webgpu] [--ort-threads 2]
//   --only takes a comma list of magenta, tunesmith, ort, tfjs4 (or anchors = ort,tfjs4).
// (`./dev bench` builds the bundle first and runs this.)
//
// The work: continue a one-bar primer (C4 E4 G4 C5) by 256 steps at batch 1, sampling at
// temperature 1 (tfjs-wasm has no multinomial kernel, so it decodes greedily, and tunesmith's
// CPU also runs a greedy row beside it). tfjs-wasm runs twice: its SIMD build in an ordinary page
// (1 thread), and its threaded-SIMD build in a cross-origin-isolated page (COOP/COEP, so
// SharedArrayBuffer exists) with the thread pool tfjs sizes itself; the row reports the pool's
// size and checks which binary was fetched. Both sides run a 2 × 512 LSTM over 38 classes
// (Magenta's basic_rnn shape) with random weights, since speed does not depend on the values;
// tunesmith's shipped models are measured too. It also measures the real page: time from
// navigation to the first 8-bar melody, and the gzip bytes it loads (and Magenta's).
// Everything is served from 127.0.0.1; the basic_rnn checkpoint is written into a temp dir.
//
// How rows are timed: each row (an engine on a model) gets its own browser context, loads its
// model and warms up; then the rows take turns, one timed run each per round, so that machine
// load drifting during the bench weighs on Magenta and tunesmith alike. A row gets at least 3
// timed runs (up to --runs, within about a minute of runs). A row whose 256 steps would take
// over a minute (the Transformer on WebGPU via Burn) is timed on --short-steps steps instead,
// 3 runs of them, and the table's steps column says so. A row that fails or hangs is printed
// with its error; the others carry on. The machine's CPUs and load average are printed at the
// start and at the end.
//
// Today's anchors, in the same interleaved run: the same work (basic_rnn's shape, random seeded
// weights, the same primer, 256 steps sampled at temperature 1, in JS from the logits read back
// each step) on engines of today. ONNX Runtime Web 1.30 runs an ONNX model written in the page
// (onnx.js: two ONNX LSTM nodes and a MatMul/Add head, made at bench time, never committed) on
// its wasm EP with 1 thread (ordinary page) and with --ort-threads threads (cross-origin-isolated
// page), and on its WebGPU EP with the LSTM state kept in GPU buffers between steps. TF.js 4.22
// runs tf.multiRNNCell/tf.basicLSTMCell (MusicRNN's ops) on its wasm and webgpu backends. Each
// anchor checks its logits against a float64 LSTM in plain JS (basic_rnn.js) on 20 steps and
// the table's footer prints the largest difference; summary lines give tunesmith ÷ the best
// anchor of each kind.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../testkit.mjs';
import { gpuInfo, gzipSizes, host, showHost, summarise, total, within } from './measure.mjs';
import { writeBasicRnnCheckpoint } from './checkpoint.mjs';
import { serveMounts } from '../server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TESTS = dirname(HERE);
const DIST = join(dirname(TESTS), 'dist');

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '256' },
    runs: { type: 'string', default: '5' },
    'short-steps': { type: 'string', default: '32' },
    magenta: { type: 'string', default: 'cpu,wasm,wasm-mt,webgl' },
    tunesmith: { type: 'string', default: 'cpu,webgpu' },
    models: { type: 'string', default: 'lstm,transformer' },
    only: { type: 'string' },
    // Today's anchors (see above); --only ort / tfjs4 / anchors runs them without the rest.
    anchors: { type: 'string', default: 'ort-wasm,ort-wasm2,ort-webgpu,tfjs-wasm,tfjs-webgpu' },
    // Threads of the ort-wasm2 row (ONNX Runtime Web's wasm EP in a cross-origin-isolated page).
    'ort-threads': { type: 'string', default: '2' },
    // The threaded tfjs-wasm row: present navigator.hardwareConcurrency as 2N, so that tfjs 2.7
    // (which takes half of it, 1–4) builds a pool of N threads. Unset: the machine's own value.
    // With 2 threads on a 2-core machine its generation deadlocks within a few runs (the
    // threaded 2.x build's known hang, tensorflow/tfjs#4025); the row then fails on its timeout.
    'wasm-threads': { type: 'string' },
    json: { type: 'string' },
    // Extra Chromium switches for experiments (repeatable).
    flag: { type: 'string', multiple: true, default: [] },
  },
});
const steps = Number(args.steps);
const runs = Number(args.runs);
const shortSteps = Math.min(Number(args['short-steps']), steps);
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
// --only: the sides to run (all when unset); 'anchors' stands for ort and tfjs4.
const SIDES = ['magenta', 'tunesmith', 'ort', 'tfjs4'];
const only = args.only ? list(args.only).flatMap((s) => (s === 'anchors' ? ['ort', 'tfjs4'] : [s])) : SIDES;
for (const s of only) if (!SIDES.includes(s)) throw new Error(`--only ${s}: expected ${SIDES.join(', ')} or anchors`);
const want = (side) => only.includes(side);
const ortThreads = Number(args['ort-threads']);

// About a minute of timed runs per row; a row whose run would take longer is timed on fewer steps.
const BUDGET_MS = 60_000;
const MIN_RUNS = 3;
// Past these a page is taken for hung (the threaded tfjs-wasm build can deadlock) and its row fails.
const LOAD_TIMEOUT_MS = 180_000;
const runTimeoutMs = (warmMs) => Math.max(60_000, 5 * warmMs);

/** Calls window[row.api][method](arg) in the row's page. */
function call(row, method, arg, ms) {
  return within(row.page.evaluate(([api, m, a]) => window[api][m](a), [row.api, method, arg]), ms, `${method}(${typeof arg === 'object' ? '…' : arg ?? ''})`);
}

/** Closes a row's context (its renderer with it), without waiting long on a hung page. */
async function closeRow(row) {
  const context = row.context;
  row.context = row.page = null;
  if (context) await within(context.close(), 10_000, 'closing the page').catch(() => {});
}

// What each tfjs-wasm row must have fetched and run on, or its figure means something else.
const WASM_BUILDS = {
  wasm: { binary: 'tfjs-backend-wasm-simd.wasm', isolated: false, label: 'SIMD build' },
  'wasm-mt': { binary: 'tfjs-backend-wasm-threaded-simd.wasm', isolated: true, label: 'thr-SIMD build' },
};

/** Throws unless a tfjs-wasm row ran the build it stands for (the server's log and the page agree). */
function checkWasmBuild(row, requests) {
  const want = WASM_BUILDS[row.key];
  const fetched = requests.filter((r) => r.status === 200 && r.path.endsWith('.wasm')).map((r) => r.path.split('/').pop());
  const { wasm } = row;
  if (fetched.join() !== want.binary || wasm.binaries.join() !== want.binary) {
    throw new Error(`expected ${want.binary}, but the server sent ${fetched.join('+') || 'no .wasm'} and the page ran ${wasm.binaries.join('+') || 'none'}`);
  }
  if (wasm.crossOriginIsolated !== want.isolated || wasm.sharedMemory !== want.isolated) {
    throw new Error(`cross-origin isolated: ${wasm.crossOriginIsolated}, shared memory: ${wasm.sharedMemory}; expected both ${want.isolated}`);
  }
  row.name = `magenta tfjs-wasm ${want.label.replace(' build', '')}, ${wasm.poolThreads} thread${wasm.poolThreads > 1 ? 's' : ''}`;
}

/**
 * Opens a row's page in a context of its own (its own renderer: no GL context, wasm heap or
 * tensors shared with another row), loads the model, warms up, and decides how the row is timed:
 * a probe of `shortSteps` steps (compilation, JIT, XNNPACK set-up) tells whether a full run fits
 * the budget; if it does, a full-length warm-up follows, otherwise the row is timed on the
 * probe's length.
 */
async function prepare(browser, row) {
  row.context = await browser.newContext();
  if (row.hardwareConcurrency) {
    await row.context.addInitScript((n) => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => n }), row.hardwareConcurrency);
  }
  row.page = await row.context.newPage();
  row.pageErrors = [];
  row.page.on('pageerror', (e) => row.pageErrors.push(e.message));
  // ONNX Runtime's "Node placements" log lines (ort.js logs them once, from a probe session).
  row.placements = [];
  row.page.on('console', (m) => {
    const line = m.text().match(/VerifyEachNodeIsAssignedToAnEp\]\s+(.*)$/);
    if (line && !/Node placements/.test(line[1])) row.placements.push(line[1].trim());
  });
  // Web Workers the page starts (an Emscripten thread pool's pthreads among them).
  row.workers = 0;
  row.page.on('worker', () => row.workers++);
  await within(row.page.goto(row.url), LOAD_TIMEOUT_MS, `opening ${row.url}`);
  await row.page.waitForFunction((api) => typeof window[api]?.load === 'function', row.api, { timeout: 60_000 });
  Object.assign(row, await call(row, 'load', row.opts, LOAD_TIMEOUT_MS));
  const probe = await call(row, 'run', shortSteps, LOAD_TIMEOUT_MS);
  if ((probe.ms / shortSteps) * steps > BUDGET_MS) {
    row.steps = shortSteps;
    row.warmMs = probe.ms;
  } else {
    row.steps = steps;
    row.warmMs = (await call(row, 'run', steps, runTimeoutMs((probe.ms / shortSteps) * steps))).ms;
  }
  // At least MIN_RUNS: a full run is under about a minute here, and a slower row has been cut short.
  row.count = Math.min(runs, Math.max(MIN_RUNS, Math.floor(BUDGET_MS / row.warmMs)));
  Object.assign(row, await call(row, 'describe', undefined, LOAD_TIMEOUT_MS));
  if (row.side === 'tunesmith') row.name = `tunesmith ${row.engine}`;
}

/** Throws unless an anchor ran as its row says (threads, isolation, binary), like checkWasmBuild. */
function checkAnchor(row, requests) {
  const { anchor } = row;
  const expect = ANCHORS[row.key];
  if (expect.threads && anchor.threads !== expect.threads) throw new Error(`ran on ${anchor.threads} thread(s), expected ${expect.threads}`);
  // ONNX Runtime Web's wasm EP: the calling thread plus numThreads − 1 pthread workers.
  if (expect.threads && row.side === 'ort' && row.workers !== expect.threads - 1) {
    throw new Error(`numThreads ${anchor.threads}, but the page started ${row.workers} workers (expected ${expect.threads - 1})`);
  }
  if (expect.threads > 1) row.detail = row.detail.replace(`numThreads ${anchor.threads}`, `numThreads ${anchor.threads} (${row.workers} pthread worker${row.workers === 1 ? '' : 's'} + the calling thread)`);
  if (expect.isolated !== undefined && anchor.crossOriginIsolated !== expect.isolated) {
    throw new Error(`cross-origin isolated: ${anchor.crossOriginIsolated}; expected ${expect.isolated}`);
  }
  if (row.side === 'ort') row.detail += `; ORT's node placement: ${row.placements.join(' ') || 'not logged'}`;
  const fetched = requests.filter((r) => r.status === 200 && r.path.endsWith('.wasm')).map((r) => r.path.split('/').pop());
  if (expect.binary && fetched.join() !== expect.binary) throw new Error(`expected ${expect.binary}, but the server sent ${fetched.join('+') || 'no .wasm'}`);
}

/**
 * Today's anchors, by --anchors key: the page, its API, load()'s options and what the row must
 * have run on. ONNX Runtime Web 1.30 has one wasm binary for its wasm EP (threaded SIMD, run
 * with 1 thread where the page is not isolated) and its WebGPU EP in another (asyncify).
 */
const ANCHORS = {
  'ort-wasm': { name: 'ONNX Runtime Web 1.30 wasm, 1 thread', side: 'ort', page: 'ort', opts: { ep: 'wasm', threads: 1 }, threads: 1, isolated: false, binary: 'ort-wasm-simd-threaded.wasm' },
  'ort-wasm2': { name: `ONNX Runtime Web 1.30 wasm, ${ortThreads} threads`, side: 'ort', page: 'ort', opts: { ep: 'wasm', threads: ortThreads }, threads: ortThreads, isolated: true, binary: 'ort-wasm-simd-threaded.wasm' },
  'ort-webgpu': { name: 'ONNX Runtime Web 1.30 WebGPU EP', side: 'ort', page: 'ort', opts: { ep: 'webgpu' }, binary: 'ort-wasm-simd-threaded.asyncify.wasm' },
  'tfjs-wasm': { name: 'TF.js 4.22 wasm', side: 'tfjs4', page: 'tfjs4', opts: { backend: 'wasm' }, isolated: false, binary: 'tfjs-backend-wasm-simd.wasm' },
  'tfjs-webgpu': { name: 'TF.js 4.22 webgpu', side: 'tfjs4', page: 'tfjs4', opts: { backend: 'webgpu' } },
};
const API = { ort: 'benchOrt', tfjs4: 'benchTfjs4' };

/**
 * The rows asked for: Magenta.js on each TF.js backend, then tunesmith on each of its own.
 * `wasm-mt` is TF.js's wasm backend in a page from the cross-origin-isolated server.
 */
function plannedRows(server, isolated) {
  const rows = [];
  if (want('magenta')) {
    for (const key of list(args.magenta)) {
      const backend = key === 'wasm-mt' ? 'wasm' : key;
      const origin = key === 'wasm-mt' ? isolated : server;
      rows.push({
        key, name: `magenta tfjs-${key}`, side: 'magenta', model: 'basic_rnn', backend, server: origin,
        url: `${origin.url}/bench/magenta.html`, api: 'benchMagenta',
        opts: { backend, checkpointUrl: `${origin.url}/ckpt`, temperature: 1 },
        hardwareConcurrency: key === 'wasm-mt' && args['wasm-threads'] ? 2 * Number(args['wasm-threads']) : undefined,
      });
    }
  }
  if (want('tunesmith')) {
    const tunesmith = (model, backend, temperature) => ({
      key: `${model}-${backend}${temperature ? '' : '-greedy'}`, name: `tunesmith ${backend}`, side: 'tunesmith', model, backend, server,
      url: `${server.url}/bench/tunesmith.html`, api: 'benchTunesmith', opts: { backend, model, temperature },
    });
    for (const model of ['basic_rnn', ...list(args.models)]) {
      for (const backend of list(args.tunesmith)) {
        rows.push(tunesmith(model, backend, 1));
        // Like for like with tfjs-wasm, which can only decode greedily: temperature 0.
        if (model === 'basic_rnn' && backend === 'cpu') rows.push(tunesmith(model, backend, 0));
      }
    }
  }
  for (const key of list(args.anchors)) {
    const a = ANCHORS[key];
    if (!a) throw new Error(`--anchors ${key}: expected ${Object.keys(ANCHORS).join(', ')}`);
    if (!want(a.side)) continue;
    const origin = a.isolated ? isolated : server;
    rows.push({
      key, name: a.name, side: a.side, model: 'basic_rnn', server: origin,
      url: `${origin.url}/bench/${a.page}.html`, api: API[a.page], opts: { ...a.opts, temperature: 1 },
    });
  }
  return rows.map((r) => ({ ...r, runs: [] }));
}

/**
 * Navigation → first 8-bar melody on the real page, in a fresh context (empty cache). A script
 * in the page clicks Generate the moment the page says it is ready (a person's reaction time
 * is not the app's), and the app's own performance marks give the times: a test driver's
 * polling would add hundreds of milliseconds that no user sees.
 */
async function firstMelody(browser, server) {
  // No service worker: it registers after the first melody and then fills its offline cache
  // (the whole bundle, both weight files), which is not the first melody's transfer.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  await context.addInitScript(() => {
    new MutationObserver(() => {
      const element = document.querySelector('tunesmith-generator');
      if (element?.getAttribute('state') === 'ready' && !window.clickedGenerate) {
        window.clickedGenerate = true;
        element.generate();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['state'] });
  });
  const page = await context.newPage();
  try {
    const first = server.requests.length;
    await page.goto(`${server.url}/index.html`);
    await page.waitForSelector('tunesmith-generator[state="done"]', { timeout: 120_000 });
    const melody = await page.evaluate(() => window.tunesmith.element.melody);
    const bars = melody.totalSteps / melody.stepsPerBar;
    if (bars !== 8) throw new Error(`the first melody has ${bars} bars, not 8`);
    const mark = (name) => page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime, name);
    const ms = await mark('tunesmith:first-melody');
    const readyMs = await mark('tunesmith:ready');
    const { backend } = melody;
    // Where the time goes: the page's own timeline (navigation and resource timing) and, for
    // what the worker fetches, which the page's timeline does not see, the server's log.
    const timeline = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const lite = performance.getEntriesByType('resource').find((r) => r.name.endsWith('/tunesmith-lite_bg.wasm'));
      return { html: nav.responseEnd, scripts: nav.domContentLoadedEventEnd, wasm: lite?.responseEnd ?? null, origin: performance.timeOrigin };
    });
    const asked = (test) => server.requests.slice(first).find((r) => test(r.path));
    const model = asked((p) => p.startsWith('/models/'));
    const worker = asked((p) => p.endsWith('/worker.js'));
    // What was asked for before the melody was on show (server and browser share a clock): not
    // what the page fetches after it (abcjs for the staff notation, the full wasm module that
    // 'auto' times WebGPU with), which the first melody never waits for; nor the harness.
    const shownAt = (await page.evaluate(() => performance.timeOrigin)) + ms;
    const before = server.requests.slice(first).filter((r) => r.at <= shownAt);
    const files = (await gzipSizes(before)).filter((f) => !f.path.startsWith('/bench/') && !f.path.startsWith('/www/vendor/'));
    const after = [...new Set(server.requests.slice(first).filter((r) => r.at > shownAt && !r.path.startsWith('/bench/')).map((r) => r.path))];
    const since = (r) => (r ? r.at - timeline.origin : null);
    const stages = { ...timeline, worker: since(worker), model: since(model), modelFile: model?.path ?? null };
    return { ms, readyMs, backend, files, transfer: total(files), after, stages };
  } finally {
    await context.close();
  }
}

/**
 * Navigation → Magenta.js's first 8-bar melody, measured the same way in a fresh context: its
 * library, the basic_rnn checkpoint, TF.js's own backend choice, 128 sampled steps. The harness
 * asks for the melody as soon as the page has loaded, so the figure includes that hand-off.
 */
async function magentaFirstMelody(browser, origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${origin.url}/bench/magenta.html`);
    return await page.evaluate((url) => window.benchMagenta.firstMelody({ checkpointUrl: url, steps: 128 }), `${origin.url}/ckpt`);
  } finally {
    await context.close();
  }
}

const ckptDir = await mkdtemp(join(tmpdir(), 'magenta-basic_rnn-'));
await writeBasicRnnCheckpoint(ckptDir);
const mounts = {
  '/bench/': HERE,
  '/node_modules/': join(TESTS, 'node_modules'),
  '/ckpt/': ckptDir,
  '/': DIST,
};
// No policy here: the harness pages and the peers' bundles were not written for one.
const server = await serveMounts(mounts, { csp: false });
// The same files from a second origin whose pages are cross-origin isolated: only there does
// tfjs-wasm find SharedArrayBuffer and pick its threaded build.
const isolated = await serveMounts(mounts, {
  csp: false,
  headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
});
// With a WebGPU adapter (SwiftShader). WebGL needs no flag: headless Chromium 156 runs ANGLE on
// SwiftShader by itself, so both GPU paths run on the same software rasteriser.
const browser = await launch({ webgpu: true, extra: args.flag });

const start = { date: new Date(), host: host() };
const rows = plannedRows(server, isolated);
try {
  // The machine, browser and adapters first, so a run that dies still says where it ran.
  const infoContext = await browser.newContext();
  const infoPage = await infoContext.newPage();
  await infoPage.goto(`${server.url}/bench/tunesmith.html`);
  const gpu = await gpuInfo(infoPage);
  await infoContext.close();
  console.log(`start ${start.date.toISOString()}: ${showHost(start.host)}; ${start.host.os}`);
  console.log(`browser: Chromium ${browser.version()} (headless); WebGPU adapter: ${gpu.webgpuAdapter ?? 'none'}; WebGL: ${gpu.webglRenderer ?? 'none'}\n`);

  const fail = async (row, e) => {
    row.error = e.message.split('\n')[0] + (row.pageErrors?.length ? `; page errors: ${row.pageErrors.join('; ')}` : '');
    console.error(`${row.name} ${row.model} failed: ${row.error}`);
    await closeRow(row);
  };
  for (const row of rows) {
    const first = row.server.requests.length;
    try {
      await prepare(browser, row);
      if (row.wasm) checkWasmBuild(row, row.server.requests.slice(first));
      if (row.anchor) checkAnchor(row, row.server.requests.slice(first));
      console.error(`${row.name} ${row.model}: ready (${row.detail}), warm-up ${row.warmMs.toFixed(0)} ms; ${row.count} timed runs of ${row.steps} steps to come`);
    } catch (e) {
      await fail(row, e);
    }
    if (row.side === 'magenta') row.files = await gzipSizes(row.server.requests.slice(first));
  }
  // Rounds: every row still due runs once per round.
  for (let round = 1; ; round++) {
    const due = rows.filter((r) => !r.error && r.runs.length < r.count);
    if (!due.length) break;
    for (const row of due) {
      try {
        row.runs.push((await call(row, 'run', row.steps, runTimeoutMs(row.warmMs))).ms);
      } catch (e) {
        await fail(row, e);
      }
    }
    console.error(`round ${round}: ${due.map((r) => `${r.name} ${r.model} ${r.error ? 'failed' : `${r.runs.at(-1).toFixed(0)} ms`}`).join(' · ')}`);
  }
  for (const row of rows) await closeRow(row);

  // How close the CPU row is to this machine's limit: the int8 kernel alone, its rows in cache.
  let kernel = null;
  if (rows.some((r) => r.key === 'basic_rnn-cpu')) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/bench/tunesmith.html`);
      kernel = await page.evaluate(() => window.benchTunesmith.kernelRate());
    } catch (e) {
      kernel = { error: e.message.split('\n')[0] };
    } finally {
      await context.close();
    }
  }

  // Time to first melody: the median of three fresh loads.
  let page = null;
  if (want('tunesmith')) {
    const loads = [];
    for (let i = 0; i < 3; i++) loads.push(await firstMelody(browser, server));
    loads.sort((a, b) => a.ms - b.ms);
    page = { ...loads[1], loadsMs: loads.map((l) => l.ms) };
  }

  let magentaFirst = null;
  if (want('magenta')) {
    try {
      const loads = [];
      for (let i = 0; i < 3; i++) loads.push(await magentaFirstMelody(browser, server));
      loads.sort((a, b) => a.ms - b.ms);
      magentaFirst = { ...loads[1], loadsMs: loads.map((l) => l.ms) };
    } catch (e) {
      magentaFirst = { error: String(e?.message ?? e) };
    }
  }

  // Magenta.js's transfer: its bundle and the checkpoint (not the harness), then the same with
  // the tfjs-wasm backend's script and the one binary each wasm row fetched.
  const magentaTransfer = {};
  const magentaFiles = rows.filter((r) => r.files).flatMap((r) => r.files);
  const base = [...new Map(magentaFiles.filter((f) => /^\/ckpt\/|@magenta\/music\//.test(f.path)).map((f) => [f.path, f])).values()];
  if (base.length) magentaTransfer.base = { ...total(base), files: base };
  for (const key of Object.keys(WASM_BUILDS)) {
    const backend = rows.find((r) => r.key === key && !r.error)?.files.filter((f) => f.path.includes('/tfjs-backend-wasm/'));
    if (base.length && backend?.length) magentaTransfer[key] = { ...total([...base, ...backend]), files: backend };
  }

  const results = rows.map(({ context, page: _page, pageErrors, server: _server, url, api, opts, files, ...r }) => (r.error || !r.runs.length ? r : { ...r, ...summarise(r) }));
  const end = { date: new Date(), host: host() };
  const report = {
    date: start.date.toISOString(),
    minutes: (end.date - start.date) / 60_000,
    chromium: browser.version(),
    host: { ...start.host, loadavg: undefined, loadavgStart: start.host.loadavg, loadavgEnd: end.host.loadavg },
    ...gpu,
    steps,
    results,
    page,
    magentaFirst,
    magentaTransfer,
  };

  const magenta = Object.fromEntries(results.filter((r) => r.side === 'magenta' && r.stepsPerSecond).map((r) => [r.key, r]));
  const pad = (s, n) => String(s).padEnd(n);
  const ratio = (r, m) => (m && r.stepsPerSecond ? `${(r.stepsPerSecond / m.stepsPerSecond).toFixed(2)}×` : '–');
  console.log(`batch 1, after a 16-step primer, ${steps} steps a run (fewer where the steps column says so); ms: the median timed run after a warm-up; rows took turns, one run each per round\n`);
  // Ratio columns: steps/s over each Magenta.js row's; the two tfjs-wasm ones named by build.
  const against = [['cpu', '÷tfjs-cpu'], ['wasm', '÷wasm-simd'], ['wasm-mt', '÷wasm-thr'], ['webgl', '÷tfjs-webgl']];
  const W = 38;
  const header = [pad('engine', W), pad('model', 12), pad('decoding', 9), pad('steps', 6), pad('runs', 5), pad('ms', 8), pad('steps/s', 9), ...against.map(([, h]) => pad(h, 12))];
  console.log(header.join(' ').trimEnd());
  // Why a row decodes greedily, once per distinct reason, as numbered footnotes.
  const notes = [...new Set(results.filter((r) => r.decoding === 'greedy' && r.note).map((r) => r.note))];
  const decoding = (r) => (notes.includes(r.note) ? `${r.decoding}[${notes.indexOf(r.note) + 1}]` : r.decoding);
  for (const r of results) {
    if (!r.stepsPerSecond) {
      console.log([pad(r.name, W), pad(r.model, 12), `failed: ${r.error ?? 'no runs'}`].join(' '));
      continue;
    }
    console.log([
      pad(r.name, W), pad(r.model, 12), pad(decoding(r), 9), pad(r.steps, 6), pad(r.runs.length, 5), pad(r.medianMs.toFixed(0), 8), pad(r.stepsPerSecond.toFixed(1), 9),
      ...against.map(([key]) => pad(ratio(r, magenta[key]), 12)),
    ].join(' ').trimEnd());
  }
  const legend = Object.entries(WASM_BUILDS)
    .map(([key, b]) => [key, b, results.find((r) => r.key === key)?.wasm])
    .filter(([, , w]) => w)
    .map(([key, b, w]) => `${key === 'wasm' ? '÷wasm-simd' : '÷wasm-thr'}: tfjs-wasm's ${b.label.replace('thr-', 'threaded ')} (${b.binary}), ` +
      `${w.crossOriginIsolated ? 'cross-origin-isolated' : 'ordinary'} page, ${w.poolThreads} thread${w.poolThreads > 1 ? 's' : ''} ` +
      `(hardwareConcurrency ${w.hardwareConcurrency}${w.crossOriginIsolated ? '; tfjs 2.7 takes half, 1–4' : ''})`);
  if (legend.length) console.log(`\n${legend.join('\n')}`);
  notes.forEach((n, i) => {
    const who = results.filter((r) => r.note === n && r.stepsPerSecond).map((r) => `${r.name} (${r.model})`).join(' · ');
    console.log(`[${i + 1}] ${who}: ${n}`);
  });
  // Today's anchors: what each ran on, and how far its logits are from the float64 reference.
  const anchors = results.filter((r) => r.anchor);
  if (anchors.length) {
    console.log(`\nanchors: max |logit − float64 JS reference| over ${anchors[0].anchor.checkSteps} steps (the primer, then 4 fixed classes), same seeded weights:`);
    for (const r of anchors) console.log(`  ${pad(r.name, W)} ${r.anchor.maxDiff.toExponential(1)}  ${r.detail}`);
  }
  // tunesmith's basic_rnn rows (sampled) ÷ the best anchor of each kind, in steps/s.
  const timed = Object.fromEntries(results.filter((r) => r.stepsPerSecond).map((r) => [r.key, r]));
  const planned = new Set(results.map((r) => r.key));
  const best = (keys) => keys.map((k) => timed[k]).filter(Boolean).sort((a, b) => b.stepsPerSecond - a.stepsPerSecond)[0];
  const anchorRatios = [
    ['tunesmith CPU ÷ best ONNX Runtime Web wasm', 'basic_rnn-cpu', ['ort-wasm', 'ort-wasm2']],
    ['tunesmith WebGPU ÷ ONNX Runtime Web WebGPU EP', 'basic_rnn-webgpu', ['ort-webgpu']],
    ['tunesmith CPU ÷ TF.js 4.22 wasm', 'basic_rnn-cpu', ['tfjs-wasm']],
    ['tunesmith WebGPU ÷ TF.js 4.22 webgpu', 'basic_rnn-webgpu', ['tfjs-webgpu']],
  ].filter(([, ours, theirs]) => planned.has(ours) && theirs.some((k) => planned.has(k)))
    .map(([label, ours, theirs]) => {
      const a = timed[ours];
      const b = best(theirs);
      return { label, ratio: a && b ? a.stepsPerSecond / b.stepsPerSecond : null, ours: a?.name, theirs: b?.name, oursSps: a?.stepsPerSecond, theirsSps: b?.stepsPerSecond };
    });
  if (anchorRatios.length) console.log('');
  for (const x of anchorRatios) {
    console.log(x.ratio === null
      ? `${x.label}: – (${x.ours ? `no timed ${x.label.split(' ÷ ')[1].replace('best ', '')} row` : 'no timed tunesmith row'})`
      : `${x.label}: ${x.ratio.toFixed(2)}× (${x.ours} ${x.oursSps.toFixed(1)} steps/s ÷ ${x.theirs} ${x.theirsSps.toFixed(1)} steps/s; basic_rnn, sampled)`);
  }
  report.anchorRatios = anchorRatios;
  // Multiply-adds a step of basic_rnn on the int8 engine: each layer's gates (4H rows) over its
  // matvec input (layer 0: its own h, its token's row is a table lookup; above: h below and its
  // own), then the head (38 classes × H).
  const H = 512;
  const basicRnnMacs = 4 * H * H + 4 * H * 2 * H + 38 * H;
  if (kernel?.error) console.log(`int8 kernel alone: failed: ${kernel.error}`);
  else if (kernel) {
    const cpu = timed['basic_rnn-cpu'];
    const reached = cpu ? cpu.stepsPerSecond * basicRnnMacs : null;
    console.log(`int8 kernel alone, rows in the L1 cache: ${(kernel.macsPerSecond / 1e9).toFixed(2)} G multiply-adds/s` +
      (reached ? `; tunesmith CPU on basic_rnn: ${cpu.stepsPerSecond.toFixed(1)} steps/s × ${(basicRnnMacs / 1e6).toFixed(2)} M a step = ${(reached / 1e9).toFixed(2)} G/s, ${((100 * reached) / kernel.macsPerSecond).toFixed(0)}% of the kernel's rate` : ''));
    report.kernel = { ...kernel, basicRnnMacs, reached };
  }
  const mb = (b) => (b / 1e6).toFixed(2);
  if (page) {
    console.log(`\ntime to first 8-bar melody (navigation → melody on the page, empty cache): ${page.ms.toFixed(0)} ms on ${page.backend} (ready to generate at ${page.readyMs.toFixed(0)} ms; median of ${page.loadsMs.map((x) => x.toFixed(0)).join(', ')} ms)`);
    const s = page.stages;
    const at = (x) => (x === null ? '–' : `${x.toFixed(0)} ms`);
    console.log(`  where the time goes (that load): HTML received at ${at(s.html)}; the page's scripts run by ${at(s.scripts)}; the lite wasm downloaded by ${at(s.wasm)} (compiled on arrival); the worker's script asked for at ${at(s.worker)}; the worker asked for ${s.modelFile ?? 'no model file'} at ${at(s.model)}; ready at ${at(page.readyMs)} (module instantiated, weights parsed); the melody on the page ${(page.ms - page.readyMs).toFixed(0)} ms later`);
    console.log(`page transfer: ${mb(page.transfer.gzip)} MB gzip (${mb(page.transfer.raw)} MB raw) in ${page.files.length} files`);
    for (const f of page.files.sort((a, b) => b.gzip - a.gzip)) console.log(`  ${pad(f.path, 32)} ${pad(f.raw, 10)} → ${f.gzip} B gzip`);
    if (page.after.length) console.log(`  fetched after the first melody (not counted): ${page.after.join(', ')}`);
  }
  if (magentaFirst?.error) console.log(`Magenta.js time to first 8-bar melody: failed: ${magentaFirst.error}`);
  else if (magentaFirst) {
    const ratio = page ? ` → tunesmith ÷ Magenta.js: ${(page.ms / magentaFirst.ms).toFixed(3)}× (target ≤ 0.1×)` : '';
    console.log(`Magenta.js time to first 8-bar melody (navigation → melody, empty cache, TF.js's own backend: ${magentaFirst.backend}): ${magentaFirst.ms.toFixed(0)} ms (median of ${magentaFirst.loadsMs.map((x) => x.toFixed(0)).join(', ')} ms)${ratio}`);
  }
  // Magenta's side, gzip -9 like ours: the harness page is left out, our page's HTML and UI are in.
  const name = (f) => f.path.split('/').pop();
  const versus = (t) => (page ? ` (${(t.gzip / page.transfer.gzip).toFixed(1)}× ours)` : '');
  const variants = [
    ['base', 'Magenta.js + basic_rnn checkpoint'],
    ['wasm', '  + tfjs-wasm, SIMD build'],
    ['wasm-mt', '  + tfjs-wasm, threaded SIMD build'],
  ].filter(([key]) => magentaTransfer[key]);
  if (variants.length) console.log(`${page ? '' : '\n'}Magenta.js transfer (gzip; its page's own HTML not counted):`);
  for (const [key, label] of variants) {
    const t = magentaTransfer[key];
    console.log(`${pad(label, 36)} ${mb(t.gzip)} MB gzip (${mb(t.raw)} MB raw)${versus(t)}: ${t.files.map(name).join(' + ')}`);
  }
  console.log(`\nend ${end.date.toISOString()} (${report.minutes.toFixed(1)} min): ${showHost(end.host)}; ` +
    `Chromium ${report.chromium}, WebGPU adapter ${report.webgpuAdapter ?? 'none'}`);
  if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
} finally {
  for (const row of rows) await closeRow(row);
  await browser.close();
  server.close();
  isolated.close();
  await rm(ckptDir, { recursive: true, force: true });
}
