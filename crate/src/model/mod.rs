//! The melody models. Both read, at every 16th step, the previous event and the step's
//! conditioning, and predict the event at that step.
//!
//! Every model exposes the same two faces: `forward` over whole sequences (training, scoring a
//! primer) and `step` for generation, which carries a small state so each new step costs the same
//! whatever came before.

pub mod lstm;
pub mod markov;
pub mod packed;
pub mod transformer;
pub mod webgpu;
pub mod weights;

use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use crate::encoding::{StepFeatures, Vocab};
use crate::melody::Pitch;

pub use lstm::{LstmConfig, LstmModel, LstmState};
pub use transformer::{TransformerConfig, TransformerModel, TransformerState};

/// The input a model sees at one step: the previous event (or the start symbol) and the step's
/// conditioning, summed embeddings.
#[derive(Module, Debug)]
pub struct InputEmbedding {
    token: Embedding,
    features: Vec<Embedding>,
}

impl InputEmbedding {
    pub fn new(vocab: Vocab, dim: usize, device: &Device) -> Self {
        let init = |n| {
            let weight = Tensor::<2>::random([n, dim], Distribution::Normal(0.0, 0.1), device);
            let mut e = EmbeddingConfig::new(n, dim).init(device);
            e.weight = burn::module::Param::from_tensor(weight);
            e
        };
        InputEmbedding {
            // One more row than the vocabulary: the start symbol.
            token: init(vocab.start() + 1),
            features: StepFeatures::CARDINALITIES.iter().map(|&n| init(n)).collect(),
        }
    }

    /// `tokens`: [B, T]; `features`: [B, T, 5] → [B, T, D].
    pub fn forward(&self, tokens: Tensor<2, Int>, features: Tensor<3, Int>) -> Tensor<3> {
        self.token.forward(tokens) + self.features(features)
    }

    /// Conditioning only, for a run of steps: [B, T, 5] → [B, T, D]. Generation adds the token
    /// embedding of each sampled event to a row of this.
    pub fn features(&self, features: Tensor<3, Int>) -> Tensor<3> {
        let [b, t, _] = features.dims();
        let mut x: Option<Tensor<3>> = None;
        for (i, table) in self.features.iter().enumerate() {
            let column: Tensor<2, Int> = features.clone().slice(s![.., .., i..i + 1]).reshape([b, t]);
            let e = table.forward(column);
            x = Some(match x {
                Some(acc) => acc + e,
                None => e,
            });
        }
        x.expect("there are feature tables")
    }

    /// The token embedding table [classes + 1, D].
    pub fn token_weight(&self) -> Tensor<2> {
        self.token.weight.val()
    }

    /// The conditioning embedding tables, in `StepFeatures` order.
    pub fn feature_weights(&self) -> Vec<Tensor<2>> {
        self.features.iter().map(|e| e.weight.val()).collect()
    }

    /// Token embeddings: [B, 1] → [B, D].
    pub fn token(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let [b, _] = tokens.dims();
        self.token.forward(tokens).reshape([b as i32, -1])
    }
}

/// The pitch range of a model as stored in its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitchRange {
    pub lo: u8,
    pub hi: u8,
}

impl PitchRange {
    pub fn vocab(self) -> Result<Vocab, ModelError> {
        let p = |m: u8| Pitch::new(m as i32).map_err(|_| ModelError::Config(format!("pitch {m} out of range")));
        Vocab::new(p(self.lo)?, p(self.hi)?)
            .ok_or_else(|| ModelError::Config(format!("pitch range {}–{} is under an octave", self.lo, self.hi)))
    }
}

