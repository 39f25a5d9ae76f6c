// tunesmith's packed LSTM on WebGPU (engine::wgsl): one dispatch per layer and step (matrix-
// vector product and cell update fused), one for the output layer and Gumbel-max sampling.
// The sampled event goes back into the next step through `io`, so a whole run of steps is
// recorded into one compute pass with no read-back in between.
//
// Weights are int8 with a scale per row, four to a u32, laid out input-major so that
// neighbouring invocations (hidden units) read neighbouring words. The hidden state is f32.
//
// `io`: [0] the step to run, [1] the first sampled step (before it the primer supplies the
// inputs), [2] where each step's static input rows start, [3] where its lookback codes start,
// [4] the samples' log-likelihood so far (f32 bits), [5] the nats off a note that leaves a leap
// unanswered (f32 bits; theory::prior); from IO_HEADER: the input token of every step (the
// class of the step before; the start symbol first), then per step STATIC absolute table rows,
// then per step SLOTS lookback codes.

@group(0) @binding(0) var<storage, read> wts: array<u32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read_write> st: array<f32>;
@group(0) @binding(4) var<storage, read_write> io: array<u32>;

const IO_HEADER: u32 = 6u;
// theory::metrics::LEAP: a leap is at least a fifth.
const LEAP: i32 = 7;
const WORKGROUP: u32 = 64u;
// Inputs up to 2048 wide (vec4s), logits (raw and noisy) up to 256 classes: 10 KB of workgroup
// memory.
const MAX_KQ: u32 = 512u;
const MAX_CLASSES: u32 = 256u;

// Sizes of the network.
override H: u32;
override V: u32;
override LAYERS: u32;
// This pipeline's layer (the layer entry point) and its matrix: offset in `wts`, input width
// in vec4s, offsets of its row scales and its bias in `prm`.
override LAYER: u32 = 0u;
override W: u32;
override KQ: u32;
override SCALES: u32;
override BIAS: u32;
// Layer 0's input tables, concatenated in `prm` from TABLES, [rows][4H]: the token table, the
// conditioning features', then SLOTS lookback tables of LOOKBACK_ROWS rows from LOOKBACK.
override TABLES: u32 = 0u;
override STATIC: u32 = 0u;
override SLOTS: u32 = 0u;
override LOOKBACK: u32 = 0u;
override LOOKBACK_ROWS: u32 = 0u;

var<workgroup> xs: array<vec4<f32>, MAX_KQ>;
var<workgroup> logits: array<f32, MAX_CLASSES>;
var<workgroup> noisy: array<f32, MAX_CLASSES>;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// tanh as some drivers build it, (e^2x − 1) / (e^2x + 1), is NaN once e^2x overflows, and a
// cell state can grow past that over a long melody (SwiftShader's did, near step 90). Past
// ±15 tanh is ±1 in f32.
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }

// Sign-extends the four int8s of a word (low byte first).
fn i8x4(w: u32) -> vec4<f32> {
  let v = bitcast<i32>(w);
  return vec4<f32>(vec4<i32>((v << 24u) >> 24u, (v << 16u) >> 24u, (v << 8u) >> 24u, v >> 24u));
}

// Recurrent state of layer l: h for even steps, h for odd steps, c.
fn h_at(l: u32, parity: u32, k: u32) -> f32 { return st[l * 3u * H + parity * H + k]; }

// Input k of this layer: layer 0 sees its own previous h; layer l the new h of the layer below,
// then its own previous h. Padding reads as zero.
fn layer_input(k: u32, cur: u32, nxt: u32) -> f32 {
  if (LAYER == 0u) {
    if (k < H) { return h_at(0u, cur, k); }
    return 0.0;
  }
  if (k < H) { return h_at(LAYER - 1u, nxt, k); }
  if (k < 2u * H) { return h_at(LAYER, cur, k - H); }
  return 0.0;
}

// The class of step s, once known (the primer's are written by the host, samples by `head`).
fn class_of(s: u32) -> u32 { return io[IO_HEADER + s + 1u]; }

// Layer 0's input for gate row r at step t: the sum of one row of every input table.
fn table_input(t: u32, r: u32) -> f32 {
  let g = 4u * H;
  var sum = prm[TABLES + io[IO_HEADER + t] * g + r];
  let so = io[2];
  for (var f = 0u; f < STATIC; f++) {
    sum += prm[TABLES + io[so + t * STATIC + f] * g + r];
  }
  let lo = io[3];
  for (var k = 0u; k < SLOTS; k++) {
    let code = io[lo + t * SLOTS + k];
    // Codes from 0xFFFFFFFD up: no plan, new material, before the melody (rows V+2, V+1, V);
    // below, a step, with bit 30 set in a bar the plan varies (rows from V+3 on).
    var row = V + (0xFFFFFFFFu - code);
    if (code < 0xFFFFFFFDu) {
      if ((code & 0x40000000u) != 0u) { row = V + 3u + class_of(code & 0x3FFFFFFFu); } else { row = class_of(code); }
    }
    sum += prm[LOOKBACK + (k * LOOKBACK_ROWS + row) * g + r];
  }
  return sum;
}

