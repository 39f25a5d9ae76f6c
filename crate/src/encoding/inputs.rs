//! Everything a model reads at a step besides the previous event: the step's conditioning
//! features, and its lookbacks — the events a fixed number of bars back (Melody RNN's Lookback
//! RNN, reaching further: folk tunes repeat themselves most often 4 and 2 bars on) and, where
//! the model reads a form plan, the event at the same place in the bar the plan names.
//!
//! Which step a lookback reads never depends on what is sampled, so it is laid out once per
//! melody (`StepInputs`) and every engine only looks the event up in its own history.

use serde::{Deserialize, Serialize};

use super::{Conditioning, StepFeatures, Vocab};
use crate::form::Plan;

/// The lookback inputs of a model (part of its spec; none for a model without them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lookback {
    /// Bars back, one input each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bars: Vec<u32>,
    /// Whether the model also reads the event half a bar back (a motif answered within its bar).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub half: bool,
    /// Whether the model reads a form plan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub form: bool,
}

impl Lookback {
    pub const MAX_BARS: u32 = 16;
    pub const MAX_SLOTS: usize = 8;

    /// Inputs per step.
    pub fn slots(&self) -> usize {
        self.bars.len() + self.half as usize + self.form as usize
    }

    /// Rows of a lookback table: every event class, then "before the melody", "new material"
    /// and "no plan"; the form plan's table then has every class again, for variations.
    pub fn rows(vocab: Vocab) -> usize {
        Self::rows_for(vocab.size())
    }

    pub const fn rows_for(classes: usize) -> usize {
        classes + 3
    }

    /// Rows of each slot's table, in slot order (the form plan's last).
    pub fn table_rows(&self, classes: usize) -> Vec<usize> {
        let mut rows = vec![Self::rows_for(classes); self.bars.len() + self.half as usize];
        if self.form {
            rows.push(Self::rows_for(classes) + classes);
        }
        rows
    }

    pub fn check(&self) -> Result<(), String> {
        let mut bars = self.bars.clone();
        bars.sort_unstable();
        bars.dedup();
        if bars.len() != self.bars.len() || self.bars.iter().any(|&b| b == 0 || b > Self::MAX_BARS) {
            return Err(format!("lookback bars must be distinct, 1–{}: {:?}", Self::MAX_BARS, self.bars));
        }
        if self.slots() > Self::MAX_SLOTS {
            return Err(format!("at most {} lookback inputs", Self::MAX_SLOTS));
        }
        Ok(())
    }
}

/// Where one lookback input of a step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The event of that (earlier) step.
    Step(u32),
    /// The event of that step, in a bar the plan says varies the bar it is in.
    Vary(u32),
    /// The lookback reaches before the melody's first step.
    Before,
    /// The plan says this bar is new material.
    New,
    /// There is no plan.
    Unknown,
}

impl Source {
    const BEFORE: u32 = u32::MAX;
    const NEW: u32 = u32::MAX - 1;
    const UNKNOWN: u32 = u32::MAX - 2;
    /// Marks a variation's step (steps stay far below it).
    const VARY: u32 = 1 << 30;

    /// As the engines store it: a step index (with `VARY` set for a variation), or a code
    /// above every step.
    pub fn code(self) -> u32 {
        match self {
            Source::Step(s) => s,
            Source::Vary(s) => s | Self::VARY,
            Source::Before => Self::BEFORE,
            Source::New => Self::NEW,
            Source::Unknown => Self::UNKNOWN,
        }
    }

    pub fn from_code(code: u32) -> Source {
        match code {
            Self::BEFORE => Source::Before,
            Self::NEW => Source::New,
            Self::UNKNOWN => Source::Unknown,
            s if s & Self::VARY != 0 => Source::Vary(s & !Self::VARY),
            s => Source::Step(s),
        }
    }

    /// The row of a lookback table this source selects, given the class of each earlier step.
    pub fn row(self, vocab: Vocab, class_at: impl FnOnce(usize) -> usize) -> usize {
        match self {
            Source::Step(s) => class_at(s as usize),
            Source::Before => vocab.size(),
            Source::New => vocab.size() + 1,
            Source::Unknown => vocab.size() + 2,
            Source::Vary(s) => vocab.size() + 3 + class_at(s as usize),
        }
    }
}

/// The inputs of every step of one melody that do not depend on what is sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    features: Vec<[u8; 5]>,
    /// [steps][slots] source codes.
    codes: Vec<u32>,
    slots: usize,
}

impl StepInputs {
    /// `plan`: each bar's planned source (bars of the conditioning's meter from step 0);
    /// `None` when there is no plan and the model decides.
    pub fn new(c: &Conditioning, lookback: &Lookback, plan: Option<&Plan>, steps: usize) -> StepInputs {
        let bar = c.meter.steps_per_bar();
        let slots = lookback.slots();
        let mut codes = Vec::with_capacity(steps * slots);
        for t in 0..steps as u32 {
            for &back in &lookback.bars {
                codes.push(t.checked_sub(back * bar).map_or(Source::Before, Source::Step).code());
            }
            if lookback.half {
                codes.push(t.checked_sub((bar / 2).max(1)).map_or(Source::Before, Source::Step).code());
            }
            if lookback.form {
                let source = match plan {
                    None => Source::Unknown,
                    Some(p) => p.source(t / bar).map_or(Source::New, |take| {
                        let step = take.bar * bar + t % bar;
                        if take.exact { Source::Step(step) } else { Source::Vary(step) }
                    }),
                };
                codes.push(source.code());
            }
        }
        StepInputs { features: (0..steps as u32).map(|t| c.at(t).as_array()).collect(), codes, slots }
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    pub fn features(&self, t: usize) -> [u8; 5] {
        self.features[t]
    }

    /// Step `t`'s lookback sources as codes (`Source::code`).
    pub fn codes(&self, t: usize) -> &[u32] {
        &self.codes[t * self.slots..(t + 1) * self.slots]
    }

    /// Step `t`'s lookback table rows, given the class of every earlier step.
    pub fn rows<'a>(&'a self, t: usize, vocab: Vocab, classes: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        let earlier = &classes[..t.min(classes.len())];
        self.codes(t).iter().map(move |&c| Source::from_code(c).row(vocab, |s| earlier[s]))
    }

