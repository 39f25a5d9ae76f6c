// window.benchMagenta: Magenta.js MusicRNN.continueSequence (batch 1) on one TF.js backend, as
// load() once, then run(steps) as often as the runner likes (it owns warm-ups, run counts and
// the order of runs). Loaded after the @magenta/music UMD bundle (global `mm`); see magenta.html.
'use strict';

const WASM_DIR = new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;

// C major arpeggio in quarter notes (C4 E4 G4 C5), 16 steps at 4 steps per quarter: inside the
// basic_rnn pitch range 48–83, which MusicRNN enforces by throwing. A fresh object per run because
// Magenta sorts `notes` in place.
const primer = () => ({
  notes: [60, 64, 67, 72].map((pitch, i) => ({ pitch, quantizedStartStep: 4 * i, quantizedEndStep: 4 * i + 4 })),
  quantizationInfo: { stepsPerQuarter: 4 },
  totalQuantizedSteps: 16,
});

let wasmReady;
/** The wasm backend is loaded only when asked for, so the cpu/webgl pages don't pay for it. */
function loadWasmBackend() {
  wasmReady ??= new Promise((ok, fail) => {
    // The es2017 UMD bundle registers 'wasm' on whatever `window.tf` is when it runs; it must be
    // Magenta's own TF.js instance, or the backend lands in a registry Magenta never looks at.
    // The minified bundle where it works, as a page in production would load it (the transfer
    // figure counts it). Not for the threaded build: its pthread workers run source text taken
    // from the bundle (Function.toString), which in the minified bundle names variables it does
    // not define ("s is not defined"), so a cross-origin-isolated page loads the plain bundle.
    window.tf = mm.tf;
    const script = document.createElement('script');
    script.src = WASM_DIR + (self.crossOriginIsolated ? 'tf-backend-wasm.es2017.js' : 'tf-backend-wasm.es2017.min.js');
    script.onload = () => {
      // Default lookup is relative to the script, which is a blob URL for the threaded build:
      // give the folder explicitly. Must happen before setBackend('wasm').
      mm.tf.wasm.setWasmPaths(WASM_DIR);
      ok();
    };
    script.onerror = () => fail(new Error(`could not load ${script.src}`));
    document.head.append(script);
  });
  return wasmReady;
}

/** True if the active backend can run tf.multinomial (tfjs-backend-wasm 2.7 has no kernel for it). */
function canSample() {
  try {
    mm.tf.tidy(() => mm.tf.multinomial(mm.tf.tensor1d([0, 0]), 1).dataSync());
    return true;
  } catch {
    return false;
  }
}

/**
 * What the wasm backend really runs on: the binary the page fetched, whether its memory is
 * shared (only the threaded build's is), and the size of XNNPACK's thread pool. tfjs 2.7 sizes
 * the pool once, at start-up, as hardwareConcurrency / 2 clamped to 1–4 (backend.cc); the pool's
 * caller is thread 0 and each further thread is an Emscripten pthread, a running Worker.
 */
async function wasmInfo() {
  const env = mm.tf.env();
  const module = mm.tf.backend().wasm;
  const running = module.PThread?.runningWorkers.length;
  return {
    binaries: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm')).map((n) => n.split('/').pop()),
    simd: await env.getAsync('WASM_HAS_SIMD_SUPPORT'),
    threadsSupported: await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    crossOriginIsolated: self.crossOriginIsolated,
    sharedMemory: typeof SharedArrayBuffer !== 'undefined' && module.HEAPU8.buffer instanceof SharedArrayBuffer,
    hardwareConcurrency: navigator.hardwareConcurrency,
    poolThreads: running === undefined ? 1 : 1 + running,
  };
}

let model = null;
let temp;
let info;

