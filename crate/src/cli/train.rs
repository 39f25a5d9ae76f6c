//! `tunesmith train`, `tunesmith tune` and `tunesmith pack`.

use std::path::PathBuf;

use burn::prelude::*;

use super::model::{ModelArgs, data_dir, load_model, model_files};
use crate::corpus::{self, Tune};
use crate::encoding::{Lookback, Vocab};
use crate::model::{LstmConfig, ModelSpec, PitchRange, TransformerConfig, weights};
use crate::theory::rewards::RewardWeights;
use crate::train::{self, Log, TrainOptions, TuneOptions};

fn parse_probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) { Ok(p) } else { Err("use a probability from 0 to 1".into()) }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Lstm,
    Transformer,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Architecture to train.
    #[arg(long, value_enum, default_value = "lstm")]
    pub model: Arch,
    /// The prepared dataset (train/valid/test .tsv.gz).
    #[arg(long, default_value = "models/data")]
    pub data: PathBuf,
    /// Leave this collection (a dataset source, e.g. oneills1850) out of training and
    /// validation, to measure how the model does on music it never heard.
    #[arg(long)]
    pub leave_out: Option<String>,
    /// Train on these MIDI files or directories instead (a tenth is held out for validation).
    #[arg(long, num_args = 1..)]
    pub midi: Vec<PathBuf>,
    /// Where to write the weights (`.bpk`); the spec goes beside it as `.json`.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Log file (default: the weights path with `.log`).
    #[arg(long)]
    pub log: Option<PathBuf>,
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// At most this many epochs; the step size anneals towards whichever budget ends first.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// LSTM: width of the input embedding.
    #[arg(long, default_value_t = 128)]
    pub embed: usize,
    /// LSTM: hidden units per layer.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Layers (default: 2 for the LSTM, 5 for the Transformer).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Transformer: model width.
    #[arg(long, default_value_t = 128)]
    pub d_model: usize,
    /// Transformer: attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Transformer: feed-forward width.
    #[arg(long, default_value_t = 448)]
    pub d_ff: usize,
    /// Transformer: attention span in steps (default: the whole melody).
    #[arg(long)]
    pub span: Option<usize>,
    /// Lookback inputs: the events this many bars back, e.g. `1,2,4,8` (none by default).
    #[arg(long, value_delimiter = ',')]
    pub lookback: Vec<u32>,
    /// Let the model read a form plan (the Form control), shown with chance --plan.
    #[arg(long)]
    pub form: bool,
    /// Also give the model the event half a bar back (a motif answered within its bar)
    #[arg(long)]
    pub half_bar: bool,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 256)]
    pub window: usize,
    /// Train statefully: `--batch` rows of tunes end to end in windows of this many steps,
    /// carried across windows (truncated backpropagation through time): the LSTM's state,
    /// or the Transformer's keys and values of the previous window (Transformer-XL style).
    #[arg(long)]
    pub bptt: Option<usize>,
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 2)]
    pub evals_per_epoch: usize,
    /// Use only the first N training tunes (for quick experiments).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Continue training the weights at --out (their `.json` spec wins over the size
    /// options); the log is appended to.
    #[arg(long)]
    pub resume: bool,
    /// Do not transpose tunes into other keys while training.
    #[arg(long)]
    pub no_transpose: bool,
    /// Chance of hiding a tune's key from the model, and separately its style, each epoch.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub blank: f64,
    /// With --form: chance of showing a tune its own form plan, each epoch.
    #[arg(long, default_value_t = 0.5, value_parser = parse_probability)]
    pub plan: f64,
    /// Chance of laying a tune on the bar grid its rhythm suggests, each epoch, as MIDI files
    /// are read with `--phase auto`.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub grid: f64,
}

