//! Musical value types: what a melody *is*, independent of how a model or a file encodes it.
//!
//! Time is counted in [`Step`]s of one 16th note: the grid the models generate on and the grid
//! every imported file is quantised to.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MelodyError {
    #[error("MIDI pitch {0} is out of range (0–127)")]
    PitchOutOfRange(i32),
    #[error("tempo {0} bpm is out of range ({min}–{max} bpm)", min = Tempo::MIN_BPM, max = Tempo::MAX_BPM)]
    TempoOutOfRange(f64),
    #[error(
        "meter {0}/{1} is not supported: the denominator must be 1, 2, 4, 8 or 16 and the bar 1–64 sixteenths long"
    )]
    BadMeter(u8, u8),
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
        PitchClass(self.0 % 12)
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

/// A pitch class, 0 = C … 11 = B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PitchClass(u8);

impl PitchClass {
    const SHARP_NAMES: [&'static str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    const FLAT_NAMES: [&'static str; 12] = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"];

    pub const fn new(pc: u8) -> Self {
        PitchClass(pc % 12)
    }
    pub const fn index(self) -> u8 {
        self.0
    }
    pub fn sharp_name(self) -> &'static str {
        Self::SHARP_NAMES[self.0 as usize]
    }
    pub fn flat_name(self) -> &'static str {
        Self::FLAT_NAMES[self.0 as usize]
    }
    /// Semitones from `self` up to `other`, 0–11.
    pub const fn up_to(self, other: PitchClass) -> u8 {
        (other.0 + 12 - self.0) % 12
    }
    pub const fn transpose(self, semitones: i32) -> PitchClass {
        PitchClass((self.0 as i32 + semitones).rem_euclid(12) as u8)
    }

    /// Parses `C`, `F#`, `Bb`, `c#`, `Eb`, also `Cb`/`B#`/`E#`/`Fb` enharmonics.
    pub fn parse(name: &str) -> Option<Self> {
        let mut chars = name.chars();
        let letter = chars.next()?.to_ascii_uppercase();
        let base: i32 = match letter {
            'C' => 0,
            'D' => 2,
            'E' => 4,
            'F' => 5,
            'G' => 7,
            'A' => 9,
            'B' => 11,
            _ => return None,
        };
        let mut shift = 0;
        for c in chars {
            shift += match c {
                '#' | '♯' => 1,
                'b' | '♭' | '-' => -1,
                _ => return None,
            };
        }
        Some(PitchClass::new(0).transpose(base + shift))
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

/// Tempo kept as MIDI keeps it (microseconds per quarter note) so that a file written and read
/// back has exactly the tempo it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tempo {
    micros_per_quarter: u32,
}

impl Tempo {
    pub const MIN_BPM: f64 = 20.0;
    pub const MAX_BPM: f64 = 400.0;

    pub fn from_bpm(bpm: f64) -> Result<Self, MelodyError> {
        if !(Self::MIN_BPM..=Self::MAX_BPM).contains(&bpm) {
            return Err(MelodyError::TempoOutOfRange(bpm));
        }
        Ok(Tempo { micros_per_quarter: (60_000_000.0 / bpm).round() as u32 })
    }

    /// Any tempo a MIDI file can state is accepted; `bpm()` of an extreme file may fall outside
    /// the range the UI offers, which is harmless for playback.
    pub fn from_micros_per_quarter(micros: u32) -> Self {
        Tempo { micros_per_quarter: micros.max(1) }
    }

    pub const fn micros_per_quarter(self) -> u32 {
        self.micros_per_quarter
    }

    pub fn bpm(self) -> f64 {
        60_000_000.0 / self.micros_per_quarter as f64
    }

    pub fn seconds_per_step(self) -> f64 {
        self.micros_per_quarter as f64 / 1e6 / Step::PER_QUARTER as f64
    }
}

impl Default for Tempo {
    fn default() -> Self {
        Tempo { micros_per_quarter: 500_000 }
    }
}

/// A time signature whose bar is a whole number of 16ths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meter {
    numerator: u8,
    denominator: u8,
}

