//! The engine contract: what every runtime that runs a melody model implements, so the sampler
//! (`sample`) is written once for all of them.
//!
//! A generation is a [`Job`]: the static inputs of every step (`encoding::StepInputs`), the
//! classes of the primer's events, and the sampling noise of every generated step of every
//! sequence, drawn once from the seed by the sampler. An engine feeds the primer, then at each
//! step takes `argmax(logits + noise)` (Gumbel-max sampling; zero noise is greedy) as the step's
//! event and as the next step's input, looking lookback inputs up in what it has sampled so far.
//! It runs in bars (`advance`) so the caller can yield, report progress and cancel between them,
//! and reads its results back once, at the end.
//!
//! Engines: [`int8`] (the packed LSTM on the CPU), [`wgsl`] (the packed LSTM as hand-written
//! WebGPU kernels), [`burn`] (any model through Burn, on the CPU or WebGPU).

use serde::{Deserialize, Serialize};

use crate::encoding::{Lookback, StepInputs, Vocab};
use crate::model::ModelError;
use crate::theory::prior::Leap;

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(all(feature = "webgpu", target_family = "wasm"))]
pub mod gpu;
pub mod int8;
pub mod wgsl;

/// The runtimes, by the one name each has everywhere (code, results, page, docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineName {
    /// The packed int8 LSTM on the CPU (wasm SIMD in the browser).
    Int8,
    /// The packed LSTM as hand-written WGSL kernels on WebGPU.
    Wgsl,
    /// Any model through Burn: its flex backend on the CPU, its wgpu backend on WebGPU.
    Burn,
}

impl EngineName {
    pub const ALL: [EngineName; 3] = [EngineName::Int8, EngineName::Wgsl, EngineName::Burn];

    pub fn name(self) -> &'static str {
        match self {
            EngineName::Int8 => "int8",
            EngineName::Wgsl => "wgsl",
            EngineName::Burn => "burn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EngineName::Int8 => "int8 LSTM engine",
            EngineName::Wgsl => "WGSL LSTM kernels",
            EngineName::Burn => "Burn",
        }
    }
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Webgpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Webgpu => "webgpu",
        }
    }

    pub fn parse(text: &str) -> Option<Backend> {
        match text {
            "cpu" => Some(Backend::Cpu),
            "webgpu" => Some(Backend::Webgpu),
            _ => None,
        }
    }
}

/// Why WebGPU cannot be used here, in the words the page shows. The worker asks the browser
/// itself before it loads the module that holds WebGPU, and says the same.
pub const NO_WEBGPU: &str = "this browser has no WebGPU";
pub const NO_ADAPTER: &str = "no WebGPU adapter is available";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("WebGPU {what}: {message}")]
    Gpu { what: &'static str, message: String },
    #[error("the GPU device was lost ({0}); the generator restarts to start a new one")]
    DeviceLost(String),
    #[error("the model produced class {0}, outside its vocabulary")]
    BadClass(usize),
}

/// One generation: `batch` sequences that share their inputs and primer, each with its own noise.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Every step's static inputs, the primer's steps first.
    pub inputs: &'a StepInputs,
    /// The classes of the primer's events (teacher-forced).
    pub primer: &'a [usize],
    /// `T·g`, `g` Gumbel noise, plus the theory prior's static part (`theory::prior`):
    /// [batch][generated steps][classes], flat.
    pub noise: &'a [f32],
    pub batch: usize,
    /// Nats off a note that leaves a leap unanswered (`theory::prior::Leap`); 0 for none.
    pub leap: f32,
}

impl Job<'_> {
    /// Steps to sample after the primer.
    pub fn steps(&self) -> usize {
        self.inputs.len() - self.primer.len()
    }

    /// The noise of sequence `b` at generated step `g` (0-based after the primer).
    pub fn noise_at(&self, b: usize, g: usize, classes: usize) -> &[f32] {
        let at = (b * self.steps() + g) * classes;
        &self.noise[at..at + classes]
    }
}

