//! The event encoding the models read and write, one event per 16th-note step (the Melody RNN
//! lineage): `Hold` continues whatever sounds (a note or silence), `Off` ends a note, `On(p)`
//! starts pitch `p` (ending any note before it).
//!
//! Also the per-step conditioning the models see: where the step falls in the bar, the meter, the
//! key and the style of the tune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::melody::{Key, Melody, Meter, Mode, Note, Pitch, PitchClass, Step};
use crate::sample::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Hold,
    Off,
    On(Pitch),
}

/// The pitches a model can play, and the mapping between events and class indices:
/// 0 = hold, 1 = off, 2.. = note-on from `lo` upwards (Magenta's basic_rnn layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vocab {
    lo: Pitch,
    hi: Pitch,
}

impl Vocab {
    /// C3–C6, three octaves plus the top C.
    pub const DEFAULT: Vocab = Vocab { lo: Pitch::from_const(48), hi: Pitch::from_const(84) };

    /// At least one octave, so every pitch class is playable and folding always lands.
    pub fn new(lo: Pitch, hi: Pitch) -> Option<Vocab> {
        (hi.midi() >= lo.midi() + 11).then_some(Vocab { lo, hi })
    }

    pub const fn lo(self) -> Pitch {
        self.lo
    }
    pub const fn hi(self) -> Pitch {
        self.hi
    }

    /// Number of output classes.
    pub const fn size(self) -> usize {
        2 + (self.hi.midi() - self.lo.midi()) as usize + 1
    }

    /// The input symbol before the first step (inputs only; never an output class).
    pub const fn start(self) -> usize {
        self.size()
    }

    pub fn index(self, event: Event) -> usize {
        match event {
            Event::Hold => 0,
            Event::Off => 1,
            Event::On(p) => 2 + (p.fold_into(self.lo, self.hi).midi() - self.lo.midi()) as usize,
        }
    }

    /// `None` for an index outside the vocabulary.
    pub fn event(self, index: usize) -> Option<Event> {
        match index {
            0 => Some(Event::Hold),
            1 => Some(Event::Off),
            i if i < self.size() => Pitch::new(self.lo.midi() as i32 + i as i32 - 2).ok().map(Event::On),
            _ => None,
        }
    }

    /// Transpositions within a tritone either way that keep every note of `melody` in range:
    /// the keys a tune can be moved to when training.
    pub fn fitting_shifts(self, melody: &Melody) -> Vec<i32> {
        let Some((lo, hi)) = melody.span() else { return vec![0] };
        (-6..=5)
            .filter(|s| lo.midi() as i32 + s >= self.lo.midi() as i32 && hi.midi() as i32 + s <= self.hi.midi() as i32)
            .collect()
    }

    /// Encodes a melody; pitches outside the range are moved by octaves into it. Silence before
    /// the first note is written `Off` then `Hold`s, like any other rest.
    pub fn encode(self, melody: &Melody) -> Vec<Event> {
        let mut events = Vec::with_capacity(melody.end().0 as usize);
        for note in melody.notes() {
            if note.onset.0 as usize > events.len() {
                events.push(Event::Off);
                events.resize(note.onset.0 as usize, Event::Hold);
            }
            events.push(Event::On(note.pitch.fold_into(self.lo, self.hi)));
            events.resize(note.end().0 as usize, Event::Hold);
        }
        events
    }
}

impl Vocab {
    /// Encodes a primer padded with holds to a whole number of bars, so a continuation starts on
    /// a downbeat.
    pub fn encode_primer(self, melody: &Melody, steps_per_bar: u32) -> Vec<Event> {
        let mut events = self.encode(melody);
        let bars = (events.len() as u32).div_ceil(steps_per_bar.max(1));
        events.resize((bars * steps_per_bar) as usize, Event::Hold);
        events
    }
}

