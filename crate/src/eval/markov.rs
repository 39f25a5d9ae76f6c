//! The baseline the neural models must beat: an order-3 Markov chain over notes.
//!
//! A melody is read as a sequence of symbols, one per note, `(pitch, duration)`, with every
//! silence a `(rest, duration)` symbol of its own, so the symbols fix pitch, onset and duration
//! of every note exactly. Each symbol is predicted from the three before it, interpolated with
//! shorter contexts by Witten–Bell smoothing, down to a base distribution that gives every
//! possible symbol some probability (uniform over pitch, geometric over duration).

use std::collections::HashMap;

use crate::melody::{Melody, Note, Pitch, Step};

/// `(pitch or rest, duration in steps)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// 0–127 a pitch, 128 a rest.
    pitch: u8,
    duration: u32,
}

const REST: u8 = 128;
const PITCHES: f64 = 129.0;

impl Symbol {
    fn is_note(self) -> bool {
        self.pitch != REST
    }

    /// Durations are clipped in contexts only (the predicted symbol keeps its exact length).
    fn context_code(self) -> u64 {
        ((self.pitch as u64) << 8) | self.duration.min(255) as u64
    }

    fn base_probability(self) -> f64 {
        // Geometric over durations 1, 2, 3…: sums to one.
        (1.0 / PITCHES) * 0.5f64.powi(self.duration.min(1000) as i32)
    }
}

/// The melody as symbols: rests fill every gap, including one before a late first note.
pub fn symbols(melody: &Melody) -> Vec<Symbol> {
    let mut out = Vec::with_capacity(melody.notes().len() * 2);
    let mut time = 0;
    for n in melody.notes() {
        if n.onset.0 > time {
            out.push(Symbol { pitch: REST, duration: n.onset.0 - time });
        }
        out.push(Symbol { pitch: n.pitch.midi(), duration: n.duration.0 });
        time = n.end().0;
    }
    out
}

/// Inverse of [`symbols`] (for tests and for sampling the baseline).
pub fn notes(symbols: &[Symbol]) -> Vec<Note> {
    let mut time = 0;
    let mut out = Vec::new();
    for s in symbols {
        if s.is_note() {
            out.push(Note { pitch: Pitch::from_const(s.pitch), onset: Step(time), duration: Step(s.duration) });
        }
        time += s.duration;
    }
    out
}

#[derive(Debug, Default, Clone, Copy)]
struct ContextCounts {
    total: u32,
    distinct: u32,
}

/// Counts of one context length.
#[derive(Debug, Default)]
struct Table {
    contexts: HashMap<u64, ContextCounts>,
    symbols: HashMap<(u64, Symbol), u32>,
    /// Counts of the pitch alone (any duration), for next-pitch predictions.
    pitches: HashMap<(u64, u8), u32>,
    distinct_pitches: HashMap<u64, u32>,
}

#[derive(Debug)]
pub struct NoteMarkov {
    order: usize,
    /// `tables[k]`: contexts of the last `k` symbols.
    tables: Vec<Table>,
}

/// Per-note prediction quality of any model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub bits: f64,
    /// The part of `bits` a step model pays for ending the melody's last note (a Markov
    /// chain pays for its whole duration within its symbol): kept apart so the training loss,
    /// which has no such step, can be compared.
    pub end_bits: f64,
    pub notes: usize,
    /// Notes whose pitch was the model's likeliest next pitch.
    pub pitch_hits: usize,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.bits += other.bits;
        self.end_bits += other.end_bits;
        self.notes += other.notes;
        self.pitch_hits += other.pitch_hits;
    }
    pub fn bits_per_note(&self) -> f64 {
        self.bits / self.notes.max(1) as f64
    }
    pub fn pitch_accuracy(&self) -> f64 {
        self.pitch_hits as f64 / self.notes.max(1) as f64
    }
}

impl NoteMarkov {
    pub fn new(order: usize) -> Self {
        NoteMarkov { order, tables: (0..=order).map(|_| Table::default()).collect() }
    }

    fn key(history: &[Symbol]) -> u64 {
        // Tag with the length so contexts of different lengths never collide.
        history.iter().fold(history.len() as u64, |acc, s| (acc << 16) ^ s.context_code())
    }

    pub fn observe(&mut self, melody: &Melody) {
        let seq = symbols(melody);
        for (i, &s) in seq.iter().enumerate() {
            for k in 0..=self.order.min(i) {
                let ctx = Self::key(&seq[i - k..i]);
                let t = &mut self.tables[k];
                let c = t.contexts.entry(ctx).or_default();
                c.total += 1;
                let n = t.symbols.entry((ctx, s)).or_insert(0);
                if *n == 0 {
                    c.distinct += 1;
                }
                *n += 1;
                let p = t.pitches.entry((ctx, s.pitch)).or_insert(0);
                if *p == 0 {
                    *t.distinct_pitches.entry(ctx).or_insert(0) += 1;
                }
                *p += 1;
            }
        }
    }