    /// The model inputs beside the previous event of the first `steps` steps, for teacher
    /// forcing: [steps][5 features, then the lookback rows], flat. `classes` must hold the
    /// class of every step before the last of them.
    pub fn columns(&self, vocab: Vocab, classes: &[usize], steps: usize) -> Vec<i32> {
        let width = Self::width(self.slots);
        let mut out = Vec::with_capacity(steps * width);
        for t in 0..steps {
            out.extend(self.features[t].map(i32::from));
            out.extend(self.rows(t, vocab, classes).map(|r| r as i32));
        }
        out
    }

    /// Columns a step has in [`columns`](Self::columns).
    pub const fn width(slots: usize) -> usize {
        StepFeatures::CARDINALITIES.len() + slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::Meter;

    #[test]
    fn lookbacks_read_whole_bars_back_and_the_plan() {
        let c = Conditioning { meter: Meter::parse("2/4").unwrap(), key: None, style: None };
        let lookback = Lookback { bars: vec![1, 2], half: false, form: true };
        let plan = Plan { sources: vec![None, None, Some(crate::form::Take { bar: 0, exact: false })] };
        let inputs = StepInputs::new(&c, &lookback, Some(&plan), 24);
        assert_eq!(inputs.len(), 24);
        let at = |t| inputs.codes(t).iter().map(|&c| Source::from_code(c)).collect::<Vec<_>>();
        use Source::*;
        assert_eq!(at(3), vec![Before, Before, New]);
        assert_eq!(at(9), vec![Step(1), Before, New]);
        assert_eq!(at(19), vec![Step(11), Step(3), Vary(3)]);
        let v = Vocab::DEFAULT;
        assert_eq!(Vary(3).row(v, |_| 5), v.size() + 3 + 5);
        assert_eq!(Source::from_code(Vary(3).code()), Vary(3));
        assert_eq!(lookback.table_rows(v.size()), vec![42, 42, 81]);
        assert_eq!(inputs.features(9)[0], 1, "the place in the bar");
        let none = StepInputs::new(&c, &lookback, None, 4);
        assert_eq!(Source::from_code(none.codes(0)[2]), Unknown);
        // Half a bar back comes after the bars, before the plan.
        let half = Lookback { bars: vec![1], half: true, form: true };
        let inputs = StepInputs::new(&c, &half, Some(&plan), 24);
        let at = |t| inputs.codes(t).iter().map(|&c| Source::from_code(c)).collect::<Vec<_>>();
        assert_eq!(at(3), vec![Before, Before, New]);
        assert_eq!(at(4), vec![Before, Step(0), New]);
        assert_eq!(at(19), vec![Step(11), Step(15), Vary(3)]);
        assert_eq!(half.table_rows(v.size()), vec![42, 42, 81]);
        let json = serde_json::to_string(&half).unwrap();
        assert_eq!(serde_json::from_str::<Lookback>(&json).unwrap(), half);
        // A model without lookbacks reads none.
        assert_eq!(StepInputs::new(&c, &Lookback::default(), None, 4).slots(), 0);
    }

    #[test]
    fn rows_resolve_steps_against_the_melody() {
        let c = Conditioning { meter: Meter::parse("2/4").unwrap(), key: None, style: None };
        let v = Vocab::DEFAULT;
        let inputs = StepInputs::new(&c, &Lookback { bars: vec![1], half: false, form: true }, None, 10);
        let classes: Vec<usize> = (0..10).map(|t| 2 + t).collect();
        let columns = inputs.columns(v, &classes, 10);
        assert_eq!(columns.len(), 10 * 7);
        // Step 9: features, then the class of step 1, then "no plan".
        assert_eq!(&columns[9 * 7 + 5..9 * 7 + 7], &[3, v.size() as i32 + 2]);
        assert_eq!(columns[7 + 5], v.size() as i32, "step 1 looks back before the melody");
        assert_eq!(Lookback::rows(v), 42);
    }

    #[test]
    fn lookback_specs_are_checked() {
        assert!(Lookback { bars: vec![1, 2, 4, 8], half: false, form: true }.check().is_ok());
        assert!(Lookback { bars: vec![1, 1], half: false, form: false }.check().is_err());
        assert!(Lookback { bars: vec![0], half: false, form: false }.check().is_err());
        assert!(Lookback { bars: vec![17], half: false, form: false }.check().is_err());
        assert!(Lookback { bars: (1..=8).collect(), half: false, form: true }.check().is_err());
        let json = serde_json::to_string(&Lookback::default()).unwrap();
        assert_eq!(json, "{}");
    }
}
