// tunesmith half of the benchmark: the same work as magenta.js (continue the C4 E4 G4 C5 primer,
// one bar of 16 steps, at batch 1), timed around the wasm `generate` call, which returns only
// after the whole melody is back on the host. Same shape as window.benchMagenta: load() once,
// then run(steps) as often as the runner likes.

import init, { Generator, catalog, int8Kernel, startWebGpu, weightsFor } from '/tunesmith.js';

// The primer magenta.js uses, in 16th steps.
const PRIMER = [60, 64, 67, 72].map((pitch, i) => ({ pitch, onset: 4 * i, duration: 4 }));
// Magenta's basic_rnn: 2 LSTM layers of 512 units over MIDI 48–83 (36 pitches + 2 = 38 classes).
export const BASIC_RNN = { arch: 'lstm', range: { lo: 48, hi: 83 }, embed: 38, hidden: 512, layers: 2, dropout: 0 };
// The table's row names, kept from before the engines had one name each, so that results line
// up with earlier runs: engine (and backend) → row name.
const ROW_NAMES = { int8: 'cpu-int8-simd', wgsl: 'webgpu-wgsl', 'burn/webgpu': 'webgpu-burn', 'burn/cpu': 'cpu-flex' };

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
    if (backend === 'webgpu') await startWebGpu();
    let generator;
    if (model === 'basic_rnn') {
      generator = await Generator.random(JSON.stringify(BASIC_RNN), backend, 1);
    } else {
      // As the page's worker does: the files the catalog names that the default strength runs on.
      const entry = catalog().models.find((m) => m.name === model);
      const need = weightsFor(model, undefined);
      const get = async (path) => new Uint8Array(await fetch(`/${path}`).then((r) => r.arrayBuffer()));
      const files = await Promise.all([[need.data, entry.weights], [need.tuned, entry.tuned], [need.blend, entry.blend]].map(([wanted, path]) => (wanted ? get(path) : undefined)));
      generator = await Generator.load(model, ...files, backend);
    }
    loaded = { generator, backend, model, temperature };
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
    const { generator, backend, temperature } = loaded;
    const request = { bars: steps / 16, temperature, seed: seed++, tempo: 120, meter: '4/4', key: 'C major', primer: PRIMER, phase: 'file' };
    const t0 = performance.now();
    const [melody] = await generator.generate(request);
    const ms = performance.now() - t0;
    engine = ROW_NAMES[melody.engine] ?? ROW_NAMES[`${melody.engine}/${backend}`];
    if (melody.totalSteps !== steps + 16) throw new Error(`got ${melody.totalSteps} steps, asked ${steps} after a 16-step primer`);
    return { ms, engine };
  },

  /**
   * The int8 engine's kernel alone, on rows in the L1 cache: this machine's rate for it in
   * multiply-adds a second, the best of three runs of at least 300 ms each.
   */
  async kernelRate() {
    await init();
    int8Kernel(200); // warm-up
    let best = 0;
    for (let run = 0; run < 3; run++) {
      let rounds = 1000;
      for (;;) {
        const t0 = performance.now();
        const macs = int8Kernel(rounds);
        const ms = performance.now() - t0;
        if (ms >= 300) {
          best = Math.max(best, (macs / ms) * 1000);
          break;
        }
        rounds *= 2;
      }
    }
    return { macsPerSecond: best };
  },

  /** After the warm-up: what ran the model. */
  async describe() {
    const { model, temperature } = loaded;
    return { engine, detail: `tunesmith ${engine}; ${model}; primer 16 steps (C4 E4 G4 C5); temperature ${temperature}` };
  },
};
