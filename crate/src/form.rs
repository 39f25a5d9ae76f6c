//! Musical form: which earlier bar each bar of a melody takes up again.
//!
//! A form is written as one letter per section (`AABA`: a section, the same again, something
//! new, the first again). Over a melody of N bars each section is N ÷ sections bars (rounded
//! up; the last section may be cut), and every bar of a section whose letter came before is
//! planned to take up the bar at the same place in that letter's first section. The model reads
//! the plan as an input — the event at the same place in the planned bar, or "new material" —
//! and decides itself how closely to follow it.
//!
//! Training derives the same kind of plan from each tune: a bar takes up the earlier bar most
//! like it, if at least [`SIMILAR`] of their steps are the same event.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::encoding::Event;

/// Share of equal steps from which a bar counts as taking up an earlier one.
pub const SIMILAR: f64 = 0.75;
pub const MAX_SECTIONS: usize = 16;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum FormError {
    #[error(
        "form {0:?} is not a form: write one capital letter per section, 2–{max} of them, starting with A and \
         bringing in each new letter in order (e.g. AABA, ABAC)",
        max = MAX_SECTIONS
    )]
    Bad(String),
}

/// A form such as `AABA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Form {
    letters: Vec<u8>,
}

impl Form {
    pub fn parse(text: &str) -> Result<Form, FormError> {
        let letters: Vec<u8> = text.trim().bytes().collect();
        let bad = || FormError::Bad(text.to_string());
        if !(2..=MAX_SECTIONS).contains(&letters.len()) {
            return Err(bad());
        }
        // Each letter is one already used or the next new one: A, then A or B, …
        let mut next = b'A';
        for &l in &letters {
            if l == next {
                next += 1;
            } else if !(b'A'..next).contains(&l) {
                return Err(bad());
            }
        }
        Ok(Form { letters })
    }

    pub fn sections(&self) -> usize {
        self.letters.len()
    }

    /// The plan of `bars` bars: sections of ⌈bars ÷ sections⌉ bars.
    pub fn plan(&self, bars: u32) -> Plan {
        let per = bars.div_ceil(self.letters.len() as u32).max(1);
        let sources = (0..bars)
            .map(|b| {
                let (section, offset) = ((b / per) as usize, b % per);
                let first = self.letters.iter().position(|&l| l == self.letters[section]).expect("its own letter");
                (first < section).then_some(first as u32 * per + offset)
            })
            .collect();
        Plan { sources }
    }
}

impl std::fmt::Display for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.letters).expect("ASCII letters"))
    }
}

impl Serialize for Form {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Form {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Form::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// For each bar, the earlier bar it takes up, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub sources: Vec<Option<u32>>,
}

impl Plan {
    /// The plan a melody's own events show (see the module's doc): bars of `bar` steps from
    /// step 0; a last bar cut short is compared on the steps it has.
    pub fn derive(events: &[Event], bar: usize) -> Plan {
        let bars: Vec<&[Event]> = events.chunks(bar.max(1)).collect();
        let sources = (0..bars.len())
            .map(|b| {
                let mut best: Option<(usize, u32)> = None;
                for earlier in 0..b {
                    let same = bars[b].iter().zip(bars[earlier]).filter(|(x, y)| x == y).count();
                    // Ties go to the nearer bar: variation usually builds on the last statement.
                    if same as f64 >= SIMILAR * bars[b].len() as f64 && best.is_none_or(|(n, _)| same >= n) {
                        best = Some((same, earlier as u32));
                    }
                }
                best.map(|(_, earlier)| earlier)
            })
            .collect();
        Plan { sources }
    }

    /// The source of `bar`: `None` for new material (and past the plan's end).
    pub fn source(&self, bar: u32) -> Option<u32> {
        self.sources.get(bar as usize).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::Pitch;

    #[test]
    fn forms_are_letters_in_order() {
        for good in ["AABA", "ABAC", "AB", "AABB", "ABCD", "ABBA"] {
            assert_eq!(Form::parse(good).unwrap().to_string(), good);
        }
        for bad in ["", "A", "BA", "AAC", "abab", "AB A", "ABCDEFGHIJKLMNOPQ", "AXA"] {
            assert!(Form::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&Form::parse("AABA").unwrap()).unwrap();
        assert_eq!(json, "\"AABA\"");
        assert!(serde_json::from_str::<Form>("\"ZZ\"").is_err());
    }

    #[test]
    fn plans_point_each_bar_at_its_letters_first_section() {
        let aaba = Form::parse("AABA").unwrap();
        assert_eq!(aaba.plan(8).sources, vec![None, None, Some(0), Some(1), None, None, Some(0), Some(1)]);
        // Six bars: sections of two, the last A cut off.
        assert_eq!(aaba.plan(6).sources, vec![None, None, Some(0), Some(1), None, None]);
        // Fewer bars than sections: one bar each.
        assert_eq!(Form::parse("ABAC").unwrap().plan(3).sources, vec![None, None, Some(0)]);
        assert_eq!(Form::parse("ABBA").unwrap().plan(4).sources, vec![None, None, Some(1), Some(0)]);
        assert_eq!(aaba.plan(8).source(20), None);
    }

    #[test]
    fn derived_plans_find_repeated_and_varied_bars() {
        let on = |m| Event::On(Pitch::new(m).unwrap());
        let a = [on(60), Event::Hold, on(62), on(64)];
        let a_varied = [on(60), Event::Hold, on(62), on(65)];
        let b = [on(67), on(65), Event::Off, Event::Hold];
        let events: Vec<Event> = [&a[..], &b, &a_varied, &a, &b[..2]].concat();
        let plan = Plan::derive(&events, 4);
        // a'(3 of 4 steps like a) takes up bar 0; the second a takes up the nearer equal bar
        // (bar 2 has 3 of 4, bar 0 all 4: the better match wins); the cut bar matches b.
        assert_eq!(plan.sources, vec![None, None, Some(0), Some(0), Some(1)]);
        assert_eq!(Plan::derive(&[], 4).sources, Vec::<Option<u32>>::new());
    }
}
