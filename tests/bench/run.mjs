// tunesmith against Magenta.js, side by side in one headless Debian Chromium session:
//   node tests/bench/run.mjs [--steps 256] [--runs 5] [--json out.json] [--only magenta|tunesmith]
//                            [--magenta cpu,wasm,webgl] [--models lstm,transformer] [--flag=--x ...]
// (`./dev bench` builds the bundle first and runs this.)
//
// The work: continue a one-bar primer (C4 E4 G4 C5) by 256 steps at batch 1, sampling at
// temperature 1 (tfjs-wasm has no multinomial kernel, so it decodes greedily). Both sides run a
// 2 × 512 LSTM over 38 classes (Magenta's basic_rnn shape) with random weights, since speed does
// not depend on the values; tunesmith's shipped models are measured too. It also measures the
// real page: time from navigation to the first 8-bar melody, and the gzip bytes it loads.
// Everything is served from 127.0.0.1; the basic_rnn checkpoint is written into a temp dir.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { launch } from '../browser.mjs';
import { writeBasicRnnCheckpoint } from './checkpoint.mjs';
import { serveMounts } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TESTS = dirname(HERE);
const DIST = join(dirname(TESTS), 'dist');


const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '256' },
    runs: { type: 'string', default: '5' },
    magenta: { type: 'string', default: 'cpu,wasm,webgl' },
    tunesmith: { type: 'string', default: 'cpu,webgpu' },
    models: { type: 'string', default: 'lstm,transformer' },
    only: { type: 'string' },
    json: { type: 'string' },
    // Extra Chromium switches for experiments (repeatable).
    flag: { type: 'string', multiple: true, default: [] },
  },
});
const steps = Number(args.steps);
const runs = Number(args.runs);
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** WebGL renderer and WebGPU adapter, as a page sees them. */
async function gpuInfo(page) {
  return page.evaluate(async () => {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    const dbg = gl?.getExtension('WEBGL_debug_renderer_info');
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    return {
      webglRenderer: gl ? gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null,
      webgpuAdapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : null,
    };
  });
}

/** Adds the median of a result's runs and the steps per second it means. */
function summarise(r) {
  const sorted = [...r.runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { ...r, medianMs, stepsPerSecond: r.steps / (medianMs / 1000) };
}

/** gzip -9 size of each file a page loaded (what a compressing server sends), by URL path. */
const gzipCache = new Map();
async function gzipSizes(requests) {
  const out = new Map();
  for (const { path, file, status } of requests) {
    if (status !== 200 || out.has(path)) continue;
    if (!gzipCache.has(path)) {
      const body = await readFile(file);
      gzipCache.set(path, { path, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
    }
    out.set(path, gzipCache.get(path));
  }
  return [...out.values()];
}
const total = (files) => files.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });

/** Runs `fn(page)` in a fresh page (no GL context, wasm heap or tensors left from the last run). */
async function inPage(browser, url, ready, fn) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.waitForFunction(ready);
    return await fn(page);
  } catch (e) {
    throw new Error(`${e.message}${errors.length ? `\npage errors: ${errors.join('; ')}` : ''}`);
  } finally {
    await page.close();
  }
}

/**
 * Navigation → first 8-bar melody on the real page, in a fresh context (empty cache). A script
 * in the page clicks Generate the moment the page says it is ready (a person's reaction time
 * is not the app's), and the app's own performance marks give the times: a test driver's
 * polling would add hundreds of milliseconds that no user sees.
 */
