//! The `tunesmith` command: generate MIDI files, train models, evaluate them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::prelude::*;
use clap::{Parser, Subcommand};

use crate::corpus;
use crate::eval;
use crate::encoding::{Conditioning, Style, TrainedOn};
use crate::melody::{Key, Meter, Tempo};
use crate::midi;
use crate::model::{LstmConfig, MelodyModel, ModelError, ModelSpec, PitchRange, TransformerConfig, weights};
use crate::sample::{Request, generate};
use crate::theory;
use crate::train::{self, Log, TrainOptions};

include!(concat!(env!("OUT_DIR"), "/embedded_models.rs"));

#[derive(Parser)]
#[command(name = "tunesmith", version, about = "Generate melodies with a neural model; write them as MIDI.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a melody and write it as a MIDI file.
    Generate {
        #[arg(long, default_value_t = 8, value_parser = parse_bars)]
        bars: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// 0 = always the likeliest note; 1 = the model's own distribution; up to 3.
        #[arg(long, default_value_t = 1.0, value_parser = parse_temperature)]
        temperature: f32,
        #[arg(long, default_value_t = 120.0, value_parser = parse_tempo)]
        tempo: f64,
        /// Default: the primer's meter, else 4/4.
        #[arg(long, value_parser = parse_meter)]
        meter: Option<Meter>,
        /// A key such as "G major", "E minor" or "D dorian"; default: the primer's key, else
        /// the model chooses.
        #[arg(long, value_parser = parse_key)]
        key: Option<Key>,
        /// A MIDI file whose melody the generated bars continue.
        #[arg(long)]
        primer: Option<PathBuf>,
        /// celtic, folk or chorale; leave out for any.
        #[arg(long, value_parser = parse_style)]
        style: Option<Style>,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Write an LSTM's packed int8 form (`.pack`, what the page downloads) beside its weights.
    Pack {
        /// The LSTM's weights (`.bpk`, with its `.json` spec beside it).
        weights: PathBuf,
    },
    /// Score melodies: bits per note and next-pitch accuracy of a model beside an order-3
    /// Markov baseline trained on the same training split.
    Eval {
        #[command(flatten)]
        model: ModelArgs,
        /// The prepared dataset whose training split trains the Markov baseline.
        #[arg(long, default_value = "models/data")]
        data: PathBuf,
        /// MIDI files, directories of them, or prepared dataset files (.tsv.gz).
        /// Default: the test split of --data.
        paths: Vec<PathBuf>,
        /// Hide every melody's key and style from the model, as "any key" and "any style" or a
        /// MIDI file without a key signature do.
        #[arg(long)]
        unlabelled: bool,
    },
    /// Train a model on the prepared corpus or on a directory of MIDI files.
    Train {
        /// Architecture to train: lstm or transformer.
        #[arg(long, default_value = "lstm", value_parser = ["lstm", "transformer"])]
        model: String,
        /// The prepared dataset (train/valid/test .tsv.gz).
        #[arg(long, default_value = "models/data")]
        data: PathBuf,
        /// Train on these MIDI files or directories instead (a tenth is held out for validation).
        #[arg(long, num_args = 1..)]
        midi: Vec<PathBuf>,
        /// Where to write the weights (`.bpk`); the spec goes beside it as `.json`.
        #[arg(long, short)]
        out: PathBuf,
        /// Log file (default: the weights path with `.log`).
        #[arg(long)]
        log: Option<PathBuf>,
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        #[arg(long, default_value_t = 100)]
        epochs: usize,
        /// LSTM: width of the input embedding.
        #[arg(long, default_value_t = 128)]
        embed: usize,
        /// LSTM: hidden units per layer.
        #[arg(long, default_value_t = 256)]
        hidden: usize,
        /// Layers (default: 2 for the LSTM, 5 for the Transformer).
        #[arg(long)]
        layers: Option<usize>,
        /// Transformer: model width.
        #[arg(long, default_value_t = 128)]
        d_model: usize,
        /// Transformer: attention heads.
        #[arg(long, default_value_t = 4)]
        heads: usize,
        /// Transformer: feed-forward width.
        #[arg(long, default_value_t = 448)]
        d_ff: usize,
        /// Transformer: attention span in steps (default: the whole melody).
        #[arg(long)]
        span: Option<usize>,
        #[arg(long, default_value_t = 0.1)]
        dropout: f64,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 256)]
        window: usize,
        /// Train statefully: `--batch` rows of tunes end to end in windows of this many steps,
        /// carried across windows (truncated backpropagation through time): the LSTM's state,
        /// or the Transformer's keys and values of the previous window (Transformer-XL style).
        #[arg(long)]
        bptt: Option<usize>,
        #[arg(long, default_value_t = 3e-3)]
        lr: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 2)]
        evals_per_epoch: usize,
        /// Use only the first N training tunes (for quick experiments).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue training the weights at --out (their `.json` spec wins over the size
        /// options); the log is appended to. For runs cut short by a time budget or a restart.
        #[arg(long)]
        resume: bool,
        /// Do not transpose tunes into other keys while training.
        #[arg(long)]
        no_transpose: bool,
        /// Chance of hiding a tune's key from the model, and separately its style, each epoch,
        /// so it also learns melodies without those labels (e.g. 0.2). Not needed for "any":
        /// that draws a key and style the model was trained on.
        #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
        blank: f64,
    },
}