impl TrainArgs {
    fn spec(&self) -> ModelSpec {
        let range = PitchRange::from(Vocab::DEFAULT);
        let lookback = Lookback { bars: self.lookback.clone(), half: self.half_bar, form: self.form };
        match self.model {
            Arch::Lstm => ModelSpec::Lstm(LstmConfig {
                range,
                embed: self.embed,
                hidden: self.hidden,
                layers: self.layers.unwrap_or(2),
                dropout: self.dropout,
                lookback,
            }),
            Arch::Transformer => ModelSpec::Transformer(TransformerConfig {
                range,
                d_model: self.d_model,
                heads: self.heads,
                layers: self.layers.unwrap_or(5),
                d_ff: self.d_ff,
                dropout: self.dropout,
                span: self.span,
                lookback,
            }),
        }
    }
}

/// Training and validation tunes: the prepared splits, or MIDI files with every tenth held out.
fn tunes(args: &TrainArgs) -> Result<(Vec<Tune>, Vec<Tune>), String> {
    if args.midi.is_empty() {
        let data = data_dir(args.data.clone());
        let keep = |tunes: Vec<Tune>| -> Vec<Tune> {
            tunes.into_iter().filter(|t| args.leave_out.as_ref().is_none_or(|s| &t.source != s)).collect()
        };
        let train = keep(corpus::load_split(&data, "train").map_err(|e| e.to_string())?);
        let valid = keep(corpus::load_split(&data, "valid").map_err(|e| e.to_string())?);
        if train.is_empty() {
            return Err(format!("no training tunes left without {:?}", args.leave_out));
        }
        return Ok((train, valid));
    }
    let files = corpus::midi_files(&args.midi).map_err(|e| e.to_string())?;
    let (mut tunes, skipped) = corpus::load_midi(&files);
    for s in &skipped {
        eprintln!("skipped {}: {}", s.path.display(), s.error);
    }
    if tunes.len() < 2 {
        return Err(format!("found {} usable MIDI files; at least 2 are needed", tunes.len()));
    }
    let mut held = Vec::new();
    for i in (0..tunes.len()).filter(|i| i % 10 == 9).rev() {
        held.push(tunes.remove(i));
    }
    if held.is_empty() {
        held.push(tunes.pop().expect("two or more tunes"));
    }
    Ok((tunes, held))
}

pub fn run(args: TrainArgs) -> Result<(), String> {
    let (mut train_tunes, valid_tunes) = tunes(&args)?;
    if let Some(n) = args.limit {
        train_tunes.truncate(n);
    }
    let (spec, resume) = if args.resume {
        let json_path = args.out.with_extension("json");
        let json =
            std::fs::read_to_string(&json_path).map_err(|e| format!("--resume needs {}: {e}", json_path.display()))?;
        let bytes = std::fs::read(&args.out).map_err(|e| format!("--resume needs {}: {e}", args.out.display()))?;
        let spec = ModelSpec::parse(&json).map_err(|e| e.to_string())?;
        if spec.arch() != args.spec().arch() {
            return Err(format!("{} holds a {} model, not {}", args.out.display(), spec.arch(), args.spec().arch()));
        }
        (spec, Some(bytes))
    } else {
        let spec = args.spec();
        spec.check().map_err(|e| e.to_string())?;
        (spec, None)
    };
    let options = TrainOptions { resume, spec, ..TrainOptions::from(&args) };
    let log_path = args.log.clone().unwrap_or_else(|| args.out.with_extension("log"));
    let opened = if options.resume.is_some() { Log::append(&log_path) } else { Log::new(Some(&log_path)) };
    let mut log = opened.map_err(|e| format!("{}: {e}", log_path.display()))?;
    if let Some(s) = &args.leave_out {
        log.line(&format!("left out: {s}"));
    }
    let report = train::train(&options, &train_tunes, &valid_tunes, &args.out, &mut log).map_err(|e| e.to_string())?;
    println!("weights: {} (log: {})", report.weights.display(), log_path.display());
    Ok(())
}

/// The options as asked: a fresh model of the asked shape (`run` reads a resumed one's).
impl From<&TrainArgs> for TrainOptions {
    fn from(args: &TrainArgs) -> TrainOptions {
        TrainOptions {
            resume: None,
            spec: args.spec(),
            batch: args.batch,
            window: args.window,
            bptt: args.bptt,
            lr: args.lr,
            max_epochs: args.epochs,
            minutes: args.minutes,
            seed: args.seed,
            transpose: !args.no_transpose,
            evals_per_epoch: args.evals_per_epoch,
            blank: args.blank,
            plan: if args.form { args.plan } else { 0.0 },
            grid: args.grid,
        }
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("{s:?} is not a number of 0 or more")),
    }
}

