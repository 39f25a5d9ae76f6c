//! Musical time: tempo and meter. Positions and durations are `Step`s of a 16th note.

use std::fmt;

use super::{MelodyError, Step};

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
        let bad = || MelodyError::BadMeter(numerator.into(), denominator.into());
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
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let d: u32 = d.trim().parse().map_err(|_| bad())?;
        // Numbers too big for a time signature are unsupported meters, not unreadable text.
        match (u8::try_from(n), u8::try_from(d)) {
            (Ok(n), Ok(d)) => Meter::new(n, d),
            _ => Err(MelodyError::BadMeter(n, d)),
        }
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

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

serde_as_text!(Meter);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::Key;

    #[test]
    fn meter_and_tempo() {
        assert_eq!(Meter::parse("6/8").unwrap().steps_per_bar(), 12);
        assert_eq!(Meter::parse("3/4").unwrap().steps_per_bar(), 12);
        assert!(Meter::parse("4/3").is_err());
        assert_eq!(Meter::parse("4/1").unwrap().steps_per_bar(), 64);
        assert!(Meter::parse("5/1").is_err());
        assert!(Meter::parse("0/4").is_err());
        assert_eq!(Meter::parse("abc"), Err(MelodyError::MeterText("abc".into())));
        assert_eq!(Meter::parse("300/4"), Err(MelodyError::BadMeter(300, 4)));
        assert_eq!(Meter::parse("99999999999/4"), Err(MelodyError::MeterText("99999999999/4".into())));
        assert_eq!(Tempo::from_bpm(120.0).unwrap().micros_per_quarter(), 500_000);
        assert!(Tempo::from_bpm(5.0).is_err());
        assert!(Tempo::from_bpm(f64::NAN).is_err());
    }

    #[test]
    fn meters_and_keys_serialise_as_written() {
        assert_eq!(serde_json::to_string(&Meter::parse("6/8").unwrap()).unwrap(), "\"6/8\"");
        assert_eq!(serde_json::from_str::<Key>("\"d dorian\"").unwrap(), Key::parse("D dorian").unwrap());
        let e = serde_json::from_str::<Meter>("\"5/3\"").unwrap_err().to_string();
        assert!(e.contains("5/3 is not supported"), "{e}");
    }
}