/// Which model to run: a built-in one by name, or files.
#[derive(clap::Args)]
struct ModelArgs {
    /// A built-in model: lstm or transformer.
    #[arg(long, default_value = "lstm", value_parser = clap::builder::PossibleValuesParser::new(EMBEDDED.iter().map(|(name, ..)| *name)))]
    model: String,
    /// Weights file (`.bpk`) to use instead of a built-in model; its `.json` spec must sit beside it.
    #[arg(long)]
    weights: Option<PathBuf>,
}

fn parse_meter(s: &str) -> Result<Meter, String> {
    Meter::parse(s).map_err(|e| e.to_string())
}
fn parse_key(s: &str) -> Result<Key, String> {
    Key::parse(s).map_err(|e| e.to_string())
}
// Checked while parsing arguments, so a bad value exits with status 2 like any usage error.
fn parse_bars(s: &str) -> Result<u32, String> {
    let bars: u32 = s.parse().map_err(|_| format!("{s:?} is not a whole number of bars"))?;
    Request::check_bars(bars).map_err(|e| e.to_string())
}
fn parse_temperature(s: &str) -> Result<f32, String> {
    let t: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Request::check_temperature(t).map_err(|e| e.to_string())
}
fn parse_tempo(s: &str) -> Result<f64, String> {
    let bpm: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Tempo::from_bpm(bpm).map(|_| bpm).map_err(|e| e.to_string())
}
fn parse_probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) { Ok(p) } else { Err("use a probability from 0 to 1".into()) }
}
fn parse_style(s: &str) -> Result<Style, String> {
    Style::parse(s).ok_or_else(|| format!("unknown style {s:?}: use celtic, folk or chorale"))
}

/// A model ready to run, with what it was trained on.
pub struct Loaded {
    pub spec: ModelSpec,
    pub trained_on: TrainedOn,
    pub net: MelodyModel,
}

