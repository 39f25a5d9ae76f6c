//! Musical form: which earlier bar each bar of a melody takes up again.
//!
//! A form is written as one letter per section (`AABA`: a section, the same again, something
//! new, the first again). Over a melody of N bars each section is N ÷ sections bars (rounded
//! up; the last section may be cut), and every bar of a section whose letter came before is
//! planned to repeat the bar at the same place in that letter's first section. The model reads
//! the plan as an input — the event at the same place in the planned bar, marked as a repeat or
//! a variation, or "new material" — and plays it.
//!
//! Training derives the same kind of plan from each tune: a bar repeats the nearest earlier bar
//! it equals step for step, else varies the earlier bar it shares most steps with, if at least
//! [`VARIED`] of them; the model learns from those plans how tunes reuse their bars
//! ([`FormModel`]), and an automatic form is drawn from that, as a key is for "any key".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rng::Rng;

pub const MAX_SECTIONS: usize = 16;
/// Share of equal steps from which a bar counts as a variation of an earlier one.
pub const VARIED: f64 = 0.5;

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
                (first < section).then_some(Take { bar: first as u32 * per + offset, exact: true })
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

/// An earlier bar that a bar takes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub bar: u32,
    /// Step for step, or a variation.
    pub exact: bool,
}

/// For each bar, the earlier bar it takes up, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub sources: Vec<Option<Take>>,
}

impl Plan {
    /// The plan a melody's own events (one per step) show (bars of `bar` steps from step 0; a
    /// last bar cut short is compared on the steps it has): a bar repeats the nearest earlier
    /// bar it equals, else varies the one it shares most steps with (the nearer of equals), if
    /// at least [`VARIED`] of its steps.
    pub fn derive<E: PartialEq>(events: &[E], bar: usize) -> Plan {
        let bars: Vec<&[E]> = events.chunks(bar.max(1)).collect();
        let sources = (0..bars.len())
            .map(|b| {
                if let Some(earlier) = (0..b).rev().find(|&e| bars[e].starts_with(bars[b])) {
                    return Some(Take { bar: earlier as u32, exact: true });
                }
                let mut best: Option<(usize, usize)> = None;
                for earlier in (0..b).rev() {
                    let same = bars[b].iter().zip(bars[earlier]).filter(|(x, y)| x == y).count();
                    if best.is_none_or(|(n, _)| same > n) {
                        best = Some((same, earlier));
                    }
                }
                best.filter(|&(same, _)| same as f64 >= VARIED * bars[b].len() as f64)
                    .map(|(_, earlier)| Take { bar: earlier as u32, exact: false })
            })
            .collect();
        Plan { sources }
    }

    /// What `bar` takes up: `None` for new material (and past the plan's end).
    pub fn source(&self, bar: u32) -> Option<Take> {
        self.sources.get(bar as usize).copied().flatten()
    }

    /// The plan as one letter a bar: a new bar gets the next capital, a repeat its source's
    /// letter, a variation that letter in lower case (`ABaC`); `None` past 26 letters.
    pub fn letters(&self) -> Option<String> {
        let mut letters: Vec<u8> = Vec::with_capacity(self.sources.len());
        let mut next = b'A';
        for s in &self.sources {
            let letter = match s {
                Some(t) => {
                    let l = letters.get(t.bar as usize)?.to_ascii_uppercase();
                    if t.exact { l } else { l.to_ascii_lowercase() }
                }
                None if next <= b'Z' => {
                    next += 1;
                    next - 1
                }
                None => return None,
            };
            letters.push(letter);
        }
        String::from_utf8(letters).ok()
    }
}

/// Bars beyond this index share their statistics; repeats reach at most this far back.
const MAX_BAR: usize = 16;

/// How tunes reuse their bars, learned from the plans of the training tunes: for each bar,
/// given its index and what the bar before it did, how often it repeats or varies the bar 1,
/// 2, 3 … bars back, or is new. Bars of up to 8 steps (2/4, 3/8) are counted apart: their
/// phrases span more bars.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormModel {
    /// `"{short|long}/{bar}/{previous}"` → choice → tunes; a choice is 0 for new, d for a
    /// repeat of the bar d back, `MAX_BAR` + d for a variation of it.
    pub counts: BTreeMap<String, BTreeMap<u8, u32>>,
}

