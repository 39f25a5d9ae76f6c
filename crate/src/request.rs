//! What to generate: the one typed request every front end sends (the page and its worker, the
//! CLI), with its limits and defaults checked here and nowhere else, and the typed response.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::encoding::Style;
use crate::engine::{Backend, EngineName};
use crate::form::Form;
use crate::melody::{Key, Melody, MelodyError, Meter, Note, Tempo};
use crate::theory::metrics::MelodyMetrics;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum RequestError {
    #[error("length must be 1–{max} bars, got {0}", max = Request::MAX_BARS)]
    Bars(u32),
    #[error("temperature must be from 0 to {max}, got {0}", max = Request::MAX_TEMPERATURE)]
    Temperature(f32),
    #[error("tempo must be {min}–{max} bpm, got {0}", min = Tempo::MIN_BPM, max = Tempo::MAX_BPM)]
    Tempo(f64),
    #[error("the primer ends at step {0}; at most {max} steps ({bars} bars of 4/4) are allowed", max = Request::MAX_PRIMER_STEPS, bars = Request::MAX_PRIMER_STEPS / 16)]
    PrimerTooLong(u32),
    #[error("a primer of {0} bars is too long; at most {max} steps ({bars} bars of 4/4) are allowed", max = Request::MAX_PRIMER_STEPS, bars = Request::MAX_PRIMER_STEPS / 16)]
    PrimerBars(u32),
    #[error("bad primer: {0}")]
    Primer(MelodyError),
    #[error("bad melody: {0}")]
    Melody(MelodyError),
    #[error("at most {max} candidates, at least 1; got {0}", max = Request::MAX_CANDIDATES)]
    Candidates(u32),
    #[error("theory strength must be from 0 to 1, got {0}")]
    Theory(f32),
    #[error("this model has no theory-tuned weights; leave the theory strength at 0 or unset")]
    NoTuned,
}

/// How a primer's bar grid is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Meter and bar phase estimated from the notes' rhythm, whatever the file says.
    #[default]
    Auto,
    /// As the notes are given: step 0 is a downbeat of the request's (or the file's) meter.
    File,
}

/// A generation request. Every field has a default, so `{}` is a valid request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Request {
    /// Bars to generate (after the primer).
    pub bars: u32,
    /// Beats (quarter notes) per minute.
    pub tempo: f64,
    /// `None`: the primer's, else any — drawn with the seed from what the model learned.
    pub meter: Option<Meter>,
    /// `None`: any key — the primer's, else drawn with the seed from what the model learned.
    pub key: Option<Key>,
    /// `None`: any style, drawn with the seed from what the model learned.
    pub style: Option<Style>,
    /// `None`: automatic, the model shapes the melody itself.
    pub form: Option<Form>,
    /// 0 always takes the likeliest event; 1 samples the model's own distribution.
    pub temperature: f32,
    pub seed: u32,
    /// Melodies to generate in one pass, each with its own noise (the first is the one the
    /// same request with 1 gives).
    pub candidates: u32,
    /// How strongly the rules of music theory shape the melody: 0 is the model trained on data
    /// alone, 1 the model tuned to the rules (RL Tuner), between them a blend of the two.
    /// `None`: [`Request::DEFAULT_THEORY`] for a model with tuned weights, else 0.
    pub theory: Option<f32>,
    /// A melody to continue (its notes, in 16th steps).
    pub primer: Vec<Note>,
    /// The primer's length in bars, at least: `None` ends it with the bar of its last note; more
    /// keeps rests after it (to regenerate from a bar that follows a silent one).
    pub primer_bars: Option<u32>,
    pub phase: Phase,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            bars: 8,
            tempo: 120.0,
            meter: None,
            key: None,
            style: None,
            form: None,
            temperature: 1.0,
            seed: 1,
            candidates: 1,
            theory: None,
            primer: Vec::new(),
            primer_bars: None,
            phase: Phase::Auto,
        }
    }
}

impl Request {
    pub const MAX_BARS: u32 = 64;
    pub const MAX_TEMPERATURE: f32 = 3.0;
    /// Half of what a melody may hold, so a primer always leaves room for 64 bars of any meter.
    pub const MAX_PRIMER_STEPS: u32 = Melody::MAX_STEPS / 2;
    pub const MAX_CANDIDATES: u32 = 16;
    /// The theory strength of a model with tuned weights, unless asked otherwise.
    pub const DEFAULT_THEORY: f32 = 0.8;
    /// The meter of a primer whose grid is not looked for, when none is asked.
    pub const DEFAULT_METER: Meter = Meter::COMMON;