/// Decodes any event sequence (a model may produce any) into notes. The last note ends with the
/// sequence; `Off` or `Hold` in silence changes nothing.
pub fn decode(events: &[Event]) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut sounding: Option<(Pitch, u32)> = None;
    let mut close = |sounding: &mut Option<(Pitch, u32)>, at: u32| {
        if let Some((pitch, onset)) = sounding.take() {
            notes.push(Note { pitch, onset: Step(onset), duration: Step(at - onset) });
        }
    };
    for (step, event) in events.iter().enumerate() {
        let step = step as u32;
        match *event {
            Event::Hold => {}
            Event::Off => close(&mut sounding, step),
            Event::On(p) => {
                close(&mut sounding, step);
                sounding = Some((p, step));
            }
        }
    }
    close(&mut sounding, events.len() as u32);
    notes
}

/// Which tradition a tune comes from; the model learns each one's idiom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// O'Neill's 1850 and Ryan's Mammoth Collection: jigs, reels, hornpipes.
    Celtic,
    /// The Essen folk song collection.
    Folk,
    /// Soprano lines of Bach's chorales.
    Chorale,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Celtic, Style::Folk, Style::Chorale];

    pub fn name(self) -> &'static str {
        match self {
            Style::Celtic => "celtic",
            Style::Folk => "folk",
            Style::Chorale => "chorale",
        }
    }

    pub fn parse(text: &str) -> Option<Style> {
        Style::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// What the model is told about a tune besides its notes. `None` means "not known": user MIDI
/// files often have no key, and a user may ask for any style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Conditioning {
    pub meter: Meter,
    pub key: Option<Key>,
    pub style: Option<Style>,
}

/// The conditioning of one step as small class indices, one embedding table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepFeatures {
    pub position: u8,
    pub meter: u8,
    pub tonic: u8,
    pub mode: u8,
    pub style: u8,
}

impl StepFeatures {
    /// Sizes of the embedding tables, in field order.
    pub const CARDINALITIES: [usize; 5] = [64, Self::METERS.len() + 1, 13, 8, 4];

    /// Meters with their own embedding; any other meter shares the last index.
    const METERS: [(u8, u8); 12] =
        [(4, 4), (2, 4), (3, 4), (6, 8), (9, 8), (12, 8), (3, 8), (2, 2), (3, 2), (6, 4), (5, 4), (7, 8)];

    pub fn as_array(self) -> [u8; 5] {
        [self.position, self.meter, self.tonic, self.mode, self.style]
    }
}

impl Conditioning {
    /// Features of the step at `step` (counted from a downbeat).
    pub fn at(&self, step: u32) -> StepFeatures {
        let meter = StepFeatures::METERS
            .iter()
            .position(|&(n, d)| n == self.meter.numerator() && d == self.meter.denominator())
            .unwrap_or(StepFeatures::METERS.len()) as u8;
        StepFeatures {
            // Meter validation keeps a bar at most 64 steps long.
            position: (step % self.meter.steps_per_bar()) as u8,
            meter,
            tonic: self.key.map_or(12, |k| k.tonic.index()),
            mode: self.key.map_or(7, |k| Mode::ALL.iter().position(|&m| m == k.mode).unwrap_or(7) as u8),
            style: self.style.map_or(3, |s| Style::ALL.iter().position(|&x| x == s).unwrap_or(3) as u8),
        }
    }

    pub fn transpose(self, semitones: i32) -> Conditioning {
        Conditioning { key: self.key.map(|k| k.transpose(semitones)), ..self }
    }
}