#[derive(clap::Args, Debug)]
pub struct TuneArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prepared dataset, for its validation split.
    #[arg(long, default_value = "models/data")]
    pub data: PathBuf,
    /// Where to write the tuned weights (`.bpk`; the spec and the `.pack` go beside it).
    #[arg(long, short)]
    pub out: PathBuf,
    /// The run's record (default: beside the weights, as `.log`).
    #[arg(long)]
    pub log: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,
    #[arg(long, default_value_t = 60.0, value_parser = parse_positive)]
    pub minutes: f64,
    /// Requests per step, each with its own seed.
    #[arg(long, default_value_t = 4)]
    pub requests: usize,
    /// Melodies per request.
    #[arg(long, default_value_t = 8)]
    pub candidates: u32,
    #[arg(long, default_value_t = 8, value_parser = super::generate::parse_bars)]
    pub bars: u32,
    #[arg(long, default_value_t = 3e-5, value_parser = parse_positive)]
    pub lr: f64,
    /// Weight of the KL-control reward (log p_data − log p_model per step).
    #[arg(long, default_value_t = 1.0, value_parser = parse_positive)]
    pub kl: f64,
    /// Discount per step.
    #[arg(long, default_value_t = 0.9, value_parser = parse_probability)]
    pub gamma: f64,
    /// Held-out bits per note allowed, as a multiple of the data model's.
    #[arg(long, default_value_t = 1.08, value_parser = parse_positive)]
    pub budget: f64,
    #[arg(long, default_value_t = 25)]
    pub eval_every: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Continue from the tuned weights already at --out (the log is appended to).
    #[arg(long)]
    pub resume: bool,
    /// Weight of the adversarial reward: a critic trained alongside to tell corpus tunes from
    /// the model's melodies (SeqGAN-style); 0 for none.
    #[arg(long, default_value_t = 0.0, value_parser = parse_positive)]
    pub adversary: f64,
    /// Reward weights: a note outside the key (−).
    #[arg(long, default_value_t = RewardWeights::default().key, value_parser = parse_positive)]
    pub reward_key: f64,
    /// An excessively repeated note (−).
    #[arg(long, default_value_t = RewardWeights::default().repeat, value_parser = parse_positive)]
    pub reward_repeat: f64,
    /// A note in a motif (+).
    #[arg(long, default_value_t = RewardWeights::default().motif, value_parser = parse_positive)]
    pub reward_motif: f64,
    /// A note in a repeated motif (+, on top).
    #[arg(long, default_value_t = RewardWeights::default().repeated_motif, value_parser = parse_positive)]
    pub reward_repeated_motif: f64,
    /// A leap turned back (+) or not (−).
    #[arg(long, default_value_t = RewardWeights::default().leap, value_parser = parse_positive)]
    pub reward_leap: f64,
    /// A start on the tonic (+).
    #[arg(long, default_value_t = RewardWeights::default().tonic, value_parser = parse_positive)]
    pub reward_tonic: f64,
    /// A unique highest and lowest note (+, half each).
    #[arg(long, default_value_t = RewardWeights::default().extremes, value_parser = parse_positive)]
    pub reward_extremes: f64,
    /// Autocorrelation beyond 0.15 (−, per unit).
    #[arg(long, default_value_t = RewardWeights::default().autocorrelation, value_parser = parse_positive)]
    pub reward_autocorrelation: f64,
}