    pub fn check_bars(bars: u32) -> Result<u32, RequestError> {
        if (1..=Self::MAX_BARS).contains(&bars) { Ok(bars) } else { Err(RequestError::Bars(bars)) }
    }

    pub fn check_temperature(t: f32) -> Result<f32, RequestError> {
        if (0.0..=Self::MAX_TEMPERATURE).contains(&t) { Ok(t) } else { Err(RequestError::Temperature(t)) }
    }

    pub fn check_candidates(n: u32) -> Result<u32, RequestError> {
        if (1..=Self::MAX_CANDIDATES).contains(&n) { Ok(n) } else { Err(RequestError::Candidates(n)) }
    }

    pub fn check_theory(s: f32) -> Result<f32, RequestError> {
        if (0.0..=1.0).contains(&s) { Ok(s) } else { Err(RequestError::Theory(s)) }
    }

    /// The theory strength to run at, for a model with (`tuned`) or without tuned weights.
    pub fn theory_for(&self, tuned: bool) -> Result<f32, RequestError> {
        match (self.theory, tuned) {
            (None, true) => Ok(Self::DEFAULT_THEORY),
            (None, false) => Ok(0.0),
            (Some(s), tuned) => match Self::check_theory(s)? {
                s if s > 0.0 && !tuned => Err(RequestError::NoTuned),
                s => Ok(s),
            },
        }
    }

    pub fn check_tempo(bpm: f64) -> Result<Tempo, RequestError> {
        Tempo::from_bpm(bpm).map_err(|_| RequestError::Tempo(bpm))
    }

    /// Checks every field; the primer comes back as a melody (in the request's meter, or 4/4
    /// until its own is found).
    pub fn validate(&self) -> Result<Melody, RequestError> {
        Self::check_bars(self.bars)?;
        Self::check_temperature(self.temperature)?;
        let tempo = Self::check_tempo(self.tempo)?;
        Self::check_candidates(self.candidates)?;
        if let Some(s) = self.theory {
            Self::check_theory(s)?;
        }
        if let Some(bars) = self.primer_bars
            && bars as u64 * self.meter.unwrap_or(Meter::COMMON).steps_per_bar() as u64 > Self::MAX_PRIMER_STEPS as u64
        {
            return Err(RequestError::PrimerBars(bars));
        }
        if let Some(end) = self.primer.last().map(|n| n.onset.0 as u64 + n.duration.0 as u64)
            && end > Self::MAX_PRIMER_STEPS as u64
        {
            return Err(RequestError::PrimerTooLong(end.min(u32::MAX as u64) as u32));
        }
        let meter = self.meter.unwrap_or(Self::DEFAULT_METER);
        Melody::new(self.primer.clone(), tempo, meter, self.key).map_err(RequestError::Primer)
    }
}

/// How a label of the melody came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The request asked for it.
    Asked,
    /// Drawn with the seed from what the model learned.
    Drawn,
    /// Found from the notes (a primer's rhythm or key, or the melody's key).
    Estimated,
}

/// How a candidate ranks: the model's mean log-likelihood per generated step (natural log, at
/// temperature 1) plus [`THEORY_WEIGHT`] × its theory score (`theory::metrics::theory_score`,
/// 0–1, over the melody's first 128 steps from its first note, primer included, against the key
/// its notes suggest, as every metric is).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    pub log_likelihood: f64,
    pub theory: f64,
    pub total: f64,
}

/// The theory score's weight beside the mean log-likelihood per step, chosen by an A/B of best
/// of 8 over 300 melodies (models/README.md): at 1 the likelihood's taste for long notes won
/// (notes in a motif fell from 70% to 62%); at 3 the rules improve with the motifs kept.
pub const THEORY_WEIGHT: f64 = 3.0;

impl Score {
    pub fn new(log_likelihood: f64, steps: usize, metrics: &MelodyMetrics) -> Score {
        let log_likelihood = if steps == 0 { 0.0 } else { log_likelihood / steps as f64 };
        let theory = crate::theory::metrics::theory_score(metrics);
        // A broken engine's NaN must rank last, not first.
        let total = match log_likelihood + THEORY_WEIGHT * theory {
            t if t.is_nan() => f64::NEG_INFINITY,
            t => t,
        };
        Score { log_likelihood, theory, total }
    }
}

