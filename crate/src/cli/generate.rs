//! `tunesmith generate`: a melody (or several) as MIDI files.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;

use super::model::{ModelArgs, load_model};
use crate::encoding::{Style, TrainedOn};
use crate::form::Form;
use crate::melody::{Key, Melody, Meter};
use crate::midi;
use crate::request::{Origin, Phase, Request};
use crate::sample::{self, Generation};
use crate::theory::prior::Prior;

fn parse_meter(s: &str) -> Result<Meter, String> {
    Meter::parse(s).map_err(|e| e.to_string())
}
fn parse_key(s: &str) -> Result<Key, String> {
    Key::parse(s).map_err(|e| e.to_string())
}
fn parse_style(s: &str) -> Result<Style, String> {
    Style::parse(s).ok_or_else(|| format!("unknown style {s:?}: use celtic, folk or chorale"))
}
fn parse_form(s: &str) -> Result<Form, String> {
    Form::parse(s).map_err(|e| e.to_string())
}
// Checked while parsing arguments, so a bad value exits with status 2 like any usage error.
pub(super) fn parse_bars(s: &str) -> Result<u32, String> {
    let bars: u32 = s.parse().map_err(|_| format!("{s:?} is not a whole number of bars"))?;
    Request::check_bars(bars).map_err(|e| e.to_string())
}
fn parse_temperature(s: &str) -> Result<f32, String> {
    let t: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Request::check_temperature(t).map_err(|e| e.to_string())
}
fn parse_theory(s: &str) -> Result<f32, String> {
    let x: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Request::check_theory(x).map_err(|e| e.to_string())
}

pub(super) fn parse_candidates(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|_| format!("{s:?} is not a whole number"))?;
    Request::check_candidates(n).map_err(|e| e.to_string())
}

fn parse_tempo(s: &str) -> Result<f64, String> {
    let bpm: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Request::check_tempo(bpm).map(|_| bpm).map_err(|e| e.to_string())
}

/// The request's musical options, as the page offers them (`catalog`).
#[derive(clap::Args, Debug, Clone)]
pub struct RequestArgs {
    #[arg(long, default_value_t = Request::default().bars, value_parser = parse_bars)]
    pub bars: u32,
    /// 0 = always the likeliest note; 1 = the model's own distribution; up to 3.
    #[arg(long, default_value_t = Request::default().temperature, value_parser = parse_temperature, allow_negative_numbers = true)]
    pub temperature: f32,
    #[arg(long, default_value_t = Request::default().tempo, value_parser = parse_tempo, allow_negative_numbers = true)]
    pub tempo: f64,
    /// Default: the primer's, else any (drawn with the seed from what the model learned).
    #[arg(long, value_parser = parse_meter)]
    pub meter: Option<Meter>,
    /// A key such as "G major", "E minor" or "D dorian"; default: the primer's, else the model
    /// draws one it learned.
    #[arg(long, value_parser = parse_key)]
    pub key: Option<Key>,
    /// celtic, folk or chorale; leave out for any.
    #[arg(long, value_parser = parse_style)]
    pub style: Option<Style>,
    /// A form such as AABA or ABAC (one letter per section); leave out for automatic.
    #[arg(long, value_parser = parse_form)]
    pub form: Option<Form>,
    /// Theory strength, 0–1: 0 is the model trained on data alone, 1 the model tuned to the
    /// rules of music theory (RL Tuner); default 0.8 for a model with tuned weights, else 0.
    #[arg(long, value_parser = parse_theory)]
    pub theory: Option<f32>,
}

impl RequestArgs {
    pub fn request(&self, seed: u32) -> Request {
        Request { seed, ..Request::from(self) }
    }
}

/// The request as asked, with the default seed.
impl From<&RequestArgs> for Request {
    fn from(a: &RequestArgs) -> Request {
        Request {
            bars: a.bars,
            tempo: a.tempo,
            meter: a.meter,
            key: a.key,
            style: a.style,
            form: a.form.clone(),
            temperature: a.temperature,
            theory: a.theory,
            ..Request::default()
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub options: RequestArgs,
    #[arg(long, default_value_t = Request::default().seed)]
    pub seed: u32,
    #[command(flatten)]
    pub primer: PrimerArgs,
    /// Candidates to generate in one batched pass, ranked by the model's likelihood plus their
    /// theory score; the best is written (all, best first, with --all).
    #[arg(long, default_value_t = 1, value_parser = parse_candidates)]
    pub candidates: u32,
    /// With --candidates: write every candidate, best first, as FILE-1.mid, FILE-2.mid, ….
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, short)]
    pub out: PathBuf,
}

/// A primer from a MIDI file, as `generate` and `metrics --generate` take it.
#[derive(clap::Args, Debug, Clone)]
pub struct PrimerArgs {
    /// A MIDI file whose melody the generated bars continue.
    #[arg(long)]
    pub primer: Option<PathBuf>,
    /// How the primer's bar grid is found: from its rhythm (auto), or as the file's time
    /// signature says, from its first tick (file).
    #[arg(long, value_enum, default_value = "auto")]
    pub phase: PhaseArg,
}

