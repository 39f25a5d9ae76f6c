//! The LSTM repacked for fast batch-1 generation on the CPU (in wasm: simd128).
//!
//! Generating one step costs a matrix-vector product per layer, and at the sizes of these models
//! that product is bound by how many weight bytes it reads. So:
//! - the first layer's input half disappears: the input is a sum of embedding rows, so its
//!   product with the weights is a sum of rows of precomputed tables (one per embedding);
//! - the remaining weights are int8 with one scale per row, and the hidden state, always in
//!   (−1, 1), is int16 with a fixed scale, so a product is exact integer arithmetic
//!   (`i32x4.dot_i16x8_s` in wasm) that any platform reproduces bit for bit;
//! - every buffer is allocated once per generation, none per step.

use burn::prelude::*;
use burn::tensor::f16;

use super::{LstmModel, ModelError};
use crate::encoding::Conditioning;

/// Hidden-state quantisation: h ∈ (−1, 1) ↦ round(h · H_SCALE). 13 bits keeps every dot product
/// of up to 2048 terms inside an i32 (127 · 8191 · 2048 < 2³¹).
const H_SCALE: f32 = 8191.0;
const MAX_COLS: usize = 2048;
const LANES: usize = 16;

/// A row-major int8 matrix with a scale per row, rows padded to a multiple of 16 columns.
#[derive(Debug, Clone)]
pub(super) struct QMatrix {
    pub(super) rows: usize,
    pub(super) stride: usize,
    pub(super) data: Vec<i8>,
    pub(super) scales: Vec<f32>,
}

impl QMatrix {
    /// From `w` stored [cols (inputs), rows (outputs)] as Burn keeps linear weights.
    fn from_input_major(w: &[f32], cols: usize, rows: usize) -> QMatrix {
        let stride = cols.div_ceil(LANES) * LANES;
        let mut data = vec![0i8; rows * stride];
        let mut scales = vec![0f32; rows];
        for r in 0..rows {
            let max = (0..cols).map(|c| w[c * rows + r].abs()).fold(0f32, f32::max);
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales[r] = scale;
            for c in 0..cols {
                data[r * stride + c] = (w[c * rows + r] / scale).round().clamp(-127.0, 127.0) as i8;
            }
        }
        QMatrix { rows, stride, data, scales }
    }

    /// `out[r] += scale_r / H_SCALE · Σ_c W[r, c] · x[c]`, `x` quantised hidden values
    /// (`x.len() == stride`, zero-padded).
    fn matvec_add(&self, x: &[i16], out: &mut [f32]) {
        debug_assert_eq!(x.len(), self.stride);
        for r in 0..self.rows {
            let row = &self.data[r * self.stride..(r + 1) * self.stride];
            out[r] += dot(row, x) as f32 * (self.scales[r] / H_SCALE);
        }
    }
}

/// Exact integer dot product; simd128 in wasm, scalar elsewhere (same result).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot(w: &[i8], x: &[i16]) -> i32 {
    use core::arch::wasm32::*;
    debug_assert!(w.len() == x.len() && w.len() % LANES == 0);
    let mut acc = i32x4_splat(0);
    let mut k = 0;
    while k < w.len() {
        // SAFETY: k + 16 ≤ len for both slices (lengths are equal multiples of 16); v128 loads
        // are unaligned-safe.
        unsafe {
            let wv = v128_load(w.as_ptr().add(k) as *const v128);
            let x0 = v128_load(x.as_ptr().add(k) as *const v128);
            let x1 = v128_load(x.as_ptr().add(k + 8) as *const v128);
            acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_low_i8x16(wv), x0));
            acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_high_i8x16(wv), x1));
        }
        k += LANES;
    }
    i32x4_extract_lane::<0>(acc) + i32x4_extract_lane::<1>(acc) + i32x4_extract_lane::<2>(acc) + i32x4_extract_lane::<3>(acc)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dot(w: &[i8], x: &[i16]) -> i32 {
    w.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum()
}

#[derive(Debug, Clone)]
pub(super) struct Layer {
    /// Layer 0: the recurrent half only ([4H, H]); later layers: [4H, H_below + H].
    pub(super) weights: QMatrix,
    /// Layer 0: zero (its bias is folded into the token table).
    pub(super) bias: Vec<f32>,
}

