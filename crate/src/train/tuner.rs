//! RL Tuner (Jaques et al. 2017): a trained model tuned by reinforcement learning to keep the
//! rules of music theory (`theory::rewards`) while staying close to what it learned from data.
//!
//! Each iteration samples melodies from the current model exactly as a user's requests are
//! generated (the one sampler, random seeds, every label and form plan drawn as for "any"),
//! rewards each step by the rules plus `kl × (log p_data − log p_model)` of the event it chose
//! (the KL-control reward: the data model's log-likelihood, less the model's own, which keeps
//! its variety), and takes a policy-gradient step: REINFORCE with discounted returns and the
//! batch's mean return at each step as the baseline. The data model stays frozen beside it.
//! Weights are kept at each validation while the held-out bits per note stay within the budget
//! of the data model's: the last kept are the run's result.

use std::path::Path;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::data::{Example, batch};
use super::{Log, validate};
use crate::corpus::Tune;
use crate::encoding::{StepInputs, TrainedOn};
use crate::engine::burn::BurnEngine;
use crate::engine::{Backend, token_at};
use crate::eval;
use crate::model::{MelodyModel, ModelError, ModelSpec, weights};
use crate::request::Request;
use crate::rng::Rng;
use crate::sample;
use crate::theory::metrics::{self, Summary};
use crate::theory::prior::Prior;
use crate::theory::rewards::{RewardWeights, step_rewards};

#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Policy-gradient steps at most.
    pub iterations: usize,
    /// Wall-clock budget.
    pub minutes: f64,
    /// Requests per step, each with its own seed (so its own labels and plan).
    pub requests: usize,
    /// Melodies per request (sampled together, like best-of-N candidates).
    pub candidates: u32,
    pub bars: u32,
    pub lr: f64,
    /// Weight of the KL-control term: log p_data − log p_model of each chosen event.
    pub kl: f64,
    /// Discount per step of the returns.
    pub gamma: f64,
    pub rewards: RewardWeights,
    /// The held-out bits per note allowed, as a multiple of the data model's.
    pub budget: f64,
    /// Validate every this many steps.
    pub eval_every: usize,
    pub seed: u64,
    /// Start from these tuned weights (a burnpack of the same spec) instead of the data model's,
    /// to continue a run; the data model stays the reference.
    pub resume: Option<Vec<u8>>,
    /// Weight of the adversarial reward (`critic`): `w × ln D(melody)` at its last step, D a
    /// critic trained alongside to tell corpus tunes from the model's; 0 for none.
    pub adversary: f64,
}

impl TuneOptions {
    pub fn describe(&self) -> String {
        let w = &self.rewards;
        format!(
            "--iterations {} --minutes {} --requests {} --candidates {} --bars {} --lr {} --kl {} --gamma {} --budget {} --eval-every {} --seed {}{} --adversary {}; rewards: key {} repeat {} motif {} repeated motif {} leap {} tonic {} extremes {} autocorrelation {}",
            self.iterations,
            self.minutes,
            self.requests,
            self.candidates,
            self.bars,
            self.lr,
            self.kl,
            self.gamma,
            self.budget,
            self.eval_every,
            self.seed,
            if self.resume.is_some() { " --resume" } else { "" },
            self.adversary,
            w.key,
            w.repeat,
            w.motif,
            w.repeated_motif,
            w.leap,
            w.tonic,
            w.extremes,
            w.autocorrelation
        )
    }
}

