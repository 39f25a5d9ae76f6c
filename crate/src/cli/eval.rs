//! `tunesmith eval`: bits per note beside the Markov baseline; `tunesmith export`: a split of
//! the corpus as MIDI files, as they are found in the wild.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;

use super::generate::PhaseArg;
use super::model::{ModelArgs, data_dir, load_model};
use crate::corpus::{self, Tune};
use crate::encoding::TrainedOn;
use crate::engine::int8::Int8Engine;
use crate::eval::{self, Tally};
use crate::model::packed::PackedLstm;
use crate::model::{MelodyModel, ModelSpec};
use crate::theory::prior::Prior;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prepared dataset whose training split trains the Markov baseline.
    #[arg(long, default_value = "models/data")]
    pub data: PathBuf,
    /// Leave this collection (a dataset source, e.g. oneills1850) out of the baseline's
    /// training data, as a model trained with `train --leave-out` left it out of its own.
    #[arg(long)]
    pub leave_out: Option<String>,
    /// MIDI files, directories of them, or prepared dataset files (.tsv.gz).
    /// Default: the test split of --data.
    pub paths: Vec<PathBuf>,
    /// Hide every melody's key and style from the model, as "any key" and "any style" or a
    /// MIDI file without a key signature do.
    #[arg(long)]
    pub unlabelled: bool,
    /// How a MIDI file's bar grid is found: from its rhythm (auto), or from its time signature
    /// and first tick (file). Dataset files keep their own.
    #[arg(long, value_enum, default_value = "auto")]
    pub phase: PhaseArg,
    #[command(flatten)]
    pub prior: super::model::PriorArgs,
}

