//! The trainer: Burn's flex CPU backend with autodiff, Adam, teacher forcing over 16th-step
//! event sequences, random transposition into every key that fits the model's range.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::grad_clipping::GradientClippingConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::corpus::Tune;
use crate::encoding::Vocab;
use crate::eval;
use crate::model::markov::Tally;
use crate::model::{MelodyModel, ModelError, ModelSpec, weights};
use crate::sample::Rng;

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
}

impl TrainOptions {
    /// The options that shape a run, for its log: enough to repeat it.
    pub fn describe(&self) -> String {
        let plan = match self.bptt {
            Some(n) => format!("--bptt {n}"),
            None => format!("--window {}", self.window),
        };
        let dropout = match &self.spec {
            ModelSpec::Lstm(c) => c.dropout,
            ModelSpec::Transformer(c) => c.dropout,
        };
        format!(
            "--batch {} {plan} --lr {} --dropout {dropout} --blank {} --minutes {} --seed {}{}",
            self.batch,
            self.lr,
            self.blank,
            self.minutes,
            self.seed,
            if self.transpose { "" } else { " --no-transpose" },
        )
    }
}

/// The step size at `elapsed` (a fraction of the time budget): constant, then a cosine
/// anneal over the last 40% of the budget down to 5%. A wall-clock budget makes the end of
/// training known in advance, and annealing into it is worth a sizeable drop in loss.
pub fn scheduled_lr(base: f64, elapsed: f64) -> f64 {
    const ANNEAL_FROM: f64 = 0.6;
    const FLOOR: f64 = 0.05;
    let t = ((elapsed - ANNEAL_FROM) / (1.0 - ANNEAL_FROM)).clamp(0.0, 1.0);
    base * (FLOOR + (1.0 - FLOOR) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// One training sequence: model inputs, targets and conditioning, all `len` long.
#[derive(Debug, Clone)]
pub struct Example {
    tokens: Vec<i32>,
    targets: Vec<i32>,
    features: Vec<i32>,
}

impl Example {
    fn len(&self) -> usize {
        self.targets.len()
    }
}

/// How training varies the tunes each epoch.
pub struct Augment<'a> {
    pub rng: &'a mut Rng,
    /// Move each tune to a random key that fits the range.
    pub transpose: bool,
    /// Chance of hiding a tune's key, and separately its style (`TrainOptions::blank`).
    pub blank: f64,
}

/// Encodes tunes as examples cut into windows, varied by `augment`, or as written without.
pub fn examples(tunes: &[Tune], vocab: Vocab, window: usize, mut augment: Option<Augment>) -> Vec<Example> {
    let mut out = Vec::new();
    for tune in tunes {
        let (melody, conditioning) = match augment.as_mut() {
            Some(a) => {
                let shifts = if a.transpose { vocab.fitting_shifts(&tune.melody) } else { vec![0] };
                let shift = if shifts.is_empty() { 0 } else { shifts[a.rng.below(shifts.len())] };
                let moved = tune.melody.transpose(shift).expect("a fitting shift stays in 0–127");
                let mut c = tune.conditioning().transpose(shift);
                if a.rng.unit() < a.blank {
                    c.key = None;
                }
                if a.rng.unit() < a.blank {
                    c.style = None;
                }
                (moved, c)
            }
            None => (tune.melody.clone(), tune.conditioning()),
        };
        let targets: Vec<i32> = vocab.encode(&melody).into_iter().map(|e| vocab.index(e) as i32).collect();
        let features: Vec<i32> = (0..targets.len() as u32)
            .flat_map(|s| conditioning.at(s).as_array().map(i32::from))
            .collect();
        let mut tokens = Vec::with_capacity(targets.len());
        tokens.push(vocab.start() as i32);
        tokens.extend_from_slice(&targets[..targets.len().saturating_sub(1)]);
        for start in (0..targets.len()).step_by(window.max(1)) {
            let end = (start + window).min(targets.len());
            out.push(Example {
                tokens: tokens[start..end].to_vec(),
                targets: targets[start..end].to_vec(),
                features: features[start * 5..end * 5].to_vec(),
            });
        }
    }
    out
}

/// A padded batch on a device.
struct Batch {
    tokens: Tensor<2, Int>,
    features: Tensor<3, Int>,
    targets: Tensor<2, Int>,
    mask: Tensor<2>,
    count: usize,
}

fn batch(examples: &[&Example], device: &Device) -> Batch {
    let b = examples.len();
    let t = examples.iter().map(|e| e.len()).max().unwrap_or(1);
    let mut tokens = vec![0i32; b * t];
    let mut targets = vec![0i32; b * t];
    let mut features = vec![0i32; b * t * 5];
    let mut mask = vec![0f32; b * t];
    for (i, e) in examples.iter().enumerate() {
        let n = e.len();
        tokens[i * t..i * t + n].copy_from_slice(&e.tokens);
        targets[i * t..i * t + n].copy_from_slice(&e.targets);
        features[i * t * 5..(i * t + n) * 5].copy_from_slice(&e.features);
        mask[i * t..i * t + n].fill(1.0);
    }
    Batch {
        tokens: Tensor::from_data(TensorData::new(tokens, [b, t]), device),
        features: Tensor::from_data(TensorData::new(features, [b, t, 5]), device),
        targets: Tensor::from_data(TensorData::new(targets, [b, t]), device),
        mask: Tensor::from_data(TensorData::new(mask, [b, t]), device),
        count: examples.iter().map(|e| e.len()).sum(),
    }
}

/// Summed negative log-likelihood (nats) of the batch's targets.
fn nll(model: &MelodyModel, batch: &Batch) -> Tensor<1> {
    masked_nll(model.forward(batch.tokens.clone(), batch.features.clone()), batch)
}

fn masked_nll(logits: Tensor<3>, batch: &Batch) -> Tensor<1> {
    let [b, t, _] = logits.dims();
    let picked: Tensor<2> = log_softmax(logits, 2).gather(2, batch.targets.clone().unsqueeze_dim(2)).reshape([b, t]);
    -(picked * batch.mask.clone()).sum()
}

/// Tunes laid end to end in parallel rows, for stateful training: a window of every row makes
/// a batch, and the state at the end of one window (an LSTM's state, a Transformer's keys and
/// values) starts the next. Far more weight updates per epoch than whole-tune batches, without
/// cutting every tune's context at the window's edge.
pub struct Streams {
    rows: usize,
    len: usize,
    tokens: Vec<i32>,
    targets: Vec<i32>,
    features: Vec<i32>,
    /// 0 at the first step of each tune (and in the padding), where the state is zeroed.
    keep: Vec<f32>,
    /// Which tune each step belongs to (numbered across all rows; each row's padding is a tune
    /// of its own), so attention stays within a tune.
    segments: Vec<u32>,
    mask: Vec<f32>,
}

impl Streams {
    /// `tunes` are whole-tune examples, laid out in the order given; each goes to the row that
    /// is shortest so far, so rows end close together.
    pub fn new(tunes: &[Example], rows: usize) -> Self {
        let rows = rows.max(1);
        let mut lists: Vec<Vec<&Example>> = vec![Vec::new(); rows];
        let mut lengths = vec![0usize; rows];
        for e in tunes {
            let r = (0..rows).min_by_key(|&r| lengths[r]).expect("at least one row");
            lists[r].push(e);
            lengths[r] += e.len();
        }
        let len = lengths.iter().copied().max().unwrap_or(0);
        let mut s = Streams {
            rows,
            len,
            tokens: vec![0; rows * len],
            targets: vec![0; rows * len],
            features: vec![0; rows * len * 5],
            keep: vec![0.0; rows * len],
            segments: vec![0; rows * len],
            mask: vec![0.0; rows * len],
        };
        let mut tune = 0u32;
        for (r, list) in lists.iter().enumerate() {
            let mut at = r * len;
            for e in list {
                let n = e.len();
                s.segments[at..at + n].fill(tune);
                tune += 1;
                s.tokens[at..at + n].copy_from_slice(&e.tokens);
                s.targets[at..at + n].copy_from_slice(&e.targets);
                s.features[at * 5..(at + n) * 5].copy_from_slice(&e.features);
                s.keep[at + 1..at + n].fill(1.0);
                s.mask[at..at + n].fill(1.0);
                at += n;
            }
            s.segments[at..(r + 1) * len].fill(tune);
            tune += 1;
        }
        s
    }

    /// How many windows of `width` steps cover the rows.
    pub fn windows(&self, width: usize) -> usize {
        self.len.div_ceil(width.max(1))
    }

    /// Each step's tune in window `i` of every row, row after row.
    fn segments(&self, i: usize, width: usize) -> Vec<u32> {
        let from = i * width;
        self.cut(&self.segments, from, width.min(self.len - from), 1)
    }

    /// Window `i` of every row as a batch, with its `keep` mask.
    fn window(&self, i: usize, width: usize, device: &Device) -> (Batch, Tensor<2>) {
        let from = i * width;
        let t = width.min(self.len - from);
        let rows = self.rows;
        let mask = self.cut(&self.mask, from, t, 1);
        let count = mask.iter().filter(|&&m| m > 0.0).count();
        let batch = Batch {
            tokens: Tensor::from_data(TensorData::new(self.cut(&self.tokens, from, t, 1), [rows, t]), device),
            features: Tensor::from_data(TensorData::new(self.cut(&self.features, from, t, 5), [rows, t, 5]), device),
            targets: Tensor::from_data(TensorData::new(self.cut(&self.targets, from, t, 1), [rows, t]), device),
            mask: Tensor::from_data(TensorData::new(mask, [rows, t]), device),
            count,
        };
        (batch, Tensor::from_data(TensorData::new(self.cut(&self.keep, from, t, 1), [rows, t]), device))
    }

    /// Steps `from..from + t` of every row of `values` (`per` values a step), row after row.
    fn cut<T: Copy>(&self, values: &[T], from: usize, t: usize, per: usize) -> Vec<T> {
        (0..self.rows)
            .flat_map(|r| &values[(r * self.len + from) * per..(r * self.len + from + t) * per])
            .copied()
            .collect()
    }
}

/// The work of one epoch: whole-tune windows in batches, or stateful streams.
enum Plan<'a> {
    Windows(Vec<Vec<&'a Example>>),
    Streams(Streams, usize),
}

impl Plan<'_> {
    fn len(&self) -> usize {
        match self {
            Plan::Windows(b) => b.len(),
            Plan::Streams(s, width) => s.windows(*width),
        }
    }
}

