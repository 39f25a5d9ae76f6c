//! Musical value types: what a melody *is*, independent of how a model or a file encodes it.
//!
//! Time is counted in [`Step`]s of one 16th note: the grid the models generate on and the grid
//! every imported file is quantised to.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Serialised as written: `"6/8"`, `"D dorian"`.
macro_rules! serde_as_text {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                <$t>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

mod key;
mod time;

pub use key::{Key, Mode, PitchClass};
pub use time::{Meter, Tempo};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MelodyError {
    #[error("MIDI pitch {0} is out of range (0–127)")]
    PitchOutOfRange(i32),
    #[error("tempo {0} bpm is out of range ({min}–{max} bpm)", min = Tempo::MIN_BPM, max = Tempo::MAX_BPM)]
    TempoOutOfRange(f64),
    #[error(
        "meter {0}/{1} is not supported: the denominator must be 1, 2, 4, 8 or 16 and the bar 1–64 sixteenths long"
    )]
    BadMeter(u32, u32),
    #[error("{0:?} is not a meter: write a numerator and a denominator, e.g. 4/4 or 6/8")]
    MeterText(String),
    #[error("unknown key {0:?}: write a tonic and a mode, e.g. \"G major\", \"E minor\", \"D dorian\"")]
    BadKey(String),
    #[error("note {index} has zero duration")]
    ZeroDuration { index: usize },
    #[error(
        "note {index} starts at step {onset} before the previous note ends at step {previous_end}: a melody is one voice"
    )]
    Overlap { index: usize, onset: u32, previous_end: u32 },
    #[error("melody too long: it ends at step {0}, the limit is {limit} sixteenths", limit = Melody::MAX_STEPS)]
    TooLong(u64),
}

/// A MIDI note number, 0–127 (60 = middle C, C4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Pitch(u8);

impl TryFrom<i64> for Pitch {
    type Error = MelodyError;
    fn try_from(midi: i64) -> Result<Self, MelodyError> {
        Pitch::new(midi.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
    }
}

impl From<Pitch> for u8 {
    fn from(p: Pitch) -> u8 {
        p.0
    }
}

impl Pitch {
    pub fn new(midi: i32) -> Result<Self, MelodyError> {
        u8::try_from(midi).ok().filter(|&m| m <= 127).map(Pitch).ok_or(MelodyError::PitchOutOfRange(midi))
    }

    /// For constants; a literal above 127 fails to compile.
    pub const fn from_const(midi: u8) -> Pitch {
        assert!(midi <= 127);
        Pitch(midi)
    }

    pub const fn midi(self) -> u8 {
        self.0
    }

    pub const fn class(self) -> PitchClass {
        PitchClass::new(self.0)
    }

    /// Moves the pitch by whole octaves until it lies in `lo..=hi` (a range of at least an
    /// octave), keeping its pitch class: out-of-range notes are re-voiced, never dropped.
    pub fn fold_into(self, lo: Pitch, hi: Pitch) -> Pitch {
        debug_assert!(hi.0 >= lo.0 + 11, "range must span an octave");
        let mut m = self.0;
        while m < lo.0 {
            m += 12;
        }
        while m > hi.0 {
            m -= 12;
        }
        Pitch(m)
    }

    /// `None` when the result leaves 0–127.
    pub fn transpose(self, semitones: i32) -> Option<Pitch> {
        Pitch::new(self.0 as i32 + semitones).ok()
    }
}

impl fmt::Display for Pitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.class().sharp_name(), self.0 as i32 / 12 - 1)
    }
}

/// A duration or a position, in 16th-note steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Step(pub u32);

impl Step {
    pub const PER_QUARTER: u32 = 4;
}

/// A melody note: one voice, so notes never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub pitch: Pitch,
    pub onset: Step,
    pub duration: Step,
}

impl Note {
    pub const fn end(&self) -> Step {
        Step(self.onset.0 + self.duration.0)
    }
}

/// One monophonic line with the context needed to play and write it.
#[derive(Debug, Clone, PartialEq)]
pub struct Melody {
    notes: Vec<Note>,
    pub tempo: Tempo,
    pub meter: Meter,
    pub key: Option<Key>,
}

impl Melody {
    /// Caps memory and work for hostile inputs: 16,384 sixteenths is 256 bars of 4/4.
    pub const MAX_STEPS: u32 = 16_384;

