// The model's home: a module Web Worker, so generation never blocks the page. The protocol is
// documented in protocol.js; the page's side is client.js.
//
// Two wasm modules: the lite one (the core without Burn or wgpu: the catalog, MIDI, the sampler
// and the packed LSTM's int8 engine) starts with the worker, so the default model's first melody
// waits for a few hundred kilobytes; the full one (Burn, WebGPU) loads only when a model or a
// backend needs it — a Transformer, WebGPU — or when 'auto' times WebGPU after a first melody.
//
// 'auto' starts on the CPU, which is ready first (no shaders to compile). After the first
// generation with a model, the worker times that model on both backends and moves 'auto' to
// WebGPU only if WebGPU measured faster here. If a WebGPU generation under 'auto' fails, that
// model goes back to the CPU and the generation is retried there.

import init, * as lite from '../tunesmith-lite.js';
import { countBytes } from './progress.js';
import { IN, OUT } from './protocol.js';

const FULL_GLUE = '../tunesmith.js';
const FULL_WASM = 'tunesmith_bg.wasm';

// The page may hand over the lite module, already compiled while its own scripts loaded;
// otherwise wasm-bindgen fetches and compiles it here.
let startWasm;
const memories = { lite: null, full: null }; // each module's wasm memory, once up
const wasmReady = new Promise((resolve) => (startWasm = resolve))
  .then((module) => init(module ? { module_or_path: module } : undefined))
  .then((exports) => {
    memories.lite = exports.memory;
    return lite.catalog();
  });
let fullModule = null; // Promise of the full module's bindings, once asked for
const downloads = new Map(); // weights file path → Promise<Uint8Array>
const unloadable = new Set(); // paths whose bytes did not load as weights (fetched afresh next time)
const progress = new Map(); // model → Map(path → {loaded, total}) of its downloads in flight
const generators = new Map(); // `${model}/${backend}/${files}` → Promise<Generator>
const cancelled = new Set(); // ids of generations asked to stop
let webgpu = null; // Promise<true | string>
let queue = Promise.resolve(); // the tail of the work queue (see enqueue)
const calibrations = new Map(); // model → Promise<'cpu' | 'webgpu'>
const autoChoice = new Map(); // model → 'cpu' | 'webgpu'
// The timing probe: long enough that per-call overheads don't decide, short enough to be cheap.
const PROBE = { bars: 4, temperature: 1, seed: 0, tempo: 120, meter: '4/4' };
const PROBE_STEPS = 64; // 4 bars of 4/4
// WebGPU's three probe runs are skipped when short runs put one past this and past twice the
// CPU's: WebGPU loses, and confirming it would take minutes (the Transformer on a software
// adapter, through Burn's general kernels: seconds a step).
const SLOW_PROBE_MS = 2000;
// Starting WebGPU blocks this thread for a while on some adapters: not before the first melody.
const WEBGPU_DELAY_MS = 1500;
// How long a generation may hold the thread before it yields (progress, cancellation).
const YIELD_EVERY_MS = 30;

const post = (msg, transfer) => postMessage(msg, transfer ?? []);

/** Asks the client for a fresh worker (it restarts this one), saying why. */
function restart(message) {
  post({ type: OUT.crashed, message });
  close();
}

// A bug in the core (a Rust panic) leaves the module unusable: say so, and let the client
// start a fresh worker.
self.tunesmithPanic = (message) => restart(`the generator crashed: ${message}`);

/** The catalog entry of `name`, or a readable error. */
async function entry(name) {
  const catalog = await wasmReady;
  const model = catalog.models.find((m) => m.name === name);
  if (!model) throw new Error(`Unknown model "${name}": the models are ${catalog.models.map((m) => m.name).join(', ')}.`);
  return model;
}

/**
 * One weights file of `name`, fetched once (a failed download can be retried); its bytes count
 * in the model's progress, with any other file of it in flight.
 */