async function firstMelody(browser, server) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    new MutationObserver(() => {
      if (document.body?.dataset.state === 'ready' && !window.clickedGenerate) {
        window.clickedGenerate = true;
        document.querySelector('#generate').click();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  const page = await context.newPage();
  try {
    const first = server.requests.length;
    await page.goto(`${server.url}/index.html`);
    await page.waitForSelector('body[data-state="done"]', { timeout: 120_000 });
    const bars = await page.evaluate(() => window.tunesmith.melody.totalSteps / window.tunesmith.melody.stepsPerBar);
    if (bars !== 8) throw new Error(`the first melody has ${bars} bars, not 8`);
    const mark = (name) => page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime, name);
    const ms = await mark('tunesmith:first-melody');
    const readyMs = await mark('tunesmith:ready');
    const backend = await page.getAttribute('body', 'data-backend');
    const files = (await gzipSizes(server.requests.slice(first))).filter((f) => !f.path.startsWith('/bench/'));
    return { ms, readyMs, backend, files, transfer: total(files) };
  } finally {
    await context.close();
  }
}

const ckptDir = await mkdtemp(join(tmpdir(), 'magenta-basic_rnn-'));
const ckpt = await writeBasicRnnCheckpoint(ckptDir);
const server = await serveMounts({
  '/bench/': HERE,
  '/node_modules/': join(TESTS, 'node_modules'),
  '/ckpt/': ckptDir,
  '/': DIST,
});
// With a WebGPU adapter (SwiftShader). WebGL needs no flag: headless Chromium 156 runs ANGLE on
// SwiftShader by itself, so both GPU paths run on the same software rasteriser.
const browser = await launch({ webgpu: true, extra: args.flag });

const loadBefore = loadavg()[0];
try {
  const results = [];
  let magentaFiles = [];
  let gpu;
  const note = (r) => console.error(`${r.name}: ${r.runs.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${r.medianMs.toFixed(0)}) — ${r.detail}`);

  if (args.only !== 'tunesmith') {
    for (const backend of list(args.magenta)) {
      const first = server.requests.length;
      const r = await inPage(browser, `${server.url}/bench/magenta.html`, () => typeof window.benchMagenta === 'function', async (page) => {
        gpu ??= await gpuInfo(page);
        return page.evaluate((o) => window.benchMagenta(o), { backend, steps, runs, checkpointUrl: `${server.url}/ckpt`, temperature: 1 });
      });
      magentaFiles.push(...(await gzipSizes(server.requests.slice(first))));
      results.push(summarise({ name: `magenta tfjs-${backend}`, side: 'magenta', model: 'basic_rnn', ...r }));
      note(results.at(-1));
    }
  }
  if (args.only !== 'magenta') {
    const cases = [['basic_rnn', list(args.tunesmith)], ...list(args.models).map((m) => [m, list(args.tunesmith)])];
    for (const [model, backends] of cases) {
      for (const backend of backends) {
        try {
          const r = await inPage(browser, `${server.url}/bench/tunesmith.html`, () => typeof window.benchTunesmith === 'function', async (page) => {
            gpu ??= await gpuInfo(page);
            return page.evaluate((o) => window.benchTunesmith(o), { backend, model, steps, runs, temperature: 1 });
          });
          results.push(summarise({ name: `tunesmith ${backend}`, side: 'tunesmith', ...r }));
          note(results.at(-1));
        } catch (e) {
          console.error(`tunesmith ${backend} ${model} failed: ${e.message}`);
          results.push({ name: `tunesmith ${backend}`, side: 'tunesmith', backend, model, error: e.message });
        }
      }
    }
  }
  // Time to first melody: the median of three fresh loads.
  let page = null;
  if (args.only !== 'magenta') {
    const loads = [];
    for (let i = 0; i < 3; i++) loads.push(await firstMelody(browser, server));
    loads.sort((a, b) => a.ms - b.ms);
    page = { ...loads[1], loadsMs: loads.map((l) => l.ms) };
  }

  // Magenta.js's transfer: its bundle and the checkpoint (not the harness, not the optional wasm backend).
  magentaFiles = [...new Map(magentaFiles.map((f) => [f.path, f])).values()];
  const magentaTransfer = total(magentaFiles.filter((f) => /^\/ckpt\/|@magenta\/music\//.test(f.path)));

  const report = {
    date: new Date().toISOString(),
    chromium: browser.version(),
    host: { cpus: cpus().length, loadBefore, loadAfter: loadavg()[0] },
    ...gpu,
    steps,
    results,
    page,
    magentaTransfer,
  };

  const magenta = Object.fromEntries(results.filter((r) => r.side === 'magenta').map((r) => [r.backend, r]));
  const pad = (s, n) => String(s).padEnd(n);
  const ratio = (r, m) => (m && r.stepsPerSecond ? `${(r.stepsPerSecond / m.stepsPerSecond).toFixed(2)}×` : '–');
  console.log(`Chromium ${report.chromium}, ${report.host.cpus} CPUs, load ${loadBefore.toFixed(1)} → ${report.host.loadAfter.toFixed(1)}`);
  console.log(`WebGL: ${report.webglRenderer}; WebGPU: ${report.webgpuAdapter}`);
  console.log(`${steps} steps after a 16-step primer, batch 1, median of up to ${runs} runs after a warm-up (fewer where runs are slow)\n`);
  const header = [pad('engine', 32), pad('model', 12), pad('decoding', 9), pad('ms', 8), pad('steps/s', 9), pad('÷cpu', 8), pad('÷wasm', 8), '÷webgl'];
  console.log(header.join(' '));
  for (const r of results) {
    const name = r.side === 'tunesmith' && r.engine ? `tunesmith ${r.engine}` : r.name;
    if (r.error) {
      console.log([pad(name, 32), pad(r.model, 12), `failed: ${r.error.split('\n')[0]}`].join(' '));
      continue;
    }
    console.log([
      pad(name, 32), pad(r.model, 12), pad(r.decoding, 9), pad(r.medianMs.toFixed(0), 8), pad(r.stepsPerSecond.toFixed(1), 9),
      pad(ratio(r, magenta.cpu), 8), pad(ratio(r, magenta.wasm), 8), ratio(r, magenta.webgl),
    ].join(' '));
  }
  if (page) {
    const mb = (b) => (b / 1e6).toFixed(2);
    console.log(`\ntime to first 8-bar melody (navigation → melody on the page, empty cache): ${page.ms.toFixed(0)} ms on ${page.backend} (ready to generate at ${page.readyMs.toFixed(0)} ms; median of ${page.loadsMs.map((x) => x.toFixed(0)).join(', ')} ms)`);
    console.log(`page transfer: ${mb(page.transfer.gzip)} MB gzip (${mb(page.transfer.raw)} MB raw) in ${page.files.length} files` +
      (magentaTransfer.gzip ? `; Magenta.js + basic_rnn: ${mb(magentaTransfer.gzip)} MB gzip (${(magentaTransfer.gzip / page.transfer.gzip).toFixed(1)}× ours)` : ''));
    for (const f of page.files.sort((a, b) => b.gzip - a.gzip)) console.log(`  ${pad(f.path, 32)} ${pad(f.raw, 10)} → ${f.gzip} B gzip`);
  }
  if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
} finally {
  await browser.close();
  server.close();
  await rm(ckptDir, { recursive: true, force: true });
}
