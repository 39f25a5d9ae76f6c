//! A decoder-only Transformer: pre-norm blocks, causal self-attention with ALiBi position biases
//! (no position table, so it runs past its training length and a key/value cache never needs
//! re-positioning), and incremental decoding that caches each layer's keys and values, so a
//! new step attends to the past without recomputing it.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{gelu, softmax};
use serde::{Deserialize, Serialize};

use super::{InputEmbedding, ModelError, PitchRange};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub range: PitchRange,
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    pub d_ff: usize,
    #[serde(default)]
    pub dropout: f64,
}

impl TransformerConfig {
    pub fn init(&self, device: &Device) -> Result<TransformerModel, ModelError> {
        let vocab = self.range.vocab()?;
        if self.heads == 0 || self.d_model % self.heads != 0 || self.layers == 0 || self.d_ff == 0 {
            return Err(ModelError::Config(format!(
                "a Transformer needs layers ≥ 1 and d_model ({}) divisible by heads ({})",
                self.d_model, self.heads
            )));
        }
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
            input: InputEmbedding::new(vocab, self.d_model, device),
            blocks,
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: linear(self.d_model, vocab.size()),
            heads: self.heads,
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

/// Incremental-decoding state: each layer's cache and how many steps it holds.
pub struct TransformerState {
    caches: Vec<Option<Cache>>,
    length: usize,
}

/// ALiBi slopes 2^(−8h/H): each head looks back over a different distance.
fn slopes(heads: usize) -> Vec<f32> {
    (1..=heads).map(|h| 2f32.powf(-8.0 * h as f32 / heads as f32)).collect()
}

/// Attention bias for `t` new queries after `past` cached steps: [1, H, t, past + t], with
/// −slope·distance for visible keys and −∞ for the future.
fn bias(heads: usize, past: usize, t: usize, device: &Device) -> Tensor<4> {
    let total = past + t;
    let mut data = Vec::with_capacity(heads * t * total);
    for m in slopes(heads) {
        for i in 0..t {
            let q = past + i;
            data.extend((0..total).map(|j| if j <= q { -m * (q - j) as f32 } else { f32::NEG_INFINITY }));
        }
    }
    Tensor::from_data(TensorData::new(data, [1, heads, t, total]), device)
}

impl Block {
    fn forward(&self, x: Tensor<3>, cache: Option<Cache>, bias: Tensor<4>) -> (Tensor<3>, Cache) {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.heads, d / self.heads);
        let qkv = self.qkv.forward(self.norm_attn.forward(x.clone()));
        // [B, t, 3d] → three [B, H, t, dh]
        let split = |i: usize| {
            qkv.clone().slice(s![.., .., i * d..(i + 1) * d]).reshape([b, t, h, dh]).swap_dims(1, 2)
        };
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
}

impl TransformerModel {
    pub fn start(&self) -> TransformerState {
        TransformerState { caches: vec![None; self.blocks.len()], length: 0 }
    }

    /// Runs `x` [B, t, D] (input embeddings) after whatever `state` holds → logits [B, t, V].
    pub fn forward_embedded(&self, mut x: Tensor<3>, state: TransformerState) -> (Tensor<3>, TransformerState) {
        let [_, t, _] = x.dims();
        let bias = bias(self.heads, state.length, t, &x.device());
        let mut caches = Vec::with_capacity(self.blocks.len());
        for (block, cache) in self.blocks.iter().zip(state.caches) {
            let (y, c) = block.forward(x, cache, bias.clone());
            x = y;
            caches.push(Some(c));
        }
        (self.head.forward(self.norm.forward(x)), TransformerState { caches, length: state.length + t })
    }

    /// Teacher-forced logits [B, T, V] (training keeps no cache).
    pub fn forward(&self, tokens: Tensor<2, Int>, features: Tensor<3, Int>, state: Option<TransformerState>) -> (Tensor<3>, TransformerState) {
        let x = self.input.forward(tokens, features);
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

    fn model(device: &Device) -> TransformerModel {
        TransformerConfig { range: PitchRange::from(Vocab::DEFAULT), d_model: 16, heads: 2, layers: 2, d_ff: 32, dropout: 0.0 }
            .init(device)
            .unwrap()
    }

    #[test]
    fn incremental_decoding_matches_the_full_pass() {
        let device = Device::flex();
        let m = model(&device);
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![39i32, 5, 0, 0, 7, 1], [1, 6]), &device);
        let features = Tensor::<3, Int>::zeros([1, 6, 5], &device);
        let (full, _) = m.forward(tokens.clone(), features.clone(), None);
        let full: Vec<f32> = full.into_data().try_to_vec().unwrap();

        let x = m.input.forward(tokens, features);
        let mut state = m.start();
        let mut steps = Vec::new();
        for t in 0..6 {
            let logits;
            (logits, state) = m.step(x.clone().slice(s![.., t..t + 1, ..]).reshape([1, 16]), state);
            steps.extend(logits.into_data().try_to_vec::<f32>().unwrap());
        }
        assert_eq!(full.len(), steps.len());
        for (a, b) in full.iter().zip(&steps) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
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

    #[test]
    fn rejects_bad_shapes() {
        let c = TransformerConfig { range: PitchRange::from(Vocab::DEFAULT), d_model: 10, heads: 3, layers: 1, d_ff: 8, dropout: 0.0 };
        assert!(c.init(&Device::flex()).is_err());
    }
}
