//! What a model is told about a tune besides its notes, step by step.

use serde::{Deserialize, Serialize};

use crate::melody::{Key, Meter, Mode};

/// Which tradition a tune comes from; the model learns each one's idiom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// O'Neill's 1850 and Ryan's Mammoth Collection: jigs, reels, hornpipes.
    Celtic,
    /// The Essen folk song collection.
    Folk,
    /// Soprano lines of Bach's chorales.
    Chorale,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Celtic, Style::Folk, Style::Chorale];

    pub fn name(self) -> &'static str {
        match self {
            Style::Celtic => "celtic",
            Style::Folk => "folk",
            Style::Chorale => "chorale",
        }
    }

    /// How the page names it.
    pub fn label(self) -> &'static str {
        match self {
            Style::Celtic => "Celtic",
            Style::Folk => "European folk",
            Style::Chorale => "Chorale",
        }
    }

    pub fn parse(text: &str) -> Option<Style> {
        Style::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text.trim()))
    }
}

impl Serialize for Style {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Style {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Style::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown style {text:?}: use celtic, folk or chorale")))
    }
}

/// What the model is told about a tune besides its notes. `None` means "not known": user MIDI
/// files often have no key, and a user may ask for any style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Conditioning {
    pub meter: Meter,
    pub key: Option<Key>,
    pub style: Option<Style>,
}

/// The conditioning of one step as small class indices, one embedding table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepFeatures {
    pub position: u8,
    pub meter: u8,
    pub tonic: u8,
    pub mode: u8,
    pub style: u8,
}

impl StepFeatures {
    /// Sizes of the embedding tables, in field order.
    pub const CARDINALITIES: [usize; 5] = [64, Self::METERS.len() + 1, 13, 8, 4];

    /// Meters with their own embedding; any other meter shares the last index.
    const METERS: [(u8, u8); 12] =
        [(4, 4), (2, 4), (3, 4), (6, 8), (9, 8), (12, 8), (3, 8), (2, 2), (3, 2), (6, 4), (5, 4), (7, 8)];

    pub fn as_array(self) -> [u8; 5] {
        [self.position, self.meter, self.tonic, self.mode, self.style]
    }
}

impl Conditioning {
    /// Features of the step at `step` (counted from a downbeat).
    pub fn at(&self, step: u32) -> StepFeatures {
        let meter = StepFeatures::METERS
            .iter()
            .position(|&(n, d)| n == self.meter.numerator() && d == self.meter.denominator())
            .unwrap_or(StepFeatures::METERS.len()) as u8;
        StepFeatures {
            // Meter validation keeps a bar at most 64 steps long.
            position: (step % self.meter.steps_per_bar()) as u8,
            meter,
            tonic: self.key.map_or(12, |k| k.tonic.index()),
            mode: self.key.map_or(7, |k| Mode::ALL.iter().position(|&m| m == k.mode).unwrap_or(7) as u8),
            style: self.style.map_or(3, |s| Style::ALL.iter().position(|&x| x == s).unwrap_or(3) as u8),
        }
    }

    pub fn transpose(self, semitones: i32) -> Conditioning {
        Conditioning { key: self.key.map(|k| k.transpose(semitones)), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditioning_features() {
        let c = Conditioning {
            meter: Meter::parse("6/8").unwrap(),
            key: Some(Key::parse("D dorian").unwrap()),
            style: Some(Style::Celtic),
        };
        let f = c.at(13);
        assert_eq!(f, StepFeatures { position: 1, meter: 3, tonic: 2, mode: 2, style: 0 });
        let unknown = Conditioning { meter: Meter::parse("11/16").unwrap(), key: None, style: None }.at(0);
        assert_eq!(unknown, StepFeatures { position: 0, meter: 12, tonic: 12, mode: 7, style: 3 });
        for (i, &card) in StepFeatures::CARDINALITIES.iter().enumerate() {
            assert!((f.as_array()[i] as usize) < card && (unknown.as_array()[i] as usize) < card);
        }
        assert_eq!(c.transpose(3).key.unwrap().to_string(), "F dorian");
    }
}
