//! What a model was trained on, recorded in its spec: "any" key or style draws from it, and
//! a melody whose labels or bar grid are missing is read with its help.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Conditioning, Style};
use crate::form::FormModel;
use crate::melody::{Key, Mode, PitchClass};
use crate::rng::Rng;
use crate::theory::meter::RhythmModel;

/// What a model was trained on: how many tunes had each style, and within each style each
/// mode ("none" where the label was missing). Saved in the model's JSON spec.
///
/// A user who asks for "any style" or "any key" gets one drawn from this, so the model is
/// always told something it learned: a label it never saw in training (the shipped models
/// always had key and style) would be an untrained input.
///
/// It also holds the rhythm statistics of the training tunes, which find the bar grid of a
/// melody that arrives without a trustworthy one (`theory::meter`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrainedOn {
    pub styles: BTreeMap<String, BTreeMap<String, u32>>,
    #[serde(default, skip_serializing_if = "RhythmModel::is_empty")]
    pub rhythm: RhythmModel,
    /// How the training tunes reuse their bars: what an automatic form is drawn from.
    #[serde(default, skip_serializing_if = "FormModel::is_empty")]
    pub form: FormModel,
}

const NONE: &str = "none";

impl TrainedOn {
    pub fn count<'a>(conditionings: impl IntoIterator<Item = &'a Conditioning>) -> TrainedOn {
        let mut styles: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for c in conditionings {
            let style = c.style.map_or(NONE, Style::name).to_string();
            let mode = c.key.map_or(NONE, |k| k.mode.name()).to_string();
            *styles.entry(style).or_default().entry(mode).or_default() += 1;
        }
        TrainedOn { styles, rhythm: RhythmModel::default(), form: FormModel::default() }
    }

    /// Reads the `trained_on` field of a model's JSON spec; a spec without one (a model from
    /// before it existed) gives an empty record, and "any" stays unknown.
    pub fn from_spec_json(json: &str) -> Result<TrainedOn, String> {
        #[derive(Deserialize)]
        struct Field {
            #[serde(default)]
            trained_on: TrainedOn,
        }
        serde_json::from_str::<Field>(json).map(|f| f.trained_on).map_err(|e| e.to_string())
    }

    fn tunes(modes: &BTreeMap<String, u32>) -> u32 {
        modes.values().sum()
    }

    /// Fills what `c` leaves open, drawing from the training distribution: a style in
    /// proportion to its tunes (given the mode, if a key was asked for), then a mode in
    /// proportion to that style's tunes, on a tonic drawn uniformly (training moved every
    /// tune to a random key). Deterministic for a given `rng`.
    pub fn resolve(&self, mut c: Conditioning, rng: &mut Rng) -> Conditioning {
        if self.styles.is_empty() {
            return c;
        }
        if c.style.is_none() {
            let weight = |modes: &BTreeMap<String, u32>| match c.key {
                Some(k) => modes.get(k.mode.name()).copied().unwrap_or(0),
                None => Self::tunes(modes),
            };
            let mut options: Vec<(&String, u32)> = self.styles.iter().map(|(s, m)| (s, weight(m))).collect();
            if options.iter().all(|(_, w)| *w == 0) {
                options = self.styles.iter().map(|(s, m)| (s, Self::tunes(m))).collect();
            }
            c.style = draw(&options, rng).and_then(Style::parse);
        }
        if c.key.is_none() {
            let style = c.style.map_or(NONE, Style::name);
            if let Some(modes) = self.styles.get(style) {
                let options: Vec<(&String, u32)> = modes.iter().map(|(m, n)| (m, *n)).collect();
                if let Some(mode) = draw(&options, rng).and_then(Mode::parse) {
                    let tonic = PitchClass::new(rng.below(12) as u8);
                    c.key = Some(Key { tonic, mode });
                }
            }
        }
        c
    }

    /// For scoring a melody whose labels are missing: the styles to try, with their prior
    /// weights, when the model never learned "no style" (else just that); and whether the key
    /// must be estimated because the model never learned "no key".
    pub fn unknown_style_candidates(&self) -> Vec<(Option<Style>, f64)> {
        let total: u32 = self.styles.values().map(Self::tunes).sum();
        if self.styles.is_empty() || self.styles.contains_key(NONE) || total == 0 {
            return vec![(None, 1.0)];
        }
        self.styles
            .iter()
            .filter_map(|(s, m)| Some((Some(Style::parse(s)?), Self::tunes(m) as f64 / total as f64)))
            .collect()
    }

    pub fn learned_unknown_key(&self) -> bool {
        self.styles.is_empty() || self.styles.values().any(|m| m.contains_key(NONE))
    }
}

