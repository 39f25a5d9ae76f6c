//! RL Tuner's music-theory rewards (Jaques et al. 2017), step by step, for tuning a model by
//! reinforcement learning: each rule of `metrics` turned into a reward on the step whose event
//! kept or broke it, so that a policy gradient credits the choice that earned it. The rules and
//! their definitions are exactly the metrics' (the key their estimate, the motifs theirs), so
//! what is rewarded is what the structure figures measure. (RL Tuner's own key figure is
//! judged against the key the melody was made in, which the estimate usually is; the sampling
//! prior, `super::prior`, holds notes to that key.)

use crate::melody::Note;

use super::metrics;

/// Each rule's weight. A note's rewards are in units of one note kept or broken; the melody's
/// (its extremes, its autocorrelation) land on its last measured step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardWeights {
    /// −w for a note outside the key.
    pub key: f64,
    /// −w for an excessively repeated note.
    pub repeat: f64,
    /// +w for a note in a motif.
    pub motif: f64,
    /// +w for a note in a repeated motif (on top of `motif`).
    pub repeated_motif: f64,
    /// ±w on the note after a leap: + if it turns back, − if not.
    pub leap: f64,
    /// +w if the first note is the tonic.
    pub tonic: f64,
    /// +w/2 each for a unique highest and lowest note.
    pub extremes: f64,
    /// −w × the autocorrelation beyond RL Tuner's 0.15 at the worst of lags 1–3.
    pub autocorrelation: f64,
}

impl RewardWeights {
    /// No rule rewarded: the base an experiment sets its rules on.
    pub const NONE: RewardWeights = RewardWeights {
        key: 0.0,
        repeat: 0.0,
        motif: 0.0,
        repeated_motif: 0.0,
        leap: 0.0,
        tonic: 0.0,
        extremes: 0.0,
        autocorrelation: 0.0,
    };
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            key: 1.0,
            repeat: 1.0,
            motif: 0.3,
            repeated_motif: 0.5,
            leap: 1.0,
            tonic: 2.0,
            extremes: 1.0,
            autocorrelation: 2.0,
        }
    }
}

/// The reward of each of a melody's `steps` steps (step 0 is the melody's first, rests
/// included), over the first `window` steps from its first note as `metrics` measures them.
pub fn step_rewards(notes: &[Note], steps: usize, window: usize, w: &RewardWeights) -> Vec<f64> {
    let mut out = vec![0.0; steps];
    let Some(first) = notes.first() else { return out };
    let start = first.onset.0 as usize;
    let slots = metrics::slots_within(notes, window);
    let mut add = |slot: usize, r: f64| {
        if let Some(v) = out.get_mut(start + slot) {
            *v += r;
        }
    };
    let onsets = metrics::onsets(&slots);
    let key = metrics::window_key(notes, slots.len());
    let (in_motif, repeated) = metrics::motifs(&slots);
    let excessive = metrics::excessive_repeats(&slots);
    for &(i, pitch) in &onsets {
        if key.is_some_and(|k| !metrics::in_key(k, pitch)) {
            add(i, -w.key);
        }
        if excessive[i] {
            add(i, -w.repeat);
        }
        if in_motif[i] {
            add(i, w.motif);
        }
        if repeated[i] {
            add(i, w.repeated_motif);
        }
    }
    let pitches: Vec<i32> = onsets.iter().map(|(_, p)| p.midi() as i32).collect();
    for (answer, resolved) in metrics::leaps(&pitches) {
        add(onsets[answer].0, if resolved { w.leap } else { -w.leap });
    }
    if let (Some(k), Some(&(i, p))) = (key, onsets.first())
        && p.class() == k.tonic
    {
        add(i, w.tonic);
    }
    let last = slots.len().saturating_sub(1);
    let (max, min) = metrics::unique_extremes(&pitches);
    add(last, w.extremes * (max as u8 + min as u8) as f64 / 2.0);
    add(last, -w.autocorrelation * metrics::autocorrelation_excess(&metrics::autocorrelations(&slots)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::metrics::tests::line;

    #[test]
    fn each_rule_lands_on_the_step_that_kept_or_broke_it() {
        // Two rests, then C major with one F sharp (step 2 + 12 = 14) among many in-key notes.
        let notes = line(2, &[(60, 4), (64, 2), (67, 2), (65, 2), (64, 2), (66, 1), (67, 3), (72, 4), (60, 4)]);
        let r = step_rewards(&notes, 40, 128, &RewardWeights { key: 1.0, ..RewardWeights::NONE });
        assert_eq!(r.iter().filter(|&&x| x != 0.0).count(), 1);
        assert_eq!(r[14], -1.0);
        // The tonic start, on the first note's step (after the rests).
        let r = step_rewards(&notes, 40, 128, &RewardWeights { tonic: 2.0, ..RewardWeights::NONE });
        assert_eq!(r[2], 2.0);
        assert_eq!(r.iter().sum::<f64>(), 2.0);
        // Leaps: up a fifth then on up (not resolved), answered at the third note.
        let leap = line(0, &[(60, 2), (67, 2), (69, 2), (60, 2), (62, 2)]);
        let r = step_rewards(&leap, 10, 128, &RewardWeights { leap: 1.0, ..RewardWeights::NONE });
        // 60→67 is answered by 69 (step 4): on; 69→60 by 62 (step 8): turns back.
        assert_eq!((r[4], r[8]), (-1.0, 1.0));
        // Steps past the window earn nothing (here the window ends at step 2 + 12); steps past
        // the melody's own length are not there; an empty melody earns nothing.
        let short = step_rewards(&notes, 40, 12, &RewardWeights::default());
        assert!(short.iter().any(|&x| x != 0.0) && short[14..].iter().all(|&x| x == 0.0), "{short:?}");
        assert_eq!(step_rewards(&notes, 10, 128, &RewardWeights::default()).len(), 10);
        assert!(step_rewards(&[], 8, 128, &RewardWeights::default()).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_repeated_motif_earns_more_than_a_new_one() {
        let bar = [(60, 4), (62, 1), (64, 1), (65, 1), (67, 1), (64, 4), (60, 4)];
        let twice = line(0, &[&bar[..], &bar[..]].concat());
        let w = RewardWeights { motif: 1.0, repeated_motif: 1.0, ..RewardWeights::NONE };
        let r = step_rewards(&twice, 32, 128, &w);
        let first: f64 = r[..16].iter().sum();
        let second: f64 = r[16..].iter().sum();
        assert_eq!((first, second), (7.0, 14.0));
    }

    #[test]
    fn rewards_agree_with_the_metrics() {
        // The per-step rewards of a rule sum to what the metrics count.
        let notes = line(0, &[(60, 1), (60, 1), (60, 1), (60, 1), (60, 1), (60, 1), (62, 2), (73, 2), (76, 4)]);
        let m = metrics::measure(&notes);
        let sum = |w: RewardWeights| step_rewards(&notes, 32, 128, &w).iter().sum::<f64>();
        assert_eq!(sum(RewardWeights { repeat: 1.0, ..RewardWeights::NONE }), -(m.excessively_repeated as f64));
        assert_eq!(sum(RewardWeights { key: 1.0, ..RewardWeights::NONE }), -(m.not_in_key as f64));
        assert_eq!(sum(RewardWeights { motif: 1.0, ..RewardWeights::NONE }), m.in_motif as f64);
        let resolved = m.leaps_resolved as f64 - (m.leaps - m.leaps_resolved) as f64;
        assert_eq!(sum(RewardWeights { leap: 1.0, ..RewardWeights::NONE }), resolved);
    }
}
