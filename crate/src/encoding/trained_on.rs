//! What a model was trained on, recorded in its spec: "any" key or style draws from it, and
//! a melody whose labels or bar grid are missing is read with its help.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Conditioning, Style};
use crate::form::FormModel;
use crate::melody::{Key, Meter, Mode, PitchClass};
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
    /// Tunes per style and meter (`"6/8"`): "any meter" draws from it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meters: BTreeMap<String, BTreeMap<String, u32>>,
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
        let mut meters: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for c in conditionings {
            let style = c.style.map_or(NONE, Style::name).to_string();
            let mode = c.key.map_or(NONE, |k| k.mode.name()).to_string();
            *styles.entry(style.clone()).or_default().entry(mode).or_default() += 1;
            *meters.entry(style).or_default().entry(c.meter.to_string()).or_default() += 1;
        }
        TrainedOn { styles, meters, rhythm: RhythmModel::default(), form: FormModel::default() }
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

    /// The conditioning of a melody, with what was not asked for drawn from the training
    /// distribution: a style in proportion to its tunes (weighted by how often it had the asked
    /// mode and the asked meter), then a meter and a mode in proportion to that style's tunes,
    /// on a tonic drawn uniformly (training moved every tune to a random key). A model without a
    /// record of meters gets 4/4. Deterministic for a given `rng`.
    pub fn resolve(&self, meter: Option<Meter>, key: Option<Key>, style: Option<Style>, rng: &mut Rng) -> Conditioning {
        let mut c = Conditioning { meter: meter.unwrap_or(Meter::COMMON), key, style };
        if self.styles.is_empty() {
            return c;
        }
        let share = |table: &BTreeMap<String, BTreeMap<String, u32>>, style: &str, name: &str| -> f64 {
            let Some(counts) = table.get(style) else { return 0.0 };
            let total = Self::tunes(counts);
            if total == 0 { 0.0 } else { counts.get(name).copied().unwrap_or(0) as f64 / total as f64 }
        };
        if c.style.is_none() {
            let weight = |s: &str, modes: &BTreeMap<String, u32>| {
                let mut w = Self::tunes(modes) as f64;
                if let Some(k) = key {
                    w *= share(&self.styles, s, k.mode.name());
                }
                if let (Some(m), false) = (meter, self.meters.is_empty()) {
                    w *= share(&self.meters, s, &m.to_string());
                }
                w
            };
            let mut options: Vec<(&String, f64)> = self.styles.iter().map(|(s, m)| (s, weight(s, m))).collect();
            if options.iter().all(|(_, w)| *w == 0.0) {
                options = self.styles.iter().map(|(s, m)| (s, Self::tunes(m) as f64)).collect();
            }
            c.style = draw(&options, rng).and_then(Style::parse);
        }
        let style = c.style.map_or(NONE, Style::name);
        if meter.is_none()
            && let Some(meters) = self.meters.get(style)
        {
            let options: Vec<(&String, f64)> = meters.iter().map(|(m, n)| (m, *n as f64)).collect();
            if let Some(m) = draw(&options, rng).and_then(|m| Meter::parse(m).ok()) {
                c.meter = m;
            }
        }
        if c.key.is_none()
            && let Some(modes) = self.styles.get(style)
        {
            let options: Vec<(&String, f64)> = modes.iter().map(|(m, n)| (m, *n as f64)).collect();
            if let Some(mode) = draw(&options, rng).and_then(Mode::parse) {
                let tonic = PitchClass::new(rng.below(12) as u8);
                c.key = Some(Key { tonic, mode });
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
fn draw<'a>(options: &[(&'a String, f64)], rng: &mut Rng) -> Option<&'a str> {
    let total: f64 = options.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let mut pick = rng.unit() * total;
    for (name, w) in options {
        if pick < *w {
            return Some(name.as_str());
        }
        pick -= w;
    }
    options.iter().rev().find(|(_, w)| *w > 0.0).map(|(name, _)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained() -> TrainedOn {
        let c = |style, key: &str, meter: &str| Conditioning {
            meter: Meter::parse(meter).unwrap(),
            key: Some(Key::parse(key).unwrap()),
            style: Some(style),
        };
        let mut all = vec![c(Style::Chorale, "G major", "4/4"); 30];
        all.extend(vec![c(Style::Chorale, "A minor", "4/4"); 10]);
        all.extend(vec![c(Style::Celtic, "D dorian", "6/8"); 40]);
        all.extend(vec![c(Style::Celtic, "D dorian", "4/4"); 20]);
        TrainedOn::count(&all)
    }

    #[test]
    fn any_becomes_what_the_model_was_trained_on() {
        let t = trained();
        assert_eq!(t.styles["chorale"]["major"], 30);
        assert_eq!(t.meters["celtic"]["6/8"], 40);
        let json = serde_json::to_string(&serde_json::json!({ "arch": "lstm", "trained_on": t })).unwrap();
        assert_eq!(TrainedOn::from_spec_json(&json).unwrap(), t);
        assert_eq!(TrainedOn::from_spec_json(r#"{"arch": "lstm"}"#).unwrap(), TrainedOn::default());

        let mut rng = Rng::new(1);
        let (mut celtic, mut minor, mut jigs, mut tonics) = (0, 0, 0, [0; 12]);
        for _ in 0..2000 {
            let c = t.resolve(None, None, None, &mut rng);
            let (style, key) = (c.style.unwrap(), c.key.unwrap());
            // Only combinations seen in training: Celtic tunes were all dorian, chorales 4/4.
            assert!(style == Style::Chorale || key.mode == Mode::Dorian, "{style:?} {key}");
            assert!(style == Style::Celtic || c.meter == Meter::COMMON, "{style:?} {}", c.meter);
            celtic += (style == Style::Celtic) as usize;
            minor += (key.mode == Mode::Minor) as usize;
            jigs += (c.meter.to_string() == "6/8") as usize;
            tonics[key.tonic.index() as usize] += 1;
        }
        assert!((1100..1300).contains(&celtic), "{celtic}");
        assert!((120..280).contains(&minor), "{minor}");
        assert!((700..900).contains(&jigs), "{jigs}");
        assert!(tonics.iter().all(|&n| (110..230).contains(&n)), "{tonics:?}");
        // A key or a meter asked for picks a style that had it; what was asked for is kept.
        let e_minor = Key::parse("E minor").unwrap();
        let c = t.resolve(None, Some(e_minor), None, &mut rng);
        assert_eq!((c.style, c.key), (Some(Style::Chorale), Some(e_minor)));
        let jig = Meter::parse("6/8").unwrap();
        for _ in 0..20 {
            assert_eq!(t.resolve(Some(jig), None, None, &mut rng).style, Some(Style::Celtic));
        }
        assert_eq!(t.resolve(None, None, Some(Style::Celtic), &mut rng).key.unwrap().mode, Mode::Dorian);
        // Nothing recorded: nothing drawn, and 4/4.
        assert_eq!(TrainedOn::default().resolve(None, None, None, &mut rng), Conditioning::default());
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
        assert_eq!(unlabelled.resolve(Some(Meter::COMMON), None, None, &mut rng), Conditioning::default());
    }
}
