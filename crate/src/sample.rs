//! Generation: the sampling loop, run entirely on the model's device.
//!
//! Sampling uses the Gumbel-max trick: `argmax(logits + T·g)` with `g` Gumbel noise draws from
//! `softmax(logits / T)`. The noise for every step comes from a seeded generator on the host and
//! is uploaded once, so the loop never reads from the device until the end (a read per step
//! would stall WebGPU), and the same seed on the same backend always gives the same melody.

use burn::prelude::*;
use thiserror::Error;

use crate::encoding::{Conditioning, Event, TrainedOn, Vocab, decode};
use crate::melody::{Melody, MelodyError, Tempo};
use crate::model::packed::PackedLstm;
use crate::model::{MelodyModel, ModelError};

/// SplitMix64: tiny, fast, and identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    pub fn gumbel(&mut self) -> f32 {
        -(-self.unit().ln()).ln() as f32
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[derive(Debug, Error)]
pub enum GenerateError {
    #[error("length must be 1–{max} bars, got {0}", max = Request::MAX_BARS)]
    Bars(u32),
    #[error("temperature must be between 0 and {max}, got {0}", max = Request::MAX_TEMPERATURE)]
    Temperature(f32),
    #[error("the primer is {0} steps long; at most {max} are allowed", max = Melody::MAX_STEPS / 2)]
    PrimerTooLong(usize),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Melody(#[from] MelodyError),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Request {
    pub bars: u32,
    /// 0 is greedy; 1 samples the model's own distribution; higher is wilder.
    pub temperature: f32,
    pub seed: u64,
    pub tempo: Tempo,
    pub conditioning: Conditioning,
    /// Events the melody starts with; generation continues after them for `bars` more bars.
    pub primer: Vec<Event>,
}

impl Request {
    pub const MAX_BARS: u32 = 64;
    pub const MAX_TEMPERATURE: f32 = 3.0;

    pub fn check_bars(bars: u32) -> Result<u32, GenerateError> {
        if (1..=Self::MAX_BARS).contains(&bars) { Ok(bars) } else { Err(GenerateError::Bars(bars)) }
    }

    pub fn check_temperature(t: f32) -> Result<f32, GenerateError> {
        if (0.0..=Self::MAX_TEMPERATURE).contains(&t) { Ok(t) } else { Err(GenerateError::Temperature(t)) }
    }

    pub fn validate(&self) -> Result<(), GenerateError> {
        Self::check_bars(self.bars)?;
        Self::check_temperature(self.temperature)?;
        if self.primer.len() > (Melody::MAX_STEPS / 2) as usize {
            return Err(GenerateError::PrimerTooLong(self.primer.len()));
        }
        Ok(())
    }

    /// Fills "any key" and "any style" from what the model was trained on, drawn from the
    /// seed: the same seed gives the same key and style, and the model only ever hears labels
    /// it learned.
    pub fn fill_any(mut self, trained: &TrainedOn) -> Request {
        // Another stream than the notes' noise, so filling changes no draw of theirs.
        let mut rng = Rng::new(self.seed ^ 0xA11C_E5ED_0F_A11C);
        self.conditioning = trained.resolve(self.conditioning, &mut rng);
        self
    }

    /// Steps to generate (after the primer).
    pub fn steps(&self) -> usize {
        (self.bars * self.conditioning.meter.steps_per_bar()) as usize
    }

    /// Steps of the finished melody: primer and continuation.
    pub fn total_steps(&self) -> usize {
        self.primer.len() + self.steps()
    }

    /// Model inputs before the first generated step: the start symbol, then the primer's
    /// events but its last (which is the input of the first generated step).
    fn primer_inputs(&self, vocab: Vocab) -> (Vec<i32>, i32) {
        let mut inputs = vec![vocab.start() as i32];
        inputs.extend(self.primer.iter().map(|&e| vocab.index(e) as i32));
        let last = inputs.pop().expect("the start symbol is there");
        (inputs, last)
    }
}

/// The sampling noise of every step, `T·g` with `g` Gumbel: [steps, classes], row-major.
fn noise(request: &Request, classes: usize) -> Vec<f32> {
    let mut rng = Rng::new(request.seed);
    (0..request.steps() * classes).map(|_| request.temperature * rng.gumbel()).collect()
}

fn melody(classes: impl IntoIterator<Item = usize>, vocab: Vocab, request: &Request) -> Result<Melody, GenerateError> {
    let mut events = request.primer.clone();
    for c in classes {
        events.push(vocab.event(c).ok_or_else(|| ModelError::Read(format!("the model produced class {c}")))?);
    }
    let c = request.conditioning;
    let notes = decode(&events);
    // "Any key" still needs one: for the key signature of the MIDI file and to tell the user.
    let key = c.key.or_else(|| crate::theory::estimate_key(&notes));
    Ok(Melody::new(notes, request.tempo, c.meter, key)?)
}

/// Generates a melody on the model's device. Reads from the device exactly once, at the end.
pub async fn generate(
    model: &MelodyModel,
    vocab: Vocab,
    device: &Device,
    request: &Request,
) -> Result<Melody, GenerateError> {
    request.validate()?;
    let (steps, total) = (request.steps(), request.total_steps());
    let v = vocab.size();

    let features: Vec<i32> = (0..total as u32)
        .flat_map(|s| request.conditioning.at(s).as_array().map(i32::from))
        .collect();
    let features = Tensor::<3, Int>::from_data(TensorData::new(features, [1, total, 5]), device);
    let conditioning = model.input().features(features.clone());
    let noise = Tensor::<2>::from_data(TensorData::new(noise(request, v), [steps, v]), device);

    let mut state = model.start(1, device);
    let (inputs, last) = request.primer_inputs(vocab);
    let first = inputs.len();
    if first > 0 {
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(inputs, [1, first]), device);
        state = model.prime(tokens, features.slice(s![.., 0..first, ..]), state);
    }
    let mut token = Tensor::<2, Int>::from_data(TensorData::new(vec![last], [1, 1]), device);
    let mut sampled = Vec::with_capacity(steps);
    for t in first..total {
        let x = model.input().token(token) + conditioning.clone().slice(s![.., t..t + 1, ..]).reshape([1, -1]);
        let logits;
        (logits, state) = model.step(x, state);
        let g = t - first;
        token = (logits + noise.clone().slice(s![g..g + 1, ..])).argmax(1);
        sampled.push(token.clone());
    }
    let data = Tensor::cat(sampled, 1)
        .into_data_async()
        .await
        .map_err(|e| ModelError::Read(format!("{e:?}")))?;
    let classes = data.try_to_vec_as::<i64>().map_err(|e| ModelError::Read(format!("{e:?}")))?;
    melody(classes.into_iter().map(|c| c as usize), vocab, request)
}

