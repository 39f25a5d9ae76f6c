//! The int8 engine: the packed LSTM (`model::packed`) on the CPU, one sequence at a time.
//!
//! A step costs a matrix-vector product per layer, and at these sizes that product is bound by
//! the weight bytes it reads and the multiplies it does: int8 weights times int16 hidden state
//! is exact integer arithmetic (`i32x4.dot_i16x8_s` in wasm) that any platform reproduces bit
//! for bit. Every buffer is allocated once per sequence, none per step.

use super::{Backend, Engine, EngineError, EngineName, Job, Sampled, gumbel_argmax, log_prob, token_at};
use crate::encoding::{Lookback, StepInputs, Vocab};
use crate::model::packed::{H_SCALE, LANES, PackedLstm, QMatrix};
use crate::model::{LstmConfig, ModelError};
use crate::theory::prior::Leap;

/// Exact integer dot product; simd128 in wasm, scalar elsewhere (same result).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot(w: &[i8], x: &[i16]) -> i32 {
    use core::arch::wasm32::*;
    debug_assert!(w.len() == x.len() && w.len().is_multiple_of(LANES));
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
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dot(w: &[i8], x: &[i16]) -> i32 {
    debug_assert!(w.len() == x.len() && w.len().is_multiple_of(LANES));
    w.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum()
}

/// `out[r] += scale_r / H_SCALE · Σ_c W[r, c] · x[c]`, `x` quantised hidden values
/// (`x.len() == stride`, zero-padded).
fn matvec_add(m: &QMatrix, x: &[i16], out: &mut [f32]) {
    debug_assert_eq!(x.len(), m.stride);
    for (r, (o, scale)) in out.iter_mut().zip(&m.scales).enumerate() {
        *o += dot(m.row(r), x) as f32 * (scale / H_SCALE);
    }
}

/// The kernel alone, on rows that stay in the L1 cache: `rounds` passes over 16 rows of 1,024
/// weights, against an input changed every pass. Returns the multiply-adds done. Benchmarks
/// time it for this machine's rate for the kernel — the ceiling a step could reach if its
/// weights never left the cache — beside the rate a whole model reaches.
pub fn kernel_in_cache(rounds: u32) -> u64 {
    const COLS: usize = 1024;
    const ROWS: usize = 16;
    let w: Vec<i8> = (0..ROWS * COLS).map(|i| ((i * 37) % 127) as i8 - 63).collect();
    let mut x: Vec<i16> = (0..COLS).map(|i| ((i * 91) % 2001) as i16 - 1000).collect();
    let mut sum = 0i64;
    for r in 0..rounds {
        x[0] = r as i16;
        let x = core::hint::black_box(&x);
        for row in w.chunks(COLS) {
            sum = sum.wrapping_add(dot(row, x) as i64);
        }
    }
    core::hint::black_box(sum);
    rounds as u64 * (ROWS * COLS) as u64
}

