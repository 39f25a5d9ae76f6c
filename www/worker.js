// The model's home: a module Web Worker, so generation never blocks the page.
//
// Protocol (all messages carry the request's `id`; replies echo it):
//   in   {type:'init', id}                                   → {type:'ready', id, backends}
//   in   {type:'generate', id, model, backend, options}      → {type:'done', id, result}
//   out  {type:'status', id, message} while loading;  {type:'error', id, message} on failure.
// `backends` is {cpu: true, webgpu: true | "why not"}. `backend` may be 'auto', 'cpu' or 'webgpu'.

import init, * as wasm from '../tunesmith.js';

const wasmReady = init();
const modelFiles = new Map(); // name → Promise<{spec, weights}>
const loaded = new Map(); // `${name}/${backend}` → Promise<void>
let webgpu = null; // Promise<true | string>
let queue = Promise.resolve(); // generations run one at a time, in order

const post = (msg, transfer) => postMessage(msg, transfer ?? []);

function fetchModel(name) {
  if (!/^[a-z0-9_-]+$/.test(name)) throw new Error(`Unknown model "${name}".`);
  if (!modelFiles.has(name)) {
    const base = new URL(`../models/${name}`, import.meta.url);
    const get = async (ext) => {
      const r = await fetch(`${base}.${ext}`);
      if (!r.ok) throw new Error(`Could not load the ${name} model (${ext}): HTTP ${r.status}.`);
      return r;
    };
    const files = Promise.all([get('json').then((r) => r.text()), get('bpk').then((r) => r.arrayBuffer())]).then(
      ([spec, weights]) => ({ spec, weights: new Uint8Array(weights) }),
    );
    files.catch(() => modelFiles.delete(name)); // a failed download can be retried
    modelFiles.set(name, files);
  }
  return modelFiles.get(name);
}

/** Resolves to true, or to a sentence saying why WebGPU cannot be used here. */
function startWebGpu() {
  webgpu ??= (async () => {
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
  })();
  return webgpu;
}

async function resolveBackend(requested) {
  if (requested === 'cpu') return 'cpu';
  const gpu = await startWebGpu();
  if (gpu === true) return 'webgpu';
  if (requested === 'webgpu') throw new Error(`WebGPU is not available: ${gpu}.`);
  return 'cpu';
}

function ensureLoaded(name, backend) {
  const key = `${name}/${backend}`;
  if (!loaded.has(key)) {
    const p = (async () => {
      const [{ spec, weights }] = await Promise.all([fetchModel(name), wasmReady]);
      wasm.load_model(name, spec, weights, backend);
    })();
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return loaded.get(key);
}

async function generate({ id, model, backend: requested, options: o }) {
  const backend = await resolveBackend(requested ?? 'auto');
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
}

self.onmessage = ({ data: msg }) => {
  const fail = (e) => post({ type: 'error', id: msg.id, message: String(e?.message ?? e) });
  switch (msg.type) {
    case 'init':
      Promise.all([wasmReady, startWebGpu()])
        .then(([, gpu]) => post({ type: 'ready', id: msg.id, backends: { cpu: true, webgpu: gpu } }))
        .catch(fail);
      break;
    case 'generate':
      queue = queue.then(() => generate(msg).catch(fail));
      break;
    default:
      fail(new Error(`unknown message type ${msg.type}`));
  }
};
