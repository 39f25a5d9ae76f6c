// The work of the benchmark's anchor rows (ONNX Runtime Web, TF.js 4.22), written once for
// every engine page and for Node: Magenta's basic_rnn shape (2 × 512 LSTM over 38 one-hot
// classes, a dense head to 38 logits) with seeded random weights, the primer magenta.js and
// tunesmith.js continue, a seeded sampler, and a plain-JS float64 LSTM that each engine's
// logits are checked against. Speed does not depend on the weights' values.

export const CLASSES = 38; // 0 = no event, 1 = note-off, 2.. = MIDI 48–83 (Magenta's MelodyConverter)
export const UNITS = 512;
export const LAYERS = 2;
/** Gate order of the canonical weights below: input, forget, cell (TF's "j"), output. */
export const GATES = ['i', 'f', 'c', 'o'];
/** Added to the forget gate's pre-activation, as tf.basicLSTMCell(forgetBias = 1) does in MusicRNN. */
export const FORGET_BIAS = 1;

/** The primer of magenta.js / tunesmith.js (C4 E4 G4 C5 in quarter notes, 16 steps) as classes. */
export const PRIMER = [60, 64, 67, 72].flatMap((pitch) => [pitch - 48 + 2, 0, 0, 0]);

/** mulberry32: a tiny seeded PRNG, the same seed always gives the same numbers (checkpoint.mjs too). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Random weights in one engine-neutral layout. Layer l: wx [4][UNITS][inputs] (gate-major in
 * GATES order, row = gate·UNITS + unit), wh [4][UNITS][UNITS], b [4][UNITS] (without the forget
 * bias). Head: w [UNITS][CLASSES] (logits = h·w + b), b [CLASSES].
 */
export function randomWeights({ seed = 1, scale = 0.08 } = {}) {
  const next = rng(seed);
  const fill = (n) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (next() * 2 - 1) * scale;
    return a;
  };
  const layers = [];
  for (let l = 0; l < LAYERS; l++) {
    const inputs = l === 0 ? CLASSES : UNITS;
    layers.push({ inputs, wx: fill(4 * UNITS * inputs), wh: fill(4 * UNITS * UNITS), b: fill(4 * UNITS) });
  }
  return { layers, head: { w: fill(UNITS * CLASSES), b: fill(CLASSES) } };
}

/**
 * TF.js layout: per layer a kernel [inputs + UNITS, 4·UNITS] (rows: input then hidden; columns:
 * gates i, j(c), f, o — which is GATES with c and f swapped — each UNITS wide) and a bias [4·UNITS].
 */
export function tfjsLayout(weights) {
  const tfOrder = ['i', 'c', 'f', 'o'];
  const H = UNITS;
  return {
    layers: weights.layers.map(({ inputs, wx, wh, b }) => {
      const kernel = new Float32Array((inputs + H) * 4 * H);
      const bias = new Float32Array(4 * H);
      tfOrder.forEach((gate, col) => {
        const g = GATES.indexOf(gate);
        for (let u = 0; u < H; u++) {
          const j = col * H + u;
          for (let k = 0; k < inputs; k++) kernel[k * 4 * H + j] = wx[(g * H + u) * inputs + k];
          for (let k = 0; k < H; k++) kernel[(inputs + k) * 4 * H + j] = wh[(g * H + u) * H + k];
          bias[j] = b[g * H + u];
        }
      });
      return { kernel, bias, kernelShape: [inputs + H, 4 * H] };
    }),
    head: weights.head,
  };
}

/**
 * ONNX LSTM layout: W [1, 4·UNITS, inputs], R [1, 4·UNITS, UNITS], B [1, 8·UNITS] in ONNX's gate
 * order i, o, f, c; B is Wb then Rb, the forget bias folded into Wb's f block, Rb zero.
 */