@compute @workgroup_size(WORKGROUP)
fn layer(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = io[0];
  let cur = t & 1u;
  let nxt = cur ^ 1u;
  for (var q = li; q < KQ; q += WORKGROUP) {
    var x: vec4<f32>;
    for (var i = 0u; i < 4u; i++) { x[i] = layer_input(4u * q + i, cur, nxt); }
    xs[q] = x;
  }
  workgroupBarrier();
  let j = gid.x;
  if (j >= H) { return; }
  let g = 4u * H;
  var acc = vec4<f32>(0.0);
  for (var q = 0u; q < KQ; q++) {
    let x = xs[q];
    let at = W + q * g + j;
    acc += vec4<f32>(dot(i8x4(wts[at]), x), dot(i8x4(wts[at + H]), x), dot(i8x4(wts[at + 2u * H]), x), dot(i8x4(wts[at + 3u * H]), x));
  }
  var z: vec4<f32>;
  for (var k = 0u; k < 4u; k++) {
    let r = k * H + j;
    var base: f32;
    if (LAYER == 0u) { base = table_input(t, r); } else { base = prm[BIAS + r]; }
    z[k] = acc[k] * prm[SCALES + r] + base;
  }
  let cell = LAYER * 3u * H + 2u * H + j;
  let c = sigmoid(z.y) * st[cell] + sigmoid(z.x) * tanh_(z.z);
  st[cell] = c;
  st[LAYER * 3u * H + nxt * H + j] = sigmoid(z.w) * tanh_(c);
}

// Logits of the top layer's new h, plus this step's Gumbel noise: the argmax is the sample
// (from step io[1] on). Then the clock ticks.
@compute @workgroup_size(WORKGROUP)
fn head(@builtin(local_invocation_index) li: u32) {
  let t = io[0];
  let nxt = (t & 1u) ^ 1u;
  let first = io[1];
  for (var q = li; q < KQ; q += WORKGROUP) {
    var x: vec4<f32>;
    for (var i = 0u; i < 4u; i++) {
      let k = 4u * q + i;
      if (k < H) { x[i] = h_at(LAYERS - 1u, nxt, k); } else { x[i] = 0.0; }
    }
    xs[q] = x;
  }
  workgroupBarrier();
  for (var c = li; c < V; c += WORKGROUP) {
    var acc = 0.0;
    for (var q = 0u; q < KQ; q++) { acc += dot(i8x4(wts[W + q * V + c]), xs[q]); }
    var n = 0.0;
    if (t >= first) { n = noise[(t - first) * V + c]; }
    logits[c] = acc * prm[SCALES + c] + prm[BIAS + c];
    noisy[c] = logits[c] + n;
  }
  workgroupBarrier();
  if (li == 0u) {
    if (t >= first) {
      // theory::prior::Leap: after a leap between the last two notes, a note that does not
      // turn back loses io[5] nats. Classes from 2 are notes in pitch order.
      let nats = bitcast<f32>(io[5]);
      var last = -1;
      var direction = 0;
      if (nats > 0.0) {
        var found = 0u;
        var s = t;
        while (s > 0u && found < 2u) {
          let c = i32(io[IO_HEADER + s]);
          if (c >= 2) {
            if (found == 0u) {
              last = c;
            } else if (abs(last - c) >= LEAP) {
              direction = sign(last - c);
            }
            found++;
          }
          s--;
        }
      }
      var best = 0u;
      var top = logits[0];
      var best_score = noisy[0];
      for (var c = 1u; c < V; c++) {
        var score = noisy[c];
        if (direction != 0 && c >= 2u && (i32(c) - last) * direction >= 0) { score -= nats; }
        if (score > best_score) { best = c; best_score = score; }
        top = max(top, logits[c]);
      }
      var sum = 0.0;
      for (var c = 0u; c < V; c++) { sum += exp(logits[c] - top); }
      io[4] = bitcast<u32>(bitcast<f32>(io[4]) + logits[best] - top - log(sum));
      io[IO_HEADER + t + 1u] = best;
    }
    io[0] = t + 1u;
  }
}
