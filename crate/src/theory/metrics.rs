//! Melody metrics: how a melody repeats and varies its ideas, and how it keeps the rules RL
//! Tuner rewarded (Jaques et al. 2017). Pure functions over notes.
//!
//! Every figure is taken over the melody's 16th steps from its first note (leading rests
//! removed), the first [`WINDOW`] of them, each step a rest, a hold or the onset of a pitch:
//! - the key is the Krumhansl–Schmuckler estimate of those notes ([`super::estimate_key`]),
//!   or, in [`measure_in`], the key the melody states; a note is in the key if it is in the
//!   major scale, or for a minor key in natural ∪ harmonic minor;
//! - a *motif* is an 8-step window holding onsets of at least 3 distinct pitches; a note is in
//!   a motif if its onset lies in one, and in a *repeated* motif if that window's 8 steps also
//!   occur exactly in an earlier window that does not overlap it;
//! - *chunks* are consecutive 16-step slices from the first step; one is repeated if it equals
//!   an earlier one (only whole chunks count);
//! - a *leap* is an interval of 7 semitones or more between consecutive onsets; it is resolved
//!   if the next interval moves the other way (a leap on the last note is not judged);
//! - autocorrelation is taken over the steps coded as rest 0, hold 1, onset pitch − 46;
//! - a note is *excessively repeated* (RL Tuner) if it is the fifth or later onset of the same
//!   pitch in consecutive steps, or the seventh or later with only holds and rests between;
//! - a melody *starts with the tonic* if its first note is the key's tonic (any octave); its
//!   *maximum* (minimum) is unique if its highest (lowest) pitch sounds only once.

use serde::Serialize;

use crate::melody::{Key, Mode, Note, Pitch};

use super::estimate_key;

/// Steps measured from the first note: 8 bars of 4/4.
pub const WINDOW: usize = 128;
const MOTIF: usize = 8;
const MOTIF_PITCHES: usize = 3;
const CHUNK: usize = 16;
/// A leap: at least a fifth between consecutive notes.
pub(crate) const LEAP: i32 = 7;

/// One 16th step as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Rest,
    Hold,
    Onset(Pitch),
}

impl Slot {
    fn code(self) -> f64 {
        match self {
            Slot::Rest => 0.0,
            Slot::Hold => 1.0,
            Slot::Onset(p) => p.midi() as f64 - 46.0,
        }
    }
}

/// The steps of `notes` from the first onset, at most `WINDOW` of them.
pub fn slots(notes: &[Note]) -> Vec<Slot> {
    slots_within(notes, WINDOW)
}

/// The steps of `notes` from the first onset, at most `window` of them.
pub fn slots_within(notes: &[Note], window: usize) -> Vec<Slot> {
    let Some(first) = notes.first() else { return Vec::new() };
    let start = first.onset.0 as usize;
    let end = (notes.last().map_or(0, |n| n.end().0 as usize) - start).min(window);
    let mut out = vec![Slot::Rest; end];
    for n in notes {
        let on = n.onset.0 as usize - start;
        if on >= end {
            break;
        }
        out[on] = Slot::Onset(n.pitch);
        let stop = (on + n.duration.0 as usize).min(end);
        out[on + 1..stop].fill(Slot::Hold);
    }
    out
}

/// The figures of one melody (counts, so that collections can be summed or averaged).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MelodyMetrics {
    /// Onsets in the window.
    pub notes: usize,
    pub in_motif: usize,
    pub in_repeated_motif: usize,
    pub chunks: usize,
    pub repeated_chunks: usize,
    pub key: Option<Key>,
    pub not_in_key: usize,
    pub leaps: usize,
    pub leaps_resolved: usize,
    pub excessively_repeated: usize,
    pub starts_with_tonic: bool,
    pub unique_max: bool,
    pub unique_min: bool,
    /// Lags 1, 2 and 3; `None` where the steps do not vary.
    pub autocorrelation: [Option<f64>; 3],
}