function download(name, path) {
  if (!downloads.has(path)) {
    const file = (async () => {
      const counts = progress.get(name) ?? new Map();
      progress.set(name, counts);
      counts.set(path, { loaded: 0, total: 0 });
      const report = () => {
        const all = [...counts.values()];
        const sum = (key) => all.reduce((n, c) => n + c[key], 0);
        // A total only once every file in flight has told its size.
        const total = all.every((c) => c.total > 0) ? sum('total') : 0;
        post({ type: OUT.download, model: name, loaded: sum('loaded'), total });
      };
      try {
        // A file that did not load before is asked of the server again, not of the HTTP cache.
        const r = await fetch(new URL(`../${path}`, import.meta.url), unloadable.has(path) ? { cache: 'no-cache' } : undefined);
        if (!r.ok) throw new Error(`Could not load the ${name} model (${path}): HTTP ${r.status}.`);
        countBytes(r, (loaded, total) => {
          if (!counts.has(path)) return; // a late report of a file already done
          counts.set(path, { loaded, total });
          report();
        }).catch(() => {});
        const bytes = new Uint8Array(await r.arrayBuffer());
        const { total } = counts.get(path);
        // Done: it stays in the count (at its full size) until the model's other files are.
        counts.set(path, { loaded: bytes.length, total: total || bytes.length, done: true });
        report();
        return bytes;
      } finally {
        if ([...counts.values()].every((c) => c.done)) counts.clear();
        else if (!counts.get(path)?.done) counts.delete(path);
      }
    })();
    file.catch(() => downloads.delete(path));
    downloads.set(path, file);
  }
  return downloads.get(path);
}

/**
 * Which weights of `model` a request's theory strength runs on (the core decides: 0 the data
 * weights, 1 the tuned ones, between both, the default strength its packed blend where there is
 * one): 'data', 'tuned', 'both' or 'blend'. A strength that is not a number is left to the core
 * to refuse, with the default's files.
 */
function filesFor(model, request) {
  const theory = typeof request?.theory === 'number' ? request.theory : undefined;
  const { data, tuned, blend } = lite.weightsFor(model, theory);
  return blend ? 'blend' : data && tuned ? 'both' : tuned ? 'tuned' : 'data';
}

/**
 * The full module's bindings (Burn, WebGPU), loaded once. For `model` its bytes count in that
 * model's download progress (the person is waiting for it); a background start shows nothing.
 * A failed load can be retried.
 */
function full(model) {
  if (!fullModule) {
    fullModule = (async () => {
      const glue = await import(FULL_GLUE);
      const wasm = model ? download(model, FULL_WASM) : undefined;
      // Kept only until it is compiled: megabytes the worker should not hold.
      wasm?.finally(() => downloads.delete(FULL_WASM)).catch(() => {});
      const exports = await glue.default(wasm ? { module_or_path: await wasm } : undefined);
      memories.full = exports.memory;
      return glue;
    })();
    fullModule.catch(() => (fullModule = null));
  }
  return fullModule;
}

/**
 * The model on `backend` with the weights `files` names; one holding both serves any strength
 * but the one a blend file is for (that one always runs on the blend: one seed, one melody).
 */
function generator(model, backend, files) {
  const both = `${model}/${backend}/both`;
  if (files !== 'blend' && generators.has(both)) return generators.get(both);
  const key = `${model}/${backend}/${files}`;
  if (!generators.has(key)) {
    const g = (async () => {
      const m = await entry(model);
      const file = (path, wanted) => (wanted && path ? download(model, path) : undefined);
      // A packed LSTM runs on the CPU in the lite module; anything else needs the full one.
      const bindings = backend === 'cpu' && m.packed ? lite : full(model);
      const wanted = { data: files === 'data' || files === 'both', tuned: files === 'tuned' || files === 'both', blend: files === 'blend' };
      const [weights, tuned, blend, { Generator }] = await Promise.all([
        file(m.weights, wanted.data), file(m.tuned, wanted.tuned), file(m.blend, wanted.blend), bindings,
      ]);
      if (backend === 'webgpu') await ensureWebGpu();
      const loaded = await Generator.load(model, weights, tuned, blend, backend).catch((e) => {
        // Bytes that do not load (damaged on the way, a server's error page) are not kept: the
        // next request downloads them again, so a fixed file works without a reload.
        for (const path of [m.weights, m.tuned, m.blend]) if (path && downloads.delete(path)) unloadable.add(path);
        throw e;
      });
      // One holding both serves every strength: the narrower ones go (their wasm memory too).
      if (files === 'both') {
        for (const narrow of ['data', 'tuned']) {
          const k = `${model}/${backend}/${narrow}`;
          generators.get(k)?.then((old) => old.free(), () => {});
          generators.delete(k);
        }
      }
      return loaded;
    })();
    g.catch(() => generators.delete(key));
    generators.set(key, g);
  }
  return generators.get(key);
}

