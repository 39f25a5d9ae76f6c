// Soak: many generations in one page — both models, both backends, 1–16 bars, with and without
// primers — measuring the worker's wasm memory and the page's JS heap after a warm-up, and
// printing their growth beside the targets. A measurement, not a test: `./dev soak`.
//
//   node tests/soak.mjs [--runs 1000] [--warmup 50]

import { parseArgs } from 'node:util';
import { launch } from './testkit.mjs';
import { serveMounts } from './server.mjs';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '50' } },
});
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const DIST = new URL('../dist', import.meta.url).pathname;

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

// Least-squares slope of wasm memory per 100 generations.
const n = samples.length;
const mx = samples.reduce((s, [x]) => s + x, 0) / n;
const my = samples.reduce((s, [, y]) => s + y, 0) / n;
const slope = samples.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / samples.reduce((s, [x]) => s + (x - mx) ** 2, 0) || 0;
const mib = (b) => (b / 2 ** 20).toFixed(3);
console.log(`${RUNS} generations after ${WARMUP} to warm up, in ${((Date.now() - started) / 1000).toFixed(0)} s (LSTM and Transformer, CPU and WebGPU, 1–16 bars, every fourth with a primer)`);
console.log(`wasm memory: ${mib(samples[0]?.[1] ?? 0)} → ${mib(samples.at(-1)?.[1] ?? 0)} MiB; slope ${mib(slope * 100)} MiB per 100 generations (target < 1)`);
console.log(`page JS heap: ${mib(heapStart)} → ${mib(heapEnd)} MiB; growth ${mib(heapEnd - heapStart)} MiB over the run (target < 5)`);
if (problems.length) console.log(`page errors: ${problems.join('; ')}`);
