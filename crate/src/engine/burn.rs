//! The Burn engine: any model (`model::MelodyModel`) on a Burn device — flex on the CPU, wgpu
//! on WebGPU. The whole loop stays on the device: sampled events feed the next step and the
//! lookbacks as tensors, and the only read is the final one (a read per step would stall
//! WebGPU). Sequences of a batch run together.

use burn::prelude::*;

use super::{Backend, Engine, EngineError, EngineName, Job, Sampled};
use crate::encoding::{Lookback, Source, StepFeatures, Vocab};
use crate::model::{MelodyModel, ModelError, ModelSpec, State};
use crate::theory::metrics::LEAP;
use crate::theory::prior::Leap;

pub struct BurnEngine {
    model: MelodyModel,
    device: Device,
    backend: Backend,
    vocab: Vocab,
    lookback: Lookback,
}

impl BurnEngine {
    pub fn new(
        model: MelodyModel,
        spec: &ModelSpec,
        device: Device,
        backend: Backend,
    ) -> Result<BurnEngine, ModelError> {
        Ok(BurnEngine { model, device, backend, vocab: spec.check()?, lookback: spec.lookback().clone() })
    }

    pub fn model(&self) -> &MelodyModel {
        &self.model
    }
}

pub struct BurnRun {
    state: Option<State>,
    /// The class of every step so far, [B, 1] each, the primer's included.
    history: Vec<Tensor<2, Int>>,
    /// Conditioning embeddings of every step, [1, T, D].
    features: Tensor<3>,
    /// `T·g` noise, [B, generated steps, classes].
    noise: Tensor<3>,
    /// The samples' log-likelihood so far, [B, 1] (none before the first sample).
    log_likelihood: Option<Tensor<2>>,
    /// Where the job leans against unanswered leaps: every sequence's open leap.
    leaps: Option<Leaps>,
}

/// `theory::prior::Leap` of every sequence as tensors, so the rule runs on the device:
/// the class of the last note (−1 before any) and the leap's direction (+1, −1 or 0), [B, 1].
struct Leaps {
    last: Tensor<2>,
    direction: Tensor<2>,
    /// Every class's index, [1, V].
    classes: Tensor<2>,
}

impl Leaps {
    fn new(primer: &[usize], b: usize, v: usize, device: &Device) -> Leaps {
        let open = Leap::after(primer);
        let last = open.last.map_or(-1.0, |c| c as f32);
        Leaps {
            last: Tensor::full([b, 1], last, device),
            direction: Tensor::full([b, 1], open.direction as f32, device),
            classes: Tensor::<1, Int>::arange(0..v as i64, device).float().reshape([1, v as i32]),
        }
    }

    /// 1 where a class leaves its sequence's leap unanswered (`Leap::unanswered`), [B, V].
    fn unanswered(&self) -> Tensor<2> {
        let along = (self.classes.clone() - self.last.clone()) * self.direction.clone();
        let note = self.classes.clone().greater_equal_elem(2.0).float();
        along.greater_equal_elem(0.0).float() * self.direction.clone().abs() * note
    }

    /// After each sequence played `chosen` ([B, 1]).
    fn push(&mut self, chosen: &Tensor<2, Int>) {
        let c = chosen.clone().float();
        let note = c.clone().greater_equal_elem(2.0).float();
        let interval = c.clone() - self.last.clone();
        let had = self.last.clone().greater_equal_elem(0.0).float();
        let leapt = interval.clone().abs().greater_equal_elem(LEAP as f32).float() * had * interval.sign();
        let kept = note.clone().neg().add_scalar(1.0);
        self.direction = note.clone() * leapt + kept.clone() * self.direction.clone();
        self.last = note * c + kept * self.last.clone();
    }
}

impl Engine for BurnEngine {
    type Run = BurnRun;

    fn name(&self) -> EngineName {
        EngineName::Burn
    }
    fn backend(&self) -> Backend {
        self.backend
    }
    fn vocab(&self) -> Vocab {
        self.vocab
    }
    fn lookback(&self) -> &Lookback {
        &self.lookback
    }