export function onnxLayout(weights) {
  const onnxOrder = ['i', 'o', 'f', 'c'];
  const H = UNITS;
  return {
    layers: weights.layers.map(({ inputs, wx, wh, b }) => {
      const W = new Float32Array(4 * H * inputs);
      const R = new Float32Array(4 * H * H);
      const B = new Float32Array(8 * H);
      onnxOrder.forEach((gate, slot) => {
        const g = GATES.indexOf(gate);
        W.set(wx.subarray(g * H * inputs, (g + 1) * H * inputs), slot * H * inputs);
        R.set(wh.subarray(g * H * H, (g + 1) * H * H), slot * H * H);
        for (let u = 0; u < H; u++) B[slot * H + u] = b[g * H + u] + (gate === 'f' ? FORGET_BIAS : 0);
      });
      return { inputs, W, R, B };
    }),
    head: weights.head,
  };
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

/** The reference: a float64 LSTM stepped in plain JS. step(class) → logits (Float64Array). */
export class Reference {
  constructor(weights) {
    this.w = weights;
    this.h = weights.layers.map(() => new Float64Array(UNITS));
    this.c = weights.layers.map(() => new Float64Array(UNITS));
  }

  step(token) {
    const H = UNITS;
    let x = new Float64Array(CLASSES);
    x[token] = 1;
    this.w.layers.forEach(({ inputs, wx, wh, b }, l) => {
      const h = this.h[l];
      const c = this.c[l];
      const pre = new Float64Array(4 * H);
      for (let r = 0; r < 4 * H; r++) {
        let s = b[r];
        const ox = r * inputs;
        for (let k = 0; k < inputs; k++) if (x[k] !== 0) s += wx[ox + k] * x[k];
        const oh = r * H;
        for (let k = 0; k < H; k++) s += wh[oh + k] * h[k];
        pre[r] = s;
      }
      const hNew = new Float64Array(H);
      for (let u = 0; u < H; u++) {
        const i = sigmoid(pre[u]);
        const f = sigmoid(pre[H + u] + FORGET_BIAS);
        const g = Math.tanh(pre[2 * H + u]);
        const o = sigmoid(pre[3 * H + u]);
        c[u] = f * c[u] + i * g;
        hNew[u] = o * Math.tanh(c[u]);
      }
      this.h[l] = hNew;
      x = hNew;
    });
    const { w, b } = this.w.head;
    const logits = new Float64Array(CLASSES);
    for (let j = 0; j < CLASSES; j++) {
      let s = b[j];
      for (let k = 0; k < H; k++) s += x[k] * w[k * CLASSES + j];
      logits[j] = s;
    }
    return logits;
  }
}

/** Classes fed in the numerics check: the primer, then a few more fixed ones. */
export const CHECK_TOKENS = [...PRIMER, 1, 30, 0, 2];

/**
 * Max |engine logit − reference logit| over CHECK_TOKENS, one step each; `stepLogits(token)`
 * resolves to the engine's logits after feeding `token` (from a fresh state).
 */
export async function maxLogitDiff(weights, stepLogits) {
  const ref = new Reference(weights);
  let max = 0;
  for (const token of CHECK_TOKENS) {
    const want = ref.step(token);
    const got = await stepLogits(token, true);
    for (let j = 0; j < CLASSES; j++) max = Math.max(max, Math.abs(got[j] - want[j]));
  }
  return { maxDiff: max, checkSteps: CHECK_TOKENS.length };
}

/** Draws a class from softmax(logits / temperature) with `rand` (uniform in [0, 1)). */
export function sample(logits, temperature, rand) {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += p[j] = Math.exp((logits[j] - max) / temperature);
  let u = rand() * sum;
  for (let j = 0; j < logits.length; j++) if ((u -= p[j]) < 0) return j;
  return logits.length - 1;
}

/** A one-hot [1, CLASSES] row. */
export function oneHot(token) {
  const x = new Float32Array(CLASSES);
  x[token] = 1;
  return x;
}

/**
 * The timed loop all anchor pages share: feed the primer one step at a time, then sample
 * `steps` classes at `temperature`, each drawn in JS from the logits read back after the step
 * before and fed back in. `step(token, read)` resolves to that step's logits on the host (with
 * `read` false, inside the primer, it need not read them back), `reset()` zeroes the state.
 * Resolves to the sampled classes.
 */
export async function continuePrimer({ step, reset }, steps, temperature, rand) {
  await reset();
  let logits;
  for (let t = 0; t < PRIMER.length; t++) logits = await step(PRIMER[t], t === PRIMER.length - 1);
  const out = [];
  for (let t = 0; t < steps; t++) {
    const token = sample(logits, temperature, rand);
    out.push(token);
    if (t + 1 < steps) logits = await step(token);
  }
  return out;
}

/** One timed `continuePrimer` run, its draws seeded by `seed`; resolves to {ms}. */
export async function timedRun(engine, steps, temperature, seed) {
  const rand = rng(seed);
  const t0 = performance.now();
  const out = await continuePrimer(engine, steps, temperature, rand);
  const ms = performance.now() - t0;
  if (out.length !== steps) throw new Error(`got ${out.length} steps, asked ${steps}`);
  return { ms };
}

/** The names of the .wasm files this page fetched (what a row really ran). */
export function wasmBinaries() {
  return performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm')).map((n) => n.split('/').pop());
}
