//! Meter and bar phase from the rhythm of a melody alone, for MIDI files whose bar grid cannot
//! be trusted: most start at their first note whatever the time signature says (a pickup then
//! puts every bar line in the wrong place), some have no time signature or a wrong one.
//!
//! A small rhythm model learned from the training tunes, whose bar grid is known, scores each
//! candidate grid (a meter and the place in its bar where the first note falls): how likely
//! the meter is, how likely a tune is to start at that place, each step's kind (onset, hold,
//! rest) given the previous step's kind and the step's place in the bar, and the place where
//! the last note ends. Pitches play no part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::melody::{Meter, Note};

/// What one step of a melody is, rhythmically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Onset = 0,
    Hold = 1,
    Rest = 2,
}

/// Index of the kind before the first step.
const START: usize = 3;
/// (previous kind or start) × kind.
const TRANSITIONS: usize = 4 * 3;
/// Add-k smoothing of every count.
const SMOOTHING: f64 = 0.5;

/// The kinds of the steps from the first note to the end of the last.
fn kinds(notes: &[Note]) -> Vec<Kind> {
    let Some(first) = notes.first() else { return Vec::new() };
    let start = first.onset.0 as usize;
    let end = notes.last().map_or(start, |n| n.end().0 as usize);
    let mut out = vec![Kind::Rest; end - start];
    for n in notes {
        let on = n.onset.0 as usize - start;
        out[on] = Kind::Onset;
        out[on + 1..on + n.duration.0 as usize].fill(Kind::Hold);
    }
    out
}

/// Counts for one meter, per place in the bar.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MeterCounts {
    /// Tunes in this meter.
    pub tunes: u32,
    /// Tunes whose first note falls at each place.
    pub first: Vec<u32>,
    /// Tunes whose last note ends at each place.
    pub end: Vec<u32>,
    /// Step kinds at each place, by previous kind: `[place][previous * 3 + kind]`.
    pub steps: Vec<Vec<u32>>,
}

/// The rhythm statistics of a set of tunes, by meter (`"6/8"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RhythmModel {
    pub meters: BTreeMap<String, MeterCounts>,
}

/// A bar grid laid over a melody: its meter and the place in the bar of its first note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub meter: Meter,
    /// Steps from the bar line before the first note to that note.
    pub phase: u32,
    /// log P(grid, rhythm) under the model (natural log).
    pub score: f64,
}