/// Loads a built-in model by name or a model from files.
pub fn load_model(args_model: &str, weights_path: Option<&PathBuf>, device: &Device) -> Result<Loaded, String> {
    let (json, bytes) = match weights_path {
        Some(path) => {
            let spec_path = path.with_extension("json");
            let json = std::fs::read_to_string(&spec_path).map_err(|e| format!("{}: {e}", spec_path.display()))?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            (json, bytes)
        }
        None => {
            let (_, json, bytes) = EMBEDDED.iter().find(|(name, ..)| *name == args_model).ok_or_else(|| {
                let names: Vec<&str> = EMBEDDED.iter().map(|(n, ..)| *n).collect();
                format!("no built-in model named {args_model:?} (built in: {names:?}); pass --weights FILE.bpk")
            })?;
            (json.to_string(), bytes.to_vec())
        }
    };
    let (spec, trained_on) = ModelSpec::parse_with_record(&json).map_err(|e| e.to_string())?;
    let net = weights::load(&spec, bytes, device).map_err(|e: ModelError| e.to_string())?;
    Ok(Loaded { spec, trained_on, net })
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Generate { bars, seed, temperature, tempo, meter, key, primer, style, model, out } => {
            let device = Device::flex();
            let Loaded { spec, trained_on, net } = load_model(&model.model, model.weights.as_ref(), &device)?;
            let vocab = spec.vocab().map_err(|e| e.to_string())?;
            let primer = match primer {
                Some(path) => {
                    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    Some(midi::import(&bytes).map_err(|e| format!("{}: {e}", path.display()))?)
                }
                None => None,
            };
            let meter = meter.or(primer.as_ref().map(|p| p.meter)).unwrap_or_default();
            // A primer without a key signature is still in some key: tell the model which.
            let key = key.or(primer.as_ref().and_then(|p| p.key.or_else(|| theory::estimate_key(p.notes()))));
            let request = Request {
                bars,
                temperature,
                seed,
                tempo: Tempo::from_bpm(tempo).map_err(|e| e.to_string())?,
                conditioning: Conditioning { meter, key, style },
                primer: primer.map(|p| vocab.encode_primer(&p, meter.steps_per_bar())).unwrap_or_default(),
            }
            .fill_any(&trained_on);
            let drawn = |asked: bool| if asked { "" } else { " (drawn)" };
            let style_text = match (style, request.conditioning.style) {
                (_, Some(s)) => format!(", {}{}", s.name(), drawn(style.is_some())),
                _ => String::new(),
            };
            let started = Instant::now();
            let melody = burn::tensor::read_sync(generate(&net, vocab, &device, &request)).map_err(|e| e.to_string())?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            std::fs::write(&out, midi::export(&melody)).map_err(|e| format!("{}: {e}", out.display()))?;
            let names: Vec<String> = melody.notes().iter().map(|n| n.pitch.to_string()).collect();
            println!(
                "wrote {}: {bars} bars of {meter}, {} notes, {} bpm{}{} ({} on the CPU, {ms:.0} ms)",
                out.display(),
                melody.notes().len(),
                tempo,
                match (key, request.conditioning.key, melody.key) {
                    (Some(k), ..) => format!(", {k}"),
                    (None, Some(k), _) => format!(", {k} (drawn)"),
                    (None, None, Some(found)) => format!(", {found} (estimated)"),
                    (None, None, None) => String::new(),
                },
                style_text,
                spec.name(),
            );
            println!("{}", names.join(" "));
            Ok(())
        }
        Command::Eval { model, data, paths, unlabelled } => evaluate(&model, &data_dir(data), &paths, unlabelled),
        Command::Pack { weights: path } => {
            let net = load_model("", Some(&path), &Device::flex())?.net;
            let out = weights::save_pack(&net, &path).map_err(|e| e.to_string())?;
            println!("{}", out.display());
            Ok(())
        }
        Command::Train {
            model,
            data,
            midi,
            out,
            log,
            minutes,
            epochs,
            embed,
            hidden,
            layers,
            d_model,
            heads,
            d_ff,
            span,
            dropout,
            batch,
            window,
            bptt,
            lr,
            seed,
            evals_per_epoch,
            limit,
            resume,
            no_transpose,
            blank,
        } => {
            let range = PitchRange::from(crate::encoding::Vocab::DEFAULT);
            let spec = match model.as_str() {
                "lstm" => ModelSpec::Lstm(LstmConfig { range, embed, hidden, layers: layers.unwrap_or(2), dropout }),
                "transformer" => ModelSpec::Transformer(TransformerConfig {
                    range,
                    d_model,
                    heads,
                    layers: layers.unwrap_or(5),
                    d_ff,
                    dropout,
                    span,
                }),
                other => unreachable!("clap lets only lstm and transformer through, not {other:?}"),
            };
            let (mut train_tunes, valid_tunes) = if midi.is_empty() {
                let data = data_dir(data);
                let t = corpus::load_split(&data, "train").map_err(|e| e.to_string())?;
                let v = corpus::load_split(&data, "valid").map_err(|e| e.to_string())?;
                (t, v)
            } else {
                let files = corpus::midi_files(&midi).map_err(|e| e.to_string())?;
                let (mut tunes, skipped) = corpus::load_midi(&files);
                for s in &skipped {
                    eprintln!("skipped {}: {}", s.path.display(), s.error);
                }
                if tunes.len() < 2 {
                    return Err(format!("found {} usable MIDI files; at least 2 are needed", tunes.len()));
                }
                // Every tenth file is held out to choose the best weights.
                let valid: Vec<_> = (0..tunes.len()).filter(|i| i % 10 == 9).collect();
                let mut held = Vec::new();
                for i in valid.into_iter().rev() {
                    held.push(tunes.remove(i));
                }
                if held.is_empty() {
                    held.push(tunes.pop().expect("two or more tunes"));
                }
                (tunes, held)
            };
            if let Some(n) = limit {
                train_tunes.truncate(n);
            }
            let (spec, resume) = if resume {
                let json = std::fs::read_to_string(out.with_extension("json"))
                    .map_err(|e| format!("--resume needs {}: {e}", out.with_extension("json").display()))?;
                let bytes = std::fs::read(&out).map_err(|e| format!("--resume needs {}: {e}", out.display()))?;
                let spec = ModelSpec::parse(&json).map_err(|e| e.to_string())?;
                if spec.name() != model {
                    return Err(format!("{} holds a {} model, not {model}", out.display(), spec.name()));
                }
                (spec, Some(bytes))
            } else {
                (spec, None)
            };
            let options = TrainOptions {
                resume,
                spec,
                batch,
                window,
                bptt,
                lr,
                max_epochs: epochs,
                minutes,
                seed,
                transpose: !no_transpose,
                evals_per_epoch,
                blank,
            };
            let log_path = log.unwrap_or_else(|| out.with_extension("log"));
            let opened = if options.resume.is_some() { Log::append(&log_path) } else { Log::new(Some(&log_path)) };
            let mut log = opened.map_err(|e| format!("{}: {e}", log_path.display()))?;
            let report = train::train(&options, &train_tunes, &valid_tunes, &out, &mut log).map_err(|e| e.to_string())?;
            println!("weights: {} (log: {})", report.weights.display(), log_path.display());
            Ok(())
        }
    }
}