/// Autocorrelation RL Tuner let pass before it penalised a melody.
const AUTOCORRELATION_ALLOWED: f64 = 0.15;

/// How well a melody keeps the rules RL Tuner rewarded, from 0 to 1: the mean of its notes in
/// the key, not excessively repeated, in a motif and in a repeated motif (as shares of its
/// notes), its leaps resolved (as a share of its leaps; 1 without leaps), a start on the tonic,
/// a unique highest and lowest note (half each), and autocorrelation within RL Tuner's 0.15 (less
/// the excess at its largest lag). An empty melody scores 0.
pub fn theory_score(m: &MelodyMetrics) -> f64 {
    if m.notes == 0 {
        return 0.0;
    }
    let share = |x: usize| x as f64 / m.notes as f64;
    let excess = autocorrelation_excess(&m.autocorrelation);
    let parts = [
        1.0 - share(m.not_in_key),
        1.0 - share(m.excessively_repeated),
        share(m.in_motif),
        share(m.in_repeated_motif),
        if m.leaps == 0 { 1.0 } else { m.leaps_resolved as f64 / m.leaps as f64 },
        if m.starts_with_tonic { 1.0 } else { 0.0 },
        (m.unique_max as u8 as f64 + m.unique_min as u8 as f64) / 2.0,
        1.0 - excess,
    ];
    parts.iter().sum::<f64>() / parts.len() as f64
}

/// Measures a melody (see the module's definitions).
pub fn measure(notes: &[Note]) -> MelodyMetrics {
    measure_within(notes, WINDOW)
}

/// Measures the first `window` steps of a melody from its first note (RL Tuner measured 32).
pub fn measure_within(notes: &[Note], window: usize) -> MelodyMetrics {
    measure_in(notes, window, None)
}

/// `measure_within`, with the key and tonic rules judged against `stated` (the key a melody
/// was asked for or written in) rather than the key its first notes suggest. A 32-step window
/// is short for an estimate: RL Tuner judged against the key its model was asked for.
pub fn measure_in(notes: &[Note], window: usize, stated: Option<Key>) -> MelodyMetrics {
    let slots = slots_within(notes, window);
    let onsets = onsets(&slots);
    let (in_motif, in_repeated_motif) = motifs(&slots);
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
    let (in_motif, in_repeated_motif) = (count(&in_motif), count(&in_repeated_motif));
    let (chunks, repeated_chunks) = chunks(&slots);
    let key = stated.or_else(|| window_key(notes, slots.len()));
    let not_in_key = key.map_or(0, |k| onsets.iter().filter(|(_, p)| !in_key(k, *p)).count());
    let pitches: Vec<i32> = onsets.iter().map(|(_, p)| p.midi() as i32).collect();
    let judged = leaps(&pitches);
    let (leaps, leaps_resolved) = (judged.len(), judged.iter().filter(|(_, resolved)| *resolved).count());
    let (unique_max, unique_min) = unique_extremes(&pitches);
    MelodyMetrics {
        notes: onsets.len(),
        in_motif,
        in_repeated_motif,
        chunks,
        repeated_chunks,
        key,
        not_in_key,
        leaps,
        leaps_resolved,
        excessively_repeated: excessive_repeats(&slots).iter().filter(|&&b| b).count(),
        starts_with_tonic: matches!((key, onsets.first()), (Some(k), Some((_, p))) if p.class() == k.tonic),
        unique_max,
        unique_min,
        autocorrelation: autocorrelations(&slots),
    }
}

/// The onsets among `slots`: (slot, pitch).
pub(super) fn onsets(slots: &[Slot]) -> Vec<(usize, Pitch)> {
    slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Slot::Onset(p) => Some((i, *p)),
            _ => None,
        })
        .collect()
}