/// A generated melody as the front ends receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub notes: Vec<Note>,
    pub key: Option<Key>,
    pub key_from: Origin,
    pub style: Option<Style>,
    pub style_from: Origin,
    pub meter: Meter,
    pub meter_from: Origin,
    /// The form followed: as asked, or drawn (one letter a bar).
    pub form: Option<String>,
    pub form_from: Origin,
    pub tempo: f64,
    pub seed: u32,
    pub temperature: f32,
    /// The theory strength the melody was made at (to 3 decimals).
    pub theory: f64,
    pub steps_per_bar: u32,
    /// Steps of the melody, primer and leading rests included.
    pub total_steps: u32,
    /// Steps before the generated bars (a primer, with the rests that put it on the bar grid).
    pub primer_steps: u32,
    pub metrics: MelodyMetrics,
    pub engine: EngineName,
    pub backend: Backend,
    /// The melody as a standard MIDI file.
    #[serde(with = "serde_bytes")]
    pub midi: Vec<u8>,
    /// The melody in a share link's compact form (`share`).
    pub share: String,
    /// The melody as ABC notation (`abc`).
    pub abc: String,
    /// Its place in the batch (0 is the melody a single-candidate request makes).
    pub candidate: u32,
    /// How it ranked among the candidates; responses come best first.
    pub score: Score,
    /// Time spent generating, all candidates together.
    pub ms: f64,
}

/// A melody a front end already holds (say the bars an endless run kept), to be written out: its
/// notes, tempo, meter and key, and its length (at least its notes' end, rounded up to a bar).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Written {
    pub notes: Vec<Note>,
    pub tempo: f64,
    pub meter: Meter,
    #[serde(default)]
    pub key: Option<Key>,
    #[serde(default)]
    pub total_steps: Option<u32>,
}

/// What the front ends show and save of a melody with no model behind it: a `Response`'s
/// fields that describe the music.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Described {
    pub notes: Vec<Note>,
    pub key: Option<Key>,
    pub meter: Meter,
    pub tempo: f64,
    pub steps_per_bar: u32,
    pub total_steps: u32,
    pub primer_steps: u32,
    pub metrics: MelodyMetrics,
    #[serde(with = "serde_bytes")]
    pub midi: Vec<u8>,
    pub share: String,
    pub abc: String,
}

impl Described {
    pub fn new(melody: &Melody, total_steps: u32, bpm: f64, title: &str) -> Described {
        let bar = melody.meter.steps_per_bar();
        let total_steps = total_steps.max(melody.end().0.div_ceil(bar) * bar);
        Described {
            notes: melody.notes().to_vec(),
            key: melody.key,
            meter: melody.meter,
            tempo: bpm,
            steps_per_bar: bar,
            total_steps,
            primer_steps: 0,
            metrics: crate::theory::metrics::measure(melody.notes()),
            midi: crate::midi::export(melody),
            share: crate::share::encode(melody, total_steps, bpm),
            abc: crate::abc::write(melody, total_steps, bpm, title),
        }
    }
}