impl Meter {
    pub const COMMON: Meter = Meter { numerator: 4, denominator: 4 };

    pub fn new(numerator: u8, denominator: u8) -> Result<Self, MelodyError> {
        let bad = || MelodyError::BadMeter(numerator, denominator);
        if !matches!(denominator, 1 | 2 | 4 | 8 | 16) || numerator == 0 {
            return Err(bad());
        }
        let steps = numerator as u32 * 16 / denominator as u32;
        if steps == 0 || steps > 64 {
            return Err(bad());
        }
        Ok(Meter { numerator, denominator })
    }

    pub fn parse(text: &str) -> Result<Self, MelodyError> {
        let bad = || MelodyError::MeterText(text.to_string());
        let (n, d) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: u8 = n.trim().parse().map_err(|_| bad())?;
        let d: u8 = d.trim().parse().map_err(|_| bad())?;
        Meter::new(n, d)
    }

    pub const fn numerator(self) -> u8 {
        self.numerator
    }
    pub const fn denominator(self) -> u8 {
        self.denominator
    }
    pub const fn steps_per_bar(self) -> u32 {
        self.numerator as u32 * 16 / self.denominator as u32
    }
}

impl Default for Meter {
    fn default() -> Self {
        Meter::COMMON
    }
}

/// Serialised as written: `"6/8"`, `"D dorian"`.
macro_rules! serde_as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$t>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_text!(Meter);
serde_as_text!(Key);

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// The church modes plus minor; `Aeolian` is spelled `Minor` and `Ionian` `Major`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
    Dorian,
    Phrygian,
    Lydian,
    Mixolydian,
    Locrian,
}

impl Mode {
    pub const ALL: [Mode; 7] =
        [Mode::Major, Mode::Minor, Mode::Dorian, Mode::Phrygian, Mode::Lydian, Mode::Mixolydian, Mode::Locrian];

    /// Semitones above the tonic of each scale degree.
    pub const fn scale(self) -> [u8; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
            Mode::Locrian => [0, 1, 3, 5, 6, 8, 10],
        }
    }

    /// Semitones from the relative major's tonic up to this mode's tonic.
    const fn offset_from_major(self) -> u8 {
        match self {
            Mode::Major => 0,
            Mode::Dorian => 2,
            Mode::Phrygian => 4,
            Mode::Lydian => 5,
            Mode::Mixolydian => 7,
            Mode::Minor => 9,
            Mode::Locrian => 11,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Phrygian => "phrygian",
            Mode::Lydian => "lydian",
            Mode::Mixolydian => "mixolydian",
            Mode::Locrian => "locrian",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        Some(match text.to_ascii_lowercase().as_str() {
            "major" | "maj" | "ionian" | "ion" => Mode::Major,
            "minor" | "min" | "m" | "aeolian" | "aeo" => Mode::Minor,
            "dorian" | "dor" => Mode::Dorian,
            "phrygian" | "phr" => Mode::Phrygian,
            "lydian" | "lyd" => Mode::Lydian,
            "mixolydian" | "mix" => Mode::Mixolydian,
            "locrian" | "loc" => Mode::Locrian,
            _ => return None,
        })
    }
}

/// A tonic and a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub tonic: PitchClass,
    pub mode: Mode,
}

impl Key {
    pub const C_MAJOR: Key = Key { tonic: PitchClass(0), mode: Mode::Major };

    pub fn parse(text: &str) -> Result<Key, MelodyError> {
        let bad = || MelodyError::BadKey(text.to_string());
        let mut words = text.split_whitespace();
        let tonic = words.next().and_then(PitchClass::parse).ok_or_else(bad)?;
        let mode = match words.next() {
            None => Mode::Major,
            Some(m) => Mode::parse(m).ok_or_else(bad)?,
        };
        if words.next().is_some() {
            return Err(bad());
        }
        Ok(Key { tonic, mode })
    }

    /// The relative major's tonic: the key whose signature this key is written with.
    pub const fn signature_tonic(self) -> PitchClass {
        self.tonic.transpose(-(self.mode.offset_from_major() as i32))
    }