impl PrimerArgs {
    /// Reads and imports the primer file, if there is one.
    pub fn load(&self) -> Result<Option<Melody>, String> {
        let Some(path) = &self.primer else { return Ok(None) };
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        midi::import(&bytes).map(Some).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `request` continuing `primer` (from [`PrimerArgs::load`]), with the meter and key the file
    /// gives where the request leaves them open.
    pub fn apply(&self, primer: Option<&Melody>, request: Request, trained_on: &TrainedOn) -> Result<Request, String> {
        let mut request = Request { phase: self.phase.into(), ..request };
        let (Some(primer), Some(path)) = (primer, &self.primer) else { return Ok(request) };
        // The file's grid counts when asked for, or when the model has no rhythm statistics
        // to find one; a meter it states other than 4/4 always (the rhythm then finds only the
        // bar phase); its key (if it names one) always.
        if request.phase == Phase::File || trained_on.rhythm.is_empty() {
            request.meter = request.meter.or(Some(primer.meter));
        }
        request.meter = request.meter.or(midi::stated_meter(primer));
        request.key = request.key.or(primer.key);
        request.primer = primer.notes().to_vec();
        request.validate().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(request)
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum PhaseArg {
    Auto,
    File,
}

impl From<PhaseArg> for Phase {
    fn from(p: PhaseArg) -> Phase {
        match p {
            PhaseArg::Auto => Phase::Auto,
            PhaseArg::File => Phase::File,
        }
    }
}

/// "C# minor (drawn)" and the like: a label and how it came about.
fn label(text: Option<String>, from: Origin) -> String {
    match (text, from) {
        (None, _) => String::new(),
        (Some(t), Origin::Asked) => format!(", {t}"),
        (Some(t), Origin::Drawn) => format!(", {t} (drawn)"),
        (Some(t), Origin::Estimated) => format!(", {t} (estimated)"),
    }
}

pub fn run(args: GenerateArgs) -> Result<(), String> {
    let loaded = load_model(&args.model, &Device::flex())?;
    let primer = args.primer.load()?;
    let request = args.primer.apply(
        primer.as_ref(),
        Request { candidates: args.candidates, ..args.options.request(args.seed) },
        &loaded.trained_on,
    )?;
    let theory = loaded.theory(&request)?;
    let engine = loaded.engine(theory)?;
    let started = Instant::now();
    let g: Generation =
        burn::tensor::read_sync(sample::generate(&engine, &loaded.trained_on, &request, Prior::at(theory), &mut ()))
            .map_err(|e| e.to_string())?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    // Best first: the best candidate is FILE; with --all every candidate, FILE-1.mid (the best),
    // FILE-2.mid, ….
    let ranked = g.ranked();
    let outputs: Vec<(PathBuf, usize)> = if args.all && g.melodies.len() > 1 {
        let stem = args.out.with_extension("");
        ranked
            .iter()
            .enumerate()
            .map(|(r, &i)| (PathBuf::from(format!("{}-{}.mid", stem.display(), r + 1)), i))
            .collect()
    } else {
        vec![(args.out.clone(), ranked[0])]
    };
    for (path, i) in outputs {
        let melody = &g.melodies[i];
        let score = g.scores[i];
        let rank = ranked.iter().position(|&r| r == i).unwrap_or(0);
        std::fs::write(&path, midi::export(melody)).map_err(|e| format!("{}: {e}", path.display()))?;
        let bar = melody.meter.steps_per_bar();
        let primer = match g.primer_steps / bar {
            0 => String::new(),
            1 => " after the primer's bar".to_string(),
            n => format!(" after the primer's {n} bars"),
        };
        println!(
            "wrote {}: {} bars of {}{primer}, {} notes, {} bpm{}{}{} ({}{} on the CPU, {ms:.0} ms)",
            path.display(),
            request.bars,
            melody.meter,
            melody.notes().len(),
            request.tempo,
            label(melody.key.map(|k| k.to_string()), g.key_from),
            label(g.conditioning.style.map(|s| s.name().to_string()), g.style_from),
            label(g.form.as_ref().map(|f| format!("form {f}")), g.form_from),
            loaded.name,
            if loaded.tuned.is_some() { format!(", theory {theory}") } else { String::new() },
        );
        if g.melodies.len() > 1 {
            println!(
                "rank {} of {} candidates: log-likelihood {:.3} a step, theory {:.3}, score {:.3}",
                rank + 1,
                g.melodies.len(),
                score.log_likelihood,
                score.theory,
                score.total
            );
        }
        let names: Vec<String> = melody.notes().iter().map(|n| n.pitch.to_string()).collect();
        println!("{}", names.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GenerateArgs,
    }

    /// `--candidates N` writes the best; with `--all`, every candidate, best first.
    #[test]
    fn candidates_write_the_best_or_all_best_first() {
        let dir = std::env::temp_dir().join(format!("tunesmith-candidates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str| dir.join(name);
        let args = |out: &str, all: bool| {
            let out = file(out);
            let mut argv =
                vec!["tunesmith", "--bars", "2", "--seed", "3", "--candidates", "3", "--out", out.to_str().unwrap()];
            if all {
                argv.push("--all");
            }
            Cli::parse_from(argv).args
        };
        run(args("all.mid", true)).unwrap();
        run(args("best.mid", false)).unwrap();
        let read = |name: &str| std::fs::read(file(name)).unwrap();
        assert_eq!(read("best.mid"), read("all-1.mid"));
        assert!(file("all-3.mid").exists() && !file("all-4.mid").exists() && !file("all.mid").exists());
        assert_ne!(read("all-1.mid"), read("all-2.mid"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
