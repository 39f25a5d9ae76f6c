// window.benchOrt: basic_rnn (2 × 512 LSTM, 38 classes, random seeded weights) as an ONNX model
// written in this page (onnx.js: two ONNX LSTM nodes, MatMul + Add head), run one step per
// session.run by ONNX Runtime Web, on the wasm EP (1 thread, or N in a cross-origin-isolated
// page) or the WebGPU EP. Same shape as benchMagenta: load() once, run(steps) as often as the
// runner likes, describe(). Each step's logits come back to JS, which samples the next class.

import { CLASSES, UNITS, maxLogitDiff, oneHot, randomWeights, timedRun, wasmBinaries } from './basic_rnn.js';
import { STATE_IN, STATE_OUT, basicRnnOnnx } from './onnx.js';

const DIST = new URL('../node_modules/onnxruntime-web/dist/', location.href).href;
// onnxruntime-web's `./wasm` and `./webgpu` exports (the builds that fetch their .wasm from wasmPaths).
const BUNDLES = { wasm: 'ort.wasm.min.mjs', webgpu: 'ort.webgpu.min.mjs' };

let ort;
let session;
let info;
let state; // the four state tensors fed to the next step
let seed = 1;

const zeros = () => STATE_IN.map(() => new ort.Tensor('float32', new Float32Array(UNITS), [1, 1, UNITS]));

/** Frees GPU-resident state tensors (CPU ones are garbage-collected). */
function release(tensors) {
  for (const t of tensors ?? []) if (t.location === 'gpu-buffer') t.dispose();
}

function reset() {
  release(state);
  state = zeros();
}

/** One step: feeds `token` and the state, keeps the new state (on the GPU where asked), returns the logits. */
async function step(token) {
  const feeds = { x: new ort.Tensor('float32', oneHot(token), [1, 1, CLASSES]) };
  STATE_IN.forEach((name, i) => (feeds[name] = state[i]));
  const out = await session.run(feeds);
  release(state);
  state = STATE_OUT.map((name) => out[name]);
  // Logits are always a CPU tensor (preferredOutputLocation leaves them on 'cpu'): the read-back.
  return out.logits.data;
}

/**
 * Where ONNX Runtime puts the graph's nodes: a throwaway session with verbose logging, whose
 * "Node placements" lines ORT's logger writes to the console, where the runner reads them
 * (Emscripten binds console.log at start-up, so the page cannot catch them itself).
 */
async function logPlacements(model, ep) {
  const probe = await ort.InferenceSession.create(model, { executionProviders: [ep], logSeverityLevel: 0, logVerbosityLevel: 0 });
  await probe.release();
}

window.benchOrt = {
  /** opts: {ep: 'wasm'|'webgpu', threads = 1, temperature = 1}. */
  async load({ ep, threads = 1, temperature = 1 }) {
    ort = await import(DIST + BUNDLES[ep]);
    ort.env.wasm.wasmPaths = DIST;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const weights = randomWeights({ seed: 1 });
    const model = basicRnnOnnx(weights);
    const gpuState = ep === 'webgpu';
    await logPlacements(model, ep);
    session = await ort.InferenceSession.create(model, {
      executionProviders: [ep],
      graphOptimizationLevel: 'all',
      // Keep the LSTM state where the EP computed it: fed back as gpu-buffer tensors, never read back.
      ...(gpuState ? { preferredOutputLocation: Object.fromEntries(STATE_OUT.map((n) => [n, 'gpu-buffer'])) } : {}),
    });
    reset();
    const check = await maxLogitDiff(weights, (token) => step(token));
    reset();
    info = {
      ep,
      temperature,
      decoding: temperature ? 'sampled' : 'greedy',
      ...check,
      modelBytes: model.length,
      ort: ort.env.versions?.web ?? ort.env.versions?.common,
      gpuState,
    };
    return info;
  },

  run: (steps) => timedRun({ step, reset }, steps, info.temperature, seed++),

  async describe() {
    const binaries = wasmBinaries();
    const threads = ort.env.wasm.numThreads;
    const isolated = self.crossOriginIsolated;
    const where = info.ep === 'webgpu'
      ? `WebGPU EP, LSTM state kept on the GPU (preferredOutputLocation 'gpu-buffer', fed back), logits read back each step`
      : `wasm EP, numThreads ${threads}, ${isolated ? 'cross-origin isolated' : 'not cross-origin isolated'}`;
    const name = info.ep === 'webgpu' ? `ONNX Runtime Web ${short(info.ort)} WebGPU EP` : `ONNX Runtime Web ${short(info.ort)} wasm, ${threads} thread${threads > 1 ? 's' : ''}`;
    return {
      ...info,
      name,
      anchor: { threads, crossOriginIsolated: isolated, binaries, maxDiff: info.maxDiff, checkSteps: info.checkSteps },
      detail: `onnxruntime-web ${info.ort}, ${where}; ${binaries.join('+') || 'no .wasm fetched'}; model written in the page (${(info.modelBytes / 1e6).toFixed(1)} MB, 2 ONNX LSTM nodes + MatMul/Add, opset 17); ` +
        `sampled in JS at temperature ${info.temperature}; primer 16 steps (C4 E4 G4 C5)`,
    };
  },
};

/** "1.30.0" → "1.30". */
function short(v) {
  return String(v ?? '?').split('.').slice(0, 2).join('.');
}