/// Draws one name in proportion to its weight; `None` if all weights are 0.
fn draw<'a>(options: &[(&'a String, u32)], rng: &mut Rng) -> Option<&'a str> {
    let total: u32 = options.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.below(total as usize) as u32;
    for (name, w) in options {
        if pick < *w {
            return Some(name.as_str());
        }
        pick -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::Meter;

    fn trained() -> TrainedOn {
        let c = |style, key: &str| Conditioning {
            meter: Meter::COMMON,
            key: Some(Key::parse(key).unwrap()),
            style: Some(style),
        };
        let mut all = vec![c(Style::Chorale, "G major"); 30];
        all.extend(vec![c(Style::Chorale, "A minor"); 10]);
        all.extend(vec![c(Style::Celtic, "D dorian"); 60]);
        TrainedOn::count(&all)
    }

    #[test]
    fn any_becomes_what_the_model_was_trained_on() {
        let t = trained();
        assert_eq!(t.styles["chorale"]["major"], 30);
        let json = serde_json::to_string(&serde_json::json!({ "arch": "lstm", "trained_on": t })).unwrap();
        assert_eq!(TrainedOn::from_spec_json(&json).unwrap(), t);
        assert_eq!(TrainedOn::from_spec_json(r#"{"arch": "lstm"}"#).unwrap(), TrainedOn::default());

        let mut rng = Rng::new(1);
        let (mut celtic, mut minor, mut tonics) = (0, 0, [0; 12]);
        for _ in 0..2000 {
            let c = t.resolve(Conditioning::default(), &mut rng);
            let (style, key) = (c.style.unwrap(), c.key.unwrap());
            // Only pairs seen in training: Celtic tunes were all dorian.
            assert!(style == Style::Chorale || key.mode == Mode::Dorian, "{style:?} {key}");
            celtic += (style == Style::Celtic) as usize;
            minor += (key.mode == Mode::Minor) as usize;
            tonics[key.tonic.index() as usize] += 1;
        }
        assert!((1100..1300).contains(&celtic), "{celtic}");
        assert!((120..280).contains(&minor), "{minor}");
        assert!(tonics.iter().all(|&n| (110..230).contains(&n)), "{tonics:?}");
        // A key asked for picks a style that had that mode; what was asked for is kept.
        let asked = Conditioning { key: Some(Key::parse("E minor").unwrap()), ..Conditioning::default() };
        let c = t.resolve(asked, &mut rng);
        assert_eq!((c.style, c.key), (Some(Style::Chorale), asked.key));
        let fixed = Conditioning { style: Some(Style::Celtic), ..Conditioning::default() };
        assert_eq!(t.resolve(fixed, &mut rng).key.unwrap().mode, Mode::Dorian);
        // Nothing recorded: nothing drawn.
        assert_eq!(TrainedOn::default().resolve(Conditioning::default(), &mut rng), Conditioning::default());
    }

    #[test]
    fn scoring_unlabelled_melodies_uses_only_learned_inputs() {
        let t = trained();
        assert!(!t.learned_unknown_key());
        let styles = t.unknown_style_candidates();
        assert_eq!(styles, vec![(Some(Style::Celtic), 0.6), (Some(Style::Chorale), 0.4)]);
        // A model trained on MIDI files without labels learned "unknown" itself.
        let unlabelled = TrainedOn::count(&[Conditioning::default()]);
        assert!(unlabelled.learned_unknown_key());
        assert_eq!(unlabelled.unknown_style_candidates(), vec![(None, 1.0)]);
        let mut rng = Rng::new(3);
        assert_eq!(unlabelled.resolve(Conditioning::default(), &mut rng), Conditioning::default());
    }
}
