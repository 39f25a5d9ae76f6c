//! `tunesmith metrics`: the melody metrics (`theory::metrics`) of MIDI files, or of freshly
//! generated melodies, beside the training corpus's.

use std::path::PathBuf;

use burn::prelude::*;

use super::generate::RequestArgs;
use super::model::{ModelArgs, data_dir, load_model};
use crate::corpus;
use crate::sample;
use crate::theory::metrics::{MelodyMetrics, Summary, measure};

#[derive(clap::Args, Debug)]
pub struct MetricsArgs {
    /// MIDI files or directories of them (or prepared dataset files) to measure.
    pub paths: Vec<PathBuf>,
    /// Measure N melodies generated with seeds 1…N instead (what `generate` writes with the
    /// same options).
    #[arg(long)]
    pub generate: Option<u32>,
    /// The first seed of --generate.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u32,
    #[command(flatten)]
    pub options: RequestArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prepared dataset whose training split gives the corpus's figures.
    #[arg(long, default_value = "models/data")]
    pub data: PathBuf,
}

/// Bars a form plan (one letter a bar: a capital already seen repeats that letter's first bar)
/// repeats, and how many of them are played step for step.
fn plan_kept(letters: &str, melody: &crate::melody::Melody, primer_steps: u32) -> (usize, usize) {
    let bar = melody.meter.steps_per_bar() as usize;
    let events = crate::encoding::Vocab::DEFAULT.encode(melody);
    let bars: Vec<&[crate::encoding::Event]> = events.chunks(bar).collect();
    let letters = letters.as_bytes();
    let mut out = (0, 0);
    // A form of the generated part only starts after the primer's bars.
    let offset = if letters.len() * bar < events.len() { primer_steps as usize / bar } else { 0 };
    for (b, l) in letters.iter().enumerate().filter(|(_, l)| l.is_ascii_uppercase()) {
        let Some(first) = letters.iter().position(|x| x == l).filter(|&f| f < b) else { continue };
        out.0 += 1;
        let (a, c) = (bars.get(first + offset), bars.get(b + offset));
        out.1 += matches!((a, c), (Some(a), Some(c)) if a.starts_with(c)) as usize;
    }
    out
}

pub fn run(args: MetricsArgs) -> Result<(), String> {
    let (what, measured): (String, Vec<MelodyMetrics>) = match args.generate {
        Some(n) => {
            if !args.paths.is_empty() {
                return Err("give MIDI files or --generate, not both".into());
            }
            let loaded = load_model(&args.model, &Device::flex())?;
            let engine = loaded.engine()?;
            let last = args.first_seed.checked_add(n.saturating_sub(1)).ok_or("the seeds run past 4294967295")?;
            let mut out = Vec::with_capacity(n as usize);
            let (mut planned, mut followed) = (0, 0);
            for seed in args.first_seed..=last {
                let request = args.options.request(seed);
                let g = burn::tensor::read_sync(sample::generate(&engine, &loaded.trained_on, &request, &mut ()))
                    .map_err(|e| e.to_string())?;
                let melody = &g.melodies[0];
                out.push(measure(melody.notes()));
                if let Some(letters) = &g.form {
                    let (p, f) = plan_kept(letters, melody, g.primer_steps);
                    (planned, followed) = (planned + p, followed + f);
                }
            }
            if planned > 0 {
                println!(
                    "bars the form plan repeats: {planned}, of which played exactly: {followed} ({:.1}%)",
                    100.0 * followed as f64 / planned as f64
                );
            }
            let o = &args.options;
            let form = o.form.as_ref().map_or("automatic".to_string(), |f| f.to_string());
            (
                format!(
                    "{n} melodies of {} bars ({}, seeds {}–{last}, temperature {}, form {form})",
                    o.bars, loaded.name, args.first_seed, o.temperature
                ),
                out,
            )
        }
        None => {
            if args.paths.is_empty() {
                return Err("give MIDI files or directories to measure, or --generate N".into());
            }
            let mut tunes = Vec::new();
            let mut midi = Vec::new();
            for p in &args.paths {
                if corpus::is_dataset_file(p) {
                    tunes.extend(corpus::load_dataset_file(p).map_err(|e| e.to_string())?);
                } else {
                    midi.push(p.clone());
                }
            }
            if !midi.is_empty() {
                let (found, skipped) = corpus::load_midi(&corpus::midi_files(&midi).map_err(|e| e.to_string())?);
                for s in &skipped {
                    eprintln!("skipped {}: {}", s.path.display(), s.error);
                }
                tunes.extend(found);
            }
            (format!("{} melodies", tunes.len()), tunes.iter().map(|t| measure(t.melody.notes())).collect())
        }
    };
    let corpus = corpus::load_split(&data_dir(args.data), "train").map_err(|e| e.to_string())?;
    let reference = Summary::of(&corpus.iter().map(|t| measure(t.melody.notes())).collect::<Vec<_>>());
    let ours = Summary::of(&measured);
    println!(
        "{what}; corpus: {} training tunes; first {} steps from the first note",
        reference.melodies,
        crate::theory::metrics::WINDOW
    );
    println!("{:<44}{:>10}{:>12}", "metric", "corpus", "measured");
    for ((name, c, percent), (_, m, _)) in reference.rows().into_iter().zip(ours.rows()) {
        let cell = |x: f64| {
            if percent {
                format!("{x:.1}%")
            } else if x.abs() >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        };
        println!("{name:<44}{:>10}{:>12}", cell(c), cell(m));
    }
    Ok(())
}
