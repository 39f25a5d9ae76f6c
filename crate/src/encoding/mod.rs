//! The event encoding the models read and write, one event per 16th-note step (the Melody RNN
//! lineage): `Hold` continues whatever sounds (a note or silence), `Off` ends a note, `On(p)`
//! starts pitch `p` (ending any note before it).
//!
//! `conditioning` is what a model is told about a tune (meter, key, style, the place of each
//! step in its bar), `inputs` lays out everything a model reads at each step, and `trained_on`
//! records what a model learned from.

mod conditioning;
mod inputs;
mod trained_on;

pub use conditioning::{Conditioning, StepFeatures, Style};
pub use inputs::{Lookback, Source, StepInputs};
pub use trained_on::TrainedOn;

use crate::melody::{Melody, Note, Pitch, Step};

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
    /// Encodes a primer padded to a whole number of bars, and to at least `min_bars`, so a
    /// continuation starts on a downbeat. Its notes keep their lengths (a person who entered or
    /// kept a quarter note means a quarter note): the padding is a rest.
    pub fn encode_primer(self, melody: &Melody, steps_per_bar: u32, min_bars: u32) -> Vec<Event> {
        let mut events = self.encode(melody);
        let bar = steps_per_bar.max(1);
        let bars = (events.len() as u32).div_ceil(bar).max(min_bars);
        let len = (bars * bar) as usize;
        if events.len() < len {
            events.push(Event::Off);
            events.resize(len, Event::Hold);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Meter, Pitch, Tempo};

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
        let p = Vocab::DEFAULT.encode_primer(&m, 12, 0);
        assert_eq!(p.len(), 12);
        assert_eq!(decode(&p), m.notes(), "the notes keep their lengths; a rest fills the bar");
        assert_eq!(Vocab::DEFAULT.encode_primer(&m, 12, 3).len(), 36, "at least the bars asked for");
        let whole = melody(vec![note(60, 0, 12)]);
        assert_eq!(Vocab::DEFAULT.encode_primer(&whole, 12, 0).len(), 12, "no rest after a full bar");
        assert!(Vocab::DEFAULT.encode_primer(&melody(vec![]), 16, 0).is_empty());
        let rests = Vocab::DEFAULT.encode_primer(&melody(vec![]), 16, 2);
        assert_eq!((rests.len(), decode(&rests)), (32, vec![]), "two bars of rest");
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
        assert_eq!(
            decode(&[Hold, On(p(60)), On(p(60)), Off, Off, On(p(64))]),
            vec![note(60, 1, 1), note(60, 2, 1), note(64, 5, 1)]
        );
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
}