/// The key of the notes that sound within the first `len` steps from the first note.
pub(super) fn window_key(notes: &[Note], len: usize) -> Option<Key> {
    let start = notes.first()?.onset.0;
    let end = start + len as u32;
    let clipped: Vec<Note> = notes
        .iter()
        .filter(|n| n.onset.0 < end)
        .map(|n| Note { duration: crate::melody::Step(n.duration.0.min(end - n.onset.0)), ..*n })
        .collect();
    estimate_key(&clipped)
}

/// Whether `pitch` is in `key`: its major scale, or natural ∪ harmonic minor.
pub fn in_key(key: Key, pitch: Pitch) -> bool {
    let degree = key.tonic.up_to(pitch.class());
    match key.mode {
        Mode::Minor => [0, 2, 3, 5, 7, 8, 10, 11].contains(&degree),
        _ => key.contains(pitch.class()),
    }
}

/// Per slot: an onset in a motif, and one in a repeated motif.
pub(super) fn motifs(slots: &[Slot]) -> (Vec<bool>, Vec<bool>) {
    let mut in_motif = vec![false; slots.len()];
    let mut repeated = vec![false; slots.len()];
    for start in 0..slots.len().saturating_sub(MOTIF - 1) {
        let window = &slots[start..start + MOTIF];
        let mut pitches: Vec<Pitch> = window
            .iter()
            .filter_map(|s| match s {
                Slot::Onset(p) => Some(*p),
                _ => None,
            })
            .collect();
        pitches.sort_unstable();
        pitches.dedup();
        if pitches.len() < MOTIF_PITCHES {
            continue;
        }
        let again = (0..=start.saturating_sub(MOTIF))
            .any(|earlier| start >= earlier + MOTIF && slots[earlier..earlier + MOTIF] == *window);
        for (i, s) in window.iter().enumerate() {
            if matches!(s, Slot::Onset(_)) {
                in_motif[start + i] = true;
                repeated[start + i] |= again;
            }
        }
    }
    (in_motif, repeated)
}

/// Whole 16-step chunks, and those equal to an earlier one.
fn chunks(slots: &[Slot]) -> (usize, usize) {
    let all: Vec<&[Slot]> = slots.chunks_exact(CHUNK).collect();
    let repeated = (0..all.len()).filter(|&i| all[..i].contains(&all[i])).count();
    (all.len(), repeated)
}

/// Leaps between consecutive onsets that have a next interval: the index (among the onsets)
/// of the note that answers each, and whether it turns back.
pub(super) fn leaps(pitches: &[i32]) -> Vec<(usize, bool)> {
    let intervals: Vec<i32> = pitches.windows(2).map(|w| w[1] - w[0]).collect();
    let mut judged = Vec::new();
    for (i, pair) in intervals.windows(2).enumerate() {
        let (leap, next) = (pair[0], pair[1]);
        if leap.abs() >= LEAP {
            judged.push((i + 2, leap.signum() * next.signum() < 0));
        }
    }
    judged
}

/// Per slot: an onset that continues a run of one pitch too long (more than 4 in consecutive
/// steps, or more than 6 with holds and rests between).
pub(super) fn excessive_repeats(slots: &[Slot]) -> Vec<bool> {
    let mut flags = vec![false; slots.len()];
    let (mut last, mut run, mut adjacent_run) = (None::<Pitch>, 0, 0);
    let mut previous_was_onset = false;
    for (i, s) in slots.iter().enumerate() {
        match *s {
            Slot::Onset(p) => {
                if last == Some(p) {
                    run += 1;
                    adjacent_run = if previous_was_onset { adjacent_run + 1 } else { 1 };
                } else {
                    (last, run, adjacent_run) = (Some(p), 1, 1);
                }
                flags[i] = adjacent_run > 4 || run > 6;
                previous_was_onset = true;
            }
            _ => previous_was_onset = false,
        }
    }
    flags
}