/// Batches of similar length (little padding), in random order.
fn batches<'a>(examples: &'a [Example], size: usize, rng: &mut Rng) -> Vec<Vec<&'a Example>> {
    let mut order: Vec<&Example> = examples.iter().collect();
    rng.shuffle(&mut order);
    let mut out = Vec::new();
    for pool in order.chunks_mut(size * 64) {
        pool.sort_by_key(|e| e.len());
        out.extend(pool.chunks(size).map(|c| c.to_vec()));
    }
    rng.shuffle(&mut out);
    out
}

/// Bits per note of held-out tunes under the model, summed.
pub fn validate(model: &MelodyModel, tunes: &[Tune], vocab: Vocab, device: &Device) -> Tally {
    let tallies = eval::neural(model, tunes, vocab, device);
    eval::total(&tallies, tunes, |_| true)
}

/// The unigram baseline: every step predicted from class frequencies alone (add-one smoothed).
pub fn unigram(train: &[Tune], held_out: &[Tune], vocab: Vocab) -> Tally {
    let mut counts = vec![1.0f64; vocab.size()];
    for e in examples(train, vocab, usize::MAX, None) {
        for &t in &e.targets {
            counts[t as usize] += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let mut tally = Tally::default();
    for e in examples(held_out, vocab, usize::MAX, None) {
        for &t in &e.targets {
            tally.bits -= (counts[t as usize] / total).log2();
        }
    }
    tally.notes = held_out.iter().map(|t| t.melody.notes().len()).sum();
    tally
}

/// Writes to stdout and to the log file.
pub struct Log {
    file: Option<std::fs::File>,
}

impl Log {
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        Ok(Log { file: path.map(std::fs::File::create).transpose()? })
    }
    /// Appends to an existing log (resumed training keeps the whole history in one file).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Log { file: Some(file) })
    }
    pub fn line(&mut self, text: &str) {
        println!("{text}");
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{text}");
            let _ = f.flush();
        }
    }
}