/// An LSTM ready for CPU generation.
#[derive(Debug, Clone)]
pub struct PackedLstm {
    pub(super) hidden: usize,
    pub(super) classes: usize,
    /// [(classes + 1), 4H]: the token embedding times layer 0's input weights, plus its bias.
    pub(super) token_table: Vec<f32>,
    /// Per conditioning feature: [cardinality, 4H].
    pub(super) feature_tables: Vec<Vec<f32>>,
    pub(super) layers: Vec<Layer>,
    pub(super) head: QMatrix,
    pub(super) head_bias: Vec<f32>,
}

fn read(t: Tensor<2>) -> Result<(Vec<f32>, [usize; 2]), ModelError> {
    let dims = t.dims();
    let v = t.into_data().try_to_vec_as::<f32>().map_err(|e| ModelError::Read(format!("{e:?}")))?;
    Ok((v, dims))
}

fn read1(t: Tensor<1>) -> Result<Vec<f32>, ModelError> {
    t.into_data().try_to_vec_as::<f32>().map_err(|e| ModelError::Read(format!("{e:?}")))
}

impl PackedLstm {
    /// Packs a model held on a CPU device (this reads its weights synchronously).
    pub fn new(model: &LstmModel) -> Result<PackedLstm, ModelError> {
        let first = &model.cells[0];
        let hidden = first.hidden;
        let gates = 4 * hidden;
        let w0 = first.weight.val();
        let w_x = w0.clone().slice(s![0..first.input_size, ..]);
        let w_h = w0.slice(s![first.input_size.., ..]);
        let bias0 = first.bias.val().unsqueeze::<2>();
        let (token_table, _) = read(model.input.token_weight().matmul(w_x.clone()) + bias0)?;
        let feature_tables = model
            .input
            .feature_weights()
            .into_iter()
            .map(|e| read(e.matmul(w_x.clone())).map(|(v, _)| v))
            .collect::<Result<Vec<_>, _>>()?;
        let mut layers = Vec::with_capacity(model.cells.len());
        let (wh, [cols, _]) = read(w_h)?;
        layers.push(Layer { weights: QMatrix::from_input_major(&wh, cols, gates), bias: vec![0.0; gates] });
        for cell in &model.cells[1..] {
            let (w, [cols, rows]) = read(cell.weight.val())?;
            if cols > MAX_COLS {
                return Err(ModelError::Config(format!("layer input {cols} exceeds {MAX_COLS}")));
            }
            layers.push(Layer { weights: QMatrix::from_input_major(&w, cols, rows), bias: read1(cell.bias.val())? });
        }
        let (wo, [cols, classes]) = read(model.head.weight.val())?;
        let head_bias = match &model.head.bias {
            Some(b) => read1(b.val())?,
            None => vec![0.0; classes],
        };
        // Tables are shipped as f16 (see `to_bytes`); round them here so every packed engine,
        // loaded from a file or packed in place, computes exactly the same thing.
        let half = |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|x| f16::from_f32(x).to_f32()).collect() };
        Ok(PackedLstm {
            hidden,
            classes,
            token_table: half(token_table),
            feature_tables: feature_tables.into_iter().map(half).collect(),
            layers,
            head: QMatrix::from_input_major(&wo, cols, classes),
            head_bias,
        })
    }

    /// Buffers for one sequence: allocated once, reused every step.
    fn scratch(&self) -> Scratch {
        Scratch {
            c: vec![vec![0f32; self.hidden]; self.layers.len()],
            q: self.layers.iter().map(|l| vec![0i16; l.weights.stride]).collect(),
            z: vec![0f32; 4 * self.hidden],
            logits: vec![0f32; self.classes],
            top: vec![0i16; self.head.stride],
        }
    }

    /// One step of every layer: input `token` with the step's conditioning `features`.
    fn advance(&self, s: &mut Scratch, token: usize, features: [u8; 5]) {
        let h = self.hidden;
        let gates = 4 * h;
        let layers = self.layers.len();
        s.z.copy_from_slice(&self.token_table[token * gates..(token + 1) * gates]);
        for (table, &f) in self.feature_tables.iter().zip(&features) {
            let row = &table[f as usize * gates..(f as usize + 1) * gates];
            s.z.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        for l in 0..layers {
            let layer = &self.layers[l];
            if l > 0 {
                s.z.copy_from_slice(&layer.bias);
            }
            layer.weights.matvec_add(&s.q[l], &mut s.z);
            // Each layer's matvec input is [h_below, h_own] (layer 0: h_own only), so the new
            // h goes into this layer's own slot and the slot of the layer above.
            let own = if l == 0 { 0 } else { h };
            for j in 0..h {
                let z = &s.z;
                let i = sigmoid(z[j]);
                let f = sigmoid(z[h + j]);
                let g = z[2 * h + j].tanh();
                let o = sigmoid(z[3 * h + j]);
                s.c[l][j] = f * s.c[l][j] + i * g;
                let hv = quantise(o * s.c[l][j].tanh());
                s.q[l][own + j] = hv;
                if l + 1 < layers {
                    s.q[l + 1][j] = hv;
                } else {
                    s.top[j] = hv;
                }
            }
        }
    }

    /// The logits of the last step, into `s.logits`.
    fn logits(&self, s: &mut Scratch) {
        s.logits.copy_from_slice(&self.head_bias);
        self.head.matvec_add(&s.top, &mut s.logits);
    }

    /// Feeds `primer` (model inputs, teacher-forced), then runs `steps` steps starting from the
    /// input `first`: each step's logits plus its row of `noise` pick the step's class
    /// (Gumbel-max sampling; zero noise is greedy). Returns the generated classes.
    pub fn generate(&self, conditioning: &Conditioning, primer: &[i32], first: i32, noise: &[f32], steps: usize) -> Vec<usize> {
        let mut s = self.scratch();
        let mut out = Vec::with_capacity(steps);
        let mut token = primer.first().map_or(first, |&p| p) as usize;
        for t in 0..primer.len() + steps {
            self.advance(&mut s, token, conditioning.at(t as u32).as_array());
            if t + 1 < primer.len() {
                token = primer[t + 1] as usize;
                continue;
            }
            if t + 1 == primer.len() {
                token = first as usize;
                continue;
            }
            self.logits(&mut s);
            let g = t - primer.len();
            let row = &noise[g * self.classes..(g + 1) * self.classes];
            let logits = &s.logits;
            token = (0..self.classes)
                .max_by(|&a, &b| (logits[a] + row[a]).total_cmp(&(logits[b] + row[b])))
                .expect("at least one class");
            out.push(token);
        }
        out
    }

    /// Teacher-forced logits of every step of `inputs` ([steps, classes], row-major): the
    /// packed engine's own predictions, to measure what int8 costs in likelihood.
    pub fn logits_of(&self, conditioning: &Conditioning, inputs: &[i32]) -> Vec<f32> {
        let mut s = self.scratch();
        let mut out = Vec::with_capacity(inputs.len() * self.classes);
        for (t, &token) in inputs.iter().enumerate() {
            self.advance(&mut s, token as usize, conditioning.at(t as u32).as_array());
            self.logits(&mut s);
            out.extend_from_slice(&s.logits);
        }
        out
    }

    /// The packed model as a file (`.pack`): what the page downloads for an LSTM, about half
    /// the bytes of the f16 burnpack. Little-endian: magic, hidden, classes, then the token
    /// table and each feature table (f16), each layer (int8 rows, f32 scales, f32 bias), the
    /// head (int8 rows, f32 scales) and its bias.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes_per_step() + 2 * self.token_table.len() + 64);
        out.extend_from_slice(PACK_MAGIC);
        let u32s = |out: &mut Vec<u8>, v: &[usize]| v.iter().for_each(|&x| out.extend_from_slice(&(x as u32).to_le_bytes()));
        let f16s = |out: &mut Vec<u8>, v: &[f32]| v.iter().for_each(|&x| out.extend_from_slice(&f16::from_f32(x).to_bits().to_le_bytes()));
        let f32s = |out: &mut Vec<u8>, v: &[f32]| v.iter().for_each(|&x| out.extend_from_slice(&x.to_le_bytes()));
        let matrix = |out: &mut Vec<u8>, m: &QMatrix| {
            u32s(out, &[m.rows, m.stride]);
            out.extend(m.data.iter().map(|&b| b as u8));
            f32s(out, &m.scales);
        };
        u32s(&mut out, &[self.hidden, self.classes, self.layers.len(), self.feature_tables.len()]);
        u32s(&mut out, &[self.token_table.len()]);
        f16s(&mut out, &self.token_table);
        for t in &self.feature_tables {
            u32s(&mut out, &[t.len()]);
            f16s(&mut out, t);
        }
        for l in &self.layers {
            matrix(&mut out, &l.weights);
            f32s(&mut out, &l.bias);
        }
        matrix(&mut out, &self.head);
        f32s(&mut out, &self.head_bias);
        out
    }

    /// Reads a `.pack` file, checking every size against the header.
    pub fn from_bytes(bytes: &[u8]) -> Result<PackedLstm, ModelError> {
        let bad = |what: &str| ModelError::Weights(format!("not a tunesmith .pack file ({what})"));
        let mut r = Reader { bytes, at: 0 };
        if r.take(PACK_MAGIC.len()).ok_or_else(|| bad("too short"))? != PACK_MAGIC {
            return Err(bad("wrong magic"));
        }
        let mut u = || r.u32().ok_or_else(|| bad("truncated header"));
        let (hidden, classes, layers, features) = (u()?, u()?, u()?, u()?);
        if hidden == 0 || hidden > MAX_COLS || classes == 0 || classes > 4096 || layers == 0 || layers > 16 || features > 16 {
            return Err(bad("implausible sizes"));
        }
        let gates = 4 * hidden;
        let table = |r: &mut Reader, rows_of: usize| -> Result<Vec<f32>, ModelError> {
            let n = r.u32().ok_or_else(|| bad("truncated table"))?;
            if n % rows_of != 0 {
                return Err(bad("table width"));
            }
            let raw = r.take(2 * n).ok_or_else(|| bad("truncated table"))?;
            Ok(raw.chunks_exact(2).map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()).collect())
        };
        let token_table = table(&mut r, gates)?;
        if token_table.len() != (classes + 1) * gates {
            return Err(bad("token table size"));
        }
        let feature_tables = (0..features).map(|_| table(&mut r, gates)).collect::<Result<Vec<_>, _>>()?;
        let f32s = |r: &mut Reader, n: usize| -> Result<Vec<f32>, ModelError> {
            let raw = r.take(4 * n).ok_or_else(|| bad("truncated floats"))?;
            Ok(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let matrix = |r: &mut Reader, rows: usize, cols: usize| -> Result<QMatrix, ModelError> {
            let (got_rows, stride) = (r.u32().ok_or_else(|| bad("truncated matrix"))?, r.u32().ok_or_else(|| bad("truncated matrix"))?);
            if got_rows != rows || stride != cols.div_ceil(LANES) * LANES {
                return Err(bad("matrix shape"));
            }
            let data = r.take(rows * stride).ok_or_else(|| bad("truncated matrix"))?.iter().map(|&b| b as i8).collect();
            Ok(QMatrix { rows, stride, data, scales: f32s(r, rows)? })
        };
        let mut stack = Vec::with_capacity(layers);
        for l in 0..layers {
            let cols = if l == 0 { hidden } else { 2 * hidden };
            let weights = matrix(&mut r, gates, cols)?;
            stack.push(Layer { weights, bias: f32s(&mut r, gates)? });
        }
        let head = matrix(&mut r, classes, hidden)?;
        let head_bias = f32s(&mut r, classes)?;
        if r.at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(PackedLstm { hidden, classes, token_table, feature_tables, layers: stack, head, head_bias })
    }

    /// Bytes of weights read per step (int8 matrices and their scales).
    pub fn bytes_per_step(&self) -> usize {
        self.layers.iter().map(|l| l.weights.data.len() + 4 * l.weights.rows).sum::<usize>()
            + self.head.data.len()
            + 4 * self.head.rows
    }
}