impl FormModel {
    fn class(steps_per_bar: u32) -> &'static str {
        if steps_per_bar <= 8 { "short" } else { "long" }
    }

    fn key(class: &str, bar: usize, previous: u8) -> String {
        format!("{class}/{}/{previous}", bar.min(MAX_BAR))
    }

    /// The choice a plan made for `bar` (see `counts`).
    fn choice(plan: &Plan, bar: usize) -> u8 {
        plan.source(bar as u32).map_or(0, |t| {
            let back = (bar - t.bar as usize).min(MAX_BAR) as u8;
            if t.exact { back } else { MAX_BAR as u8 + back }
        })
    }

    /// The take a choice stands for at `bar` (`None`: new material).
    fn take(choice: u8, bar: usize) -> Option<Take> {
        let (back, exact) =
            if choice as usize > MAX_BAR { (choice as usize - MAX_BAR, false) } else { (choice as usize, true) };
        (choice > 0 && back <= bar).then(|| Take { bar: (bar - back) as u32, exact })
    }

    /// Counts `plans`, each with its bar length in steps.
    pub fn learn(plans: impl IntoIterator<Item = (Plan, u32)>) -> FormModel {
        let mut counts: BTreeMap<String, BTreeMap<u8, u32>> = BTreeMap::new();
        for (plan, steps) in plans {
            let class = Self::class(steps);
            for bar in 1..plan.sources.len() {
                let key = Self::key(class, bar, Self::choice(&plan, bar - 1));
                *counts.entry(key).or_default().entry(Self::choice(&plan, bar)).or_default() += 1;
            }
        }
        FormModel { counts }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// A plan of `bars` bars of `steps_per_bar` steps, drawn bar by bar.
    pub fn draw(&self, bars: u32, steps_per_bar: u32, rng: &mut Rng) -> Plan {
        let class = Self::class(steps_per_bar);
        let mut plan = Plan { sources: vec![None] };
        for bar in 1..bars as usize {
            let previous = Self::choice(&plan, bar - 1);
            let options: Vec<(u8, u32)> = self
                .counts
                .get(&Self::key(class, bar, previous))
                .into_iter()
                .flatten()
                .filter(|&(&d, _)| d == 0 || Self::take(d, bar).is_some())
                .map(|(&d, &n)| (d, n))
                .collect();
            let total: u32 = options.iter().map(|(_, n)| n).sum();
            let mut pick = if total > 0 { rng.below(total as usize) as u32 } else { 0 };
            let mut choice = 0;
            for (d, n) in options {
                if pick < n {
                    choice = d;
                    break;
                }
                pick -= n;
            }
            plan.sources.push(Self::take(choice, bar));
        }
        plan.sources.truncate(bars as usize);
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = |bar| Some(Take { bar, exact: true });
        let aaba = Form::parse("AABA").unwrap();
        assert_eq!(aaba.plan(8).sources, vec![None, None, r(0), r(1), None, None, r(0), r(1)]);
        assert_eq!(aaba.plan(8).letters().as_deref(), Some("ABABCDAB"));
        // Six bars: sections of two, the last A cut off.
        assert_eq!(aaba.plan(6).sources, vec![None, None, r(0), r(1), None, None]);
        // Fewer bars than sections: one bar each.
        assert_eq!(Form::parse("ABAC").unwrap().plan(3).sources, vec![None, None, r(0)]);
        assert_eq!(Form::parse("ABBA").unwrap().plan(4).sources, vec![None, None, r(1), r(0)]);
        assert_eq!(aaba.plan(8).source(20), None);
    }

    #[test]
    fn derived_plans_find_repeated_bars() {
        // Events as numbers (a pitch, 1 a hold, 0 a rest): plans compare steps, nothing more.
        let (hold, rest) = (1u8, 0u8);
        let a = [60, hold, 62, 64];
        let a_varied = [60, hold, 62, 65];
        let b = [67, 65, rest, hold];
        let c = [72, 71, 69, 67];
        let events: Vec<u8> = [&a[..], &b, &a_varied, &a, &b, &c, &a[..2]].concat();
        let plan = Plan::derive(&events, 4);
        // a' (3 of 4 steps like a) varies bar 0; a repeat points at the nearest equal bar, c
        // (nothing like it) is new, and the cut bar repeats the nearest bar that starts like it.
        let (r, v) = (|bar| Some(Take { bar, exact: true }), |bar| Some(Take { bar, exact: false }));
        assert_eq!(plan.sources, vec![None, None, v(0), r(0), r(1), None, r(3)]);
        assert_eq!(plan.letters().as_deref(), Some("ABaABCA"));
        assert!(Plan::derive::<u8>(&[], 4).sources.is_empty());
    }

    #[test]
    fn a_form_model_draws_plans_like_those_it_learned() {
        // Tunes of 8 bars: ABAB CDcD (bars 2, 3 repeat 0, 1; 6 varies 4, 7 repeats 5).
        let (r, v) = (|bar| Some(Take { bar, exact: true }), |bar| Some(Take { bar, exact: false }));
        let abab = Plan { sources: vec![None, None, r(0), r(1), None, None, v(4), r(5)] };
        let model = FormModel::learn(std::iter::repeat_n((abab.clone(), 16), 10));
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(serde_json::from_str::<FormModel>(&json).unwrap(), model);
        let mut rng = Rng::new(4);
        assert_eq!(model.draw(8, 16, &mut rng), abab);
        // Longer than anything learned: bars past what was seen are new; shorter: cut.
        assert_eq!(model.draw(3, 16, &mut rng).sources, vec![None, None, r(0)]);
        assert!(model.draw(12, 16, &mut rng).sources[8..].iter().all(Option::is_none));
        // Short bars (2/4) have their own statistics: none here, so all new.
        assert!(model.draw(8, 8, &mut rng).sources.iter().all(Option::is_none));
        assert!(FormModel::default().draw(4, 16, &mut rng).sources.iter().all(Option::is_none));
    }
}