    async fn start(&self, job: &Job<'_>) -> Result<BurnRun, EngineError> {
        let (b, v, total, n) = (job.batch, self.vocab.size(), job.inputs.len(), job.primer.len());
        let device = &self.device;
        let per = StepFeatures::CARDINALITIES.len();
        let features: Vec<i32> = (0..total).flat_map(|t| job.inputs.features(t).map(i32::from)).collect();
        let features =
            self.model.input().features(Tensor::from_data(TensorData::new(features, [1, total, per]), device));
        let noise = Tensor::<3>::from_data(TensorData::new(job.noise.to_vec(), [b, job.steps(), v]), device);
        let mut state = self.model.start(b, device);
        if n > 0 {
            let width = self.model.input().width();
            let mut tokens = vec![self.vocab.start() as i32];
            tokens.extend(job.primer[..n - 1].iter().map(|&c| c as i32));
            let columns = job.inputs.columns(self.vocab, job.primer, n);
            let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens.repeat(b), [b, n]), device);
            let columns = Tensor::<3, Int>::from_data(TensorData::new(columns.repeat(b), [b, n, width]), device);
            state = self.model.prime(tokens, columns, state);
        }
        let history = job.primer.iter().map(|&c| Tensor::<2, Int>::full([b, 1], c as i64, device)).collect();
        let leaps = (job.leap > 0.0).then(|| Leaps::new(job.primer, b, v, device));
        Ok(BurnRun { state: Some(state), history, features, noise, log_likelihood: None, leaps })
    }

    async fn advance(&self, run: &mut BurnRun, job: &Job<'_>, until: usize) -> Result<(), EngineError> {
        let (b, first) = (job.batch, job.primer.len());
        let device = &self.device;
        let input = self.model.input();
        for t in run.history.len()..until {
            let token = match t {
                0 => Tensor::<2, Int>::full([b, 1], self.vocab.start() as i64, device),
                _ => run.history[t - 1].clone(),
            };
            let mut x = input.token(token) + run.features.clone().slice(s![.., t..t + 1, ..]).reshape([1, -1]);
            if input.lookback_slots() > 0 {
                let rows: Vec<Tensor<2, Int>> = job
                    .inputs
                    .codes(t)
                    .iter()
                    .map(|&code| match Source::from_code(code) {
                        Source::Step(s) => run.history[s as usize].clone(),
                        Source::Vary(s) => {
                            run.history[s as usize].clone().add_scalar(Lookback::rows(self.vocab) as i64)
                        }
                        special => Tensor::full([b, 1], special.row(self.vocab, |_| 0) as i64, device),
                    })
                    .collect();
                let rows = Tensor::cat(rows, 1).unsqueeze_dim::<3>(1);
                x = x + input.lookbacks(rows).expect("the model has lookbacks").reshape([b as i32, -1]);
            }
            let state = run.state.take().expect("a run's state is put back after every step");
            let (logits, next) = self.model.step(x, state);
            run.state = Some(next);
            let g = t - first;
            let noise = run.noise.clone().slice(s![.., g..g + 1, ..]).reshape([b as i32, -1]);
            let mut scores = logits.clone() + noise;
            if let Some(leaps) = &run.leaps {
                scores = scores - leaps.unanswered().mul_scalar(job.leap);
            }
            let chosen = scores.argmax(1);
            if let Some(leaps) = &mut run.leaps {
                leaps.push(&chosen);
            }
            let log_p = burn::tensor::activation::log_softmax(logits, 1).gather(1, chosen.clone());
            run.log_likelihood = Some(match run.log_likelihood.take() {
                Some(sum) => sum + log_p,
                None => log_p,
            });
            run.history.push(chosen);
        }
        Ok(())
    }

    async fn finish(&self, run: BurnRun, job: &Job<'_>) -> Result<Vec<Sampled>, EngineError> {
        let (b, steps) = (job.batch, job.steps());
        let Some(log_likelihood) = run.log_likelihood else {
            return Ok(vec![Sampled { classes: Vec::new(), log_likelihood: 0.0 }; b]);
        };
        let data = log_likelihood.into_data_async().await.map_err(|e| ModelError::Read(format!("{e:?}")))?;
        let log_likelihood = data.try_to_vec_as::<f32>().map_err(|e| ModelError::Read(format!("{e:?}")))?;
        let sampled = Tensor::cat(run.history[job.primer.len()..].to_vec(), 1);
        let data = sampled.into_data_async().await.map_err(|e| ModelError::Read(format!("{e:?}")))?;
        let classes = data.try_to_vec_as::<i64>().map_err(|e| ModelError::Read(format!("{e:?}")))?;
        let v = self.vocab.size();
        classes
            .chunks(steps)
            .zip(log_likelihood)
            .map(|(row, ll)| {
                let classes = row
                    .iter()
                    .map(|&c| {
                        if (0..v as i64).contains(&c) { Ok(c as usize) } else { Err(EngineError::BadClass(c as usize)) }
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Sampled { classes, log_likelihood: ll as f64 })
            })
            .collect()
    }
}
