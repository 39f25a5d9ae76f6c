// tunesmith half of the benchmark: the same work as magenta.js (continue the C4 E4 G4 C5 primer,
// one bar of 16 steps, by 256 steps at batch 1, sampling on), timed around the wasm `generate`
// call, which returns only after the whole melody is back on the host.

import init, * as wasm from '/tunesmith.js';

// [pitch, onset, duration] in 16th steps: the primer magenta.js uses.
const PRIMER = new Uint32Array([60, 0, 4, 64, 4, 4, 67, 8, 4, 72, 12, 4]);
// Magenta's basic_rnn: 2 LSTM layers of 512 units over MIDI 48–83 (36 pitches + 2 = 38 classes).
export const BASIC_RNN = { arch: 'lstm', range: { lo: 48, hi: 83 }, embed: 38, hidden: 512, layers: 2, dropout: 0 };

/** Fewer runs where one takes long (software WebGPU through Burn): at most ~60 s of runs. */
const affordable = (runs, ms) => Math.max(1, Math.min(runs, Math.floor(60_000 / ms)));

let ready = null;
let webgpu = null;

/**
 * opts: {backend: 'cpu'|'webgpu', model: 'basic_rnn' | name of a shipped model, steps = 256,
 * runs = 5, temperature = 1}.
 */
window.benchTunesmith = async function benchTunesmith({ backend, model = 'basic_rnn', steps = 256, runs = 5, temperature = 1 }) {
  ready ??= init();
  await ready;
  if (backend === 'webgpu') {
    webgpu ??= wasm.init_webgpu();
    await webgpu;
  }
  if (steps % 16) throw new Error('steps must be whole 4/4 bars (a multiple of 16)');
  const name = `${model}-${backend}`;
  if (model === 'basic_rnn') {
    await wasm.load_random_model(name, JSON.stringify(BASIC_RNN), backend, 1);
  } else {
    // As the page's worker does: an LSTM ships packed (int8), other models as burnpack.
    const spec = await fetch(`/models/${model}.json`).then((r) => r.text());
    const packed = JSON.parse(spec).arch === 'lstm';
    const weights = await fetch(`/models/${model}.${packed ? 'pack' : 'bpk'}`).then((r) => r.arrayBuffer());
    await (packed ? wasm.load_packed : wasm.load_model)(name, spec, new Uint8Array(weights), backend);
  }
  let seed = 1;
  const once = async () => {
    const t0 = performance.now();
    const g = await wasm.generate(name, backend, steps / 16, temperature, seed++, 120, '4/4', 'C', '', PRIMER);
    const ms = performance.now() - t0;
    const total = g.totalSteps;
    const engine = g.engine;
    g.free();
    if (total !== steps + 16) throw new Error(`got ${total} steps, asked ${steps} after a 16-step primer`);
    return { ms, engine };
  };
  const { engine, ms: warmMs } = await once(); // warm-up: shader compilation (WebGPU), JIT
  // A warm-up past a minute (Burn's kernels on software WebGPU) is the one figure there is.
  const slow = warmMs > 60_000;
  const times = slow ? [warmMs] : [];
  const count = slow ? 0 : affordable(runs, warmMs);
  for (let i = 0; i < count; i++) times.push((await once()).ms);
  return {
    backend,
    model,
    engine,
    steps,
    runs: times,
    decoding: temperature ? 'sampled' : 'greedy',
    detail: `tunesmith ${engine}; ${model}; primer 16 steps (C4 E4 G4 C5); temperature ${temperature}` +
      (slow ? '; one run, shader compilation included' : ''),
  };
};