fn quantise(h: f32) -> i16 {
    (h * H_SCALE).round() as i16
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Buffers for one sequence: allocated once, reused every step.
pub struct Scratch {
    c: Vec<Vec<f32>>,
    /// Each layer's quantised matvec input, padded: [h_below, h_own] (layer 0: h_own).
    q: Vec<Vec<i16>>,
    /// Gate pre-activations.
    z: Vec<f32>,
    logits: Vec<f32>,
    /// The top layer's quantised h, padded for the head.
    top: Vec<i16>,
}

/// The packed LSTM, checked against its spec, ready to run.
pub struct Int8Engine {
    packed: PackedLstm,
    vocab: Vocab,
    lookback: Lookback,
}

impl Int8Engine {
    pub fn new(packed: PackedLstm, spec: &LstmConfig) -> Result<Int8Engine, ModelError> {
        packed.check_against(spec)?;
        Ok(Int8Engine { packed, vocab: spec.check()?, lookback: spec.lookback.clone() })
    }

    fn scratch(&self) -> Scratch {
        let p = &self.packed;
        Scratch {
            c: vec![vec![0f32; p.hidden]; p.layers.len()],
            q: p.layers.iter().map(|l| vec![0i16; l.weights.stride]).collect(),
            z: vec![0f32; 4 * p.hidden],
            logits: vec![0f32; p.classes],
            top: vec![0i16; p.head.stride],
        }
    }

    /// Step `t` of every layer, given the classes of the steps before it; leaves the step's
    /// logits in `s.logits`.
    fn step(&self, s: &mut Scratch, t: usize, inputs: &StepInputs, classes: &[usize]) {
        let p = &self.packed;
        let h = p.hidden;
        let gates = 4 * h;
        let row = |r: usize| r * gates..(r + 1) * gates;
        let token = token_at(t, self.vocab, classes);
        s.z.copy_from_slice(&p.token_table[row(token)]);
        let features = inputs.features(t).map(usize::from);
        let rows = features.into_iter().chain(inputs.rows(t, self.vocab, classes));
        for (table, r) in p.tables.iter().zip(rows) {
            s.z.iter_mut().zip(&table[row(r)]).for_each(|(a, b)| *a += b);
        }
        let layers = p.layers.len();
        for l in 0..layers {
            let layer = &p.layers[l];
            if l > 0 {
                s.z.copy_from_slice(&layer.bias);
            }
            matvec_add(&layer.weights, &s.q[l], &mut s.z);
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
        s.logits.copy_from_slice(&p.head_bias);
        matvec_add(&p.head, &s.top, &mut s.logits);
    }

    /// Teacher-forced logits of every step of a known melody ([steps, classes], row-major):
    /// the engine's own predictions, to measure what int8 costs in likelihood.
    pub fn score(&self, inputs: &StepInputs, classes: &[usize]) -> Vec<f32> {
        let mut s = self.scratch();
        let mut out = Vec::with_capacity(inputs.len() * self.packed.classes);
        for t in 0..inputs.len() {
            self.step(&mut s, t, inputs, classes);
            out.extend_from_slice(&s.logits);
        }
        out
    }
}

/// One sequence in flight: its buffers and every class so far, the primer's included.
pub struct Sequence {
    scratch: Scratch,
    classes: Vec<usize>,
    log_likelihood: f64,
}

pub struct Int8Run {
    sequences: Vec<Sequence>,
    /// The next step to run.
    t: usize,
}

impl Engine for Int8Engine {
    type Run = Int8Run;

    fn name(&self) -> EngineName {
        EngineName::Int8
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn vocab(&self) -> Vocab {
        self.vocab
    }
    fn lookback(&self) -> &Lookback {
        &self.lookback
    }

    async fn start(&self, job: &Job<'_>) -> Result<Int8Run, EngineError> {
        let mut sequences = Vec::with_capacity(job.batch);
        for _ in 0..job.batch {
            let mut seq = Sequence {
                scratch: self.scratch(),
                classes: Vec::with_capacity(job.inputs.len()),
                log_likelihood: 0.0,
            };
            for (t, &class) in job.primer.iter().enumerate() {
                self.step(&mut seq.scratch, t, job.inputs, &seq.classes);
                seq.classes.push(class);
            }
            sequences.push(seq);
        }
        Ok(Int8Run { sequences, t: job.primer.len() })
    }

    async fn advance(&self, run: &mut Int8Run, job: &Job<'_>, until: usize) -> Result<(), EngineError> {
        let first = job.primer.len();
        for (b, seq) in run.sequences.iter_mut().enumerate() {
            for t in run.t..until {
                self.step(&mut seq.scratch, t, job.inputs, &seq.classes);
                let open = if job.leap > 0.0 { Leap::after(&seq.classes) } else { Leap::default() };
                let noise = job.noise_at(b, t - first, self.packed.classes);
                let c = gumbel_argmax(&seq.scratch.logits, noise, job.leap, open);
                seq.log_likelihood += log_prob(&seq.scratch.logits, c);
                seq.classes.push(c);
            }
        }
        run.t = run.t.max(until);
        Ok(())
    }

    async fn finish(&self, run: Int8Run, job: &Job<'_>) -> Result<Vec<Sampled>, EngineError> {
        Ok(run
            .sequences
            .into_iter()
            .map(|s| Sampled { classes: s.classes[job.primer.len()..].to_vec(), log_likelihood: s.log_likelihood })
            .collect())
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::encoding::Conditioning;
    use crate::melody::Meter;
    use crate::model::PitchRange;
    use crate::rng::Rng;
    use burn::prelude::*;

    #[test]
    fn the_kernel_benchmark_counts_its_multiply_adds() {
        assert_eq!(kernel_in_cache(3), 3 * 16 * 1024);
        assert_eq!(kernel_in_cache(0), 0);
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
        matvec_add(&m, &x, &mut out);
        for r in 0..rows {
            let exact: f32 = (0..cols).map(|c| w[c * rows + r] * h[c]).sum();
            assert!((out[r] - exact).abs() < 0.02, "row {r}: {} vs {exact}", out[r]);
        }
    }

    /// The engine's teacher-forced logits track the Burn model's, lookbacks included: int8 may
    /// flip a close call between nearly tied classes of an untrained model, never a clear one.
    #[test]
    fn the_int8_engine_agrees_with_the_burn_model() {
        let device = Device::flex();
        device.seed(7);
        let lookback = Lookback { bars: vec![1, 2], half: false, form: true };
        let spec = LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 24,
            hidden: 32,
            layers: 2,
            dropout: 0.0,
            lookback: lookback.clone(),
        };
        let model = spec.init(&device).unwrap();
        let engine = Int8Engine::new(PackedLstm::from_lstm(&model).unwrap(), &spec).unwrap();
        let c = Conditioning { meter: Meter::parse("2/4").unwrap(), key: None, style: None };
        let steps = 40;
        // A repeat and a variation: both ways a plan is read.
        let mut plan = crate::form::Form::parse("AABA").unwrap().plan(5);
        plan.sources[4] = Some(crate::form::Take { bar: 1, exact: false });
        let inputs = StepInputs::new(&c, &lookback, Some(&plan), steps);
        let mut rng = Rng::new(3);
        let v = Vocab::DEFAULT;
        let classes: Vec<usize> = (0..steps).map(|_| rng.below(v.size())).collect();
        let ours = engine.score(&inputs, &classes);
        let mut tokens = vec![v.start() as i32];
        tokens.extend(classes[..steps - 1].iter().map(|&c| c as i32));
        let width = StepInputs::width(lookback.slots());
        let (logits, _) = model.forward(
            Tensor::from_data(TensorData::new(tokens, [1, steps]), &device),
            Tensor::from_data(TensorData::new(inputs.columns(v, &classes, steps), [1, steps, width]), &device),
            None,
        );
        let theirs: Vec<f32> = logits.into_data().try_to_vec().unwrap();
        for t in 0..steps {
            let (a, b) = (&ours[t * v.size()..(t + 1) * v.size()], &theirs[t * v.size()..(t + 1) * v.size()]);
            let spread = b.iter().copied().fold(f32::MIN, f32::max) - b.iter().copied().fold(f32::MAX, f32::min);
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 0.05 * spread.max(0.1), "step {t}: {x} vs {y} (spread {spread})");
            }
        }
    }
}