/** Resolves to true, or to a sentence saying why WebGPU cannot be used here (and tells the page). */
function startWebGpu() {
  if (!webgpu) {
    webgpu = (async () => {
      await wasmReady;
      // Where there is no adapter, the full module (megabytes) is not fetched to learn that;
      // where there is one, the core asks for its own (and says why, if it cannot start).
      const why = lite.webGpuUnavailable();
      if (!navigator.gpu) return why.noWebGpu;
      if (!(await navigator.gpu.requestAdapter().catch(() => null))) return why.noAdapter;
      await (await full()).startWebGpu();
      return true;
    })().catch((e) => String(e?.message ?? e));
    webgpu.then((status) => post({ type: OUT.webgpu, status }));
  }
  return webgpu;
}

async function ensureWebGpu() {
  const status = await startWebGpu();
  if (status !== true) throw new Error(`WebGPU is not available: ${status}.`);
}

async function resolveBackend(requested, model) {
  if (requested === 'cpu') return 'cpu';
  if (requested === 'auto') return autoChoice.get(model) ?? 'cpu';
  if (requested !== 'webgpu') throw new Error(`Unknown backend "${requested}": use auto, cpu or webgpu.`);
  await ensureWebGpu();
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

/** A macrotask without timer clamping: lets queued messages (a cancel) in. */
function yieldToEvents() {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => resolve();
    port2.postMessage(null);
  });
}

/** Between bars: progress to the page, a chance for a cancel to arrive, and the answer. */
function hooks(id) {
  let last = performance.now();
  return async (done, total) => {
    if (id !== undefined) post({ type: OUT.progress, id, done, total });
    if (performance.now() - last > YIELD_EVERY_MS) {
      await yieldToEvents();
      last = performance.now();
    }
    return !cancelled.has(id);
  };
}

/** Runs the model on `backend`; resolves to one Response per candidate. */
async function run(model, backend, request, id) {
  await wasmReady;
  const g = await generator(model, backend, filesFor(model, request));
  return g.generate(request, hooks(id));
}

/** The probe cut to its first `steps` steps: one bar of `steps`/16 (a bar may be any number of 16ths). */
const shortProbe = (steps) => ({ ...PROBE, bars: 1, meter: `${steps}/16` });

