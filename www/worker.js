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
//   out  {type:'backend', model, backend, cpuMs, webgpuMs}   (no id) what 'auto' now picks for a
//        model, once both backends have been timed on this device.
// `backends` is {cpu: true, webgpu: true | "why not" | "pending"}. `backend` may be 'auto', 'cpu' or 'webgpu'.
//
// 'auto' starts on the CPU, which is ready first (no shaders to compile). After the first
// generation with a model, the worker times that model on both backends and moves 'auto' to
// WebGPU only if WebGPU measured faster here.

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
let queue = Promise.resolve(); // generations run one at a time, in order
const calibrations = new Map(); // model → Promise<'cpu' | 'webgpu'>
const autoChoice = new Map(); // model → 'cpu' | 'webgpu'
// The timing probe: long enough that per-call overheads don't decide, short enough to be cheap.
const PROBE = { bars: 4, temperature: 1, seed: 0, bpm: 120, meter: '4/4' };

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

/** Times `model` on both backends (after a WebGPU warm-up) and points 'auto' at the faster. */
function calibrate(model) {
  if (!calibrations.has(model)) {
    const run = (async () => {
      if ((await startWebGpu()) !== true) return 'cpu';
      const time = async (backend) => {
        await ensureLoaded(model, backend);
        const t0 = performance.now();
        const g = await wasm.generate(model, backend, PROBE.bars, PROBE.temperature, PROBE.seed, PROBE.bpm, PROBE.meter, '', '', new Uint32Array());
        g.free();
        return performance.now() - t0;
      };
      await time('webgpu'); // the first run compiles shaders
      const cpuMs = await time('cpu');
      const webgpuMs = await time('webgpu');
      const backend = webgpuMs < cpuMs ? 'webgpu' : 'cpu';
      autoChoice.set(model, backend);
      post({ type: 'backend', model, backend, cpuMs, webgpuMs });
      return backend;
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

async function generate({ id, model, backend: requested, options: o }) {
  const backend = await resolveBackend(requested ?? 'auto', model);
  await ensureLoaded(model, backend);
  const t0 = performance.now();
  const primer = new Uint32Array((o.primer ?? []).flatMap((n) => [n.pitch, n.onset, n.duration]));
  const g = await wasm.generate(model, backend, o.bars, o.temperature, o.seed, o.bpm, o.meter, o.key ?? '', o.style ?? '', primer);
  const ms = performance.now() - t0;
  const flat = g.notes;
  const notes = [];
  for (let i = 0; i < flat.length; i += 3) notes.push({ pitch: flat[i], onset: flat[i + 1], duration: flat[i + 2] });
  const midi = g.midi;
  const result = {
    notes,
    midi,
    key: g.key || null,
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
  post({ type: 'done', id, result }, [midi.buffer]);
  if ((requested ?? 'auto') === 'auto') calibrate(model).catch(() => {});
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
      queue = queue.then(() => generate(msg).catch(fail));
      break;
    default:
      fail(new Error(`unknown message type ${msg.type}`));
  }
};