/// The input token of step `t` given the classes of the steps before it: the start symbol first.
pub fn token_at(t: usize, vocab: Vocab, classes: &[usize]) -> usize {
    if t == 0 { vocab.start() } else { classes[t - 1] }
}

/// Index of the largest `logits[c] + noise[c]` (the first of equals), less `leap` nats for a
/// note that leaves `open`'s leap unanswered.
pub fn gumbel_argmax(logits: &[f32], noise: &[f32], leap: f32, open: Leap) -> usize {
    let score = |c: usize| logits[c] + noise[c] - if leap > 0.0 && open.unanswered(c) { leap } else { 0.0 };
    let mut best = 0;
    let mut top = score(0);
    for c in 1..logits.len() {
        let s = score(c);
        if s > top {
            (best, top) = (c, s);
        }
    }
    best
}

/// The log-probability of class `c` under `logits` (a log-softmax at temperature 1): what the
/// model itself thinks of a sample, whatever temperature drew it.
pub fn log_prob(logits: &[f32], c: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits[c] as f64 - max - sum.ln()
}

/// One sampled sequence: its classes, [generated steps], and their log-likelihood under the
/// model (natural log, summed over the generated steps).
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    pub classes: Vec<usize>,
    pub log_likelihood: f64,
}

/// What every runtime implements. A run is `start` (uploads and feeds the primer), `advance`
/// (samples up to a step, called once per bar), `finish` (every sequence's samples and their
/// log-likelihood).
#[allow(async_fn_in_trait)]
pub trait Engine {
    /// An engine's state between calls.
    type Run;

    fn name(&self) -> EngineName;
    fn backend(&self) -> Backend;
    fn vocab(&self) -> Vocab;
    fn lookback(&self) -> &Lookback;

    async fn start(&self, job: &Job<'_>) -> Result<Self::Run, EngineError>;
    /// Samples every step before `until` (counted from the start of the melody, primer included).
    async fn advance(&self, run: &mut Self::Run, job: &Job<'_>, until: usize) -> Result<(), EngineError>;
    async fn finish(&self, run: Self::Run, job: &Job<'_>) -> Result<Vec<Sampled>, EngineError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_takes_the_largest_noisy_logit() {
        let none = Leap::default();
        assert_eq!(gumbel_argmax(&[1.0, 3.0, 2.0], &[0.0; 3], 0.0, none), 1);
        assert_eq!(gumbel_argmax(&[1.0, 3.0, 2.0], &[0.0, 0.0, 1.5], 0.0, none), 2);
        assert_eq!(gumbel_argmax(&[1.0, 1.0], &[0.0, 0.0], 0.0, none), 0, "ties keep the first");
        // After a leap up to class 3, class 4 (on up) loses a nat, class 2 (back down) none.
        let open = Leap { last: Some(3), direction: 1 };
        assert_eq!(gumbel_argmax(&[0.0, 0.0, 1.0, 0.0, 1.5], &[0.0; 5], 1.0, open), 2);
        assert_eq!(gumbel_argmax(&[0.0, 0.0, 1.0, 0.0, 1.5], &[0.0; 5], 0.0, open), 4, "no prior");
        assert!((log_prob(&[0.0, 0.0], 1) - 0.5f64.ln()).abs() < 1e-12);
        assert!((log_prob(&[1000.0, 0.0, 1000.0], 0) - 0.5f64.ln()).abs() < 1e-9, "no overflow");
        let p: f64 = (0..3).map(|c| log_prob(&[0.3, -1.0, 2.0], c).exp()).sum();
        assert!((p - 1.0).abs() < 1e-12);
        assert_eq!(serde_json::to_string(&EngineName::Int8).unwrap(), "\"int8\"");
        assert_eq!(EngineName::ALL.map(EngineName::name), ["int8", "wgsl", "burn"]);
    }
}