/// Reads melodies to evaluate: dataset files as they are, MIDI files through the melody
/// extractor (unreadable ones reported and skipped).
fn read_melodies(data: &Path, paths: &[PathBuf]) -> Result<Vec<Tune>, String> {
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

/// Lays every MIDI melody on the bar grid its rhythm suggests (`--phase auto`); says how many.
fn regrid(tunes: &mut [Tune], trained_on: &TrainedOn) {
    let mut moved = 0;
    for t in tunes.iter_mut().filter(|t| corpus::is_midi(t)) {
        if let Some(grid) = trained_on.rhythm.estimate(t.melody.notes(), None)
            && let Ok(mut m) = t.melody.starting_at(grid.phase)
        {
            m.meter = grid.meter;
            t.melody = m;
            moved += 1;
        }
    }
    if moved > 0 {
        println!("phase auto: {moved} MIDI melodies laid on the meter and bar phase their rhythm suggests");
    }
}

pub fn run(args: EvalArgs) -> Result<(), String> {
    let device = Device::flex();
    let loaded = load_model(&args.model, &device)?;
    let vocab = loaded.spec.vocab().map_err(|e| e.to_string())?;
    let data = data_dir(args.data);
    let mut tunes = read_melodies(&data, &args.paths)?;
    if matches!(args.phase, PhaseArg::Auto) {
        regrid(&mut tunes, &loaded.trained_on);
    }
    let mut tunes = eval::folded(&tunes, vocab);
    if args.unlabelled {
        for t in &mut tunes {
            t.melody.key = None;
            t.style = None;
        }
    }
    let started = Instant::now();
    let train_tunes: Vec<Tune> = corpus::load_split(&data, "train")
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|t| args.leave_out.as_ref().is_none_or(|s| &t.source != s))
        .collect();
    let markov = eval::markov_baseline(&train_tunes, vocab);
    let baseline = eval::markov(&markov, &tunes);
    let neural = eval::with_missing_labels(&tunes, &loaded.trained_on, |t| {
        eval::neural(&loaded.net, t, vocab, Prior::NONE, &device)
    });
    let bars = |t: &Tune| t.melody.end().0.div_ceil(t.melody.meter.steps_per_bar());
    type Group<'a> = (&'static str, &'a dyn Fn(&Tune) -> bool);
    let groups: [Group; 3] =
        [("all melodies", &|_| true), ("≤ 16 bars", &|t| bars(t) <= 16), ("> 16 bars", &|t| bars(t) > 16)];

    let notes: usize = tunes.iter().map(|t| t.melody.notes().len()).sum();
    println!("{} melodies, {notes} notes ({:.0} s)", tunes.len(), started.elapsed().as_secs_f64());
    println!("{:<22}{:>28}{:>28}{:>28}", "", groups[0].0, groups[1].0, groups[2].0);
    println!("{:<22}{}", "model", "   bits/note  next-pitch acc".repeat(3));
    let row = |name: &str, tallies: &[Tally]| {
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
    let arch = loaded.spec.arch();
    row(arch, &neural);
    if let (MelodyModel::Lstm(lstm), ModelSpec::Lstm(config)) = (&loaded.net, &loaded.spec) {
        // What the page runs on the CPU and on WebGPU: int8 weights.
        let engine = PackedLstm::from_lstm(lstm).and_then(|p| Int8Engine::new(p, config)).map_err(|e| e.to_string())?;
        row(
            "lstm, int8 weights",
            &eval::with_missing_labels(&tunes, &loaded.trained_on, |t| eval::int8(&engine, t, vocab)),
        );
    }
    // The theory-tuned weights alone; what is sampled at strength 1 (those weights and the
    // sampling prior, `theory::prior`); and at the default strength (the blend and the prior
    // at that strength): what keeping the rules costs in likelihood of real tunes.
    let default = crate::request::Request::DEFAULT_THEORY;
    let tuned = loaded.tuned.as_ref().map(|tuned| {
        let blend = crate::model::blend::network(loaded.net.clone(), tuned, default);
        let score = |net: &MelodyModel, prior: Prior| {
            eval::with_missing_labels(&tunes, &loaded.trained_on, |t| eval::neural(net, t, vocab, prior, &device))
        };
        (score(tuned, Prior::NONE), score(tuned, args.prior.at(1.0)), score(&blend, args.prior.at(default)))
    });
    if let Some((weights, tuned, blend)) = &tuned {
        row(&format!("{arch}, tuned weights"), weights);
        row(&format!("{arch}, theory 1"), tuned);
        row(&format!("{arch}, theory {default}"), blend);
    }
    row("markov-3 (baseline)", &baseline);
    let ratio = |name: &str, a: &[Tally], b: &[Tally]| {
        let cells: String = groups
            .iter()
            .map(|(_, keep)| {
                let (a, b) = (eval::total(a, &tunes, keep), eval::total(b, &tunes, keep));
                if a.notes == 0 { format!("{:>28}", "-") } else { format!("{:>12.3}{:>16}", a.bits / b.bits, "") }
            })
            .collect();
        println!("{name:<22}{cells}");
    };
    ratio(&format!("{arch} / markov-3"), &neural, &baseline);
    if let Some((weights, tuned, blend)) = &tuned {
        ratio(&format!("theory {default} / markov-3"), blend, &baseline);
        ratio("tuned weights / data", weights, &neural);
        ratio("theory 1 / data", tuned, &neural);
        ratio(&format!("theory {default} / data"), blend, &neural);
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The prepared dataset.
    #[arg(long, default_value = "models/data")]
    pub data: PathBuf,
    /// The split to write: train, valid or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Only this collection (a dataset source, e.g. oneills1850), from every split.
    #[arg(long, conflicts_with = "leave_out")]
    pub source: Option<String>,
    /// The split without this collection.
    #[arg(long)]
    pub leave_out: Option<String>,
    /// Start each file at its first note, as most MIDI files in the wild do, instead of
    /// keeping the pickup where the bar grid puts it.
    #[arg(long)]
    pub first_note: bool,
    /// The directory to write into (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Writes tunes as MIDI files with tempo and time signature but no key signature.
pub fn export(args: ExportArgs) -> Result<(), String> {
    let data = data_dir(args.data);
    let tunes: Vec<Tune> = match &args.source {
        Some(source) => ["train", "valid", "test"]
            .iter()
            .map(|s| corpus::load_split(&data, s).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .filter(|t| &t.source == source)
            .collect(),
        None => corpus::load_split(&data, &args.split)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|t| args.leave_out.as_ref().is_none_or(|s| &t.source != s))
            .collect(),
    };
    if tunes.is_empty() {
        return Err("no tunes to write".into());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    for (i, t) in tunes.iter().enumerate() {
        let mut m =
            if args.first_note { t.melody.starting_at(0).map_err(|e| e.to_string())? } else { t.melody.clone() };
        m.key = None;
        let path = args.out.join(format!("{i:05}.mid"));
        std::fs::write(&path, crate::midi::export(&m)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("wrote {} MIDI files to {}", tunes.len(), args.out.display());
    Ok(())
}