/** Times `model` on both backends (medians of three runs) and points 'auto' at the faster. */
function calibrate(model) {
  if (!calibrations.has(model)) {
    const job = (async () => {
      if ((await startWebGpu()) !== true) return 'cpu';
      // Each run is its own job, so a user's Generate waits for one run, not the whole calibration.
      const time = (backend, request) =>
        enqueue(async () => {
          await generator(model, backend, filesFor(model, request));
          const t0 = performance.now();
          await run(model, backend, request);
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
      // LSTM's kernels (a submit, a read-back), so a two-step run separates the two.
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
      post({ type: OUT.backend, model, ...report });
      return report.backend;
    })();
    job.catch((e) => post({ type: OUT.backend, model, backend: 'cpu', error: String(e?.message ?? e) }));
    calibrations.set(model, job);
  }
  return calibrations.get(model);
}

async function generate({ id, model, backend: requested = 'auto', request }) {
  if (cancelled.has(id)) throw Object.assign(new Error('cancelled'), { cancelled: true });
  const auto = requested === 'auto';
  const backend = await resolveBackend(requested, model);
  let melodies;
  let ran = backend;
  try {
    melodies = await run(model, backend, request, id);
  } catch (e) {
    // A lost device stays lost in this module; a fresh worker starts a new one. The restart
    // fails this request (and any queued) with the reason, so the caller hears why; 'auto'
    // moves the model to the CPU below instead.
    if (!auto && backend === 'webgpu' && fullModule && (await fullModule).webGpuLost()) {
      restart(String(e?.message ?? e));
    }
    if (!auto || backend !== 'webgpu' || cancelled.has(id)) throw e;
    // WebGPU failed under 'auto' (device lost, a kernel error): this model stays on the CPU.
    autoChoice.set(model, 'cpu');
    post({ type: OUT.backend, model, backend: 'cpu', error: String(e?.message ?? e) });
    melodies = await run(model, 'cpu', request, id);
    ran = 'cpu';
  }
  post({ type: OUT.done, id, result: { model, backend: ran, melodies } }, melodies.map((m) => m.midi.buffer));
  if (auto) calibrate(model).catch(() => {});
}

self.onmessage = ({ data: msg }) => {
  const fail = (e) => {
    const stopped = cancelled.delete(msg.id) && String(e?.message ?? e) === 'cancelled';
    post({ type: OUT.error, id: msg.id, message: String(e?.message ?? e), ...(stopped ? { cancelled: true } : {}) });
  };
  switch (msg.type) {
    case IN.wasm:
      startWasm(msg.module instanceof WebAssembly.Module ? msg.module : null);
      break;
    case IN.init: {
      // Ready means the first Generate runs at once: wasm up, the model on the CPU. WebGPU is
      // not needed for that ('auto' starts on the CPU), so it starts a little later.
      const model = wasmReady.then((c) => msg.model ?? c.defaultModel);
      // Ready with the weights the default strength runs on; others come when a request needs them.
      Promise.all([wasmReady, model.then((m) => generator(m, 'cpu', filesFor(m, {})))])
        .then(async ([catalog]) => {
          post({ type: OUT.ready, id: msg.id, catalog, model: await model });
          setTimeout(startWebGpu, WEBGPU_DELAY_MS);
        })
        .catch(fail);
      break;
    }
    case IN.generate:
      enqueue(() => generate(msg))
        .then(() => cancelled.delete(msg.id))
        .catch(fail);
      break;
    case IN.cancel:
      cancelled.add(msg.id);
      break;
    case IN.readMidi:
      wasmReady
        .then(({ limits }) => {
          if (!(msg.bytes instanceof Uint8Array)) throw new Error('a MIDI file comes as bytes (a Uint8Array)');
          // Refused before it is copied into the wasm memory, like a share code.
          if (msg.bytes.length > limits.maxMidiBytes) throw new Error(`the MIDI file is ${msg.bytes.length} bytes; at most ${limits.maxMidiBytes} are read`);
          post({ type: OUT.done, id: msg.id, result: lite.readMidi(msg.bytes) });
        })
        .catch(fail);
      break;
    case IN.openShared:
      wasmReady
        .then(({ limits }) => {
          const code = String(msg.code ?? '');
          // Refused before it is copied into the wasm memory: a hostile page could send megabytes.
          if (code.length > limits.maxShareChars) throw new Error(`the shared melody is ${code.length} characters long; a share link holds at most ${limits.maxShareChars}`);
          const result = lite.openShared(code);
          post({ type: OUT.done, id: msg.id, result }, [result.midi.buffer]);
        })
        .catch(fail);
      break;
    case IN.describe:
      wasmReady
        .then(({ limits }) => {
          const notes = msg.melody?.notes;
          // Refused before it is copied into the wasm memory, like a share code.
          if (Array.isArray(notes) && notes.length > limits.maxMelodySteps) throw new Error(`the melody has ${notes.length} notes; a melody holds at most ${limits.maxMelodySteps}`);
          const result = lite.describeMelody(msg.melody);
          post({ type: OUT.done, id: msg.id, result }, [result.midi.buffer]);
        })
        .catch(fail);
      break;
    case IN.stats:
      wasmReady.then(() => post({ type: OUT.done, id: msg.id, result: { wasmBytes: memories.lite.buffer.byteLength + (memories.full?.buffer.byteLength ?? 0) } })).catch(fail);
      break;
    default:
      fail(new Error(`unknown message type ${msg.type}`));
  }
};