#[derive(Debug)]
pub struct TrainReport {
    pub best_valid: Tally,
    pub unigram_valid: Tally,
    pub epochs: f64,
    pub seconds: f64,
    pub weights: PathBuf,
}

/// Trains and writes the best weights (by validation loss) to `out` (`.bpk`, with the spec as
/// `.json` beside it).
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
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    train_device.seed(options.seed);
    let mut rng = Rng::new(options.seed);
    if options.bptt == Some(0) || options.batch == 0 {
        return Err(ModelError::Config("--batch and --bptt must be at least 1".into()));
    }
    let mut model = match &options.resume {
        Some(bytes) => weights::load(&options.spec, bytes.clone(), &train_device)?,
        None => options.spec.init(&train_device)?,
    };
    let mut optim = AdamConfig::new().with_grad_clipping(Some(GradientClippingConfig::Norm(1.0))).init();

    let valid = &eval::folded(valid, vocab);
    let unigram = unigram(train, valid, vocab);
    log.line(&format!(
        "model {} with {} parameters; {} training and {} validation tunes; {} threads",
        options.spec.name(),
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
    let conditionings: Vec<_> = train.iter().map(Tune::conditioning).collect();
    let trained_on = crate::encoding::TrainedOn::count(&conditionings);
    std::fs::write(out.with_extension("json"), options.spec.to_json_with(&trained_on))
        .map_err(|e| ModelError::Weights(format!("{}: {e}", out.display())))?;

    let mut best: Option<Tally> = None;
    // Halved on every plateau; the time schedule scales it further.
    let mut base_lr = options.lr;
    let mut since_best = 0;
    let mut epochs_done = 0.0;
    'epochs: for epoch in 1..=options.max_epochs {
        let augment = Some(Augment { rng: &mut rng, transpose: options.transpose, blank: options.blank });
        let window = if options.bptt.is_some() { usize::MAX } else { options.window };
        let mut examples = examples(train, vocab, window, augment);
        let plan = match options.bptt {
            Some(width) => {
                rng.shuffle(&mut examples);
                Plan::Streams(Streams::new(&examples, options.batch), width)
            }
            None => Plan::Windows(batches(&examples, options.batch, &mut rng)),
        };
        let items = plan.len();
        let eval_every = items.div_ceil(options.evals_per_epoch.max(1));
        let (mut nats, mut steps) = (0.0f64, 0usize);
        let mut since_eval = Instant::now();
        let mut carried = None;
        let mut memory = None;
        for i in 0..items {
            let (sum, b) = match (&plan, &model) {
                (Plan::Windows(batches), _) => {
                    let b = batch(&batches[i], &train_device);
                    (nll(&model, &b), b)
                }
                (Plan::Streams(streams, width), MelodyModel::Lstm(lstm)) => {
                    let (b, keep) = streams.window(i, *width, &train_device);
                    let (logits, state) =
                        lstm.forward_resetting(b.tokens.clone(), b.features.clone(), Some(keep), carried.take());
                    carried = Some(state.detach());
                    (masked_nll(logits, &b), b)
                }
                (Plan::Streams(streams, width), MelodyModel::Transformer(transformer)) => {
                    let (b, _) = streams.window(i, *width, &train_device);
                    let segments = streams.segments(i, *width);
                    let (logits, next) = transformer.forward_streamed(
                        b.tokens.clone(),
                        b.features.clone(),
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
            // Streams divide by a full window, not by the steps it holds: the last windows of an
            // epoch hold a few rows' tails, and Adam would turn their few, noisy steps into
            // full-size updates (validation jumped by 0.5 bits/note at every epoch end).
            let per = match &plan {
                Plan::Windows(_) => b.count,
                Plan::Streams(streams, width) => streams.rows * width,
            };
            let loss = sum / per as f32;
            nats += loss.clone().into_scalar::<f32>() as f64 * per as f64;
            steps += b.count;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = scheduled_lr(base_lr, started.elapsed().as_secs_f64() / budget);
            model = optim.step(lr, model, grads);

            let out_of_time = started.elapsed().as_secs_f64() > budget;
            if (i + 1) % eval_every == 0 || i + 1 == items || out_of_time {
                let v = validate(&model.valid(), valid, vocab, &device);
                epochs_done = epoch as f64 - 1.0 + (i + 1) as f64 / items as f64;
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
                        let bytes = std::fs::read(out).map_err(|e| ModelError::Weights(format!("{}: {e}", out.display())))?;
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
        "best valid {:.3} bits/note (unigram baseline {:.3}); {:.1} epochs in {:.0} s",
        best.bits_per_note(),
        unigram.bits_per_note(),
        epochs_done,
        started.elapsed().as_secs_f64()
    ));
    Ok(TrainReport {
        best_valid: best,
        unigram_valid: unigram,
        epochs: epochs_done,
        seconds: started.elapsed().as_secs_f64(),
        weights: out.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let ex = examples(&[tune(&[60, 62, 64])], vocab, 4, None);
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].tokens[0], vocab.start() as i32);
        assert_eq!(&ex[0].tokens[1..], &ex[0].targets[..3]);
        assert_eq!(ex[1].tokens[0], ex[0].targets[3]);
        assert_eq!(ex[1].len(), 2);
        assert_eq!(ex[1].features.len(), 10);
        assert_eq!(ex[1].features[0], 4); // metric position of step 4
    }

    #[test]
    fn streams_hold_every_tune_once_and_reset_at_each_start() {
        let vocab = Vocab::DEFAULT;
        let tunes: Vec<Tune> = (0..7).map(|i| tune(&[60 + i, 62, 64, 65, 67][..2 + i as usize % 4])).collect();
        let ex = examples(&tunes, vocab, usize::MAX, None);
        let s = Streams::new(&ex, 3);
        let total: usize = ex.iter().map(|e| e.len()).sum();
        assert_eq!(s.mask.iter().filter(|&&m| m > 0.0).count(), total);
        // One reset (keep = 0 inside the mask) per tune, at a start symbol.
        let starts: Vec<usize> = (0..s.rows * s.len).filter(|&i| s.mask[i] > 0.0 && s.keep[i] == 0.0).collect();
        assert_eq!(starts.len(), tunes.len());
        assert!(starts.iter().all(|&i| s.tokens[i] == vocab.start() as i32));
        // Rows are balanced: none is longer than the shortest plus one tune.
        let lengths: Vec<usize> = (0..s.rows).map(|r| s.mask[r * s.len..(r + 1) * s.len].iter().filter(|&&m| m > 0.0).count()).collect();
        let longest_tune = ex.iter().map(|e| e.len()).max().unwrap();
        assert!(lengths.iter().max().unwrap() - lengths.iter().min().unwrap() <= longest_tune, "{lengths:?}");
        assert_eq!(s.windows(4), s.len.div_ceil(4));
    }

    #[test]
    fn transposition_stays_in_range_and_moves_the_key() {
        let vocab = Vocab::DEFAULT;
        let high = tune(&[80, 84]);
        assert_eq!(vocab.fitting_shifts(&high.melody), vec![-6, -5, -4, -3, -2, -1, 0]);
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let ex = examples(&[high.clone()], vocab, 64, Some(Augment { rng: &mut rng, transpose: true, blank: 0.0 }));
            let top = ex[0].targets.iter().max().unwrap();
            assert!(*top as usize <= vocab.index(crate::encoding::Event::On(Pitch::new(84).unwrap())));
            // The key's tonic moved with the notes (C major, so the tonic is the shift).
            let first = ex[0].targets[0] - 2 + vocab.lo().midi() as i32;
            assert_eq!(ex[0].features[2], (first - 80).rem_euclid(12));
        }
    }

    #[test]
    fn blanking_hides_key_and_style_independently_at_the_asked_rate() {
        let vocab = Vocab::DEFAULT;
        let mut t = tune(&[60, 62, 64]);
        t.style = Some(crate::encoding::Style::Folk);
        let tunes = vec![t; 4000];
        let mut rng = Rng::new(5);
        let ex = examples(&tunes, vocab, 64, Some(Augment { rng: &mut rng, transpose: false, blank: 0.2 }));
        let (unknown_tonic, unknown_mode, unknown_style) = (12, 7, 3);
        let (mut keys, mut styles, mut both) = (0, 0, 0);
        for e in &ex {
            // A hidden key hides tonic and mode together, on every step of the tune.
            let f = &e.features;
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
        let none = examples(&tunes[..50], vocab, 64, Some(Augment { rng: &mut rng, transpose: false, blank: 0.0 }));
        assert!(none.iter().all(|e| e.features[2] != unknown_tonic && e.features[4] != unknown_style));
    }

    #[test]
    fn a_tiny_model_learns_a_scale() {
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 16,
            hidden: 32,
            layers: 1,
            dropout: 0.0,
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
            max_epochs: 40,
            minutes: 2.0,
            seed: 1,
            transpose: false,
            evals_per_epoch: 1,
            blank: 0.2,
        };
        let report = train(&options, &tunes, &tunes[..2], &out, &mut Log::new(None).unwrap()).unwrap();
        assert!(report.best_valid.bits < 0.3 * report.unigram_valid.bits, "{report:?}");
        // The saved weights load back into the same model.
        let device = Device::flex();
        let loaded = weights::load(&spec, std::fs::read(&out).unwrap(), &device).unwrap();
        // The trainer's packed file is the packed form of the stored weights (`tunesmith pack`).
        let MelodyModel::Lstm(lstm) = &loaded else { unreachable!() };
        let packed = crate::model::packed::PackedLstm::new(lstm).unwrap().to_bytes();
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
        let spec = ModelSpec::Lstm(LstmConfig { range: PitchRange::from(vocab), embed: 16, hidden: 16, layers: 2, dropout: 0.0 });
        let model = spec.init(&device).unwrap();
        let ex = examples(&tunes, vocab, usize::MAX, None);
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
            let (logits, next) = lstm.forward_resetting(b.tokens.clone(), b.features.clone(), Some(keep), state.take());
            state = Some(next);
            total += masked_nll(logits, &b).into_scalar::<f32>() as f64;
            count += b.count;
        }
        assert_eq!(count, ex.iter().map(|e| e.len()).sum::<usize>());
        assert!((total - nats).abs() < 1e-3 * nats, "streams {total} nats vs whole tunes {nats} nats");
    }
}