    /// Sharps (positive) or flats (negative) of the key signature, −5 … +6.
    pub const fn fifths(self) -> i8 {
        // Walking the circle of fifths: each fifth up adds a sharp.
        let f = (self.signature_tonic().index() as i32 * 7) % 12;
        (if f > 6 { f - 12 } else { f }) as i8
    }

    /// The key a MIDI key signature names (a signature alone only knows major and minor).
    pub fn from_signature(fifths: i8, minor: bool) -> Key {
        let major_tonic = PitchClass::new(0).transpose(fifths as i32 * 7);
        if minor {
            Key { tonic: major_tonic.transpose(9), mode: Mode::Minor }
        } else {
            Key { tonic: major_tonic, mode: Mode::Major }
        }
    }

    pub fn contains(self, pc: PitchClass) -> bool {
        self.mode.scale().contains(&self.tonic.up_to(pc))
    }

    pub fn transpose(self, semitones: i32) -> Key {
        Key { tonic: self.tonic.transpose(semitones), ..self }
    }

    fn tonic_name(self) -> &'static str {
        if self.fifths() < 0 { self.tonic.flat_name() } else { self.tonic.sharp_name() }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tonic_name(), self.mode.name())
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
    fn key_signatures() {
        let k = |s| Key::parse(s).unwrap();
        assert_eq!(k("C major").fifths(), 0);
        assert_eq!(k("G major").fifths(), 1);
        assert_eq!(k("E minor").fifths(), 1);
        assert_eq!(k("F major").fifths(), -1);
        assert_eq!(k("D dorian").fifths(), 0);
        assert_eq!(k("A dorian").fifths(), 1);
        assert_eq!(k("D mixolydian").fifths(), 1);
        assert_eq!(k("Bb major").fifths(), -2);
        assert_eq!(k("C minor").fifths(), -3);
        assert_eq!(k("F# major").fifths(), 6);
        assert_eq!(k("Db major").fifths(), -5);
        assert_eq!(Key::from_signature(-3, true), k("C minor"));
        assert_eq!(Key::from_signature(2, false), k("D major"));
        assert_eq!(k("Eb major").to_string(), "Eb major");
        assert_eq!(k("f# minor").to_string(), "F# minor");
        assert!(Key::parse("H major").is_err());
        assert!(Key::parse("C weird").is_err());
    }

    #[test]
    fn scale_membership() {
        let d_dorian = Key::parse("D dorian").unwrap();
        assert!(d_dorian.contains(PitchClass::new(11)));
        assert!(!d_dorian.contains(PitchClass::new(10)));
    }

    #[test]
    fn meter_and_tempo() {
        assert_eq!(Meter::parse("6/8").unwrap().steps_per_bar(), 12);
        assert_eq!(Meter::parse("3/4").unwrap().steps_per_bar(), 12);
        assert!(Meter::parse("4/3").is_err());
        assert_eq!(Meter::parse("4/1").unwrap().steps_per_bar(), 64);
        assert!(Meter::parse("5/1").is_err());
        assert!(Meter::parse("0/4").is_err());
        assert_eq!(Meter::parse("abc"), Err(MelodyError::MeterText("abc".into())));
        assert_eq!(Meter::parse("300/4"), Err(MelodyError::MeterText("300/4".into())));
        assert_eq!(Tempo::from_bpm(120.0).unwrap().micros_per_quarter(), 500_000);
        assert!(Tempo::from_bpm(5.0).is_err());
        assert!(Tempo::from_bpm(f64::NAN).is_err());
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

    #[test]
    fn meters_and_keys_serialise_as_written() {
        assert_eq!(serde_json::to_string(&Meter::parse("6/8").unwrap()).unwrap(), "\"6/8\"");
        assert_eq!(serde_json::from_str::<Key>("\"d dorian\"").unwrap(), Key::parse("D dorian").unwrap());
        let e = serde_json::from_str::<Meter>("\"5/3\"").unwrap_err().to_string();
        assert!(e.contains("5/3 is not supported"), "{e}");
    }
}
