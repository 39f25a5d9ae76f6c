//! Key finding (Krumhansl–Schmuckler).

use crate::melody::{Key, Mode, Note, PitchClass};

/// Krumhansl and Kessler's probe-tone ratings (1982): how well each pitch class, counted from
/// the tonic, fits a major or a minor key as listeners judged it.
const MAJOR_PROFILE: [f64; 12] = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE: [f64; 12] = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

/// The major or minor key a melody most likely is in (Krumhansl–Schmuckler): the key whose
/// profile correlates best with how long each pitch class sounds. `None` without notes.
///
/// A MIDI file needs a key signature and the page names the key, but a melody generated for
/// "any key", or read from a file without a signature, has none until one is estimated. Modal
/// tunes come out as their nearest major or minor (D dorian reads as D minor).
pub fn estimate_key(notes: &[Note]) -> Option<Key> {
    let mut weight = [0.0f64; 12];
    for n in notes {
        weight[n.pitch.class().index() as usize] += n.duration.0 as f64;
    }
    if weight.iter().sum::<f64>() == 0.0 {
        return None;
    }
    let mut best: Option<(f64, Key)> = None;
    for (mode, profile) in [(Mode::Major, &MAJOR_PROFILE), (Mode::Minor, &MINOR_PROFILE)] {
        for tonic in 0..12u8 {
            let rotated: [f64; 12] = std::array::from_fn(|pc| profile[(pc + 12 - tonic as usize) % 12]);
            let r = correlation(&weight, &rotated);
            // Strictly greater: ties keep the first candidate, so the answer is deterministic.
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, Key { tonic: PitchClass::new(tonic), mode }));
            }
        }
    }
    best.map(|(_, key)| key)
}

/// Pearson correlation; 0 where a side does not vary.
fn correlation(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let mean = |x: &[f64; 12]| x.iter().sum::<f64>() / 12.0;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        let (x, y) = (a[i] - ma, b[i] - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa * bb).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Pitch, Step};

    fn line(pitches: &[i32], durations: &[u32]) -> Vec<Note> {
        let mut onset = 0;
        pitches
            .iter()
            .zip(durations.iter().cycle())
            .map(|(&p, &d)| {
                let n = Note { pitch: Pitch::new(p).unwrap(), onset: Step(onset), duration: Step(d) };
                onset += d;
                n
            })
            .collect()
    }

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    #[test]
    fn scales_and_arpeggios_name_their_key() {
        // A major scale with its tonic long: that key, in all twelve transpositions.
        for t in 0..12 {
            let scale: Vec<i32> = [0, 2, 4, 5, 7, 9, 11, 12, 7, 4, 0].iter().map(|s| 60 + t + s).collect();
            let notes = line(&scale, &[4, 2, 2, 2, 4, 2, 2, 8, 2, 2, 8]);
            assert_eq!(estimate_key(&notes), Some(Key { tonic: PitchClass::new(t as u8), mode: Mode::Major }), "{t}");
        }
        // A minor melody that dwells on A, C and E (the harmonic minor's G# too).
        let minor = line(&[69, 71, 72, 74, 76, 72, 68, 69, 64, 69], &[4, 2, 4, 2, 4, 2, 2, 8, 2, 8]);
        assert_eq!(estimate_key(&minor), Some(key("A minor")));
        // "Greensleeves"-like opening in E minor.
        let e_minor =
            line(&[64, 67, 69, 71, 72, 71, 69, 66, 62, 64, 66, 67, 64], &[2, 4, 2, 3, 1, 2, 4, 2, 3, 1, 2, 4, 8]);
        assert_eq!(estimate_key(&e_minor), Some(key("E minor")));
    }

    #[test]
    fn edge_cases_never_panic() {
        assert_eq!(estimate_key(&[]), None);
        // Notes of zero length carry no weight.
        assert_eq!(estimate_key(&line(&[60, 62], &[0])), None);
        // One pitch class: the profile that rates its tonic highest (major, by a hair).
        assert_eq!(estimate_key(&line(&[62, 74, 62], &[4])), Some(key("D major")));
    }
}