    /// Checks the one-voice invariant: sorted, positive durations, no overlaps.
    pub fn new(notes: Vec<Note>, tempo: Tempo, meter: Meter, key: Option<Key>) -> Result<Self, MelodyError> {
        let mut previous_end = 0u32;
        for (index, note) in notes.iter().enumerate() {
            if note.duration.0 == 0 {
                return Err(MelodyError::ZeroDuration { index });
            }
            if note.onset.0 < previous_end {
                return Err(MelodyError::Overlap { index, onset: note.onset.0, previous_end });
            }
            let end = note.onset.0 as u64 + note.duration.0 as u64;
            if end > Self::MAX_STEPS as u64 {
                return Err(MelodyError::TooLong(end));
            }
            previous_end = end as u32;
        }
        Ok(Melody { notes, tempo, meter, key })
    }

    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The step after the last note ends (0 for an empty melody).
    pub fn end(&self) -> Step {
        self.notes.last().map_or(Step(0), Note::end)
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Lowest and highest pitch (`None` for an empty melody).
    pub fn span(&self) -> Option<(Pitch, Pitch)> {
        let lo = self.notes.iter().map(|n| n.pitch).min()?;
        let hi = self.notes.iter().map(|n| n.pitch).max()?;
        Some((lo, hi))
    }

    /// The melody and its key moved by `semitones`; `None` if a note would leave 0–127.
    pub fn transpose(&self, semitones: i32) -> Option<Melody> {
        let notes = self
            .notes
            .iter()
            .map(|n| Some(Note { pitch: n.pitch.transpose(semitones)?, ..*n }))
            .collect::<Option<Vec<_>>>()?;
        Some(Melody { notes, key: self.key.map(|k| k.transpose(semitones)), ..*self })
    }

    /// The same notes moved in time so that the first starts at `onset` (an empty melody stays
    /// empty).
    pub fn starting_at(&self, onset: u32) -> Result<Melody, MelodyError> {
        let Some(first) = self.notes.first() else { return Ok(self.clone()) };
        let shift = onset as i64 - first.onset.0 as i64;
        let notes = self.notes.iter().map(|n| Note { onset: Step((n.onset.0 as i64 + shift) as u32), ..*n }).collect();
        Melody::new(notes, self.tempo, self.meter, self.key)
    }

    /// Every note moved by octaves into `lo..=hi` (see [`Pitch::fold_into`]).
    pub fn fold_into(&self, lo: Pitch, hi: Pitch) -> Melody {
        let notes = self.notes.iter().map(|n| Note { pitch: n.pitch.fold_into(lo, hi), ..*n }).collect();
        Melody { notes, ..*self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(p: i32, on: u32, d: u32) -> Note {
        Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(d) }
    }

    #[test]
    fn pitch_range_is_checked() {
        assert!(Pitch::new(128).is_err());
        assert!(Pitch::new(-1).is_err());
        assert_eq!(Pitch::new(60).unwrap().to_string(), "C4");
        assert_eq!(Pitch::new(61).unwrap().to_string(), "C#4");
    }

    #[test]
    fn fold_moves_by_octaves_keeping_pitch_class() {
        let (lo, hi) = (Pitch::new(48).unwrap(), Pitch::new(84).unwrap());
        assert_eq!(Pitch::new(30).unwrap().fold_into(lo, hi).midi(), 54);
        assert_eq!(Pitch::new(100).unwrap().fold_into(lo, hi).midi(), 76);
        assert_eq!(Pitch::new(84).unwrap().fold_into(lo, hi).midi(), 84);
        assert_eq!(Pitch::new(127).unwrap().fold_into(lo, hi).midi(), 79);
        assert_eq!(Pitch::new(0).unwrap().fold_into(lo, hi).midi(), 48);
    }

    #[test]
    fn melody_invariants() {
        let t = Tempo::default();
        let m = Meter::COMMON;
        assert!(Melody::new(vec![note(60, 0, 4), note(62, 4, 4)], t, m, None).is_ok());
        assert_eq!(
            Melody::new(vec![note(60, 0, 4), note(62, 3, 4)], t, m, None),
            Err(MelodyError::Overlap { index: 1, onset: 3, previous_end: 4 })
        );
        assert_eq!(Melody::new(vec![note(60, 0, 0)], t, m, None), Err(MelodyError::ZeroDuration { index: 0 }));
        assert!(matches!(Melody::new(vec![note(60, Melody::MAX_STEPS, 1)], t, m, None), Err(MelodyError::TooLong(_))));
        let late = Melody::new(vec![note(60, 7, 4), note(62, 12, 2)], t, m, None).unwrap();
        assert_eq!(late.starting_at(2).unwrap().notes(), &[note(60, 2, 4), note(62, 7, 2)]);
        assert!(matches!(late.starting_at(Melody::MAX_STEPS), Err(MelodyError::TooLong(_))));
    }
}
