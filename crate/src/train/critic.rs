//! The adversarial reward (SeqGAN-style, beside RL Tuner's rules): a small LSTM critic trained,
//! step by step with the tuner, to tell the opening bars of corpus tunes from the model's
//! melodies; how corpus-like it finds a melody is an extra reward at the melody's last step.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, Lstm, LstmConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

use crate::corpus::Tune;
use crate::encoding::Vocab;
use crate::rng::Rng;

#[derive(Module, Debug)]
pub struct CriticNet {
    embed: Embedding,
    lstm: Lstm,
    out: Linear,
}

impl CriticNet {
    fn new(classes: usize, device: &Device) -> CriticNet {
        CriticNet {
            embed: EmbeddingConfig::new(classes, 32).init(device),
            lstm: LstmConfig::new(32, 64, true).init(device),
            out: LinearConfig::new(64, 1).init(device),
        }
    }

    /// The logit of "from the corpus" for each sequence of `classes` [B, T] (padding masked out
    /// of the mean over steps by `mask` [B, T]).
    fn forward(&self, classes: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
        let [b, _] = classes.dims();
        let (h, _) = self.lstm.forward(self.embed.forward(classes), None);
        let weights = mask.clone().unsqueeze_dim::<3>(2);
        let pooled = (h * weights).sum_dim(1).reshape([b as i32, -1]) / mask.sum_dim(1).clamp_min(1.0);
        self.out.forward(pooled).reshape([b as i32])
    }
}

/// The critic with its optimiser and its supply of corpus openings.
pub struct Critic {
    net: CriticNet,
    optim: burn::optim::ModuleOptimizer,
    /// Each corpus tune's classes, from its first step.
    corpus: Vec<Vec<usize>>,
    device: Device,
    lr: f64,
}

/// Sequences padded into a batch: classes and mask.
fn padded(rows: &[&[usize]], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let t = rows.iter().map(|r| r.len()).max().unwrap_or(1).max(1);
    let mut classes = vec![0i32; rows.len() * t];
    let mut mask = vec![0f32; rows.len() * t];
    for (i, r) in rows.iter().enumerate() {
        for (j, &c) in r.iter().enumerate() {
            classes[i * t + j] = c as i32;
            mask[i * t + j] = 1.0;
        }
    }
    (
        Tensor::from_data(TensorData::new(classes, [rows.len(), t]), device),
        Tensor::from_data(TensorData::new(mask, [rows.len(), t]), device),
    )
}

impl Critic {
    /// A fresh critic over the corpus `tunes` (folded into the vocabulary's range); `None`
    /// without a tune to learn from.
    pub fn new(tunes: &[Tune], vocab: Vocab, lr: f64, device: &Device) -> Option<Critic> {
        let corpus: Vec<Vec<usize>> = crate::eval::folded(tunes, vocab)
            .iter()
            .map(|t| vocab.encode(&t.melody).into_iter().map(|e| vocab.index(e)).collect::<Vec<_>>())
            .filter(|c: &Vec<usize>| !c.is_empty())
            .collect();
        if corpus.is_empty() {
            return None;
        }
        Some(Critic {
            net: CriticNet::new(vocab.size(), device),
            optim: AdamConfig::new().init(),
            corpus,
            device: device.clone(),
            lr,
        })
    }

    /// One training step on `fakes` (the model's melodies) against as many corpus openings of
    /// the same lengths; returns the accuracy on this batch (before the step) and each fake's
    /// reward, `ln D(fake)` (D the critic's probability of "corpus"), floored at −5.
    pub fn step(&mut self, fakes: &[&[usize]], rng: &mut Rng) -> (f64, Vec<f64>) {
        let reals: Vec<&[usize]> = fakes
            .iter()
            .map(|f| {
                let tune = &self.corpus[rng.below(self.corpus.len())];
                &tune[..tune.len().min(f.len())]
            })
            .collect();
        let rows: Vec<&[usize]> = fakes.iter().chain(reals.iter()).copied().collect();
        let (classes, mask) = padded(&rows, &self.device);
        let logits = self.net.forward(classes, mask);
        let n = fakes.len();
        let labels: Vec<f32> = (0..2 * n).map(|i| if i < n { 0.0 } else { 1.0 }).collect();
        let labels = Tensor::<1>::from_data(TensorData::new(labels, [2 * n]), &self.device);
        // Binary cross-entropy from logits: −[y ln σ(z) + (1 − y) ln σ(−z)].
        let loss = -(labels.clone() * log_sigmoid(logits.clone())
            + (labels.ones_like() - labels) * log_sigmoid(-logits.clone()))
        .mean();
        let z: Vec<f32> = logits.clone().detach().into_data().try_to_vec_as().expect("f32 logits");
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(self.lr, self.net.clone(), grads);
        let correct = z.iter().enumerate().filter(|(i, v)| (*i >= n) == (**v > 0.0)).count();
        let ln_sigmoid = |x: f64| -(1.0 + (-x).exp()).ln();
        let rewards = z[..n].iter().map(|&v| ln_sigmoid(v as f64).max(-5.0)).collect();
        (correct as f64 / (2 * n) as f64, rewards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Style;
    use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};

    /// Scales from the "corpus", one pitch held for ever from the "model": the critic learns to
    /// tell them apart, and rewards the held pitch less and less.
    #[test]
    fn the_critic_learns_to_tell_corpus_from_model() {
        let device = Device::flex().autodiff();
        device.seed(2);
        let tunes: Vec<Tune> = (0..8)
            .map(|k| {
                let notes = (0..16)
                    .map(|i| Note {
                        pitch: Pitch::new(55 + k + (i % 8)).unwrap(),
                        onset: Step(2 * i as u32),
                        duration: Step(2),
                    })
                    .collect();
                Tune {
                    source: "test".into(),
                    id: format!("{k}"),
                    melody: Melody::new(notes, Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
                    style: Some(Style::Folk),
                }
            })
            .collect();
        let vocab = Vocab::DEFAULT;
        assert!(Critic::new(&[], vocab, 1e-2, &device).is_none());
        let mut critic = Critic::new(&tunes, vocab, 1e-2, &device).unwrap();
        let held: Vec<usize> = std::iter::once(vocab.index(crate::encoding::Event::On(Pitch::new(60).unwrap())))
            .chain(std::iter::repeat_n(vocab.index(crate::encoding::Event::Hold), 31))
            .collect();
        let fakes: Vec<&[usize]> = vec![&held[..]; 8];
        let mut rng = Rng::new(1);
        let (_, first) = critic.step(&fakes, &mut rng);
        let mut accuracy = 0.0;
        let mut last = first.clone();
        for _ in 0..60 {
            (accuracy, last) = critic.step(&fakes, &mut rng);
        }
        assert!(accuracy > 0.9, "accuracy {accuracy}");
        assert!(last[0] < first[0] - 0.3, "reward {} then {}", first[0], last[0]);
        assert!(last.iter().all(|&r| (-5.0..=0.0).contains(&r)));
    }
}