    /// Witten–Bell interpolation from the empty context up to the full one.
    fn probability(&self, history: &[Symbol], s: Symbol) -> f64 {
        let mut p = s.base_probability();
        for k in 0..=self.order.min(history.len()) {
            let ctx = Self::key(&history[history.len() - k..]);
            let t = &self.tables[k];
            if let Some(c) = t.contexts.get(&ctx) {
                let seen = *t.symbols.get(&(ctx, s)).unwrap_or(&0) as f64;
                p = (seen + c.distinct as f64 * p) / (c.total + c.distinct) as f64;
            }
        }
        p
    }

    /// The same interpolation over pitches alone (durations summed out).
    fn pitch_probability(&self, history: &[Symbol], pitch: u8) -> f64 {
        let mut p = 1.0 / PITCHES;
        for k in 0..=self.order.min(history.len()) {
            let ctx = Self::key(&history[history.len() - k..]);
            let t = &self.tables[k];
            if let Some(c) = t.contexts.get(&ctx) {
                let seen = *t.pitches.get(&(ctx, pitch)).unwrap_or(&0) as f64;
                let distinct = *t.distinct_pitches.get(&ctx).unwrap_or(&0) as f64;
                p = (seen + distinct * p) / (c.total as f64 + distinct);
            }
        }
        p
    }

    /// Bits of every note and rest, reported per note, and next-pitch hits.
    pub fn score(&self, melody: &Melody) -> Tally {
        let seq = symbols(melody);
        let mut tally = Tally::default();
        for (i, &s) in seq.iter().enumerate() {
            let history = &seq[i.saturating_sub(self.order)..i];
            tally.bits -= self.probability(history, s).log2();
            if s.is_note() {
                tally.notes += 1;
                let best = (0..128u8)
                    .map(|p| (p, self.pitch_probability(history, p)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("128 pitches")
                    .0;
                tally.pitch_hits += (best == s.pitch) as usize;
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Meter, Tempo};

    fn melody(spec: &[(u8, u32, u32)]) -> Melody {
        let notes = spec
            .iter()
            .map(|&(p, on, d)| Note { pitch: Pitch::from_const(p), onset: Step(on), duration: Step(d) })
            .collect();
        Melody::new(notes, Tempo::default(), Meter::COMMON, None).unwrap()
    }

    #[test]
    fn symbols_round_trip_with_rests() {
        let m = melody(&[(60, 2, 2), (62, 4, 1), (64, 8, 4)]);
        let s = symbols(&m);
        assert_eq!(s.len(), 5);
        assert!(!s[0].is_note() && s[0].duration == 2);
        assert_eq!(notes(&s), m.notes());
    }

    #[test]
    fn probabilities_sum_to_one() {
        let mut mk = NoteMarkov::new(3);
        mk.observe(&melody(&[(60, 0, 2), (62, 2, 2), (64, 4, 2), (60, 6, 4), (62, 12, 2)]));
        let history = symbols(&melody(&[(60, 0, 2), (62, 2, 2)]));
        // Sum over pitches × a long range of durations approaches one.
        let mut total = 0.0;
        for pitch in 0..=REST {
            for duration in 1..60 {
                total += mk.probability(&history, Symbol { pitch, duration });
            }
        }
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let pitch_total: f64 = (0..=REST).map(|p| mk.pitch_probability(&history, p)).sum();
        assert!((pitch_total - 1.0).abs() < 1e-9, "{pitch_total}");
    }

    #[test]
    fn learns_a_repeated_pattern() {
        let tune = melody(&[
            (60, 0, 2),
            (62, 2, 2),
            (64, 4, 2),
            (65, 6, 2),
            (60, 8, 2),
            (62, 10, 2),
            (64, 12, 2),
            (65, 14, 2),
        ]);
        let mut mk = NoteMarkov::new(3);
        for _ in 0..20 {
            mk.observe(&tune);
        }
        let seen = mk.score(&tune);
        let unseen = mk.score(&melody(&[(70, 0, 3), (49, 3, 5), (77, 8, 1)]));
        assert!(seen.bits_per_note() < 1.0, "{seen:?}");
        assert!(unseen.bits_per_note() > 8.0, "{unseen:?}");
        assert!(seen.pitch_accuracy() > 0.7, "{seen:?}");
    }
}