impl From<Vocab> for PitchRange {
    fn from(v: Vocab) -> Self {
        PitchRange { lo: v.lo().midi(), hi: v.hi().midi() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bad model configuration: {0}")]
    Config(String),
    #[error("the weights do not fit the model: {0}")]
    Weights(String),
    #[error("reading a result from the device failed: {0}")]
    Read(String),
}

/// A model's architecture and sizes; saved as JSON beside its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ModelSpec {
    Lstm(LstmConfig),
    Transformer(TransformerConfig),
}

impl ModelSpec {
    pub fn parse(json: &str) -> Result<Self, ModelError> {
        serde_json::from_str(json).map_err(|e| ModelError::Config(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a spec always serialises")
    }

    /// A spec file's architecture and its record of the training data (`to_json_with`).
    pub fn parse_with_record(json: &str) -> Result<(Self, crate::encoding::TrainedOn), ModelError> {
        let trained_on = crate::encoding::TrainedOn::from_spec_json(json).map_err(ModelError::Config)?;
        Ok((Self::parse(json)?, trained_on))
    }

    /// The spec with a record of the training data beside it (`parse_with_record` reads it
    /// back; `parse` ignores it).
    pub fn to_json_with(&self, trained_on: &crate::encoding::TrainedOn) -> String {
        let mut value = serde_json::to_value(self).expect("a spec always serialises");
        value["trained_on"] = serde_json::to_value(trained_on).expect("counts always serialise");
        serde_json::to_string_pretty(&value).expect("a spec always serialises")
    }

    pub fn vocab(&self) -> Result<Vocab, ModelError> {
        match self {
            ModelSpec::Lstm(c) => c.range.vocab(),
            ModelSpec::Transformer(c) => c.range.vocab(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Lstm(_) => "lstm",
            ModelSpec::Transformer(_) => "transformer",
        }
    }

    pub fn init(&self, device: &Device) -> Result<MelodyModel, ModelError> {
        Ok(match self {
            ModelSpec::Lstm(c) => MelodyModel::Lstm(c.init(device)?),
            ModelSpec::Transformer(c) => MelodyModel::Transformer(c.init(device)?),
        })
    }
}

/// Any of the shipped architectures.
#[derive(Module, Debug)]
pub enum MelodyModel {
    Lstm(LstmModel),
    Transformer(TransformerModel),
}

/// Generation state of any architecture.
pub enum State {
    Lstm(LstmState),
    Transformer(TransformerState),
}

impl MelodyModel {
    /// Teacher-forced logits: `tokens` [B, T] (inputs: start symbol or previous event),
    /// `features` [B, T, 5] → [B, T, V].
    pub fn forward(&self, tokens: Tensor<2, Int>, features: Tensor<3, Int>) -> Tensor<3> {
        match self {
            MelodyModel::Lstm(m) => m.forward(tokens, features, None).0,
            MelodyModel::Transformer(m) => m.forward(tokens, features, None).0,
        }
    }

    pub fn input(&self) -> &InputEmbedding {
        match self {
            MelodyModel::Lstm(m) => &m.input,
            MelodyModel::Transformer(m) => &m.input,
        }
    }

    pub fn start(&self, batch: usize, device: &Device) -> State {
        match self {
            MelodyModel::Lstm(m) => State::Lstm(m.start(batch, device)),
            MelodyModel::Transformer(m) => State::Transformer(m.start()),
        }
    }

    /// Runs a known prefix through the model in one sequence call: [B, T] tokens.
    pub fn prime(&self, tokens: Tensor<2, Int>, features: Tensor<3, Int>, state: State) -> State {
        match (self, state) {
            (MelodyModel::Lstm(m), State::Lstm(s)) => State::Lstm(m.forward(tokens, features, Some(s)).1),
            (MelodyModel::Transformer(m), State::Transformer(s)) => {
                State::Transformer(m.forward(tokens, features, Some(s)).1)
            }
            _ => unreachable!("a state only comes from its own model's start()"),
        }
    }

    /// One generation step from an input embedding `x` [B, D] → logits [B, V].
    pub fn step(&self, x: Tensor<2>, state: State) -> (Tensor<2>, State) {
        match (self, state) {
            (MelodyModel::Lstm(m), State::Lstm(s)) => {
                let (y, s) = m.step(x, s);
                (y, State::Lstm(s))
            }
            (MelodyModel::Transformer(m), State::Transformer(s)) => {
                let (y, s) = m.step(x, s);
                (y, State::Transformer(s))
            }
            _ => unreachable!("a state only comes from its own model's start()"),
        }
    }
}