impl Written {
    /// Checks the notes (in order, not overlapping, within a melody's limit) and the tempo.
    pub fn describe(&self, title: &str) -> Result<Described, RequestError> {
        let tempo = Request::check_tempo(self.tempo)?;
        let melody = Melody::new(self.notes.clone(), tempo, self.meter, self.key).map_err(RequestError::Melody)?;
        let total = self.total_steps.unwrap_or(0);
        if total > Melody::MAX_STEPS {
            return Err(RequestError::Melody(MelodyError::TooLong(total as u64)));
        }
        Ok(Described::new(&melody, total, self.tempo, title))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_request_is_the_defaults() {
        let r: Request = serde_json::from_str("{}").unwrap();
        assert_eq!(r, Request::default());
        assert!(r.validate().unwrap().is_empty());
    }

    #[test]
    fn theory_strength_defaults_by_model_and_needs_tuned_weights() {
        let unset = Request::default();
        assert_eq!(unset.theory_for(true), Ok(Request::DEFAULT_THEORY));
        assert_eq!(unset.theory_for(false), Ok(0.0));
        let half = Request { theory: Some(0.5), ..Request::default() };
        assert_eq!(half.theory_for(true), Ok(0.5));
        assert_eq!(half.theory_for(false), Err(RequestError::NoTuned));
        let zero = Request { theory: Some(0.0), ..Request::default() };
        assert_eq!(zero.theory_for(false), Ok(0.0), "0 is the data model, which every model is");
        let bad = Request { theory: Some(f32::NAN), ..Request::default() };
        assert!(matches!(bad.theory_for(true), Err(RequestError::Theory(_))));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn fields_are_typed_and_checked() {
        let r: Request = serde_json::from_str(
            r#"{"bars": 16, "meter": "6/8", "key": "D dorian", "style": "celtic", "form": "AABA", "seed": 4294967295,
                "primer": [{"pitch": 62, "onset": 2, "duration": 4}], "phase": "file"}"#,
        )
        .unwrap();
        assert_eq!(r.form.as_ref().unwrap().to_string(), "AABA");
        assert_eq!(r.validate().unwrap().meter.steps_per_bar(), 12);
        for bad in [
            r#"{"bars": "8"}"#,
            r#"{"bars": 2.9}"#,
            r#"{"bars": 4294967300}"#,
            r#"{"seed": 4294967297}"#,
            r#"{"meter": 4}"#,
            r#"{"meter": "4/3"}"#,
            r#"{"key": "H major"}"#,
            r#"{"style": "jazz"}"#,
            r#"{"form": "BA"}"#,
            r#"{"phase": "guess"}"#,
            r#"{"primer": [{"pitch": 128, "onset": 0, "duration": 1}]}"#,
            r#"{"temprature": 1}"#,
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
        let check = |json: &str| serde_json::from_str::<Request>(json).unwrap().validate().unwrap_err();
        assert_eq!(check(r#"{"bars": 0}"#), RequestError::Bars(0));
        assert_eq!(check(r#"{"bars": 65}"#), RequestError::Bars(65));
        assert_eq!(check(r#"{"temperature": 3.5}"#), RequestError::Temperature(3.5));
        assert_eq!(check(r#"{"tempo": -120}"#), RequestError::Tempo(-120.0));
        assert_eq!(check(r#"{"candidates": 0}"#), RequestError::Candidates(0));
        assert_eq!(check(r#"{"theory": 1.5}"#), RequestError::Theory(1.5));
        assert_eq!(check(r#"{"theory": -0.1}"#), RequestError::Theory(-0.1));
        assert_eq!(check(r#"{"primerBars": 513}"#), RequestError::PrimerBars(513));
        assert_eq!(check(r#"{"primerBars": 4294967295}"#), RequestError::PrimerBars(u32::MAX));
        assert!(matches!(
            check(r#"{"primer": [{"pitch": 60, "onset": 8192, "duration": 1}]}"#),
            RequestError::PrimerTooLong(8193)
        ));
        assert!(matches!(
            check(
                r#"{"primer": [{"pitch": 60, "onset": 0, "duration": 4}, {"pitch": 62, "onset": 2, "duration": 1}]}"#
            ),
            RequestError::Primer(MelodyError::Overlap { .. })
        ));
    }

    #[test]
    fn a_written_melody_is_checked_and_described() {
        let w: Written = serde_json::from_str(
            r#"{"notes": [{"pitch": 62, "onset": 0, "duration": 4}, {"pitch": 64, "onset": 4, "duration": 2}],
                "tempo": 90, "meter": "3/4", "key": "D major"}"#,
        )
        .unwrap();
        let d = w.describe("test").unwrap();
        assert_eq!((d.steps_per_bar, d.total_steps, d.notes.len()), (12, 12, 2));
        assert_eq!(&d.midi[..4], b"MThd");
        assert!(d.abc.contains("M:3/4") && d.abc.contains("K:D"), "{}", d.abc);
        let back = crate::share::decode(&d.share).unwrap();
        assert_eq!(back.melody.notes(), &d.notes[..]);
        let longer = Written { total_steps: Some(48), ..w.clone() };
        assert_eq!(longer.describe("test").unwrap().total_steps, 48);
        let bad = |json: &str| serde_json::from_str::<Written>(json).unwrap().describe("test").unwrap_err();
        assert!(matches!(
            bad(
                r#"{"notes": [{"pitch": 60, "onset": 4, "duration": 4}, {"pitch": 62, "onset": 0, "duration": 1}], "tempo": 120, "meter": "4/4"}"#
            ),
            RequestError::Melody(_)
        ));
        assert_eq!(bad(r#"{"notes": [], "tempo": 5000, "meter": "4/4"}"#), RequestError::Tempo(5000.0));
        assert!(matches!(
            bad(r#"{"notes": [], "tempo": 120, "meter": "4/4", "totalSteps": 99999}"#),
            RequestError::Melody(_)
        ));
        assert!(serde_json::from_str::<Written>(r#"{"notes": [], "tempo": 120}"#).is_err(), "the meter is needed");
    }
}
