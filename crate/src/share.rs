//! A melody in a share link: its notes, tempo, meter, key and length packed into a short
//! URL-safe code, so whoever opens the link hears exactly these notes, whatever backend their
//! device would have generated them on.
//!
//! Layout (then base64url without padding): a version byte; the tempo in thousandths of a bpm,
//! the meter's numerator and denominator, the key (0: none, else 1 + 7 × tonic + mode), the
//! melody's length in steps and the number of notes; then per note the rest before it, its
//! duration and its pitch. Numbers are LEB128 varints, so a typical note takes three bytes and
//! 8 bars of melody about 250 characters. A code is untrusted input: every field is checked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

use crate::melody::{Key, Melody, MelodyError, Meter, Mode, Note, Pitch, PitchClass, Step, Tempo};

const VERSION: u8 = 1;
/// More than this many characters is not a code a link of ours holds (a 64-bar melody of
/// sixteenths is about 5,000): refuse before decoding anything.
pub const MAX_CODE_CHARS: usize = 20_000;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ShareError {
    #[error("the shared melody is not valid base64url text")]
    Text,
    #[error("the shared melody is {0} characters long; a share link holds at most {MAX_CODE_CHARS}")]
    TooLong(usize),
    #[error("the shared melody was made by a newer or unknown version of tunesmith (format {0})")]
    Version(u8),
    #[error("the shared melody is cut short")]
    Truncated,
    #[error("the shared melody has {0} bytes too many at its end")]
    Trailing(usize),
    #[error("the shared melody's {0} is out of range")]
    Field(&'static str),
    #[error("the shared melody is not a valid melody: {0}")]
    Melody(#[from] MelodyError),
}

/// What a share code holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    pub melody: Melody,
    /// The melody's length in steps (whole bars, so a loop keeps its rests at the end).
    pub total_steps: u32,
    pub bpm: f64,
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Encodes a melody of `total_steps` steps played at `bpm`.
pub fn encode(melody: &Melody, total_steps: u32, bpm: f64) -> String {
    let mut out = vec![VERSION];
    put(&mut out, (bpm * 1000.0).round() as u64);
    out.push(melody.meter.numerator());
    out.push(melody.meter.denominator());
    out.push(melody.key.map_or(0, |k| {
        let mode = Mode::ALL.iter().position(|&m| m == k.mode).unwrap_or(0) as u8;
        1 + 7 * k.tonic.index() + mode
    }));
    put(&mut out, total_steps.max(melody.end().0) as u64);
    put(&mut out, melody.notes().len() as u64);
    let mut end = 0;
    for n in melody.notes() {
        put(&mut out, (n.onset.0 - end) as u64);
        put(&mut out, n.duration.0 as u64);
        out.push(n.pitch.midi());
        end = n.end().0;
    }
    URL_SAFE_NO_PAD.encode(out)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, ShareError> {
        let (&b, rest) = self.0.split_first().ok_or(ShareError::Truncated)?;
        self.0 = rest;
        Ok(b)
    }

    /// A varint of at most `max`: anything larger is refused before it can overflow.
    fn number(&mut self, max: u64, field: &'static str) -> Result<u64, ShareError> {
        let mut v = 0u64;
        for shift in (0..).step_by(7) {
            let b = self.byte()?;
            if shift > 35 {
                return Err(ShareError::Field(field));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if v > max {
                return Err(ShareError::Field(field));
            }
            if b & 0x80 == 0 {
                break;
            }
        }
        Ok(v)
    }
}

/// Decodes a share code, checking every field.
pub fn decode(code: &str) -> Result<Shared, ShareError> {
    let code = code.trim();
    if code.len() > MAX_CODE_CHARS {
        return Err(ShareError::TooLong(code.len()));
    }
    let bytes = URL_SAFE_NO_PAD.decode(code).map_err(|_| ShareError::Text)?;
    let mut r = Reader(&bytes);
    let version = r.byte()?;
    if version != VERSION {
        return Err(ShareError::Version(version));
    }
    let bpm = r.number((Tempo::MAX_BPM * 1000.0) as u64, "tempo")? as f64 / 1000.0;
    let tempo = Tempo::from_bpm(bpm)?;
    let meter = Meter::new(r.byte()?, r.byte()?)?;
    let key = match r.byte()? {
        0 => None,
        k @ 1..=84 => Some(Key { tonic: PitchClass::new((k - 1) / 7), mode: Mode::ALL[((k - 1) % 7) as usize] }),
        _ => return Err(ShareError::Field("key")),
    };
    let max = Melody::MAX_STEPS as u64;
    let total_steps = r.number(max, "length")? as u32;
    // Each note takes at least three bytes: a count beyond that is a lie, refused before allocating.
    let count = r.number(r.0.len() as u64 / 3, "number of notes")? as usize;
    let mut notes = Vec::with_capacity(count);
    let mut end = 0u64;
    for _ in 0..count {
        let onset = end + r.number(max, "rest")?;
        let duration = r.number(max, "duration")?;
        let pitch = Pitch::new(r.byte()? as i32)?;
        end = onset + duration;
        if end > max {
            return Err(MelodyError::TooLong(end).into());
        }
        notes.push(Note { pitch, onset: Step(onset as u32), duration: Step(duration as u32) });
    }
    if !r.0.is_empty() {
        return Err(ShareError::Trailing(r.0.len()));
    }
    if (total_steps as u64) < end {
        return Err(ShareError::Field("length"));
    }
    Ok(Shared { melody: Melody::new(notes, tempo, meter, key)?, total_steps, bpm })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn melody() -> Melody {
        let note = |pitch, onset, duration| Note {
            pitch: Pitch::new(pitch).unwrap(),
            onset: Step(onset),
            duration: Step(duration),
        };
        Melody::new(
            vec![note(62, 2, 2), note(64, 4, 4), note(127, 200, 300), note(0, 500, 1)],
            Tempo::from_bpm(97.5).unwrap(),
            Meter::parse("6/8").unwrap(),
            Some(Key::parse("B minor").unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn a_melody_comes_back_exactly() {
        let m = melody();
        let code = encode(&m, 504, 97.5);
        assert!(code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{code}");
        let back = decode(&code).unwrap();
        assert_eq!(back, Shared { melody: m.clone(), total_steps: 504, bpm: 97.5 });
        // No key, an empty melody.
        let empty = Melody::new(vec![], Tempo::from_bpm(120.0).unwrap(), Meter::COMMON, None).unwrap();
        assert_eq!(decode(&encode(&empty, 16, 120.0)).unwrap().melody, empty);
        // Every key survives.
        for tonic in 0..12 {
            for mode in Mode::ALL {
                let k = Key { tonic: PitchClass::new(tonic), mode };
                let with = Melody::new(m.notes().to_vec(), m.tempo, m.meter, Some(k)).unwrap();
                assert_eq!(decode(&encode(&with, 504, 97.5)).unwrap().melody.key, Some(k));
            }
        }
    }

    #[test]
    fn a_typical_melody_is_short() {
        // 8 bars of eighth notes: 64 notes.
        let notes = (0..64).map(|i| Note {
            pitch: Pitch::new(60 + (i % 12)).unwrap(),
            onset: Step(i as u32 * 2),
            duration: Step(2),
        });
        let m = Melody::new(notes.collect(), Tempo::default(), Meter::COMMON, None).unwrap();
        let code = encode(&m, 128, 120.0);
        assert!(code.len() < 280, "{} characters", code.len());
    }

    #[test]
    fn damaged_codes_are_refused_with_a_reason() {
        let code = encode(&melody(), 504, 97.5);
        let bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.clone();
            f(&mut b);
            decode(&URL_SAFE_NO_PAD.encode(b)).unwrap_err()
        };
        assert_eq!(decode("not base64!").unwrap_err(), ShareError::Text);
        assert_eq!(decode(&"A".repeat(MAX_CODE_CHARS + 1)).unwrap_err(), ShareError::TooLong(MAX_CODE_CHARS + 1));
        assert_eq!(decode("").unwrap_err(), ShareError::Truncated);
        assert_eq!(with(&|b| b[0] = 9), ShareError::Version(9));
        assert_eq!(with(&|b| b.truncate(b.len() - 1)), ShareError::Truncated);
        assert_eq!(with(&|b| b.push(0)), ShareError::Trailing(1));
        // The tempo (3 bytes for 97,500), then the meter, then the key.
        assert!(matches!(with(&|b| b[4] = 0), ShareError::Melody(MelodyError::BadMeter(..))));
        assert_eq!(with(&|b| b[6] = 85), ShareError::Field("key"));
        assert!(matches!(with(&|b| b[1..4].copy_from_slice(&[0x80, 0x80, 0x01])), ShareError::Melody(_)));
        // A pitch above 127.
        assert!(matches!(
            with(&|b| *b.last_mut().unwrap() = 200),
            ShareError::Melody(MelodyError::PitchOutOfRange(200))
        ));
        // Varints that never end or overflow, a note count larger than the bytes could hold.
        assert!(decode(&URL_SAFE_NO_PAD.encode([1u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).is_err());
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode([1u8, 0xe0, 0xa7, 0x07, 4, 4, 0, 16, 0xff, 0x7f])).unwrap_err(),
            ShareError::Field("number of notes")
        );
        // A length shorter than the notes.
        let short = Melody::new(melody().notes()[..1].to_vec(), Tempo::default(), Meter::COMMON, None).unwrap();
        let mut b = URL_SAFE_NO_PAD.decode(encode(&short, 4, 120.0)).unwrap();
        let length_at = 1 + 3 + 3;
        b[length_at] = 3;
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(b)).unwrap_err(), ShareError::Field("length"));
    }

    /// Random bytes never panic: they decode to a valid melody or are refused.
    #[test]
    fn random_codes_never_panic() {
        let mut rng = crate::rng::Rng::new(7);
        let valid = URL_SAFE_NO_PAD.decode(encode(&melody(), 504, 97.5)).unwrap();
        for i in 0..20_000 {
            let mut b = valid.clone();
            if i % 2 == 0 {
                let at = ((rng.next_u64() as u32) as usize) % b.len();
                b[at] = (rng.next_u64() as u32) as u8;
            } else {
                b = (0..(rng.next_u64() as u32) % 40).map(|_| (rng.next_u64() as u32) as u8).collect();
            }
            if let Ok(s) = decode(&URL_SAFE_NO_PAD.encode(&b)) {
                assert!(s.melody.end().0 <= s.total_steps);
            }
        }
    }
}