pub fn tune(args: TuneArgs) -> Result<(), String> {
    let (name, json, bytes) = model_files(&args.model)?;
    let (spec, trained_on) = ModelSpec::parse_with_record(&json).map_err(|e| format!("{name}: {e}"))?;
    crate::model::checksum::verify(&json, crate::model::checksum::WeightsFile::Bpk, &bytes)
        .map_err(|e| format!("{name}: {e}"))?;
    let valid = corpus::load_split(&data_dir(args.data.clone()), "valid").map_err(|e| e.to_string())?;
    let train = match args.adversary > 0.0 {
        true => corpus::load_split(&data_dir(args.data.clone()), "train").map_err(|e| e.to_string())?,
        false => Vec::new(),
    };
    let resume = match args.resume {
        true => Some(std::fs::read(&args.out).map_err(|e| format!("--resume needs {}: {e}", args.out.display()))?),
        false => None,
    };
    let options = TuneOptions { resume, ..TuneOptions::from(&args) };
    let log_path = args.log.clone().unwrap_or_else(|| args.out.with_extension("log"));
    let opened = if options.resume.is_some() { Log::append(&log_path) } else { Log::new(Some(&log_path)) };
    let mut log = opened.map_err(|e| format!("{}: {e}", log_path.display()))?;
    log.line(&format!("tuning {name} (RL Tuner){}", if options.resume.is_some() { ", resumed" } else { "" }));
    let tunes = train::TuneData { train: &train, valid: &valid };
    let report = train::tune(&options, &spec, &json, bytes, &trained_on, tunes, &args.out, &mut log)
        .map_err(|e| e.to_string())?;
    match report.kept {
        Some(_) => println!("weights: {} (log: {})", args.out.display(), log_path.display()),
        None => return Err(format!("no step stayed within the budget; nothing written (log: {})", log_path.display())),
    }
    Ok(())
}

/// The options as asked, from the data model (`tune` reads the weights a resumed run continues).
impl From<&TuneArgs> for TuneOptions {
    fn from(args: &TuneArgs) -> TuneOptions {
        TuneOptions {
            resume: None,
            adversary: args.adversary,
            iterations: args.iterations,
            minutes: args.minutes,
            requests: args.requests,
            candidates: args.candidates,
            bars: args.bars,
            lr: args.lr,
            kl: args.kl,
            gamma: args.gamma,
            budget: args.budget,
            eval_every: args.eval_every,
            seed: args.seed,
            rewards: RewardWeights {
                key: args.reward_key,
                repeat: args.reward_repeat,
                motif: args.reward_motif,
                repeated_motif: args.reward_repeated_motif,
                leap: args.reward_leap,
                tonic: args.reward_tonic,
                extremes: args.reward_extremes,
                autocorrelation: args.reward_autocorrelation,
            },
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct PackArgs {
    /// The LSTM's weights (`.bpk`, with its `.json` spec beside it).
    pub weights: PathBuf,
    /// Instead, pack the blend of these weights and their theory-tuned companion beside them
    /// (`NAME.tuned.bpk`) at the default theory strength, as `NAME.blend.pack`, its checksum
    /// recorded in `NAME.tuned.json`: the one file the page runs that strength on.
    #[arg(long)]
    pub blend: bool,
}

pub fn pack(args: PackArgs) -> Result<(), String> {
    let model = ModelArgs { model: crate::catalog::DEFAULT_MODEL.into(), weights: Some(args.weights.clone()) };
    let loaded = load_model(&model, &Device::flex())?;
    if !args.blend {
        let out = weights::save_pack(&loaded.net, &args.weights).map_err(|e| e.to_string())?;
        weights::record_checksums(&args.weights).map_err(|e| e.to_string())?;
        println!("{}", out.display());
        return Ok(());
    }
    let tuned_path = args.weights.with_extension("tuned.bpk");
    let Some(tuned) = &loaded.tuned else {
        return Err(format!("{}: no theory-tuned weights to blend with", tuned_path.display()));
    };
    let theory = crate::request::Request::DEFAULT_THEORY;
    let net = crate::model::blend::network(loaded.net.clone(), tuned, theory);
    let out = weights::save_pack(&net, &args.weights.with_extension("blend.bpk")).map_err(|e| e.to_string())?;
    weights::record_blend_checksum(&tuned_path, &out).map_err(|e| e.to_string())?;
    println!("{} (theory strength {theory})", out.display());
    Ok(())
}
