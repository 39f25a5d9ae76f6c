//! The trainer: Burn's flex CPU backend with autodiff, Adam, teacher forcing over 16th-step
//! event sequences. `data` turns tunes into examples (and varies them each epoch), `streams`
//! lays them end to end for stateful training, `log` writes the run's record; this file is the
//! loop.

mod data;
mod log;
mod streams;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::corpus::Tune;
use crate::encoding::{TrainedOn, Vocab};
use crate::eval::{self, Tally};
use crate::model::{MelodyModel, ModelError, ModelSpec, weights};
use crate::rng::Rng;
use crate::theory::meter::RhythmModel;

pub use data::{Augment, Batch, Example, batch, batches, examples};
pub use log::Log;
pub use streams::Streams;

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
        format!(
            "--batch {} {plan} --lr {} --dropout {} --blank {} --plan {} --grid {} --minutes {} --epochs {} --seed {}{}",
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
    let tallies = eval::neural(model, tunes, vocab, device);
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
pub fn record(tunes: &[Tune]) -> TrainedOn {
    let conditionings: Vec<_> = tunes.iter().map(Tune::conditioning).collect();
    TrainedOn { rhythm: RhythmModel::learn(tunes.iter().map(|t| &t.melody)), ..TrainedOn::count(&conditionings) }
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
    let trained_on = record(train);
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
mod tests {
    use super::*;
    use crate::encoding::Lookback;
    use crate::encoding::Style;
    use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
    use crate::model::{LstmConfig, PitchRange};

    fn tune(pitches: &[u8]) -> Tune {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: Pitch::new(p as i32).unwrap(), onset: Step(i as u32 * 2), duration: Step(2) })
            .collect();
        Tune {
            source: "test".into(),
            id: "t".into(),
            melody: Melody::new(notes, Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
            style: Some(Style::Folk),
        }
    }

    #[test]
    fn the_step_size_anneals_in_the_last_part_of_the_budget() {
        assert_eq!(scheduled_lr(1.0, 0.0), 1.0);
        assert_eq!(scheduled_lr(1.0, 0.6), 1.0);
        assert!((scheduled_lr(1.0, 0.8) - 0.525).abs() < 1e-9);
        assert!((scheduled_lr(1.0, 1.0) - 0.05).abs() < 1e-9);
        assert!((scheduled_lr(1.0, 3.0) - 0.05).abs() < 1e-9);
        let mut last = f64::INFINITY;
        for i in 0..=100 {
            let lr = scheduled_lr(2e-3, i as f64 / 100.0);
            assert!(lr <= last);
            last = lr;
        }
    }

    #[test]
    fn examples_are_shifted_inputs_with_features() {
        let vocab = Vocab::DEFAULT;
        let ex = examples(&[tune(&[60, 62, 64])], vocab, &Lookback::default(), 4, None);
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].tokens[0], vocab.start() as i32);
        assert_eq!(&ex[0].tokens[1..], &ex[0].targets[..3]);
        assert_eq!(ex[1].tokens[0], ex[0].targets[3]);
        assert_eq!(ex[1].len(), 2);
        assert_eq!(ex[1].columns.len(), 10);
        assert_eq!(ex[1].columns[0], 4); // metric position of step 4
    }

    #[test]
    fn transposition_stays_in_range_and_moves_the_key() {
        let vocab = Vocab::DEFAULT;
        let high = tune(&[80, 84]);
        assert_eq!(vocab.fitting_shifts(&high.melody), vec![-6, -5, -4, -3, -2, -1, 0]);
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let ex = examples(
                &[high.clone()],
                vocab,
                &Lookback::default(),
                64,
                Some(Augment { rng: &mut rng, transpose: true, blank: 0.0, plan: 0.0, grid: 0.0, grids: &[] }),
            );
            let top = ex[0].targets.iter().max().unwrap();
            assert!(*top as usize <= vocab.index(crate::encoding::Event::On(Pitch::new(84).unwrap())));
            // The key's tonic moved with the notes (C major, so the tonic is the shift).
            let first = ex[0].targets[0] - 2 + vocab.lo().midi() as i32;
            assert_eq!(ex[0].columns[2], (first - 80).rem_euclid(12));
        }
    }

    #[test]
    fn blanking_hides_key_and_style_independently_at_the_asked_rate() {
        let vocab = Vocab::DEFAULT;
        let mut t = tune(&[60, 62, 64]);
        t.style = Some(crate::encoding::Style::Folk);
        let tunes = vec![t; 4000];
        let mut rng = Rng::new(5);
        let ex = examples(
            &tunes,
            vocab,
            &Lookback::default(),
            64,
            Some(Augment { rng: &mut rng, transpose: false, blank: 0.2, plan: 0.0, grid: 0.0, grids: &[] }),
        );
        let (unknown_tonic, unknown_mode, unknown_style) = (12, 7, 3);
        let (mut keys, mut styles, mut both) = (0, 0, 0);
        for e in &ex {
            // A hidden key hides tonic and mode together, on every step of the tune.
            let f = &e.columns;
            assert!(f.chunks(5).all(|s| (s[2] == unknown_tonic) == (s[3] == unknown_mode)));
            assert!(f.chunks(5).all(|s| s[2] == f[2] && s[4] == f[4]));
            let (k, s) = (f[2] == unknown_tonic, f[4] == unknown_style);
            keys += k as usize;
            styles += s as usize;
            both += (k && s) as usize;
        }
        let rate = |n: usize| n as f64 / ex.len() as f64;
        assert!((rate(keys) - 0.2).abs() < 0.03 && (rate(styles) - 0.2).abs() < 0.03, "{keys} {styles}");
        assert!((rate(both) - 0.04).abs() < 0.015, "{both}");
        let none = examples(
            &tunes[..50],
            vocab,
            &Lookback::default(),
            64,
            Some(Augment { rng: &mut rng, transpose: false, blank: 0.0, plan: 0.0, grid: 0.0, grids: &[] }),
        );
        assert!(none.iter().all(|e| e.columns[2] != unknown_tonic && e.columns[4] != unknown_style));
    }

    #[test]
    fn a_tiny_model_learns_a_scale() {
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 16,
            hidden: 32,
            layers: 1,
            dropout: 0.0,
            lookback: Lookback { bars: vec![1], form: true },
        });
        let tunes: Vec<Tune> = (0..8).map(|_| tune(&[60, 62, 64, 65, 67, 69, 71, 72])).collect();
        let dir = std::env::temp_dir().join(format!("tunesmith-train-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("tiny.bpk");
        let options = TrainOptions {
            spec: spec.clone(),
            batch: 4,
            window: 64,
            bptt: None,
            lr: 1e-2,
            resume: None,
            max_epochs: 80,
            minutes: 2.0,
            seed: 1,
            transpose: false,
            evals_per_epoch: 1,
            blank: 0.2,
            plan: 0.5,
            grid: 0.5,
        };
        let report = train(&options, &tunes, &tunes[..2], &out, &mut Log::new(None).unwrap()).unwrap();
        assert!(report.best_valid.bits < 0.3 * report.unigram_valid.bits, "{report:?}");
        // The saved weights load back into the same model.
        let device = Device::flex();
        let loaded = weights::load(&spec, std::fs::read(&out).unwrap(), &device).unwrap();
        // The trainer's packed file is the packed form of the stored weights (`tunesmith pack`).
        let MelodyModel::Lstm(lstm) = &loaded else { unreachable!() };
        let packed = crate::model::packed::PackedLstm::from_lstm(lstm).unwrap().to_bytes();
        assert!(std::fs::read(out.with_extension("pack")).unwrap() == packed);
        let again = validate(&loaded, &tunes[..2], Vocab::DEFAULT, &device);
        // Stored in f16: close to, not exactly, the figure measured in f32.
        assert!((again.bits - report.best_valid.bits).abs() < 0.05 * report.best_valid.bits.max(1.0), "{again:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_tiny_transformer_learns_a_scale_from_streams() {
        let spec = ModelSpec::Transformer(crate::model::TransformerConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            d_model: 16,
            heads: 2,
            layers: 1,
            d_ff: 32,
            dropout: 0.0,
            span: None,
            lookback: Lookback::default(),
        });
        let tunes: Vec<Tune> = (0..8).map(|_| tune(&[60, 62, 64, 65, 67, 69, 71, 72])).collect();
        let dir = std::env::temp_dir().join(format!("tunesmith-train-xl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = TrainOptions {
            spec,
            batch: 2,
            window: 64,
            // Windows shorter than a tune: only the carried keys and values give it its start.
            bptt: Some(5),
            lr: 1e-2,
            resume: None,
            max_epochs: 60,
            minutes: 2.0,
            seed: 1,
            transpose: false,
            evals_per_epoch: 1,
            blank: 0.0,
            plan: 0.0,
            grid: 0.0,
        };
        let report = train(&options, &tunes, &tunes[..2], &dir.join("tiny.bpk"), &mut Log::new(None).unwrap()).unwrap();
        assert!(report.best_valid.bits < 0.3 * report.unigram_valid.bits, "{report:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[cfg(test)]
mod agreement {
    use super::*;
    use crate::model::{LstmConfig, PitchRange};

    /// The training loss and the evaluation must measure the same thing.
    #[test]
    fn training_loss_equals_evaluation_on_real_tunes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/data/valid.tsv.gz");
        let tunes: Vec<Tune> = crate::corpus::load_dataset_file(&path).unwrap().into_iter().take(40).collect();
        let vocab = Vocab::DEFAULT;
        let tunes = eval::folded(&tunes, vocab);
        let device = Device::flex();
        let lookback = crate::encoding::Lookback { bars: vec![1, 2], form: true };
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(vocab),
            embed: 16,
            hidden: 16,
            layers: 2,
            dropout: 0.0,
            lookback: lookback.clone(),
        });
        let model = crate::model::build(&spec, &device).unwrap();
        let ex = examples(&tunes, vocab, &lookback, usize::MAX, None);
        let refs: Vec<&Example> = ex.iter().collect();
        let b = batch(&refs, &device);
        let nats = nll(&model, &b).into_scalar::<f32>() as f64;
        let tally = validate(&model, &tunes, vocab, &device);
        let bits = nats / std::f64::consts::LN_2;
        // The training loss has no step past the end: evaluation's end-of-last-note term aside.
        let stepped = tally.bits - tally.end_bits;
        assert!(tally.end_bits > 0.0 && tally.end_bits < 0.1 * tally.bits, "{tally:?}");
        assert!((bits - stepped).abs() < 1e-3 * bits, "training {bits} bits vs evaluation {stepped} bits");

        // Stateful windows over rows of tunes laid end to end measure the same total.
        let MelodyModel::Lstm(lstm) = &model else { unreachable!() };
        let streams = Streams::new(&ex, 3);
        let (mut total, mut count, mut state) = (0.0f64, 0, None);
        for i in 0..streams.windows(37) {
            let (b, keep) = streams.window(i, 37, &device);
            let (logits, next) = lstm.forward_resetting(b.tokens.clone(), b.columns.clone(), Some(keep), state.take());
            state = Some(next);
            total += masked_nll(logits, &b).into_scalar::<f32>() as f64;
            count += b.count;
        }
        assert_eq!(count, ex.iter().map(|e| e.len()).sum::<usize>());
        assert!((total - nats).abs() < 1e-3 * nats, "streams {total} nats vs whole tunes {nats} nats");
    }
}
