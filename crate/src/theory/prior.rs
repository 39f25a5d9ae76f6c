//! The rules at sampling time. RL tuning (`train::tuner`) teaches the weights to keep the rules
//! only as far as the likelihood budget allows; the theory strength also leans each sampled
//! step towards two of them, by taking nats off the logit of a note that breaks one:
//!
//! - a note outside the asked key (a static bias, the same every step), and
//! - a note that does not turn back after a leap (it depends on the last two notes).
//!
//! Both scale with the strength, so 0 is the data model alone. The distribution sampled is
//! then softmax(logits + bias), and that is what `eval` scores on held-out tunes, so its cost
//! in bits per note is measured, not assumed. Every engine applies the same prior: the key's
//! part rides on the sampling noise (`sample`), the leap's each engine tracks from the classes
//! it sampled (`Leap`), the WGSL shader with the same rule.

use crate::encoding::{Event, Vocab};
use crate::melody::Key;

use super::metrics::{LEAP, in_key};

/// Nats off the logit of a note that breaks a rule, at some theory strength.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Off a note outside the key.
    pub key: f32,
    /// Off a note that leaves a leap unanswered.
    pub leap: f32,
}

impl Prior {
    /// At strength 1. Chosen by the A/B in the model card: with it the rules' targets at
    /// strength 1 (notes not in the key ≤ 1%, leaps resolved ≥ 75%) hold in three seed sets
    /// with room (0.3–0.4%, 79–83%), for 0.3% more test bits/note than the weights alone;
    /// half the leap nats left the worst set at 76.4%.
    pub const FULL: Prior = Prior { key: 0.5, leap: 0.5 };
    pub const NONE: Prior = Prior { key: 0.0, leap: 0.0 };

    /// At theory strength `s` (0–1).
    pub fn at(s: f32) -> Prior {
        Self::FULL.scaled(s)
    }

    /// This prior (its nats at strength 1) at theory strength `s`: both rules scale with it.
    pub fn scaled(self, s: f32) -> Prior {
        Prior { key: self.key * s, leap: self.leap * s }
    }

    /// The static part: per class, −`key` for a note outside `key` (none without a key).
    pub fn key_bias(&self, key: Option<Key>, vocab: Vocab) -> Vec<f32> {
        (0..vocab.size())
            .map(|c| match (key, vocab.event(c)) {
                (Some(k), Some(Event::On(p))) if self.key > 0.0 && !in_key(k, p) => -self.key,
                _ => 0.0,
            })
            .collect()
    }

    /// The whole bias of the step after `classes` (the key's part given): for scoring.
    pub fn bias(&self, key_bias: &[f32], classes: &[usize]) -> Vec<f32> {
        let mut out = key_bias.to_vec();
        if self.leap > 0.0 {
            let leap = Leap::after(classes);
            for (c, b) in out.iter_mut().enumerate() {
                if leap.unanswered(c) {
                    *b -= self.leap;
                }
            }
        }
        out
    }
}

/// The last note played and the leap it ended, if any: what the next note must answer.
/// Classes are `Vocab`'s (0 hold, 1 off, 2.. note-on in pitch order), so a difference of
/// classes is an interval in semitones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leap {
    /// The class of the last note-on.
    pub last: Option<usize>,
    /// +1 after a leap up, −1 after one down, 0 if the last two notes are closer than a leap.
    pub direction: i32,
}

impl Leap {
    /// After every class of `classes` (holds and rests change nothing).
    pub fn after(classes: &[usize]) -> Leap {
        let mut notes = classes.iter().rev().copied().filter(|&c| c >= 2);
        let Some(last) = notes.next() else { return Leap::default() };
        let direction = match notes.next() {
            Some(before) if (last as i32 - before as i32).abs() >= LEAP => (last as i32 - before as i32).signum(),
            _ => 0,
        };
        Leap { last: Some(last), direction }
    }

    /// Whether class `c` is a note that leaves the open leap unanswered: one that goes on the
    /// same way or stays put (the metrics' `leaps`: only a turn back resolves).
    pub fn unanswered(&self, c: usize) -> bool {
        match self.last {
            Some(last) if self.direction != 0 && c >= 2 => (c as i32 - last as i32) * self.direction >= 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::Pitch;

    fn class(midi: u8) -> usize {
        Vocab::DEFAULT.index(Event::On(Pitch::new(midi as i32).unwrap()))
    }

    #[test]
    fn a_leap_is_open_until_a_note_turns_back() {
        // C4, then G4 (a fifth up) with a hold and a rest after it: the next note must go down.
        let up = [class(60), 0, class(67), 0, 1];
        let leap = Leap::after(&up);
        assert_eq!(leap, Leap { last: Some(class(67)), direction: 1 });
        assert!(leap.unanswered(class(67)), "staying put does not answer");
        assert!(leap.unanswered(class(72)));
        assert!(!leap.unanswered(class(65)));
        assert!(!leap.unanswered(0) && !leap.unanswered(1), "holds and rests are not notes");
        // A sixth down; a step (no leap); one note; none.
        assert_eq!(Leap::after(&[class(69), class(60)]).direction, -1);
        assert_eq!(Leap::after(&[class(60), class(66)]).direction, 0, "a tritone is not a leap");
        assert_eq!(Leap::after(&[class(60)]), Leap { last: Some(class(60)), direction: 0 });
        assert_eq!(Leap::after(&[0, 1]), Leap::default());
        assert!(!Leap::default().unanswered(class(60)));
    }

    #[test]
    fn the_prior_scales_with_the_strength_and_marks_what_breaks_a_rule() {
        assert_eq!(Prior::at(0.0), Prior::NONE);
        assert_eq!(Prior::at(1.0), Prior::FULL);
        let p = Prior::at(0.5);
        let v = Vocab::DEFAULT;
        let keyed = p.key_bias(Some(Key::C_MAJOR), v);
        assert_eq!(keyed[class(61)], -0.5 * Prior::FULL.key, "C sharp is outside C major");
        assert_eq!((keyed[class(60)], keyed[0], keyed[1]), (0.0, 0.0, 0.0));
        assert!(p.key_bias(None, v).iter().all(|&b| b == 0.0), "no key, no key rule");
        let after_leap = p.bias(&keyed, &[class(60), class(67)]);
        assert_eq!(after_leap[class(69)], -0.5 * Prior::FULL.leap);
        assert_eq!(after_leap[class(68)], -0.5 * (Prior::FULL.key + Prior::FULL.leap), "both rules");
        assert_eq!(after_leap[class(65)], 0.0);
        assert!(
            Prior::NONE
                .bias(&Prior::NONE.key_bias(Some(Key::C_MAJOR), v), &[class(60), class(72)])
                .iter()
                .all(|&b| b == 0.0)
        );
    }
}