/// Discounted returns of each row of `rewards` ([rows][its steps]), less the mean return at
/// the same step of the rows that reach it (the baseline), scaled to unit spread; padded with
/// zeros to the longest row.
pub fn advantages(rewards: &[Vec<f64>], gamma: f64) -> Vec<Vec<f64>> {
    let steps = rewards.iter().map(Vec::len).max().unwrap_or(0);
    let mut returns = rewards.to_vec();
    for row in &mut returns {
        for t in (0..row.len().saturating_sub(1)).rev() {
            row[t] += gamma * row[t + 1];
        }
    }
    for t in 0..steps {
        let reaching: Vec<usize> = (0..returns.len()).filter(|&r| returns[r].len() > t).collect();
        let mean = reaching.iter().map(|&r| returns[r][t]).sum::<f64>() / reaching.len() as f64;
        for &r in &reaching {
            returns[r][t] -= mean;
        }
    }
    let n = returns.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    let spread = (returns.iter().flatten().map(|a| a * a).sum::<f64>() / n).sqrt();
    for row in &mut returns {
        if spread > 1e-9 {
            row.iter_mut().for_each(|a| *a /= spread);
        }
        row.resize(steps, 0.0);
    }
    returns
}

/// One iteration's samples, as training examples with their theory rewards.
struct Samples {
    examples: Vec<Example>,
    theory: Vec<Vec<f64>>,
    metrics: Vec<metrics::MelodyMetrics>,
}

fn sample_batch(
    policy: &MelodyModel,
    spec: &ModelSpec,
    trained: &TrainedOn,
    options: &TuneOptions,
    rng: &mut Rng,
    device: &Device,
) -> Result<Samples, ModelError> {
    let engine = BurnEngine::new(policy.clone(), spec, device.clone(), Backend::Cpu)?;
    let vocab = spec.vocab()?;
    let lookback = spec.lookback();
    let mut out = Samples { examples: Vec::new(), theory: Vec::new(), metrics: Vec::new() };
    let mut generations = Vec::with_capacity(options.requests);
    for _ in 0..options.requests {
        let request = Request {
            bars: options.bars,
            seed: rng.next_u64() as u32,
            candidates: options.candidates,
            ..Request::default()
        };
        let g = burn::tensor::read_sync(sample::generate(&engine, trained, &request, Prior::NONE, &mut ()))
            .map_err(|e| ModelError::Config(format!("sampling: {e}")))?;
        generations.push(g);
    }
    for g in generations {
        let total = g.total_steps as usize;
        let inputs = StepInputs::new(&g.conditioning, lookback, g.plan.as_ref(), total);
        for (b, classes) in g.classes.iter().enumerate() {
            let tokens: Vec<i32> = (0..total).map(|t| token_at(t, vocab, classes) as i32).collect();
            out.examples.push(Example {
                tokens,
                targets: classes.iter().map(|&c| c as i32).collect(),
                columns: inputs.columns(vocab, classes, total),
                width: StepInputs::width(lookback.slots()),
            });
            out.theory.push(step_rewards(g.melodies[b].notes(), total, metrics::WINDOW, &options.rewards));
            out.metrics.push(g.metrics[b].clone());
        }
    }
    Ok(out)
}

/// Log-probabilities of the chosen events, [B, T].
fn chosen_log_probs(model: &MelodyModel, b: &super::Batch) -> Tensor<2> {
    let [rows, steps] = b.targets.dims();
    log_softmax(model.forward(b.tokens.clone(), b.columns.clone()), 2)
        .gather(2, b.targets.clone().unsqueeze_dim(2))
        .reshape([rows, steps])
}

fn to_rows(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, steps] = t.dims();
    let flat: Vec<f32> = t.into_data().try_to_vec_as().expect("f32 log-probabilities");
    flat.chunks(steps.max(1)).map(|r| r.iter().map(|&x| x as f64).collect()).collect()
}

#[derive(Debug)]
pub struct TuneReport {
    pub data_bits: f64,
    /// The kept weights' held-out bits per note and theory score; `None` if no validation kept any.
    pub kept: Option<(f64, f64)>,
}

/// The tunes a run learns from: the validation split keeps it within its budget, the training
/// split teaches the critic (when there is one).
pub struct TuneData<'a> {
    pub train: &'a [Tune],
    pub valid: &'a [Tune],
}

