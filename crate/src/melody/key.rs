//! Pitch classes, modes and keys.

use std::fmt;

use super::MelodyError;

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

serde_as_text!(Key);

#[cfg(test)]
mod tests {
    use super::*;

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
}
