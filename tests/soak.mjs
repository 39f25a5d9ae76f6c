// Soak: many generations in one page — both models, both backends, 1–16 bars, with and without
// primers — measuring the worker's wasm memory and the page's JS heap after a warm-up, and
// printing their growth beside the targets. A measurement, not a test: `./dev soak`.
// With --endless MINUTES, instead: endless play for that many minutes of audio clock (at 400 bpm,
// a new part every 2.4 s), with the same two memories measured each minute, and every note's lead
// (how long before it sounds it was scheduled) checked against 200 ms.
//
//   node tests/soak.mjs [--runs 1000] [--warmup 50]
//   node tests/soak.mjs --endless 30 [--dist DIR]   (DIR: a copy of the bundle, so a rebuild meanwhile does not touch it)

import { parseArgs } from 'node:util';
import { launch } from './testkit.mjs';
import { serveMounts } from './server.mjs';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '50' }, endless: { type: 'string' }, dist: { type: 'string' } },
});
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const DIST = args.dist ?? new URL('../dist', import.meta.url).pathname;

const server = await serveMounts({ '/': DIST });
const browser = await launch({ webgpu: true });
const page = await browser.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(e.message));
await page.goto(`${server.url}/`);
await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: 240_000 });
const cdp = await page.context().newCDPSession(page);

/** The page's JS heap after a full collection, in bytes. */
async function jsHeap() {
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

/** Generation i's request: a fixed, varied cycle (the Transformer on WebGPU is too slow on a software adapter to take part). */
function job(i) {
  const model = i % 3 === 2 ? 'transformer' : 'lstm';
  const backend = model === 'lstm' && i % 10 === 7 ? 'webgpu' : 'cpu';
  const bars = [1, 2, 4, 8, 16][i % 5];
  const primer = i % 4 === 1 ? Array.from({ length: 8 + (i % 24) }, (_, k) => ({ pitch: 60 + ((k * 7) % 12), onset: 2 * k, duration: 2 })) : [];
  return { model, backend, request: { bars: backend === 'webgpu' ? 2 : bars, seed: i, primer } };
}

/** Least-squares slope of [x, y] samples. */
function slopeOf(samples) {
  const n = samples.length;
  const mx = samples.reduce((s, [x]) => s + x, 0) / n;
  const my = samples.reduce((s, [, y]) => s + y, 0) / n;
  return samples.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / samples.reduce((s, [x]) => s + (x - mx) ** 2, 0) || 0;
}
const mib = (b) => (b / 2 ** 20).toFixed(3);

if (args.endless) {
  const minutes = Number(args.endless);
  await page.evaluate(() => {
    const el = window.tunesmith.element;
    // The default length (8 bars, 4.8 s here): the first part is asked for at once, while the
    // worker may still be timing WebGPU for 'automatic'.
    Object.assign(el, { tempo: 400, bars: 8, seed: 1, candidates: 1, endless: true });
    window.soak = { parts: 0, notes: 0, late: 0, minLead: Infinity, gaps: 0 };
    el.addEventListener('endless', (e) => {
      window.soak.parts++;
      window.soak.gaps = e.detail.gaps;
    });
    el.addEventListener('note', (e) => {
      const s = window.soak;
      s.notes++;
      if (e.detail.time - s.started > 0.5) {
        s.minLead = Math.min(s.minLead, e.detail.lead);
        if (e.detail.lead < 0.2) s.late++;
      }
      s.started ??= e.detail.time;
    });
  });
  await page.evaluate(() => window.tunesmith.element.generate());
  await page.evaluate(() => window.tunesmith.element.play());
  const clock = () => page.evaluate(async () => (await import('/www/synth.js')).audioContext().currentTime);
  const start = await clock();
  const wasm = [];
  const heap = [];
  for (let minute = 1; minute <= minutes; minute++) {
    while ((await clock()) - start < 60 * minute) await page.waitForTimeout(5_000);
    const { wasmBytes } = await page.evaluate(() => window.tunesmith.client.stats());
    wasm.push([minute, wasmBytes]);
    heap.push([minute, await jsHeap()]);
    const s = await page.evaluate(() => window.soak);
    process.stderr.write(`${minute} min: ${s.parts} parts, ${s.notes} notes, wasm ${mib(wasmBytes)} MiB, heap ${mib(heap.at(-1)[1])} MiB\n`);
  }
  const s = await page.evaluate(() => ({ ...window.soak, playing: window.tunesmith.element.playing }));
  await browser.close();
  server.close();
  console.log(`endless play: ${minutes} min of audio clock at 400 bpm: ${s.parts} parts of 4 bars, ${s.notes} notes, still playing: ${s.playing}`);
  console.log(`parts that came too late to follow on (a gap): ${s.gaps} (target 0); notes scheduled under 200 ms before they sound: ${s.late} (shortest lead ${(s.minLead * 1000).toFixed(0)} ms; target 0)`);
  console.log(`wasm memory: ${mib(wasm[0][1])} → ${mib(wasm.at(-1)[1])} MiB; slope ${mib(slopeOf(wasm))} MiB a minute`);
  console.log(`page JS heap: ${mib(heap[0][1])} → ${mib(heap.at(-1)[1])} MiB; slope ${mib(slopeOf(heap))} MiB a minute`);
  if (problems.length) console.log(`page errors: ${problems.join('; ')}`);
  process.exit(0);
}

const samples = []; // [generation, wasmBytes]
let heapStart = 0;
const started = Date.now();
for (let i = 0; i < WARMUP + RUNS; i++) {
  await page.evaluate((m) => window.tunesmith.client.generate(m).then(() => null), job(i));
  const done = i + 1 - WARMUP;
  if (done === 0) heapStart = await jsHeap();
  if (done >= 0 && done % 100 === 0) {
    const { wasmBytes } = await page.evaluate(() => window.tunesmith.client.stats());
    samples.push([done, wasmBytes]);
    process.stderr.write(`${done} generations: wasm ${(wasmBytes / 2 ** 20).toFixed(2)} MiB\n`);
  }
}
const heapEnd = await jsHeap();
await browser.close();
server.close();

const slope = slopeOf(samples);
console.log(`${RUNS} generations after ${WARMUP} to warm up, in ${((Date.now() - started) / 1000).toFixed(0)} s (LSTM and Transformer, CPU and WebGPU, 1–16 bars, every fourth with a primer)`);
console.log(`wasm memory: ${mib(samples[0]?.[1] ?? 0)} → ${mib(samples.at(-1)?.[1] ?? 0)} MiB; slope ${mib(slope * 100)} MiB per 100 generations (target < 1)`);
console.log(`page JS heap: ${mib(heapStart)} → ${mib(heapEnd)} MiB; growth ${mib(heapEnd - heapStart)} MiB over the run (target < 5)`);
if (problems.length) console.log(`page errors: ${problems.join('; ')}`);
