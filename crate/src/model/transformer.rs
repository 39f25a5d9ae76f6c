//! A decoder-only Transformer: pre-norm blocks, causal self-attention with ALiBi position biases
//! (no position table, so it runs past its training length and a key/value cache never needs
//! re-positioning), and incremental decoding that caches each layer's keys and values, so a
//! new step attends to the past without recomputing it.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{gelu, softmax};

use super::{InputEmbedding, ModelError, TransformerConfig};

impl TransformerConfig {
    pub fn init(&self, device: &Device) -> Result<TransformerModel, ModelError> {
        let vocab = self.check()?;
        let linear = |i, o| {
            // GPT-2 style small init keeps early training stable.
            let mut l = LinearConfig::new(i, o).init(device);
            l.weight = Param::from_tensor(Tensor::random([i, o], Distribution::Normal(0.0, 0.02), device));
            l
        };
        let blocks = (0..self.layers)
            .map(|_| Block {
                norm_attn: LayerNormConfig::new(self.d_model).init(device),
                qkv: linear(self.d_model, 3 * self.d_model),
                out: linear(self.d_model, self.d_model),
                norm_ff: LayerNormConfig::new(self.d_model).init(device),
                ff_in: linear(self.d_model, self.d_ff),
                ff_out: linear(self.d_ff, self.d_model),
                dropout: DropoutConfig::new(self.dropout).init(),
                heads: self.heads,
            })
            .collect();
        Ok(TransformerModel {
            input: InputEmbedding::new(vocab, self.d_model, &self.lookback, device),
            blocks,
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: linear(self.d_model, vocab.size()),
            heads: self.heads,
            span: self.span.unwrap_or(usize::MAX),
        })
    }
}

#[derive(Module, Debug)]
pub struct Block {
    norm_attn: LayerNorm,
    qkv: Linear,
    out: Linear,
    norm_ff: LayerNorm,
    ff_in: Linear,
    ff_out: Linear,
    dropout: Dropout,
    heads: usize,
}

/// Keys and values of one layer for every step so far: [B, H, t, d_head].
#[derive(Clone)]
struct Cache {
    k: Tensor<4>,
    v: Tensor<4>,
}

/// Incremental-decoding state: each layer's cache and how many steps it holds (under twice the span).
pub struct TransformerState {
    caches: Vec<Option<Cache>>,
    length: usize,
}

/// ALiBi slopes 2^(−8h/H): each head looks back over a different distance.
fn slopes(heads: usize) -> Vec<f32> {
    (1..=heads).map(|h| 2f32.powf(-8.0 * h as f32 / heads as f32)).collect()
}