/// The prepared dataset: as given, or, for the default relative path run outside the
/// repository, the repository's own.
fn data_dir(given: PathBuf) -> PathBuf {
    let built_in = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/data"));
    if !given.exists() && given == std::path::Path::new("models/data") && built_in.exists() {
        built_in.to_path_buf()
    } else {
        given
    }
}

/// Reads melodies to evaluate: dataset files as they are, MIDI files through the melody
/// extractor (unreadable ones reported and skipped).
fn read_melodies(data: &std::path::Path, paths: &[PathBuf]) -> Result<Vec<corpus::Tune>, String> {
    if paths.is_empty() {
        return corpus::load_split(data, "test").map_err(|e| e.to_string());
    }
    let mut tunes = Vec::new();
    let mut midi_paths = Vec::new();
    for p in paths {
        if !p.exists() {
            eprintln!("skipped {}: no such file or directory", p.display());
        } else if corpus::is_dataset_file(p) {
            tunes.extend(corpus::load_dataset_file(p).map_err(|e| e.to_string())?);
        } else {
            midi_paths.push(p.clone());
        }
    }
    if !midi_paths.is_empty() {
        let files = corpus::midi_files(&midi_paths).map_err(|e| e.to_string())?;
        let (found, skipped) = corpus::load_midi(&files);
        for s in &skipped {
            eprintln!("skipped {}: {}", s.path.display(), s.error);
        }
        tunes.extend(found);
    }
    if tunes.is_empty() {
        return Err("no melodies to evaluate".into());
    }
    Ok(tunes)
}