/// Whether the highest and the lowest of `pitches` each sound only once.
pub(super) fn unique_extremes(pitches: &[i32]) -> (bool, bool) {
    let unique = |extreme: Option<&i32>| extreme.is_some_and(|e| pitches.iter().filter(|p| *p == e).count() == 1);
    (unique(pitches.iter().max()), unique(pitches.iter().min()))
}

/// Autocorrelation at lags 1, 2 and 3.
pub(super) fn autocorrelations(slots: &[Slot]) -> [Option<f64>; 3] {
    [1, 2, 3].map(|lag| autocorrelation(slots, lag))
}

/// How far the largest of `lags` (in size) goes beyond what RL Tuner let pass; 0 within it.
pub(super) fn autocorrelation_excess(lags: &[Option<f64>; 3]) -> f64 {
    (lags.iter().flatten().map(|a| a.abs()).fold(0.0, f64::max) - AUTOCORRELATION_ALLOWED).max(0.0)
}

fn autocorrelation(slots: &[Slot], lag: usize) -> Option<f64> {
    if slots.len() <= lag {
        return None;
    }
    let x: Vec<f64> = slots.iter().map(|s| s.code()).collect();
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let var: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if var == 0.0 {
        return None;
    }
    let cov: f64 = x.windows(lag + 1).map(|w| (w[0] - mean) * (w[lag] - mean)).sum();
    Some(cov / var)
}

/// Figures over a collection: each melody weighs the same (a mean of per-melody shares), and a
/// melody without the thing a share is taken of (no notes, no leaps) is left out of that mean.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    pub melodies: usize,
    /// Notes in the window, on average.
    pub notes: f64,
    pub in_motif: f64,
    pub in_repeated_motif: f64,
    pub repeated_chunks: f64,
    pub not_in_key: f64,
    pub leaps_resolved: f64,
    pub excessively_repeated: f64,
    pub starts_with_tonic: f64,
    pub unique_max: f64,
    pub unique_min: f64,
    pub autocorrelation: [f64; 3],
    /// `theory_score`, on average.
    pub theory: f64,
}

impl Summary {
    pub fn of(all: &[MelodyMetrics]) -> Summary {
        let mean = |share: &dyn Fn(&MelodyMetrics) -> Option<f64>| {
            let values: Vec<f64> = all.iter().filter_map(share).collect();
            if values.is_empty() { f64::NAN } else { values.iter().sum::<f64>() / values.len() as f64 }
        };
        let of_notes = |count: fn(&MelodyMetrics) -> usize| {
            move |m: &MelodyMetrics| (m.notes > 0).then(|| count(m) as f64 / m.notes as f64)
        };
        let flag = |f: fn(&MelodyMetrics) -> bool| move |m: &MelodyMetrics| (m.notes > 0).then(|| f(m) as u8 as f64);
        Summary {
            melodies: all.len(),
            theory: mean(&|m| (m.notes > 0).then(|| theory_score(m))),
            notes: mean(&|m| Some(m.notes as f64)),
            in_motif: mean(&of_notes(|m| m.in_motif)),
            in_repeated_motif: mean(&of_notes(|m| m.in_repeated_motif)),
            repeated_chunks: mean(&|m| (m.chunks > 0).then(|| m.repeated_chunks as f64 / m.chunks as f64)),
            not_in_key: mean(&of_notes(|m| m.not_in_key)),
            leaps_resolved: mean(&|m| (m.leaps > 0).then(|| m.leaps_resolved as f64 / m.leaps as f64)),
            excessively_repeated: mean(&of_notes(|m| m.excessively_repeated)),
            starts_with_tonic: mean(&flag(|m| m.starts_with_tonic)),
            unique_max: mean(&flag(|m| m.unique_max)),
            unique_min: mean(&flag(|m| m.unique_min)),
            autocorrelation: [0, 1, 2].map(|lag| mean(&|m| m.autocorrelation[lag])),
        }
    }