const PACK_MAGIC: &[u8; 8] = b"TSPACK01";

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

struct Scratch {
    c: Vec<Vec<f32>>,
    /// Each layer's quantised matvec input, padded.
    q: Vec<Vec<i16>>,
    /// Gate pre-activations.
    z: Vec<f32>,
    logits: Vec<f32>,
    /// The top layer's quantised h, padded for the head.
    top: Vec<i16>,
}

fn quantise(h: f32) -> i16 {
    (h * H_SCALE).round() as i16
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Vocab;
    use crate::melody::Meter;
    use crate::model::{LstmConfig, PitchRange};
    use crate::sample::Rng;

    #[test]
    fn pack_files_round_trip_and_refuse_damage() {
        let config = LstmConfig { range: PitchRange::from(Vocab::DEFAULT), embed: 12, hidden: 20, layers: 2, dropout: 0.0 };
        let packed = PackedLstm::new(&config.init(&Device::flex()).unwrap()).unwrap();
        let bytes = packed.to_bytes();
        let back = PackedLstm::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        let c = Conditioning { meter: Meter::COMMON, key: None, style: None };
        let noise = vec![0.0; 10 * Vocab::DEFAULT.size()];
        assert_eq!(back.generate(&c, &[], 39, &noise, 10), packed.generate(&c, &[], 39, &noise, 10));
        for cut in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(PackedLstm::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(PackedLstm::from_bytes(&longer).is_err());
        let mut huge = bytes.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(PackedLstm::from_bytes(&huge).is_err());
    }

    #[test]
    fn quantised_matvec_is_close_to_float() {
        let (cols, rows) = (40, 8);
        let mut rng = Rng::new(5);
        let w: Vec<f32> = (0..cols * rows).map(|_| rng.unit() as f32 - 0.5).collect();
        let h: Vec<f32> = (0..cols).map(|_| 2.0 * rng.unit() as f32 - 1.0).collect();
        let m = QMatrix::from_input_major(&w, cols, rows);
        let mut x = vec![0i16; m.stride];
        for (q, v) in x.iter_mut().zip(&h) {
            *q = quantise(*v);
        }
        let mut out = vec![0f32; rows];
        m.matvec_add(&x, &mut out);
        for r in 0..rows {
            let exact: f32 = (0..cols).map(|c| w[c * rows + r] * h[c]).sum();
            assert!((out[r] - exact).abs() < 0.02, "row {r}: {} vs {exact}", out[r]);
        }
    }

    #[test]
    fn packed_lstm_agrees_with_the_burn_model() {
        let device = Device::flex();
        device.seed(7);
        let config = LstmConfig { range: PitchRange::from(Vocab::DEFAULT), embed: 24, hidden: 32, layers: 2, dropout: 0.0 };
        let model = config.init(&device).unwrap();
        let packed = PackedLstm::new(&model).unwrap();
        let conditioning = Conditioning { meter: Meter::COMMON, key: None, style: None };
        let steps = 24;
        let v = Vocab::DEFAULT.size();
        // Greedy: no noise. Drive the Burn model with the packed model's choices and compare the
        // logits' argmax and values step by step.
        let start = [Vocab::DEFAULT.start() as i32];
        let classes = packed.generate(&conditioning, &[], start[0], &vec![0.0; steps * v], steps);
        let mut tokens = vec![Vocab::DEFAULT.start() as i32];
        tokens.extend(classes[..steps - 1].iter().map(|&c| c as i32));
        let features: Vec<i32> = (0..steps as u32).flat_map(|s| conditioning.at(s).as_array().map(i32::from)).collect();
        let (logits, _) = model.forward(
            Tensor::from_data(TensorData::new(tokens, [1, steps]), &device),
            Tensor::from_data(TensorData::new(features, [1, steps, 5]), &device),
            None,
        );
        let logits: Vec<f32> = logits.into_data().try_to_vec().unwrap();
        // Untrained logits are nearly tied, so int8 may flip a close call: the packed model's
        // choice must be the Burn argmax or within rounding of it, never a clearly worse class.
        let mut agree = 0;
        for t in 0..steps {
            let row = &logits[t * v..(t + 1) * v];
            let best = (0..v).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            let spread = row[best] - row.iter().copied().fold(f32::INFINITY, f32::min);
            let shortfall = row[best] - row[classes[t]];
            assert!(shortfall <= 0.02 * spread, "step {t}: chose {} ({}) over {best} ({}), spread {spread}", classes[t], row[classes[t]], row[best]);
            agree += (best == classes[t]) as usize;
        }
        assert!(agree >= steps - 2, "{agree}/{steps}");
    }
}
