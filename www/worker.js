// The model's home: a module Web Worker, so generation never blocks the page.
//
// Protocol (requests carry an `id`; replies echo it):
//   in   {type:'wasm', module}                               the compiled WebAssembly.Module if the
//        page compiled it, else null (then the worker fetches it); always sent, before or after init
//   in   {type:'init', id, model}                            → {type:'ready', id, backends}
//   in   {type:'generate', id, model, backend, options}      → {type:'done', id, result}
//   out  {type:'error', id, message} on failure.
//   out  {type:'webgpu', status}                             (no id) true, or why WebGPU can't be
//        used here, once known (after 'ready': starting WebGPU must not delay the first melody).
//   out  {type:'backend', model, backend, cpuMs, webgpuMs, estimatedFrom}   (no id) what 'auto'
//        now picks for a model, once both backends have been timed on this device (`estimatedFrom`:
//        the lengths in steps of the short WebGPU runs its time was extrapolated from, when WebGPU
//        was too slow to be worth timing in full; null when it was), or {type:'backend', model,
//        backend:'cpu', error} when WebGPU failed for that model and 'auto' went back to the CPU.
// `backends` is {cpu: true, webgpu: true | "why not" | "pending"}. `backend` may be 'auto', 'cpu' or 'webgpu'.
//
// 'auto' starts on the CPU, which is ready first (no shaders to compile). After the first
// generation with a model, the worker times that model on both backends and moves 'auto' to
// WebGPU only if WebGPU measured faster here. If a WebGPU generation under 'auto' fails, that
// model goes back to the CPU and the generation is retried there.

import init, * as wasm from '../tunesmith.js';

// The page may hand over the wasm module, already compiled while its own scripts loaded (see
// index.html); otherwise wasm-bindgen fetches and compiles it here.
let startWasm;
const wasmReady = new Promise((resolve) => (startWasm = resolve)).then((module) =>
  init(module ? { module_or_path: module } : undefined),
);
const modelFiles = new Map(); // name → Promise<{spec, weights}>
const loaded = new Map(); // `${name}/${backend}` → Promise<void>
let webgpu = null; // Promise<true | string>
let queue = Promise.resolve(); // the tail of the work queue (see enqueue)
const calibrations = new Map(); // model → Promise<'cpu' | 'webgpu'>
const autoChoice = new Map(); // model → 'cpu' | 'webgpu'
// The timing probe: long enough that per-call overheads don't decide, short enough to be cheap.
const PROBE = { bars: 4, temperature: 1, seed: 0, bpm: 120, meter: '4/4' };
const PROBE_STEPS = 64; // 4 bars of 4/4
// WebGPU's three probe runs are skipped when short runs put one past this and past twice the
// CPU's: WebGPU loses, and confirming it would take minutes (the Transformer on a software
// adapter, through Burn's general kernels: seconds a step).
const SLOW_PROBE_MS = 2000;

const post = (msg, transfer) => postMessage(msg, transfer ?? []);

/** The model's spec and weights: an LSTM ships packed (`.pack`, int8), others as `.bpk`. */
function fetchModel(name) {
  if (!/^[a-z0-9_-]+$/.test(name)) throw new Error(`Unknown model "${name}".`);
  if (!modelFiles.has(name)) {
    const base = new URL(`../models/${name}`, import.meta.url);
    const get = async (ext) => {
      const r = await fetch(`${base}.${ext}`);
      if (!r.ok) throw new Error(`Could not load the ${name} model (${ext}): HTTP ${r.status}.`);
      return r;
    };
    const files = (async () => {
      const spec = await (await get('json')).text();
      const format = JSON.parse(spec).arch === 'lstm' ? 'pack' : 'bpk';
      const weights = new Uint8Array(await (await get(format)).arrayBuffer());
      return { spec, format, weights };
    })();
    files.catch(() => modelFiles.delete(name)); // a failed download can be retried
    modelFiles.set(name, files);
  }
  return modelFiles.get(name);
}

const WEBGPU_DELAY_MS = 1500;

/** Resolves to true, or to a sentence saying why WebGPU cannot be used here (and tells the page). */
function startWebGpu() {
  if (!webgpu) {
    webgpu = findWebGpu();
    webgpu.then((status) => post({ type: 'webgpu', status }));
  }
  return webgpu;
}

async function findWebGpu() {
  if (!('gpu' in navigator)) return 'this browser has no WebGPU';
  // Ask before wasm does: a missing adapter is an expected case, not a wasm error.
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return 'no WebGPU adapter is available';
  await wasmReady;
  try {
    await wasm.init_webgpu();
    return true;
  } catch (e) {
    return String(e?.message ?? e);
  }
}

async function resolveBackend(requested, model) {
  if (requested === 'cpu') return 'cpu';
  if (requested === 'auto') return autoChoice.get(model) ?? 'cpu';
  if (requested !== 'webgpu') throw new Error(`Unknown backend "${requested}": use auto, cpu or webgpu.`);
  const gpu = await startWebGpu();
  if (gpu !== true) throw new Error(`WebGPU is not available: ${gpu}.`);
  return 'webgpu';
}

/**
 * Runs `job` after everything queued before it. Generations and timing runs share the queue:
 * two at once would slow each other down and make the timings wrong.
 */
function enqueue(job) {
  const run = queue.then(job);
  queue = run.catch(() => {});
  return run;
}

/** The probe cut to its first `steps` steps: one bar of `steps`/16 (a bar may be any number of 16ths). */
const shortProbe = (steps) => ({ ...PROBE, bars: 1, meter: `${steps}/16` });