    /// Every figure with its name, in print order; shares in percent.
    pub fn rows(&self) -> Vec<(&'static str, f64, bool)> {
        let pct = |x: f64| 100.0 * x;
        vec![
            ("notes in the first 128 steps", self.notes, false),
            ("notes in a motif", pct(self.in_motif), true),
            ("notes in a repeated motif", pct(self.in_repeated_motif), true),
            ("16-step chunks equal to an earlier chunk", pct(self.repeated_chunks), true),
            ("autocorrelation at lag 1", self.autocorrelation[0], false),
            ("autocorrelation at lag 2", self.autocorrelation[1], false),
            ("autocorrelation at lag 3", self.autocorrelation[2], false),
            ("notes not in the key", pct(self.not_in_key), true),
            ("leaps resolved", pct(self.leaps_resolved), true),
            ("notes excessively repeated", pct(self.excessively_repeated), true),
            ("melodies starting with the tonic", pct(self.starts_with_tonic), true),
            ("melodies with a unique maximum", pct(self.unique_max), true),
            ("melodies with a unique minimum", pct(self.unique_min), true),
            ("theory score (0–1, mean)", self.theory, false),
        ]
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::melody::Step;

    /// Notes from (pitch, duration) pairs, pitch 0 a rest, starting at `start`.
    pub(in crate::theory) fn line(start: u32, spec: &[(i32, u32)]) -> Vec<Note> {
        let mut at = start;
        let mut out = Vec::new();
        for &(p, d) in spec {
            if p > 0 {
                out.push(Note { pitch: Pitch::new(p).unwrap(), onset: Step(at), duration: Step(d) });
            }
            at += d;
        }
        out
    }

    #[test]
    fn slots_start_at_the_first_note_and_stop_at_the_window() {
        let notes = line(5, &[(60, 2), (0, 1), (62, 1)]);
        let p = |m| Slot::Onset(Pitch::new(m).unwrap());
        assert_eq!(slots(&notes), vec![p(60), Slot::Hold, Slot::Rest, p(62)]);
        assert_eq!(slots(&line(0, &[(60, 200)])).len(), WINDOW);
        assert!(slots(&[]).is_empty());
    }

    /// C (a quarter), D E F G (16ths), E and C (quarters): 16 steps.
    const BAR: [(i32, u32); 7] = [(60, 4), (62, 1), (64, 1), (65, 1), (67, 1), (64, 4), (60, 4)];

    #[test]
    fn a_bar_played_twice_is_a_repeated_motif_and_chunk() {
        let notes = line(0, &[&BAR[..], &BAR[..]].concat());
        let m = measure(&notes);
        assert_eq!(m.notes, 14);
        assert_eq!(m.in_motif, 14);
        // The second bar's windows match the first's; the first bar has nothing before it.
        assert_eq!(m.in_repeated_motif, 7);
        assert_eq!((m.chunks, m.repeated_chunks), (2, 1));
        assert_eq!(m.key, Some(Key::parse("C major").unwrap()));
        assert_eq!(m.not_in_key, 0);
        assert!(m.starts_with_tonic);
        assert!(!m.unique_max && !m.unique_min);
    }

    #[test]
    fn a_repeat_must_not_overlap_its_model() {
        // A figure whose window recurs 4 steps later (overlapping): not a repeated motif.
        let notes = line(
            0,
            &[
                (60, 1),
                (62, 1),
                (64, 1),
                (65, 1),
                (60, 1),
                (62, 1),
                (64, 1),
                (65, 1),
                (60, 1),
                (62, 1),
                (64, 1),
                (65, 1),
            ],
        );
        let m = measure(&notes);
        assert_eq!(m.in_motif, 12);
        // Windows starting at 8 or later would need 16 steps; only the start-8 window could
        // repeat the start-0 one, and it needs steps 8..16, beyond the melody.
        assert_eq!(m.in_repeated_motif, 0);
        // Two notes only: no motif at all.
        assert_eq!(measure(&line(0, &[(60, 4), (62, 4), (60, 4)])).in_motif, 0);
    }

    #[test]
    fn keys_and_foreign_notes() {
        // A minor with its leading tone G#: in key (harmonic minor); B flat is not.
        let notes = line(0, &[(69, 4), (72, 2), (76, 4), (68, 2), (69, 8), (64, 4), (70, 1), (69, 8)]);
        let m = measure(&notes);
        assert_eq!(m.key, Some(Key::parse("A minor").unwrap()));
        assert_eq!(m.not_in_key, 1);
        assert!(m.starts_with_tonic);
        assert!(in_key(Key::parse("C major").unwrap(), Pitch::new(71).unwrap()));
        assert!(!in_key(Key::parse("C major").unwrap(), Pitch::new(70).unwrap()));
    }

    #[test]
    fn leaps_turn_back_or_not() {
        // Up a sixth then down: resolved. Up an octave then up again: not. A final leap: not judged.
        let notes = line(0, &[(60, 2), (69, 2), (67, 2), (79, 2), (81, 2), (60, 2)]);
        let m = measure(&notes);
        assert_eq!((m.leaps, m.leaps_resolved), (2, 1));
        assert!(m.unique_max && !m.unique_min);
    }

    #[test]
    fn excessive_repetition() {
        // Five adjacent Cs: the fifth is excessive. Then seven Ds with holds between: the seventh.
        let mut spec = vec![(60, 1); 5];
        spec.extend(vec![(62, 2); 7]);
        let m = measure(&line(0, &spec));
        assert_eq!(m.excessively_repeated, 2);
        assert_eq!(measure(&line(0, &[(60, 1), (60, 1), (60, 1), (60, 1)])).excessively_repeated, 0);
    }

    #[test]
    fn autocorrelation_of_a_periodic_line() {
        // C held 2 steps, E held 2 steps, repeated: period 4.
        let notes = line(0, &[(60, 2), (64, 2)].repeat(8));
        let m = measure(&notes);
        // Onsets two steps apart alternate C and E with holds between: in step at lag 2 (the
        // holds match), against it at odd lags.
        let [a1, a2, a3] = m.autocorrelation.map(Option::unwrap);
        assert!(a2 > 0.5 && a1 < -0.5 && a3 < -0.5, "{a1} {a2} {a3}");
        assert!(measure(&line(0, &[(60, 1)])).autocorrelation[0].is_none());
    }

    #[test]
    fn summaries_average_melodies_and_skip_what_they_lack() {
        let twice = measure(&line(0, &[&BAR[..], &BAR[..]].concat()));
        let once = measure(&line(0, &BAR));
        let s = Summary::of(&[twice, once, measure(&[])]);
        assert_eq!(s.melodies, 3);
        // Half the notes of one melody, none of the other; the empty one does not count.
        assert!((s.in_repeated_motif - 0.25).abs() < 1e-12, "{s:?}");
        assert!((s.in_motif - 1.0).abs() < 1e-12);
        assert!((s.repeated_chunks - 0.25).abs() < 1e-12, "one chunk of two, and none of one");
        assert!(s.leaps_resolved.is_nan(), "no melody has a leap");
        assert_eq!(s.rows().len(), 14);
    }
    #[test]
    fn the_theory_score_rewards_the_rules() {
        assert_eq!(theory_score(&MelodyMetrics::default()), 0.0);
        // C major, tonic first, a motif stated twice, one leap resolved: near the top.
        let motif = [(60, 2), (64, 2), (67, 2), (72, 2), (71, 2), (67, 2), (65, 2), (64, 2)];
        let good: Vec<_> = motif.iter().chain(motif.iter()).copied().collect();
        let good = theory_score(&measure(&line(0, &good)));
        // The same note again and again, outside any key's pattern of motifs.
        let bad = theory_score(&measure(&line(0, &[(61, 1); 32])));
        assert!((0.0..=1.0).contains(&good) && (0.0..=1.0).contains(&bad));
        assert!(good > bad + 0.15, "good {good}, bad {bad}");
    }
}
