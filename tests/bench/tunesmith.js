// tunesmith half of the benchmark: the same work as magenta.js (continue the C4 E4 G4 C5 primer,
// one bar of 16 steps, at batch 1), timed around the wasm `generate` call, which returns only
// after the whole melody is back on the host. Same shape as window.benchMagenta: load() once,
// then run(steps) as often as the runner likes.

import init, * as wasm from '/tunesmith.js';

// [pitch, onset, duration] in 16th steps: the primer magenta.js uses.
const PRIMER = new Uint32Array([60, 0, 4, 64, 4, 4, 67, 8, 4, 72, 12, 4]);
// Magenta's basic_rnn: 2 LSTM layers of 512 units over MIDI 48–83 (36 pitches + 2 = 38 classes).
export const BASIC_RNN = { arch: 'lstm', range: { lo: 48, hi: 83 }, embed: 38, hidden: 512, layers: 2, dropout: 0 };

let loaded = null;
let seed = 1;
let engine = null;

window.benchTunesmith = {
  /**
   * opts: {backend: 'cpu'|'webgpu', model: 'basic_rnn' | name of a shipped model,
   * temperature = 1}. Temperature 0 is greedy: the sampler adds temperature × Gumbel noise to
   * the logits and takes the argmax, so at 0 it is the argmax of the logits, on the same code path.
   */
  async load({ backend, model = 'basic_rnn', temperature = 1 }) {
    await init();
    if (backend === 'webgpu') await wasm.init_webgpu();
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
    loaded = { name, backend, model, temperature };
    return {
      backend,
      model,
      decoding: temperature ? 'sampled' : 'greedy',
      note: temperature
        ? undefined
        : 'greedy, temperature 0: tunesmith samples by Gumbel-max, argmax(logits + temperature × Gumbel noise), ' +
          'so at 0 it takes argmax(logits) on the same code path, at the same cost as sampling',
    };
  },

  /** One continuation of `steps` (whole 4/4 bars) after the primer; resolves to {ms, engine}. */
  async run(steps) {
    if (steps % 16) throw new Error('steps must be whole 4/4 bars (a multiple of 16)');
    const { name, backend, temperature } = loaded;
    const t0 = performance.now();
    const g = await wasm.generate(name, backend, steps / 16, temperature, seed++, 120, '4/4', 'C', '', PRIMER);
    const ms = performance.now() - t0;
    const total = g.totalSteps;
    engine = g.engine;
    g.free();
    if (total !== steps + 16) throw new Error(`got ${total} steps, asked ${steps} after a 16-step primer`);
    return { ms, engine };
  },

  /** After the warm-up: what ran the model. */
  async describe() {
    const { model, temperature } = loaded;
    return { engine, detail: `tunesmith ${engine}; ${model}; primer 16 steps (C4 E4 G4 C5); temperature ${temperature}` };
  },
};