/// Generates a melody with the CPU-packed LSTM (same noise, so the same seed makes the same
/// choices wherever the two agree on the likeliest class).
pub fn generate_packed(packed: &PackedLstm, vocab: Vocab, request: &Request) -> Result<Melody, GenerateError> {
    request.validate()?;
    let (inputs, last) = request.primer_inputs(vocab);
    let classes = packed.generate(&request.conditioning, &inputs, last, &noise(request, vocab.size()), request.steps());
    melody(classes, vocab, request)
}

/// Generates a melody with the LSTM's WebGPU kernels: one submit, one read-back.
#[cfg(target_family = "wasm")]
pub async fn generate_gpu(
    kernels: &crate::model::webgpu::GpuLstm,
    vocab: Vocab,
    request: &Request,
) -> Result<Melody, GenerateError> {
    request.validate()?;
    let (inputs, last) = request.primer_inputs(vocab);
    let noise = noise(request, vocab.size());
    let classes = kernels.generate(&request.conditioning, &inputs, last, &noise, request.steps()).await?;
    melody(classes, vocab, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<f64> = (0..10_000).map(|_| a.unit()).collect();
        assert!(xs.iter().zip((0..).map(|_| b.unit())).all(|(x, y)| *x == y));
        assert!(xs.iter().all(|&x| x > 0.0 && x < 1.0));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let mut counts = [0; 4];
        for _ in 0..4000 {
            counts[a.below(4)] += 1;
        }
        assert!(counts.iter().all(|&c| (900..1100).contains(&c)), "{counts:?}");
    }

    fn request(primer: Vec<Event>) -> Request {
        Request {
            bars: 2,
            temperature: 1.0,
            seed: 9,
            tempo: Tempo::default(),
            conditioning: Conditioning::default(),
            primer,
        }
    }

    #[test]
    fn continuations_keep_the_primer_and_repeat_per_seed() {
        use crate::model::packed::PackedLstm;
        use crate::model::{LstmConfig, ModelSpec, PitchRange};
        let device = Device::flex();
        let vocab = Vocab::DEFAULT;
        let spec = ModelSpec::Lstm(LstmConfig { range: PitchRange::from(vocab), embed: 8, hidden: 16, layers: 2, dropout: 0.0 });
        let model = spec.init(&device).unwrap();
        let MelodyModel::Lstm(lstm) = &model else { unreachable!() };
        let packed = PackedLstm::new(lstm).unwrap();
        let p = |m| Event::On(crate::melody::Pitch::new(m).unwrap());
        let primer = vec![p(60), Event::Hold, Event::Hold, Event::Hold, p(64), Event::Hold, Event::Off, Event::Hold];
        let req = request(primer.clone());
        for melody in [
            burn::tensor::read_sync(generate(&model, vocab, &device, &req)).unwrap(),
            generate_packed(&packed, vocab, &req).unwrap(),
        ] {
            let events = vocab.encode(&melody);
            assert_eq!(&events[..primer.len()], &primer[..]);
            assert!(melody.end().0 as usize <= req.total_steps());
        }
        let again = burn::tensor::read_sync(generate(&model, vocab, &device, &req)).unwrap();
        assert_eq!(again, burn::tensor::read_sync(generate(&model, vocab, &device, &req)).unwrap());
        assert_eq!(generate_packed(&packed, vocab, &req).unwrap(), generate_packed(&packed, vocab, &req).unwrap());
        let mut other = req.clone();
        other.seed = 10;
        assert_ne!(generate_packed(&packed, vocab, &other).unwrap(), generate_packed(&packed, vocab, &req).unwrap());
        let mut bad = req.clone();
        bad.bars = 0;
        assert!(matches!(generate_packed(&packed, vocab, &bad), Err(GenerateError::Bars(0))));
        bad.bars = 2;
        bad.temperature = f32::NAN;
        assert!(matches!(generate_packed(&packed, vocab, &bad), Err(GenerateError::Temperature(_))));
    }

    #[test]
    fn gumbel_max_samples_the_softmax() {
        // P(argmax(log p + g) = i) = p_i.
        let p = [0.5f32, 0.3, 0.2];
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 3];
        let n = 20_000;
        for _ in 0..n {
            let i = (0..3)
                .map(|i| p[i].ln() + rng.gumbel())
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap()
                .0;
            counts[i] += 1;
        }
        for i in 0..3 {
            let f = counts[i] as f32 / n as f32;
            assert!((f - p[i]).abs() < 0.015, "{i}: {f} vs {}", p[i]);
        }
    }
}