window.benchMagenta = {
  /**
   * opts: {backend: 'cpu'|'wasm'|'webgl', checkpointUrl, temperature = 1.0}. temperature 0/null
   * asks for greedy decoding everywhere; on a backend without multinomial (wasm) decoding is
   * greedy whatever is asked. Resolves to what the runner prints about the row.
   */
  async load({ backend, checkpointUrl, temperature = 1.0 }) {
    mm.logging.setVerbosity(mm.logging.Level.WARN); // one "Continuation completed" line per run is noise
    if (backend === 'wasm') await loadWasmBackend();
    if (!(await mm.tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} failed to initialise`);
    await mm.tf.ready();

    const sampled = Boolean(temperature) && canSample();
    // MusicRNN.sampleRnn does `if (temperature) multinomial(logits / temperature) else argMax(logits)`,
    // so a falsy temperature is its greedy mode.
    temp = sampled ? temperature : undefined;
    model = new mm.MusicRNN(checkpointUrl);
    await model.initialize(); // after setBackend: the weights are uploaded to this backend
    const why = temperature && !sampled
      ? `${backend === 'wasm' ? `tfjs-backend-wasm ${mm.tf.wasm.version_wasm}` : `TF.js backend ${backend}`} has no Multinomial kernel, so MusicRNN cannot sample on it`
      : 'as asked';
    info = {
      backend,
      decoding: sampled ? 'sampled' : 'greedy',
      note: sampled
        ? `sampled: continueSequence(primer, steps, ${temperature}) → tf.multinomial(logits / ${temperature}) per step`
        : `greedy, ${why}: continueSequence(primer, steps, undefined) → MusicRNN takes logits.argMax() per step, ` +
          'skipping the per-step multinomial draw that the sampled rows pay for',
      tfjs: mm.tf.version_core,
      webgl: backend === 'webgl' ? mm.tf.env().get('WEBGL_VERSION') : undefined,
    };
    return info;
  },

  /** One continuation of `steps` steps after the 16-step primer; resolves to its milliseconds. */
  async run(steps) {
    const t0 = performance.now();
    // continueSequence dispatches all steps' ops, then awaits one data() read-back of the sampled
    // one-hots and decodes them, so the await covers the whole generation loop.
    const seq = await model.continueSequence(primer(), steps, temp);
    const ms = performance.now() - t0;
    if (seq.totalQuantizedSteps !== steps) throw new Error(`got ${seq.totalQuantizedSteps} steps, asked ${steps}`);
    return { ms };
  },

  /**
   * The first melody as a page gets it: TF.js's own backend choice, the checkpoint, then 8 bars
   * (128 steps) after the primer, sampled. Resolves to the time since navigation (the page's
   * time origin) when the melody is there.
   */
  async firstMelody({ checkpointUrl, steps }) {
    mm.logging.setVerbosity(mm.logging.Level.WARN);
    await mm.tf.ready();
    const rnn = new mm.MusicRNN(checkpointUrl);
    await rnn.initialize();
    const seq = await rnn.continueSequence(primer(), steps, 1.0);
    if (seq.totalQuantizedSteps !== steps) throw new Error(`got ${seq.totalQuantizedSteps} steps, asked ${steps}`);
    return { ms: performance.now(), backend: mm.tf.getBackend() };
  },

  /** After the warm-up: load()'s answer plus the wasm backend's binary and threads. */
  async describe() {
    const wasm = info.backend === 'wasm' ? await wasmInfo() : undefined;
    const where = wasm
      ? `tfjs-backend-wasm ${mm.tf.wasm.version_wasm}, ${wasm.binaries.join('+') || 'no .wasm fetched'}, ` +
        `${wasm.poolThreads} thread${wasm.poolThreads > 1 ? 's' : ''} (hardwareConcurrency ${wasm.hardwareConcurrency}), ` +
        `${wasm.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}, ${wasm.sharedMemory ? 'shared' : 'unshared'} memory`
      : info.backend === 'webgl' ? `WebGL ${info.webgl}` : info.backend;
    return { ...info, wasm, detail: `${where}; TF.js ${info.tfjs}; primer 16 steps (C4 E4 G4 C5)` };
  },
};
