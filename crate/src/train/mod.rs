//! The trainer: Burn's flex CPU backend with autodiff, Adam, teacher forcing over 16th-step
//! event sequences. `data` turns tunes into examples (and varies them each epoch), `streams`
//! lays them end to end for stateful training, `log` writes the run's record, `tuner` tunes a trained model by
//! reinforcement learning (RL Tuner), `critic` gives it an adversarial reward; this file is the loop.

mod critic;
mod data;
mod log;
mod streams;
mod tuner;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::corpus::Tune;
use crate::encoding::{TrainedOn, Vocab};
use crate::eval::{self, Tally};
use crate::form::{FormModel, Plan};
use crate::model::{MelodyModel, ModelError, ModelSpec, weights};
use crate::rng::Rng;
use crate::theory::meter::RhythmModel;

pub use data::{Augment, Batch, Example, batch, batches, examples};
pub use log::Log;
pub use streams::Streams;
pub use tuner::{TuneData, TuneOptions, TuneReport, advantages, tune};

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub spec: ModelSpec,
    pub batch: usize,
    /// Longest training window in steps; longer tunes are cut into windows.
    pub window: usize,
    /// Train statefully instead, with `batch` rows of tunes laid end to end, cut into windows
    /// of this many steps, carried (detached) from one to the next: the LSTM's state, or the
    /// Transformer's keys and values of the previous window (Transformer-XL style).
    pub bptt: Option<usize>,
    pub lr: f64,
    pub max_epochs: usize,
    /// Wall-clock budget; training stops (and keeps its best weights) when it runs out.
    pub minutes: f64,
    pub seed: u64,
    pub transpose: bool,
    /// Validate this many times per epoch.
    pub evals_per_epoch: usize,
    /// Continue from these weights (a burnpack of the same spec) instead of a random start.
    pub resume: Option<Vec<u8>>,
    /// Chance, per tune and epoch, that its key is hidden from the model, and separately its
    /// style: the "unknown" inputs are what a user's "any" and a MIDI file without a key
    /// signature feed the model, so they must be trained too.
    pub blank: f64,
    /// Chance, per tune and epoch, that a model that reads form plans is shown the tune's own.
    pub plan: f64,
    /// Chance, per tune and epoch, that the tune is laid on the bar grid its rhythm suggests
    /// (as `--phase auto` reads a MIDI file) instead of its own.
    pub grid: f64,
}

impl TrainOptions {
    /// The options that shape a run, for its log: enough to repeat it.
    pub fn describe(&self) -> String {
        let plan = match self.bptt {
            Some(n) => format!("--bptt {n}"),
            None => format!("--window {}", self.window),
        };
        let lookback = self.spec.lookback();
        let mut inputs = String::new();
        if !lookback.bars.is_empty() {
            let bars: Vec<String> = lookback.bars.iter().map(u32::to_string).collect();
            inputs += &format!(" --lookback {}", bars.join(","));
        }
        if lookback.half {
            inputs += " --half-bar";
        }
        if lookback.form {
            inputs += " --form";
        }
        format!(
            "--batch {} {plan}{inputs} --lr {} --dropout {} --blank {} --plan {} --grid {} --minutes {} --epochs {} --seed {}{}",
            self.batch,
            self.lr,
            self.spec.dropout(),
            self.blank,
            self.plan,
            self.grid,
            self.minutes,
            self.max_epochs,
            self.seed,
            if self.transpose { "" } else { " --no-transpose" },
        )
    }
}