/// What a model was trained on: how many tunes had each style, and within each style each
/// mode ("none" where the label was missing). Saved in the model's JSON spec.
///
/// A user who asks for "any style" or "any key" gets one drawn from this, so the model is
/// always told something it learned: a label it never saw in training (the shipped models
/// always had key and style) would be an untrained input.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrainedOn {
    pub styles: BTreeMap<String, BTreeMap<String, u32>>,
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
        TrainedOn { styles }
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
                if let Some(mode) = draw(&options, rng).and_then(|m| Mode::parse(m)) {
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
    use crate::melody::{Tempo, Pitch};

    fn note(p: i32, on: u32, d: u32) -> Note {
        Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(d) }
    }

    fn melody(notes: Vec<Note>) -> Melody {
        Melody::new(notes, Tempo::default(), Meter::COMMON, None).unwrap()
    }

    #[test]
    fn vocab_layout_matches_basic_rnn() {
        let v = Vocab::DEFAULT;
        assert_eq!(v.size(), 39);
        assert_eq!(v.index(Event::Hold), 0);
        assert_eq!(v.index(Event::Off), 1);
        assert_eq!(v.index(Event::On(Pitch::new(48).unwrap())), 2);
        assert_eq!(v.index(Event::On(Pitch::new(84).unwrap())), 38);
        for i in 0..v.size() {
            assert_eq!(v.index(v.event(i).unwrap()), i);
        }
        assert_eq!(v.event(39), None);
        assert!(Vocab::new(Pitch::new(60).unwrap(), Pitch::new(70).unwrap()).is_none());
    }

    #[test]
    fn round_trip_is_exact() {
        let m = melody(vec![note(60, 2, 3), note(62, 5, 1), note(62, 6, 2), note(84, 12, 4), note(48, 16, 1)]);
        let events = Vocab::DEFAULT.encode(&m);
        assert_eq!(events.len(), 17);
        assert_eq!(events[0], Event::Off);
        assert_eq!(events[2], Event::On(Pitch::new(60).unwrap()));
        assert_eq!(events[8], Event::Off);
        assert_eq!(decode(&events), m.notes());
    }

    #[test]
    fn primers_end_on_a_bar_line() {
        let m = melody(vec![note(60, 0, 4), note(62, 4, 3)]);
        let p = Vocab::DEFAULT.encode_primer(&m, 12);
        assert_eq!(p.len(), 12);
        assert_eq!(decode(&p), vec![note(60, 0, 4), note(62, 4, 8)]);
        assert!(Vocab::DEFAULT.encode_primer(&melody(vec![]), 16).is_empty());
    }

    #[test]
    fn out_of_range_pitches_are_folded_not_rejected() {
        let m = melody(vec![note(30, 0, 2), note(100, 2, 2)]);
        let notes = decode(&Vocab::DEFAULT.encode(&m));
        assert_eq!(notes, vec![note(54, 0, 2), note(76, 2, 2)]);
    }

    #[test]
    fn decode_accepts_any_sequence() {
        use Event::*;
        let p = |m| Pitch::new(m).unwrap();
        assert_eq!(decode(&[]), vec![]);
        assert_eq!(decode(&[Hold, Off, Hold]), vec![]);
        assert_eq!(decode(&[Hold, On(p(60)), On(p(60)), Off, Off, On(p(64))]), vec![
            note(60, 1, 1),
            note(60, 2, 1),
            note(64, 5, 1)
        ]);
    }

    #[test]
    fn every_event_sequence_round_trips_through_notes() {
        // Exhaustive over short sequences of a small alphabet: decode ∘ encode ∘ decode = decode.
        use Event::*;
        let alphabet = [Hold, Off, On(Pitch::new(60).unwrap()), On(Pitch::new(67).unwrap())];
        for n in 0..6u32 {
            for code in 0..4usize.pow(n) {
                let seq: Vec<Event> = (0..n).map(|i| alphabet[code / 4usize.pow(i) % 4]).collect();
                let notes = decode(&seq);
                let again = decode(&Vocab::DEFAULT.encode(&melody(notes.clone())));
                assert_eq!(again, notes, "{seq:?}");
            }
        }
    }

    #[test]
    fn conditioning_features() {
        let c = Conditioning {
            meter: Meter::parse("6/8").unwrap(),
            key: Some(Key::parse("D dorian").unwrap()),
            style: Some(Style::Celtic),
        };
        let f = c.at(13);
        assert_eq!(f, StepFeatures { position: 1, meter: 3, tonic: 2, mode: 2, style: 0 });
        let unknown = Conditioning { meter: Meter::parse("11/16").unwrap(), key: None, style: None }.at(0);
        assert_eq!(unknown, StepFeatures { position: 0, meter: 12, tonic: 12, mode: 7, style: 3 });
        for (i, &card) in StepFeatures::CARDINALITIES.iter().enumerate() {
            assert!((f.as_array()[i] as usize) < card && (unknown.as_array()[i] as usize) < card);
        }
        assert_eq!(c.transpose(3).key.unwrap().to_string(), "F dorian");
    }

    fn trained() -> TrainedOn {
        let c = |style, key: &str| Conditioning { meter: Meter::COMMON, key: Some(Key::parse(key).unwrap()), style: Some(style) };
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
