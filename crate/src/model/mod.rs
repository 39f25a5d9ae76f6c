//! The melody models. Both read, at every 16th step, the previous event and the step's other
//! inputs (`encoding::StepInputs`: conditioning and lookbacks), and predict the event at that
//! step.
//!
//! Every network exposes the same two faces: `forward` over whole sequences (training, scoring,
//! priming) and `step` for generation, which carries a small state so each new step costs the
//! same whatever came before. `spec` (plain data) describes a model; `packed` is the LSTM's
//! int8 form for the CPU engine; `blend` sets a model's theory strength. The networks and their weights need Burn (feature `burn`).

pub mod blend;
pub mod checksum;
pub mod packed;
mod spec;

#[cfg(feature = "burn")]
pub mod lstm;
#[cfg(feature = "burn")]
pub mod transformer;
#[cfg(feature = "burn")]
pub mod weights;

pub use spec::{LstmConfig, ModelError, ModelSpec, PitchRange, TransformerConfig};

/// Whether `bytes` look like a burnpack file (its magic number, little-endian "BURN"), as
/// opposed to a `.pack`.
pub fn is_burnpack(bytes: &[u8]) -> bool {
    bytes.starts_with(b"NRUB")
}

#[cfg(feature = "burn")]
pub use network::*;

#[cfg(feature = "burn")]
mod network {
    use burn::nn::{Embedding, EmbeddingConfig};
    use burn::prelude::*;
    use burn::tensor::Distribution;

    use super::{ModelError, ModelSpec};
    use crate::encoding::{Lookback, StepFeatures, StepInputs, Vocab};

    pub use super::lstm::{LstmModel, LstmState};
    pub use super::transformer::{TransformerModel, TransformerState};

    /// The input a model sees at one step: the previous event (or the start symbol), the step's
    /// conditioning and its lookbacks, as summed embeddings.
    #[derive(Module, Debug)]
    pub struct InputEmbedding {
        token: Embedding,
        features: Vec<Embedding>,
        lookback: Vec<Embedding>,
        /// Which steps the lookback tables read (from the spec; not a weight).
        #[module(skip)]
        reads: Lookback,
    }

    impl InputEmbedding {
        pub fn new(vocab: Vocab, dim: usize, lookback: &Lookback, device: &Device) -> Self {
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
                lookback: lookback.table_rows(vocab.size()).into_iter().map(init).collect(),
                reads: lookback.clone(),
            }
        }

        /// What the lookback inputs read.
        pub fn reads(&self) -> &Lookback {
            &self.reads
        }

        /// Columns of a step's inputs besides the token (`StepInputs::width`).
        pub fn width(&self) -> usize {
            StepInputs::width(self.lookback.len())
        }

        /// `tokens`: [B, T]; `columns`: [B, T, width] → [B, T, D].
        pub fn forward(&self, tokens: Tensor<2, Int>, columns: Tensor<3, Int>) -> Tensor<3> {
            self.token.forward(tokens) + self.columns(columns)
        }

        /// Everything but the token, for a run of steps: [B, T, width] → [B, T, D].
        pub fn columns(&self, columns: Tensor<3, Int>) -> Tensor<3> {
            let features = Self::sum(self.features.iter().chain(&self.lookback), columns);
            features.expect("there are feature tables")
        }

        /// The conditioning features alone: [B, T, 5] → [B, T, D].
        pub fn features(&self, features: Tensor<3, Int>) -> Tensor<3> {
            Self::sum(&self.features, features).expect("there are feature tables")
        }

        /// The lookbacks alone: table rows [B, T, slots] → [B, T, D]; `None` without lookbacks.
        pub fn lookbacks(&self, rows: Tensor<3, Int>) -> Option<Tensor<3>> {
            Self::sum(&self.lookback, rows)
        }

        pub fn lookback_slots(&self) -> usize {
            self.lookback.len()
        }

        /// Σ_i tables[i](columns[.., .., i]).
        fn sum<'a>(tables: impl IntoIterator<Item = &'a Embedding>, columns: Tensor<3, Int>) -> Option<Tensor<3>> {
            let [b, t, _] = columns.dims();
            let mut x: Option<Tensor<3>> = None;
            for (i, table) in tables.into_iter().enumerate() {
                let column: Tensor<2, Int> = columns.clone().slice(s![.., .., i..i + 1]).reshape([b, t]);
                let e = table.forward(column);
                x = Some(match x {
                    Some(acc) => acc + e,
                    None => e,
                });
            }
            x
        }

        /// Token embeddings: [B, 1] → [B, D].
        pub fn token(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
            let [b, _] = tokens.dims();
            self.token.forward(tokens).reshape([b as i32, -1])
        }

        /// The token embedding table [classes + 1, D].
        pub fn token_weight(&self) -> Tensor<2> {
            self.token.weight.val()
        }

        /// The other tables: conditioning features in `StepFeatures` order, then the lookbacks.
        pub fn column_weights(&self) -> Vec<Tensor<2>> {
            self.features.iter().chain(&self.lookback).map(|e| e.weight.val()).collect()
        }

        /// One step: tokens [B, 1] and columns [B, 1, width] → [B, D].
        pub fn step(&self, tokens: Tensor<2, Int>, columns: Tensor<3, Int>) -> Tensor<2> {
            let [b, _] = tokens.dims();
            self.forward(tokens, columns).reshape([b as i32, -1])
        }
    }

    /// Builds the network a spec describes, with fresh weights.
    pub fn build(spec: &ModelSpec, device: &Device) -> Result<MelodyModel, ModelError> {
        Ok(match spec {
            ModelSpec::Lstm(c) => MelodyModel::Lstm(c.init(device)?),
            ModelSpec::Transformer(c) => MelodyModel::Transformer(c.init(device)?),
        })
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
        /// `columns` [B, T, width] → [B, T, V].
        pub fn forward(&self, tokens: Tensor<2, Int>, columns: Tensor<3, Int>) -> Tensor<3> {
            match self {
                MelodyModel::Lstm(m) => m.forward(tokens, columns, None).0,
                MelodyModel::Transformer(m) => m.forward(tokens, columns, None).0,
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

        /// Steps of a primer run through the model in one call. A Transformer's attention
        /// costs memory in the product of a call's steps and the steps it sees, so a long
        /// primer goes in slices: memory linear in its length (an 8,192-step primer in one call
        /// took 3.2 GB).
        pub const PRIME_CHUNK: usize = 256;

        /// Runs a known prefix through the model: [B, T] tokens, [B, T, columns].
        pub fn prime(&self, tokens: Tensor<2, Int>, columns: Tensor<3, Int>, mut state: State) -> State {
            let [_, t] = tokens.dims();
            let mut at = 0;
            while at < t {
                let end = (at + Self::PRIME_CHUNK).min(t);
                let (tk, cols) = (tokens.clone().slice(s![.., at..end]), columns.clone().slice(s![.., at..end, ..]));
                state = match (self, state) {
                    (MelodyModel::Lstm(m), State::Lstm(s)) => State::Lstm(m.forward(tk, cols, Some(s)).1),
                    (MelodyModel::Transformer(m), State::Transformer(s)) => {
                        State::Transformer(m.forward(tk, cols, Some(s)).1)
                    }
                    _ => unreachable!("a state only comes from its own model's start()"),
                };
                at = end;
            }
            state
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
}