/// The step size at `progress` (the larger of the fractions of the time budget and of the
/// epochs done): constant, then a cosine anneal over the last 40% down to 5%. A known end of
/// training lets it anneal into it, which is worth a sizeable drop in loss.
pub fn scheduled_lr(base: f64, progress: f64) -> f64 {
    const ANNEAL_FROM: f64 = 0.6;
    const FLOOR: f64 = 0.05;
    let t = ((progress - ANNEAL_FROM) / (1.0 - ANNEAL_FROM)).clamp(0.0, 1.0);
    base * (FLOOR + (1.0 - FLOOR) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// Summed negative log-likelihood (nats) of the batch's targets.
fn nll(model: &MelodyModel, batch: &Batch) -> Tensor<1> {
    masked_nll(model.forward(batch.tokens.clone(), batch.columns.clone()), batch)
}

fn masked_nll(logits: Tensor<3>, batch: &Batch) -> Tensor<1> {
    let [b, t, _] = logits.dims();
    let picked: Tensor<2> = log_softmax(logits, 2).gather(2, batch.targets.clone().unsqueeze_dim(2)).reshape([b, t]);
    -(picked * batch.mask.clone()).sum()
}

/// The work of one epoch: whole-tune windows in batches, or stateful streams.
enum Work<'a> {
    Windows(Vec<Vec<&'a Example>>),
    Streams(Streams, usize),
}

impl Work<'_> {
    fn len(&self) -> usize {
        match self {
            Work::Windows(b) => b.len(),
            Work::Streams(s, width) => s.windows(*width),
        }
    }
}

/// Bits per note of held-out tunes under the model, summed.
pub fn validate(model: &MelodyModel, tunes: &[Tune], vocab: Vocab, device: &Device) -> Tally {
    let tallies = eval::neural(model, tunes, vocab, crate::theory::prior::Prior::NONE, device);
    eval::total(&tallies, tunes, |_| true)
}

/// What a run leaves: its best validation figure beside the unigram baseline's.
#[derive(Debug)]
pub struct TrainReport {
    pub best_valid: Tally,
    pub unigram_valid: Tally,
    pub weights: PathBuf,
}

/// What the spec records about the training data: tunes per style and mode, and the rhythm
/// statistics that find a bar grid.
pub fn record(tunes: &[Tune], vocab: Vocab) -> TrainedOn {
    let conditionings: Vec<_> = tunes.iter().map(Tune::conditioning).collect();
    let plans = tunes.iter().map(|t| {
        let bar = t.melody.meter.steps_per_bar();
        (Plan::derive(&vocab.encode(&t.melody), bar as usize), bar)
    });
    TrainedOn {
        rhythm: RhythmModel::learn(tunes.iter().map(|t| &t.melody)),
        form: FormModel::learn(plans),
        ..TrainedOn::count(&conditionings)
    }
}

/// Trains and writes the best weights (by validation loss) to `out` (`.bpk`, with the spec as
/// `.json` beside it, and the packed `.pack` of an LSTM).
pub fn train(
    options: &TrainOptions,
    train: &[Tune],
    valid: &[Tune],
    out: &Path,
    log: &mut Log,
) -> Result<TrainReport, ModelError> {
    let started = Instant::now();
    let budget = options.minutes * 60.0;
    let vocab = options.spec.vocab()?;
    let lookback = options.spec.lookback().clone();
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    train_device.seed(options.seed);
    let mut rng = Rng::new(options.seed);
    if options.bptt == Some(0) || options.batch == 0 {
        return Err(ModelError::Config("--batch and --bptt must be at least 1".into()));
    }
    let mut model = match &options.resume {
        Some(bytes) => weights::load(&options.spec, bytes.clone(), &train_device)?,
        None => crate::model::build(&options.spec, &train_device)?,
    };
    let mut optim = AdamConfig::new().with_grad_clipping(Some(GradientClippingConfig::Norm(1.0))).init();

    let valid = &eval::folded(valid, vocab);
    let unigram = eval::unigram(train, valid, vocab);
    log.line(&format!(
        "model {} with {} parameters; {} training and {} validation tunes; {} threads",
        options.spec.arch(),
        model.num_params(),
        train.len(),
        valid.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    ));
    if options.resume.is_some() {
        log.line(&format!("resumed from {}", out.display()));
    }
    log.line(&format!("options: {}", options.describe()));
    log.line(&format!("unigram baseline on valid: {:.3} bits/note", unigram.bits_per_note()));
    let trained_on = record(train, vocab);
    std::fs::write(out.with_extension("json"), options.spec.to_json_with(&trained_on))
        .map_err(|e| ModelError::Weights(format!("{}: {e}", out.display())))?;
    let grids: Vec<_> = if options.grid > 0.0 {
        train.iter().map(|t| trained_on.rhythm.estimate(t.melody.notes(), None)).collect()
    } else {
        Vec::new()
    };

    let mut best: Option<Tally> = None;
    // Halved on every plateau; the schedule scales it further.
    let mut base_lr = options.lr;
    let mut since_best = 0;
    'epochs: for epoch in 1..=options.max_epochs {
        let augment = Augment {
            rng: &mut rng,
            transpose: options.transpose,
            blank: options.blank,
            plan: options.plan,
            grid: options.grid,
            grids: &grids,
        };
        let window = if options.bptt.is_some() { usize::MAX } else { options.window };
        let mut examples = examples(train, vocab, &lookback, window, Some(augment));
        let work = match options.bptt {
            Some(width) => {
                rng.shuffle(&mut examples);
                Work::Streams(Streams::new(&examples, options.batch), width)
            }
            None => Work::Windows(batches(&examples, options.batch, &mut rng)),
        };
        let items = work.len();
        let eval_every = items.div_ceil(options.evals_per_epoch.max(1));
        let (mut nats, mut steps) = (0.0f64, 0usize);
        let mut since_eval = Instant::now();
        let mut carried = None;
        let mut memory = None;
        for i in 0..items {
            let (sum, b) = match (&work, &model) {
                (Work::Windows(batches), _) => {
                    let b = batch(&batches[i], &train_device);
                    (nll(&model, &b), b)
                }
                (Work::Streams(streams, width), MelodyModel::Lstm(lstm)) => {
                    let (b, keep) = streams.window(i, *width, &train_device);
                    let (logits, state) =
                        lstm.forward_resetting(b.tokens.clone(), b.columns.clone(), Some(keep), carried.take());
                    carried = Some(state.detach());
                    (masked_nll(logits, &b), b)
                }
                (Work::Streams(streams, width), MelodyModel::Transformer(transformer)) => {
                    let (b, _) = streams.window(i, *width, &train_device);
                    let segments = streams.segments(i, *width);
                    let (logits, next) = transformer.forward_streamed(
                        b.tokens.clone(),
                        b.columns.clone(),
                        &segments,
                        memory.take(),
                        *width,
                    );
                    memory = Some(next);
                    (masked_nll(logits, &b), b)
                }
            };
            if b.count == 0 {
                continue;
            }
            // Streams divide by a full window, not by the steps it holds: the last windows of
            // an epoch hold a few rows' tails, and Adam would turn their few, noisy steps into
            // full-size updates.
            let per = match &work {
                Work::Windows(_) => b.count,
                Work::Streams(streams, width) => streams.rows * width,
            };
            let loss = sum / per as f32;
            nats += loss.clone().into_scalar::<f32>() as f64 * per as f64;
            steps += b.count;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let epochs_done = epoch as f64 - 1.0 + (i + 1) as f64 / items as f64;
            let progress = (started.elapsed().as_secs_f64() / budget).max(epochs_done / options.max_epochs as f64);
            let lr = scheduled_lr(base_lr, progress);
            model = optim.step(lr, model, grads);

            let out_of_time = started.elapsed().as_secs_f64() > budget;
            if (i + 1) % eval_every == 0 || i + 1 == items || out_of_time {
                let v = validate(&model.valid(), valid, vocab, &device);
                let improved = best.is_none_or(|b| v.bits < b.bits);
                log.line(&format!(
                    "epoch {epochs_done:6.2}  train {:.4} nats/step  valid {:.3} bits/note  pitch acc {:.1}%  lr {lr:.1e}  {:5.0} s  {:.0} steps/s{}",
                    nats / steps.max(1) as f64,
                    v.bits_per_note(),
                    100.0 * v.pitch_accuracy(),
                    started.elapsed().as_secs_f64(),
                    steps as f64 / since_eval.elapsed().as_secs_f64(),
                    if improved { "  *" } else { "" },
                ));
                (nats, steps) = (0.0, 0);
                since_eval = Instant::now();
                if improved {
                    best = Some(v);
                    since_best = 0;
                    let best_model = model.valid();
                    weights::save(&best_model, out)?;
                    if matches!(best_model, MelodyModel::Lstm(_)) {
                        // Packed from the stored (f16) weights, as `tunesmith pack` does, so
                        // the page's file is exactly the packed form of the `.bpk`.
                        let bytes =
                            std::fs::read(out).map_err(|e| ModelError::Weights(format!("{}: {e}", out.display())))?;
                        weights::save_pack(&weights::load(&options.spec, bytes, &device)?, out)?;
                    }
                    weights::record_checksums(out)?;
                } else {
                    since_best += 1;
                    // Halve the step size when validation stops improving.
                    if since_best >= 2 {
                        base_lr *= 0.5;
                        since_best = 0;
                    }
                }
                if out_of_time {
                    log.line(&format!("time budget of {} min reached", options.minutes));
                    break 'epochs;
                }
            }
        }
    }
    let best = best.ok_or_else(|| ModelError::Config("training ended before the first validation".into()))?;
    log.line(&format!(
        "best valid {:.3} bits/note (unigram baseline {:.3}); {:.0} s",
        best.bits_per_note(),
        unigram.bits_per_note(),
        started.elapsed().as_secs_f64()
    ));
    Ok(TrainReport { best_valid: best, unigram_valid: unigram, weights: out.to_path_buf() })
}

#[cfg(test)]
mod tests;