impl RhythmModel {
    /// Counts `melodies`, each laid out from a bar line (step 0 is a downbeat).
    pub fn learn<'a>(melodies: impl IntoIterator<Item = &'a crate::melody::Melody>) -> RhythmModel {
        let mut meters: BTreeMap<String, MeterCounts> = BTreeMap::new();
        for m in melodies {
            let Some(first) = m.notes().first() else { continue };
            let bar = m.meter.steps_per_bar() as usize;
            let c = meters.entry(m.meter.to_string()).or_insert_with(|| MeterCounts {
                tunes: 0,
                first: vec![0; bar],
                end: vec![0; bar],
                steps: vec![vec![0; TRANSITIONS]; bar],
            });
            let start = first.onset.0 as usize;
            c.tunes += 1;
            c.first[start % bar] += 1;
            c.end[m.end().0 as usize % bar] += 1;
            let mut previous = START;
            for (t, k) in kinds(m.notes()).into_iter().enumerate() {
                c.steps[(start + t) % bar][previous * 3 + k as usize] += 1;
                previous = k as usize;
            }
        }
        RhythmModel { meters }
    }

    pub fn is_empty(&self) -> bool {
        self.meters.is_empty()
    }

    /// Every grid the model knows for these notes, best first. Only the given meter's grids
    /// when `meter` is set. Empty without notes or without statistics.
    pub fn candidates(&self, notes: &[Note], meter: Option<Meter>) -> Vec<Grid> {
        let kinds = kinds(notes);
        if kinds.is_empty() {
            return Vec::new();
        }
        let total: u32 = self.meters.values().map(|c| c.tunes).sum();
        let mut out = Vec::new();
        for (name, c) in &self.meters {
            let Ok(m) = Meter::parse(name) else { continue };
            let bar = m.steps_per_bar() as usize;
            if meter.is_some_and(|want| want != m) || c.first.len() != bar || c.end.len() != bar || c.steps.len() != bar
            {
                continue;
            }
            let share = |counts: &[u32], i: usize| {
                let sum: u32 = counts.iter().sum();
                ((counts[i] as f64 + SMOOTHING) / (sum as f64 + SMOOTHING * counts.len() as f64)).ln()
            };
            let prior = ((c.tunes as f64 + SMOOTHING) / (total as f64 + SMOOTHING * self.meters.len() as f64)).ln();
            for phase in 0..bar {
                let mut score = prior + share(&c.first, phase);
                let mut previous = START;
                for (t, &k) in kinds.iter().enumerate() {
                    let row = &c.steps[(phase + t) % bar];
                    let given = &row[previous * 3..previous * 3 + 3];
                    score += share(given, k as usize);
                    previous = k as usize;
                }
                score += share(&c.end, (phase + kinds.len()) % bar);
                out.push(Grid { meter: m, phase: phase as u32, score });
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// The likeliest grid (see [`candidates`](Self::candidates)).
    pub fn estimate(&self, notes: &[Note], meter: Option<Meter>) -> Option<Grid> {
        self.candidates(notes, meter).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Melody, Pitch, Step, Tempo};

    fn melody(meter: &str, start: u32, durations: &[u32]) -> Melody {
        let mut at = start;
        let notes = durations
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let n = Note { pitch: Pitch::new(60 + (i % 5) as i32).unwrap(), onset: Step(at), duration: Step(d) };
                at += d;
                n
            })
            .collect();
        Melody::new(notes, Tempo::default(), Meter::parse(meter).unwrap(), None).unwrap()
    }

    /// A jig (an eighth's pickup, bars of quarter-eighth-quarter-eighth) and a 4/4 tune (a
    /// quarter's pickup, bars of two quarters and a half); each last bar completes its pickup.
    fn jig(bars: usize) -> Vec<u32> {
        [2].into_iter().chain([4, 2, 4, 2].repeat(bars)).chain([10]).collect()
    }
    fn common(bars: usize) -> Vec<u32> {
        [4].into_iter().chain([4, 4, 8].repeat(bars)).chain([12]).collect()
    }

    fn corpus() -> Vec<Melody> {
        let mut out = Vec::new();
        for bars in 2..12 {
            out.push(melody("6/8", 10, &jig(bars)));
            out.push(melody("4/4", 12, &common(bars)));
        }
        out
    }

    #[test]
    fn the_grid_of_a_tune_that_starts_at_its_first_note_is_found() {
        let model = RhythmModel::learn(&corpus());
        assert_eq!(model.meters["6/8"].tunes, 10);
        assert_eq!(model.meters["4/4"].first[12], 10);
        // The same rhythms starting at step 0 (a MIDI file cut at its first note), in another
        // length, with the wrong meter.
        let jig = melody("4/4", 0, &jig(13));
        let g = model.estimate(jig.notes(), None).unwrap();
        assert_eq!((g.meter.to_string().as_str(), g.phase), ("6/8", 10));
        let common = melody("6/8", 0, &common(13));
        let g = model.estimate(common.notes(), None).unwrap();
        assert_eq!((g.meter.to_string().as_str(), g.phase), ("4/4", 12));
        // With the meter given, only its phases are tried.
        let g = model.estimate(jig.notes(), Some(Meter::COMMON)).unwrap();
        assert_eq!(g.meter, Meter::COMMON);
        let all = model.candidates(jig.notes(), None);
        assert_eq!(all.len(), 12 + 16);
        assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn nothing_to_go_on_gives_nothing() {
        assert!(RhythmModel::default().estimate(corpus()[0].notes(), None).is_none());
        assert!(RhythmModel::learn(&corpus()).estimate(&[], None).is_none());
        // A record whose tables do not fit their meter is skipped, not trusted.
        let mut broken = RhythmModel::learn(&corpus());
        broken.meters.get_mut("6/8").unwrap().steps.pop();
        assert!(broken.candidates(corpus()[0].notes(), None).iter().all(|g| g.meter == Meter::COMMON));
    }
}
