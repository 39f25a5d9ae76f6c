// window.benchTfjs4: basic_rnn (2 × 512 LSTM, 38 classes, random seeded weights) stepped by TF.js
// 4.22's own LSTM ops, as Magenta's MusicRNN does with TF.js 2.x: tf.multiRNNCell over two
// tf.basicLSTMCell (forget bias 1), then matMul + add for the logits, on the wasm or webgpu
// backend. One step per tf.tidy; the state stays on the backend, each step's logits are read
// back (await data()) and JS samples the next class. Same shape as benchMagenta.
/* global tf */

import { CLASSES, maxLogitDiff, oneHot, randomWeights, tfjsLayout, timedRun, UNITS, wasmBinaries } from './basic_rnn.js';

const NODE_MODULES = new URL('../node_modules/', location.href).href;
const BACKENDS = {
  wasm: { script: 'tfjs4-backend-wasm/dist/tf-backend-wasm.min.js' },
  webgpu: { script: 'tfjs4-backend-webgpu/dist/tf-backend-webgpu.min.js' },
};

let info;
let vars; // weights as tensors on the backend
let c;
let h;
let seed = 1;

function addScript(src) {
  return new Promise((ok, fail) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = ok;
    script.onerror = () => fail(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

function reset() {
  for (const t of [...(c ?? []), ...(h ?? [])]) t.dispose();
  c = [0, 1].map(() => tf.zeros([1, UNITS]));
  h = [0, 1].map(() => tf.zeros([1, UNITS]));
}

async function step(token, read = true) {
  const [logits, newC, newH] = tf.tidy(() => {
    const x = tf.tensor2d(oneHot(token), [1, CLASSES]);
    const cells = vars.layers.map(({ kernel, bias }) => (data, cc, hh) => tf.basicLSTMCell(vars.forgetBias, kernel, bias, data, cc, hh));
    const [nc, nh] = tf.multiRNNCell(cells, x, c, h);
    return [tf.add(tf.matMul(nh[1], vars.headW), vars.headB), nc, nh];
  });
  for (const t of [...c, ...h]) t.dispose();
  c = newC;
  h = newH;
  if (!read) {
    logits.dispose();
    return undefined;
  }
  const values = await logits.data();
  logits.dispose();
  return values;
}

window.benchTfjs4 = {
  /** opts: {backend: 'wasm'|'webgpu', temperature = 1}. */
  async load({ backend, temperature = 1 }) {
    await addScript(NODE_MODULES + BACKENDS[backend].script);
    if (backend === 'wasm') tf.wasm.setWasmPaths(NODE_MODULES + 'tfjs4-backend-wasm/dist/');
    if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} failed to initialise`);
    await tf.ready();
    const weights = randomWeights({ seed: 1 });
    const { layers, head } = tfjsLayout(weights);
    vars = {
      layers: layers.map(({ kernel, bias, kernelShape }) => ({ kernel: tf.tensor2d(kernel, kernelShape), bias: tf.tensor1d(bias) })),
      headW: tf.tensor2d(head.w, [UNITS, CLASSES]),
      headB: tf.tensor1d(head.b),
      forgetBias: tf.scalar(1),
    };
    reset();
    const check = await maxLogitDiff(weights, (token) => step(token));
    reset();
    info = { backend, temperature, decoding: temperature ? 'sampled' : 'greedy', ...check, tfjs: tf.version.tfjs };
    return info;
  },

  run: (steps) => timedRun({ step, reset }, steps, info.temperature, seed++),

  async describe() {
    const binaries = wasmBinaries();
    let where;
    let threads;
    if (info.backend === 'wasm') {
      const module = tf.backend().wasm;
      const running = module?.PThread?.runningWorkers.length;
      threads = running === undefined ? 1 : 1 + running;
      where = `tfjs-backend-wasm ${tf.wasm.version_wasm}, ${binaries.join('+') || 'no .wasm fetched'}, ${threads} thread${threads > 1 ? 's' : ''}, ` +
        `${self.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}`;
    } else {
      const adapter = tf.backend().adapterInfo;
      // The webgpu bundle exports no version of its own; it is the same release as tfjs (package.json pins both).
      where = `tfjs-backend-webgpu ${info.tfjs}${adapter ? ` (${[adapter.vendor, adapter.architecture].filter(Boolean).join(' / ')})` : ''}, LSTM state stays on the GPU, logits read back each step`;
    }
    const short = info.tfjs.split('.').slice(0, 2).join('.');
    return {
      ...info,
      name: `TF.js ${short} ${info.backend}`,
      anchor: { threads, crossOriginIsolated: self.crossOriginIsolated, binaries, maxDiff: info.maxDiff, checkSteps: info.checkSteps },
      detail: `TF.js ${info.tfjs}, ${where}; tf.multiRNNCell of 2 tf.basicLSTMCell + matMul/add, one tf.tidy a step; sampled in JS at temperature ${info.temperature}; primer 16 steps (C4 E4 G4 C5)`,
    };
  },
};