/// Attention bias for `t` new queries after `past` cached steps: [rows, H, t, past + t], with
/// −slope·distance for visible keys and −∞ for the future and for keys `span` or more back.
/// With `segments` (stateful training over rows of tunes laid end to end: each row's tune
/// number for its `past` remembered steps and then its `t` new ones, row after row), a query
/// sees only its own tune, so a remembered window never leaks one tune into the next; without,
/// one row serves the whole batch.
fn bias(heads: usize, past: usize, t: usize, span: usize, segments: Option<&[u32]>, device: &Device) -> Tensor<4> {
    let total = past + t;
    let rows = segments.map_or(1, |s| s.len() / total);
    let mut data = Vec::with_capacity(rows * heads * t * total);
    for r in 0..rows {
        let seg = segments.map(|s| &s[r * total..(r + 1) * total]);
        for m in slopes(heads) {
            for i in 0..t {
                let q = past + i;
                data.extend((0..total).map(|j| {
                    let visible = j <= q && q - j < span && seg.is_none_or(|s| s[j] == s[q]);
                    if visible { -m * (q - j) as f32 } else { f32::NEG_INFINITY }
                }));
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [rows, heads, t, total]), device)
}

/// What stateful training carries from one window to the next: each layer's keys and values of
/// the last steps, cut off from the autodiff graph (Transformer-XL style), with their tunes.
pub struct Memory {
    state: TransformerState,
    segments: Vec<u32>,
}

impl Block {
    fn forward(&self, x: Tensor<3>, cache: Option<Cache>, bias: Tensor<4>) -> (Tensor<3>, Cache) {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let qkv = self.qkv.forward(self.norm_attn.forward(x.clone()));
        // [B, t, 3d] → three [B, H, t, dh]
        let split = |i: usize| qkv.clone().slice(s![.., .., i * d..(i + 1) * d]).reshape([b, t, h, dh]).swap_dims(1, 2);
        let (q, mut k, mut v) = (split(0), split(1), split(2));
        if let Some(c) = cache {
            k = Tensor::cat(vec![c.k, k], 2);
            v = Tensor::cat(vec![c.v, v], 2);
        }
        let scores = q.matmul(k.clone().swap_dims(2, 3)) / (dh as f32).sqrt() + bias;
        let attended = softmax(scores, 3).matmul(v.clone()).swap_dims(1, 2).reshape([b, t, d]);
        let x = x + self.dropout.forward(self.out.forward(attended));
        let ff = self.ff_out.forward(gelu(self.ff_in.forward(self.norm_ff.forward(x.clone()))));
        (x + self.dropout.forward(ff), Cache { k, v })
    }
}

#[derive(Module, Debug)]
pub struct TransformerModel {
    pub input: InputEmbedding,
    blocks: Vec<Block>,
    norm: LayerNorm,
    head: Linear,
    heads: usize,
    span: usize,
}

impl TransformerModel {
    pub fn start(&self) -> TransformerState {
        TransformerState { caches: vec![None; self.blocks.len()], length: 0 }
    }

    /// Runs the blocks and the output layer on `x` [B, t, D] after `caches` (of `total - t`
    /// steps) → logits [B, t, V] and each layer's keys and values of the last `held` steps.
    fn run(
        &self,
        mut x: Tensor<3>,
        caches: Vec<Option<Cache>>,
        bias: Tensor<4>,
        total: usize,
        held: usize,
    ) -> (Tensor<3>, Vec<Cache>) {
        let mut kept = Vec::with_capacity(self.blocks.len());
        for (block, cache) in self.blocks.iter().zip(caches) {
            let (y, c) = block.forward(x, cache, bias.clone());
            x = y;
            kept.push(if held < total {
                let cut = |m: Tensor<4>| m.slice(s![.., .., total - held..total, ..]);
                Cache { k: cut(c.k), v: cut(c.v) }
            } else {
                c
            });
        }
        (self.head.forward(self.norm.forward(x)), kept)
    }

    /// Runs `x` [B, t, D] (input embeddings) after whatever `state` holds → logits [B, t, V].
    pub fn forward_embedded(&self, x: Tensor<3>, state: TransformerState) -> (Tensor<3>, TransformerState) {
        let [_, t, _] = x.dims();
        let bias = bias(self.heads, state.length, t, self.span, None, &x.device());
        let total = state.length + t;
        // The next step sees `span - 1` of these; older ones can go, but cutting the cache is a
        // copy, so it is cut back only when it reaches twice that (the bias hides the rest).
        let limit = self.span.saturating_sub(1).max(1);
        let held = if total >= limit.saturating_mul(2) { limit } else { total };
        let (logits, caches) = self.run(x, state.caches, bias, total, held);
        (logits, TransformerState { caches: caches.into_iter().map(Some).collect(), length: held })
    }

    /// Teacher-forced logits [B, t, V] of a window of rows of tunes laid end to end, attending
    /// also to `memory` (the previous window's keys and values); `segments` [B × t] numbers
    /// each step's tune. Returns the memory for the next window: the last `keep` steps.
    pub fn forward_streamed(
        &self,
        tokens: Tensor<2, Int>,
        columns: Tensor<3, Int>,
        segments: &[u32],
        memory: Option<Memory>,
        keep: usize,
    ) -> (Tensor<3>, Memory) {
        let [rows, t] = tokens.dims();
        let x = self.input.forward(tokens, columns);
        let (state, past_segments) = match memory {
            Some(m) => (m.state, m.segments),
            None => (self.start(), Vec::new()),
        };
        let past = state.length;
        let all: Vec<u32> = (0..rows)
            .flat_map(|r| past_segments[r * past..(r + 1) * past].iter().chain(&segments[r * t..(r + 1) * t]))
            .copied()
            .collect();
        let bias = bias(self.heads, past, t, self.span, Some(&all), &x.device());
        let total = past + t;
        let kept = keep.min(total);
        let (logits, caches) = self.run(x, state.caches, bias, total, kept);
        let caches = caches.into_iter().map(|c| Some(Cache { k: c.k.detach(), v: c.v.detach() })).collect();
        let segments = all.chunks_exact(total).flat_map(|seg| &seg[total - kept..]).copied().collect();
        (logits, Memory { state: TransformerState { caches, length: kept }, segments })
    }

    /// Teacher-forced logits [B, T, V] (training keeps no cache).
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        columns: Tensor<3, Int>,
        state: Option<TransformerState>,
    ) -> (Tensor<3>, TransformerState) {
        let x = self.input.forward(tokens, columns);
        self.forward_embedded(x, state.unwrap_or_else(|| self.start()))
    }

    /// One generation step: `x` [B, D] → logits [B, V].
    pub fn step(&self, x: Tensor<2>, state: TransformerState) -> (Tensor<2>, TransformerState) {
        let [b, d] = x.dims();
        let (y, state) = self.forward_embedded(x.reshape([b, 1, d]), state);
        (y.reshape([b as i32, -1]), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Vocab;
    use crate::model::PitchRange;

    fn model(device: &Device) -> TransformerModel {
        TransformerConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            d_model: 16,
            heads: 2,
            layers: 2,
            d_ff: 32,
            dropout: 0.0,
            span: None,
            lookback: Default::default(),
        }
        .init(device)
        .unwrap()
    }

    /// Logits of `tokens` in one full pass, checked equal to decoding them step by step; with
    /// the decoder's state at the end.
    fn full_pass_equals_steps(m: &TransformerModel, tokens: Vec<i32>, device: &Device) -> (Vec<f32>, TransformerState) {
        let n = tokens.len();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [1, n]), device);
        let features = Tensor::<3, Int>::zeros([1, n, 5], device);
        let (full, _) = m.forward(tokens.clone(), features.clone(), None);
        let full: Vec<f32> = full.into_data().try_to_vec().unwrap();

        let x = m.input.forward(tokens, features);
        let d = x.dims()[2];
        let mut state = m.start();
        let mut steps = Vec::new();
        for t in 0..n {
            let logits;
            (logits, state) = m.step(x.clone().slice(s![.., t..t + 1, ..]).reshape([1, d]), state);
            steps.extend(logits.into_data().try_to_vec::<f32>().unwrap());
        }
        assert_eq!(full.len(), steps.len());
        for (a, b) in full.iter().zip(&steps) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        (full, state)
    }

    /// A primer longer than a slice primes to the same state as one call would.
    #[test]
    fn a_long_primer_goes_in_slices_to_the_same_state() {
        use crate::model::{MelodyModel, State};
        let device = Device::flex();
        let m = MelodyModel::Transformer(model(&device));
        let n = MelodyModel::PRIME_CHUNK + 45;
        let tokens: Vec<i32> = (0..n).map(|i| (i * 7 % 39) as i32).collect();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [1, n]), &device);
        let columns = Tensor::<3, Int>::zeros([1, n, 5], &device);
        let MelodyModel::Transformer(t) = &m else { unreachable!() };
        let whole = State::Transformer(t.forward(tokens.clone(), columns.clone(), None).1);
        let sliced = m.prime(tokens, columns, m.start(1, &device));
        let x = Tensor::<2>::ones([1, 16], &device);
        let (a, b) = (m.step(x.clone(), whole).0, m.step(x, sliced).0);
        let (a, b): (Vec<f32>, Vec<f32>) = (a.into_data().try_to_vec().unwrap(), b.into_data().try_to_vec().unwrap());
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn incremental_decoding_matches_the_full_pass() {
        let device = Device::flex();
        full_pass_equals_steps(&model(&device), vec![39, 5, 0, 0, 7, 1], &device);
    }

    #[test]
    fn the_future_is_invisible() {
        let device = Device::flex();
        let m = model(&device);
        let run = |last: i32| {
            let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![39, 5, 9, last], [1, 4]), &device);
            let (y, _) = m.forward(tokens, Tensor::<3, Int>::zeros([1, 4, 5], &device), None);
            y.slice(s![.., 0..3, ..]).into_data().try_to_vec::<f32>().unwrap()
        };
        assert_eq!(run(2), run(30));
    }

    /// A window with memory gives the logits of one long pass over the same steps, and a
    /// step never sees another tune: both rows hold two tunes, the second starting mid-window.
    #[test]
    fn streamed_windows_match_one_pass_per_tune() {
        let device = Device::flex();
        let m = model(&device);
        let tunes: [&[i32]; 4] = [&[39, 5, 0, 7, 1], &[39, 9, 9, 2], &[39, 3, 0, 0, 4, 4, 1], &[39, 8]];
        let rows = [[0usize, 1], [2, 3]];
        let (width, windows) = (3, 3);
        let mut memory = None;
        let mut streamed: Vec<Vec<f32>> = vec![Vec::new(); 2];
        for w in 0..windows {
            let (mut tokens, mut segments) = (Vec::new(), Vec::new());
            for row in rows {
                let laid: Vec<(i32, u32)> =
                    row.iter().flat_map(|&n| tunes[n].iter().map(move |&tok| (tok, n as u32))).collect();
                for &(tok, seg) in &laid[w * width..(w + 1) * width] {
                    tokens.push(tok);
                    segments.push(seg);
                }
            }
            let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [2, width]), &device);
            let (y, next) =
                m.forward_streamed(tokens, Tensor::<3, Int>::zeros([2, width, 5], &device), &segments, memory, 2);
            memory = Some(next);
            let y: Vec<f32> = y.into_data().try_to_vec().unwrap();
            for (r, out) in streamed.iter_mut().enumerate() {
                out.extend_from_slice(&y[r * width * 39..(r + 1) * width * 39]);
            }
        }
        for (r, row) in rows.iter().enumerate() {
            let mut at = 0;
            for &n in row {
                let len = tunes[n].len();
                let tokens = Tensor::<2, Int>::from_data(TensorData::new(tunes[n].to_vec(), [1, len]), &device);
                let (alone, _) = m.forward(tokens, Tensor::<3, Int>::zeros([1, len, 5], &device), None);
                let alone: Vec<f32> = alone.into_data().try_to_vec().unwrap();
                // Only steps whose whole tune so far is within the memory (2) plus its window match.
                for (i, want) in alone.chunks(39).enumerate().filter(|&(i, _)| (at + i) % width + 2 >= i) {
                    let got = &streamed[r][(at + i) * 39..(at + i + 1) * 39];
                    for (a, b) in got.iter().zip(want) {
                        assert!((a - b).abs() < 1e-4, "row {r} tune {n} step {i}: {a} vs {b}");
                    }
                }
                at += len;
            }
        }
    }

    /// With a span, decoding step by step (the cache trimmed) matches the full pass (masked).
    #[test]
    fn a_span_limits_what_a_step_sees() {
        let device = Device::flex();
        let config = TransformerConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            d_model: 16,
            heads: 2,
            layers: 2,
            d_ff: 32,
            dropout: 0.0,
            span: Some(3),
            lookback: Default::default(),
        };
        let m = config.init(&device).unwrap();
        let run = |first: i32| {
            let (full, state) = full_pass_equals_steps(&m, vec![first, 5, 0, 7, 1, 9], &device);
            assert!(state.length < 4, "the cache keeps under twice the span");
            full
        };
        // The first token is out of every step's sight from step 3 on, even through the layers
        // below (each layer's window is the same 3 steps).
        let (a, b) = (run(39), run(12));
        assert_ne!(a[..3 * 39], b[..3 * 39]);
        assert_eq!(a[5 * 39..], b[5 * 39..]);
    }

    #[test]
    fn rejects_bad_shapes() {
        let c = TransformerConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            d_model: 10,
            heads: 3,
            layers: 1,
            d_ff: 8,
            dropout: 0.0,
            span: None,
            lookback: Default::default(),
        };
        assert!(c.init(&Device::flex()).is_err());
    }
}
