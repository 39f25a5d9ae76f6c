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

use super::{LstmModel, ModelError};
use crate::encoding::Conditioning;

/// Hidden-state quantisation: h ∈ (−1, 1) ↦ round(h · H_SCALE). 13 bits keeps every dot product
/// of up to 2048 terms inside an i32 (127 · 8191 · 2048 < 2³¹).
const H_SCALE: f32 = 8191.0;
const MAX_COLS: usize = 2048;
const LANES: usize = 16;

/// A row-major int8 matrix with a scale per row, rows padded to a multiple of 16 columns.
#[derive(Debug, Clone)]
struct QMatrix {
    rows: usize,
    stride: usize,
    data: Vec<i8>,
    scales: Vec<f32>,
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
struct Layer {
    /// Layer 0: the recurrent half only ([4H, H]); later layers: [4H, H_below + H].
    weights: QMatrix,
    /// Layer 0: zero (its bias is folded into the token table).
    bias: Vec<f32>,
}

/// An LSTM ready for CPU generation.
#[derive(Debug, Clone)]
pub struct PackedLstm {
    hidden: usize,
    classes: usize,
    /// [(classes + 1), 4H]: the token embedding times layer 0's input weights, plus its bias.
    token_table: Vec<f32>,
    /// Per conditioning feature: [cardinality, 4H].
    feature_tables: Vec<Vec<f32>>,
    layers: Vec<Layer>,
    head: QMatrix,
    head_bias: Vec<f32>,
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
        Ok(PackedLstm {
            hidden,
            classes,
            token_table,
            feature_tables,
            layers,
            head: QMatrix::from_input_major(&wo, cols, classes),
            head_bias,
        })
    }

    /// Feeds `primer` (model inputs, teacher-forced), then runs `steps` steps starting from the
    /// input `first`: each step's logits plus its row of `noise` pick the step's class
    /// (Gumbel-max sampling; zero noise is greedy). Returns the generated classes.
    pub fn generate(&self, conditioning: &Conditioning, primer: &[i32], first: i32, noise: &[f32], steps: usize) -> Vec<usize> {
        let h = self.hidden;
        let gates = 4 * h;
        let layers = self.layers.len();
        // One allocation per generation: states, quantised states, gate pre-activations.
        let mut c = vec![vec![0f32; h]; layers];
        // Each layer's matvec input: [h_below, h_own] quantised and padded (layer 0: h_own only).
        let mut q: Vec<Vec<i16>> = self.layers.iter().map(|l| vec![0i16; l.weights.stride]).collect();
        let mut z = vec![0f32; gates];
        let mut logits = vec![0f32; self.classes];
        let mut hq_top = vec![0i16; self.head.stride];
        let mut out = Vec::with_capacity(steps);
        let mut token = primer.first().map_or(first, |&p| p) as usize;

        for t in 0..primer.len() + steps {
            let features = conditioning.at(t as u32).as_array();
            z.copy_from_slice(&self.token_table[token * gates..(token + 1) * gates]);
            for (table, &f) in self.feature_tables.iter().zip(&features) {
                let row = &table[f as usize * gates..(f as usize + 1) * gates];
                z.iter_mut().zip(row).for_each(|(a, b)| *a += b);
            }
            for l in 0..layers {
                let layer = &self.layers[l];
                if l > 0 {
                    z.copy_from_slice(&layer.bias);
                }
                layer.weights.matvec_add(&q[l], &mut z);
                // The new h goes into this layer's own slot and the slot of the layer above.
                let own = if l == 0 { 0 } else { h };
                for j in 0..h {
                    let i = sigmoid(z[j]);
                    let f = sigmoid(z[h + j]);
                    let g = z[2 * h + j].tanh();
                    let o = sigmoid(z[3 * h + j]);
                    c[l][j] = f * c[l][j] + i * g;
                    let hv = quantise(o * c[l][j].tanh());
                    q[l][own + j] = hv;
                    if l + 1 < layers {
                        q[l + 1][j] = hv;
                    } else {
                        hq_top[j] = hv;
                    }
                }
            }
            if t + 1 < primer.len() {
                token = primer[t + 1] as usize;
                continue;
            }
            if t + 1 == primer.len() {
                token = first as usize;
                continue;
            }
            logits.copy_from_slice(&self.head_bias);
            self.head.matvec_add(&hq_top, &mut logits);
            let g = t - primer.len();
            let row = &noise[g * self.classes..(g + 1) * self.classes];
            token = (0..self.classes)
                .max_by(|&a, &b| (logits[a] + row[a]).total_cmp(&(logits[b] + row[b])))
                .expect("at least one class");
            out.push(token);
        }
        out
    }

    /// Bytes of weights read per step (int8 matrices and their scales).
    pub fn bytes_per_step(&self) -> usize {
        self.layers.iter().map(|l| l.weights.data.len() + 4 * l.weights.rows).sum::<usize>()
            + self.head.data.len()
            + 4 * self.head.rows
    }
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
        let mut agree = 0;
        for t in 0..steps {
            let row = &logits[t * v..(t + 1) * v];
            let best = (0..v).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            agree += (best == classes[t]) as usize;
        }
        // Untrained logits are nearly tied, so int8 may flip a rare close call.
        assert!(agree >= steps - 2, "{agree}/{steps}");
    }
}