/** Times `model` on both backends (medians of three runs) and points 'auto' at the faster. */
function calibrate(model) {
  if (!calibrations.has(model)) {
    const run = (async () => {
      if ((await startWebGpu()) !== true) return 'cpu';
      // Each run is its own job, so a user's Generate waits for one run, not the whole calibration.
      const time = (backend, o) =>
        enqueue(async () => {
          await ensureLoaded(model, backend);
          const t0 = performance.now();
          (await generateWith(model, backend, o)).free();
          return performance.now() - t0;
        });
      const median = async (backend) => {
        const ms = [];
        for (let i = 0; i < 3; i++) ms.push(await time(backend, PROBE));
        return ms.sort((a, b) => a - b)[1];
      };
      const cpuMs = await median('cpu');
      await time('webgpu', shortProbe(1)); // the first run compiles shaders
      // A run costs about fixed + perStep × steps. A lone step is mostly the fixed cost for the
      // LSTM's kernels (one submit, one read-back: 64 times it overstates their probe tenfold on
      // SwiftShader), so a two-step run separates the two.
      const one = await time('webgpu', shortProbe(1));
      const two = await time('webgpu', shortProbe(2));
      const estimate = one + Math.max(0, two - one) * (PROBE_STEPS - 1);
      let report;
      if (estimate > SLOW_PROBE_MS && estimate > 2 * cpuMs) {
        report = { backend: 'cpu', cpuMs, webgpuMs: estimate, estimatedFrom: [1, 2] };
      } else {
        const webgpuMs = await median('webgpu');
        report = { backend: webgpuMs < cpuMs ? 'webgpu' : 'cpu', cpuMs, webgpuMs, estimatedFrom: null };
      }
      autoChoice.set(model, report.backend);
      post({ type: 'backend', model, ...report });
      return report.backend;
    })();
    run.catch((e) => post({ type: 'backend', model, backend: 'cpu', error: String(e?.message ?? e) }));
    calibrations.set(model, run);
  }
  return calibrations.get(model);
}

function ensureLoaded(name, backend) {
  const key = `${name}/${backend}`;
  if (!loaded.has(key)) {
    const p = (async () => {
      const [{ spec, format, weights }] = await Promise.all([fetchModel(name), wasmReady]);
      const load = format === 'pack' ? wasm.load_packed : wasm.load_model;
      await load(name, spec, weights, backend);
    })();
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return loaded.get(key);
}

/** Runs the model; the caller frees the result. */
function generateWith(model, backend, o) {
  const primer = new Uint32Array((o.primer ?? []).flatMap((n) => [n.pitch, n.onset, n.duration]));
  return wasm.generate(model, backend, o.bars, o.temperature, o.seed, o.bpm, o.meter, o.key ?? '', o.style ?? '', primer);
}

/** A melody for the page, generated on `backend`. */
async function melody(model, backend, o) {
  await ensureLoaded(model, backend);
  const t0 = performance.now();
  const g = await generateWith(model, backend, o);
  const ms = performance.now() - t0;
  const flat = g.notes;
  const notes = [];
  for (let i = 0; i < flat.length; i += 3) notes.push({ pitch: flat[i], onset: flat[i + 1], duration: flat[i + 2] });
  const result = {
    notes,
    midi: g.midi,
    key: g.key || null,
    // How the key came about for "any": drawn from the model's training mix, or, where the
    // model knows no keys, found from the notes.
    keyFrom: o.key ? 'asked' : g.keyEstimated ? 'estimated' : 'drawn',
    style: g.style || null,
    styleFrom: o.style ? 'asked' : 'drawn',
    totalSteps: g.totalSteps,
    stepsPerBar: g.stepsPerBar,
    meter: o.meter.split('/').map(Number),
    bpm: o.bpm,
    seed: o.seed,
    temperature: o.temperature,
    model,
    backend,
    engine: g.engine,
    ms,
  };
  g.free();
  return result;
}

async function generate({ id, model, backend: requested, options }) {
  const auto = (requested ?? 'auto') === 'auto';
  const backend = await resolveBackend(requested ?? 'auto', model);
  let result;
  try {
    result = await melody(model, backend, options);
  } catch (e) {
    if (!auto || backend !== 'webgpu') throw e;
    // WebGPU failed under 'auto' (device lost, a kernel error): this model stays on the CPU.
    autoChoice.set(model, 'cpu');
    post({ type: 'backend', model, backend: 'cpu', error: String(e?.message ?? e) });
    result = await melody(model, 'cpu', options);
  }
  post({ type: 'done', id, result }, [result.midi.buffer]);
  if (auto) calibrate(model).catch(() => {});
}

self.onmessage = ({ data: msg }) => {
  const fail = (e) => post({ type: 'error', id: msg.id, message: String(e?.message ?? e) });
  switch (msg.type) {
    case 'wasm':
      startWasm(msg.module instanceof WebAssembly.Module ? msg.module : null);
      break;
    case 'init': {
      // Ready means the first Generate runs at once: wasm up, the model on the CPU. WebGPU is
      // not needed for that ('auto' starts on the CPU) and starting it blocks this thread for a
      // while on some adapters, so it starts a little later, or when something asks for it.
      if (msg.model) Promise.resolve(msg.model).then(fetchModel).catch(() => {}); // download while wasm compiles
      Promise.all([wasmReady, msg.model ? ensureLoaded(msg.model, 'cpu') : null])
        .then(() => {
          post({ type: 'ready', id: msg.id, backends: { cpu: true, webgpu: 'pending' } });
          setTimeout(startWebGpu, WEBGPU_DELAY_MS);
        })
        .catch(fail);
      break;
    }
    case 'generate':
      enqueue(() => generate(msg)).catch(fail);
      break;
    default:
      fail(new Error(`unknown message type ${msg.type}`));
  }
};