/// Tunes `data` (the weights of the model `spec` describes, trained on what `trained` records)
/// and writes the kept weights to `out` (`.bpk`, with the spec beside it as `.json` and, for an
/// LSTM, the `.pack`).
#[allow(clippy::too_many_arguments)]
pub fn tune(
    options: &TuneOptions,
    spec: &ModelSpec,
    spec_json: &str,
    data: Vec<u8>,
    trained: &TrainedOn,
    tunes: TuneData,
    out: &Path,
    log: &mut Log,
) -> Result<TuneReport, ModelError> {
    let valid = tunes.valid;
    let started = Instant::now();
    let vocab = spec.vocab()?;
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    train_device.seed(options.seed);
    let mut rng = Rng::new(options.seed);
    if options.requests == 0 || options.candidates == 0 || options.eval_every == 0 {
        return Err(ModelError::Config("--requests, --candidates and --eval-every must be at least 1".into()));
    }
    let frozen = weights::load(spec, data.clone(), &device)?;
    let mut policy = weights::load(spec, options.resume.clone().unwrap_or(data), &train_device)?;
    let mut optim = AdamConfig::new().with_grad_clipping(Some(GradientClippingConfig::Norm(1.0))).init();
    let valid = &eval::folded(valid, vocab);
    let mut critic = match options.adversary > 0.0 {
        true => Some(
            super::critic::Critic::new(tunes.train, vocab, 1e-3, &train_device)
                .ok_or_else(|| ModelError::Config("--adversary needs training tunes for its critic".into()))?,
        ),
        false => None,
    };
    let mut critic_accuracy = (0.0, 0usize);
    let data_bits = validate(&frozen, valid, vocab, &device).bits_per_note();
    log.line(&format!("options: {}", options.describe()));
    log.line(&format!("data model: {data_bits:.3} bits/note on valid; budget {:.3}", data_bits * options.budget));

    let mut kept: Option<(f64, f64)> = None;
    let mut window: Vec<metrics::MelodyMetrics> = Vec::new();
    let (mut kl_sum, mut kl_n, mut reward_sum) = (0.0, 0usize, 0.0);
    // Seconds spent sampling, and in the whole of the iterations, since the last validation.
    let (mut sampling, mut since_eval) = (0.0, Instant::now());
    for it in 1..=options.iterations {
        let clock = Instant::now();
        let samples = sample_batch(&policy.valid(), spec, trained, options, &mut rng, &device)?;
        sampling += clock.elapsed().as_secs_f64();
        let refs: Vec<&Example> = samples.examples.iter().collect();
        let on_train = batch(&refs, &train_device);
        let on_data = batch(&refs, &device);
        let logp = chosen_log_probs(&policy, &on_train);
        let model_lp = to_rows(logp.clone().detach());
        let data_lp = to_rows(chosen_log_probs(&frozen, &on_data));
        // The adversarial reward lands on each melody's last step.
        let mut adversarial = vec![0.0; refs.len()];
        if let Some(critic) = &mut critic {
            let classes: Vec<Vec<usize>> =
                samples.examples.iter().map(|e| e.targets.iter().map(|&c| c as usize).collect()).collect();
            let fakes: Vec<&[usize]> = classes.iter().map(Vec::as_slice).collect();
            let (accuracy, rewards) = critic.step(&fakes, &mut rng);
            critic_accuracy = (critic_accuracy.0 + accuracy, critic_accuracy.1 + 1);
            adversarial = rewards;
        }
        // Rows differ in length where meters do; the batch pads them, the mask ignores that.
        let steps = model_lp.first().map_or(0, Vec::len);
        let mut rewards = Vec::with_capacity(refs.len());
        for (r, theory) in samples.theory.iter().enumerate() {
            let row: Vec<f64> = (0..refs[r].len())
                .map(|t| {
                    let kl = data_lp[r][t] - model_lp[r][t];
                    kl_sum -= kl;
                    kl_n += 1;
                    let last = if t + 1 == refs[r].len() { options.adversary * adversarial[r] } else { 0.0 };
                    theory[t] + options.kl * kl + last
                })
                .collect();
            reward_sum += theory.iter().sum::<f64>();
            rewards.push(row);
        }
        let adv: Vec<f32> = advantages(&rewards, options.gamma).into_iter().flatten().map(|a| a as f32).collect();
        let adv = Tensor::<2>::from_data(TensorData::new(adv, [refs.len(), steps]), &train_device);
        let loss = -(logp * adv * on_train.mask.clone()).sum() / on_train.count as f32;
        let grads = GradientsParams::from_grads(loss.backward(), &policy);
        policy = optim.step(options.lr, policy, grads);
        window.extend(samples.metrics);

        let out_of_time = started.elapsed().as_secs_f64() > options.minutes * 60.0;
        if it % options.eval_every == 0 || it == options.iterations || out_of_time {
            let iterating = since_eval.elapsed().as_secs_f64();
            let since = Summary::of(&window);
            let bits = validate(&policy.valid(), valid, vocab, &device).bits_per_note();
            // The run moves towards the rules and away from the data step by step: keep the
            // latest weights within the budget.
            let within = bits <= data_bits * options.budget;
            log.line(&format!(
                "step {it:5}  theory {:.3}  reward/melody {:+.2}  KL {:.3} nats/step  not in key {:.1}%  leaps resolved {:.1}%  tonic {:.1}%  motif {:.1}%  repeated motif {:.1}%  excessive {:.1}%  valid {bits:.3} bits/note ({:.3}×){}  {:.0} s ({:.0}% sampling){}",
                since.theory,
                reward_sum / window.len().max(1) as f64,
                kl_sum / kl_n.max(1) as f64,
                100.0 * since.not_in_key,
                100.0 * since.leaps_resolved,
                100.0 * since.starts_with_tonic,
                100.0 * since.in_motif,
                100.0 * since.in_repeated_motif,
                100.0 * since.excessively_repeated,
                bits / data_bits,
                match critic_accuracy {
                    (_, 0) => String::new(),
                    (sum, n) => format!("  critic accuracy {:.1}%", 100.0 * sum / n as f64),
                },
                started.elapsed().as_secs_f64(),
                100.0 * sampling / iterating,
                if within { "  kept" } else { "" },
            ));
            if within {
                kept = Some((bits, since.theory));
                let json = out.with_extension("json");
                std::fs::write(&json, spec_json)
                    .map_err(|e| ModelError::Weights(format!("{}: {e}", json.display())))?;
                let model = policy.valid();
                weights::save(&model, out)?;
                if matches!(model, MelodyModel::Lstm(_)) {
                    let bytes =
                        std::fs::read(out).map_err(|e| ModelError::Weights(format!("{}: {e}", out.display())))?;
                    weights::save_pack(&weights::load(spec, bytes, &device)?, out)?;
                }
                weights::record_checksums(out)?;
            }
            window.clear();
            (kl_sum, kl_n, reward_sum) = (0.0, 0, 0.0);
            (sampling, since_eval) = (0.0, Instant::now());
            critic_accuracy = (0.0, 0);
        }
        if out_of_time {
            log.line(&format!("time budget of {} min reached", options.minutes));
            break;
        }
    }
    log.line(&match kept {
        Some((bits, theory)) => format!(
            "kept: {bits:.3} bits/note ({:.3}× the data model's), theory {theory:.3}; {:.0} s",
            bits / data_bits,
            started.elapsed().as_secs_f64()
        ),
        None => "kept nothing: no validation was within the budget".into(),
    });
    Ok(TuneReport { data_bits, kept })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Lookback, Style, Vocab};
    use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
    use crate::model::{LstmConfig, PitchRange};

    /// Notes not in the key, as a share, over `n` melodies of 2 bars sampled from `model`.
    fn not_in_key(model: &MelodyModel, spec: &ModelSpec, n: u32) -> f64 {
        let engine = BurnEngine::new(model.clone(), spec, Device::flex(), Backend::Cpu).unwrap();
        let request = Request { bars: 2, seed: 99, candidates: n, ..Request::default() };
        let g =
            burn::tensor::read_sync(sample::generate(&engine, &TrainedOn::default(), &request, Prior::NONE, &mut ()))
                .unwrap();
        Summary::of(&g.metrics).not_in_key
    }

    /// A random tiny LSTM tuned hard towards the key: it must leave the key less, and write
    /// weights (with their pack and checksums) that load.
    #[test]
    fn tuning_moves_a_model_towards_the_rules() {
        let dir = std::env::temp_dir().join(format!("tunesmith-tuner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let device = Device::flex();
        device.seed(5);
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 8,
            hidden: 16,
            layers: 1,
            dropout: 0.0,
            lookback: Lookback::default(),
        });
        let data = crate::model::build(&spec, &device).unwrap();
        let path = dir.join("data.bpk");
        weights::save(&data, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let data = weights::load(&spec, bytes.clone(), &device).unwrap();
        let notes = (0..8).map(|i| Note {
            pitch: Pitch::new(60 + 2 * i).unwrap(),
            onset: Step(4 * i as u32),
            duration: Step(4),
        });
        let valid = vec![Tune {
            source: "test".into(),
            id: "t".into(),
            melody: Melody::new(notes.collect(), Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
            style: Some(Style::Folk),
        }];
        let options = TuneOptions {
            iterations: 40,
            minutes: 10.0,
            requests: 2,
            candidates: 8,
            bars: 2,
            lr: 1e-2,
            kl: 0.05,
            gamma: 0.5,
            rewards: RewardWeights { key: 1.0, ..RewardWeights::NONE },
            budget: 100.0,
            eval_every: 40,
            seed: 1,
            resume: None,
            adversary: 0.0,
        };
        let out = dir.join("tuned.bpk");
        let spec_json = spec.to_json_with(&TrainedOn::default());
        let mut log = Log::new(Some(&dir.join("tuned.log"))).unwrap();
        let tunes = TuneData { train: &valid, valid: &valid };
        let report = tune(&options, &spec, &spec_json, bytes, &TrainedOn::default(), tunes, &out, &mut log).unwrap();
        assert!(report.kept.is_some());
        let json = std::fs::read_to_string(out.with_extension("json")).unwrap();
        let tuned_bytes = std::fs::read(&out).unwrap();
        crate::model::checksum::verify(&json, crate::model::checksum::WeightsFile::Bpk, &tuned_bytes).unwrap();
        let pack = std::fs::read(out.with_extension("pack")).unwrap();
        crate::model::checksum::verify(&json, crate::model::checksum::WeightsFile::Pack, &pack).unwrap();
        let tuned = weights::load(&spec, tuned_bytes, &device).unwrap();
        let (before, after) = (not_in_key(&data, &spec, 16), not_in_key(&tuned, &spec, 16));
        assert!(after < before - 0.05, "notes not in the key: {before:.3} before, {after:.3} after");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn advantages_are_returns_less_the_step_baseline() {
        // Two rows; only row 0 earns a reward, at its last step.
        let a = advantages(&[vec![0.0, 0.0, 1.0], vec![0.0, 0.0, 0.0]], 0.5);
        // Returns: row 0 [0.25, 0.5, 1], row 1 zeros; baselines [0.125, 0.25, 0.5].
        let raw = [[0.125, 0.25, 0.5], [-0.125, -0.25, -0.5]];
        let spread = (raw.iter().flatten().map(|x: &f64| x * x).sum::<f64>() / 6.0).sqrt();
        for r in 0..2 {
            for t in 0..3 {
                assert!((a[r][t] - raw[r][t] / spread).abs() < 1e-12, "{a:?}");
            }
        }
        // A shorter row is baselined only against the rows that reach its steps, and padded.
        let a = advantages(&[vec![1.0], vec![3.0, 5.0]], 0.0);
        assert_eq!((a[0].len(), a[1][1]), (2, 0.0));
        assert!(a[0][0] < 0.0 && a[1][0] > 0.0 && a[0][1] == 0.0);
        // Equal rows: nothing to learn.
        assert!(advantages(&[vec![1.0, 2.0], vec![1.0, 2.0]], 0.9).iter().flatten().all(|&x| x == 0.0));
        assert!(advantages(&[], 0.9).is_empty());
    }
}