fn evaluate(model: &ModelArgs, data: &std::path::Path, paths: &[PathBuf], unlabelled: bool) -> Result<(), String> {
    let device = Device::flex();
    let Loaded { spec, trained_on, net } = load_model(&model.model, model.weights.as_ref(), &device)?;
    let vocab = spec.vocab().map_err(|e| e.to_string())?;
    let mut tunes = eval::folded(&read_melodies(data, paths)?, vocab);
    if unlabelled {
        for t in &mut tunes {
            t.melody.key = None;
            t.style = None;
        }
    }
    let started = Instant::now();
    let train_tunes = corpus::load_split(data, "train").map_err(|e| e.to_string())?;
    let markov = eval::markov_baseline(&train_tunes, vocab);
    let baseline = eval::markov(&markov, &tunes);
    let neural = eval::with_missing_labels(&tunes, &trained_on, |t| eval::neural(&net, t, vocab, &device));
    let bars = |t: &corpus::Tune| t.melody.end().0.div_ceil(t.melody.meter.steps_per_bar());
    let groups: [(&str, &dyn Fn(&corpus::Tune) -> bool); 3] =
        [("all melodies", &|_| true), ("≤ 16 bars", &|t| bars(t) <= 16), ("> 16 bars", &|t| bars(t) > 16)];

    let notes: usize = tunes.iter().map(|t| t.melody.notes().len()).sum();
    println!("{} melodies, {notes} notes ({:.0} s)", tunes.len(), started.elapsed().as_secs_f64());
    println!("{:<22}{:>28}{:>28}{:>28}", "", groups[0].0, groups[1].0, groups[2].0);
    println!("{:<22}{}", "model", "   bits/note  next-pitch acc".repeat(3));
    let row = |name: &str, tallies: &[eval::Tally]| {
        let cells: String = groups
            .iter()
            .map(|(_, keep)| {
                let t = eval::total(tallies, &tunes, keep);
                if t.notes == 0 {
                    format!("{:>28}", "-")
                } else {
                    format!("{:>12.3}{:>15.1}% ", t.bits_per_note(), 100.0 * t.pitch_accuracy())
                }
            })
            .collect();
        println!("{name:<22}{cells}");
    };
    row(spec.name(), &neural);
    if let MelodyModel::Lstm(lstm) = &net {
        // What the page runs on the CPU and on WebGPU: int8 weights.
        let packed = crate::model::packed::PackedLstm::new(lstm).map_err(|e| e.to_string())?;
        row("lstm, int8 weights", &eval::with_missing_labels(&tunes, &trained_on, |t| eval::packed(&packed, t, vocab)));
    }
    row("markov-3 (baseline)", &baseline);
    let ratio: String = groups
        .iter()
        .map(|(_, keep)| {
            let (n, b) = (eval::total(&neural, &tunes, keep), eval::total(&baseline, &tunes, keep));
            if n.notes == 0 { format!("{:>28}", "-") } else { format!("{:>12.3}{:>16}", n.bits / b.bits, "") }
        })
        .collect();
    println!("{:<22}{ratio}", format!("{} / markov-3", spec.name()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Any key" and "any style" draw from the record in each shipped spec: it must be the
    /// training split's.
    #[test]
    fn the_shipped_specs_record_the_training_split() {
        let train = corpus::load_split(&data_dir("models/data".into()), "train").unwrap();
        let conditionings: Vec<_> = train.iter().map(corpus::Tune::conditioning).collect();
        let counted = TrainedOn::count(&conditionings);
        for (name, json, _) in EMBEDDED {
            assert_eq!(TrainedOn::from_spec_json(json).unwrap(), counted, "models/{name}.json");
        }
    }

    /// The page downloads `models/lstm.pack`; it must be the packed form of the shipped weights.
    #[test]
    fn the_shipped_pack_matches_the_shipped_lstm() {
        let net = load_model("lstm", None, &Device::flex()).unwrap().net;
        let MelodyModel::Lstm(lstm) = net else { panic!("the built-in lstm is an LSTM") };
        let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/lstm.pack")).unwrap();
        let packed = crate::model::packed::PackedLstm::new(&lstm).unwrap().to_bytes();
        assert!(packed == shipped, "models/lstm.pack is stale: run `tunesmith pack models/lstm.bpk`");
    }
}
