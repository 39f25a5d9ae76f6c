//! Standard MIDI files in and out, through midly.
//!
//! Export writes one track a player, a DAW or a notation program reads as the melody it is:
//! tempo, meter, key signature, instrument, notes with real note-offs. Import takes the melody
//! line of any file: the highest note sounding at each time (the "skyline"), drums left out,
//! quantised to 16ths.

use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use thiserror::Error;

use crate::melody::{Key, Melody, MelodyError, Meter, Note, Pitch, Step, Tempo};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MidiError {
    #[error("not a readable MIDI file: {0}")]
    Parse(String),
    #[error("the MIDI file is {0} bytes; at most {max} are read", max = MAX_FILE_BYTES)]
    TooBig(usize),
    #[error("the MIDI file has no notes")]
    NoNotes,
    #[error("the MIDI file has only drum notes (channel 10): there is no melody to take")]
    DrumsOnly,
    #[error("the MIDI file's timing is unusable: {0}")]
    Timing(&'static str),
    #[error(transparent)]
    Melody(#[from] MelodyError),
}

/// The largest file read: a melody's MIDI file is kilobytes; whole orchestral scores stay under
/// a megabyte or two. Checked before parsing, and by the page before the bytes enter the wasm.
pub const MAX_FILE_BYTES: usize = 16 << 20;

const TICKS_PER_QUARTER: u16 = 480;
const TICKS_PER_STEP: u32 = TICKS_PER_QUARTER as u32 / Step::PER_QUARTER;
const CHANNEL: u8 = 0;
const DRUM_CHANNEL: u8 = 9;
const VELOCITY: u8 = 90;
/// General MIDI 74, flute: a plain, sustained voice like the page's synth.
pub const PROGRAM: u8 = 73;
/// A text event naming the key with its mode, which a key signature alone cannot say.
const KEY_TEXT_PREFIX: &str = "tunesmith key: ";

/// Writes the melody as a format-0 standard MIDI file.
pub fn export(melody: &Melody) -> Vec<u8> {
    let meta = |m| TrackEventKind::Meta(m);
    let midi = |message| TrackEventKind::Midi { channel: u4::new(CHANNEL), message };
    let mut timed: Vec<(u32, TrackEventKind)> = vec![
        (0, meta(MetaMessage::TrackName(b"tunesmith melody"))),
        (0, meta(MetaMessage::Tempo(u24::new(melody.tempo.micros_per_quarter().min(0xFF_FFFF))))),
        (
            0,
            meta(MetaMessage::TimeSignature(
                melody.meter.numerator(),
                melody.meter.denominator().trailing_zeros() as u8,
                24,
                8,
            )),
        ),
    ];
    let key_text = melody.key.map(|k| format!("{KEY_TEXT_PREFIX}{k}"));
    if let (Some(key), Some(text)) = (melody.key, &key_text) {
        let minor = key.mode == crate::melody::Mode::Minor;
        timed.push((0, meta(MetaMessage::KeySignature(key.fifths(), minor))));
        timed.push((0, meta(MetaMessage::Text(text.as_bytes()))));
    }
    timed.push((0, midi(MidiMessage::ProgramChange { program: u7::new(PROGRAM) })));
    for note in melody.notes() {
        let key = u7::new(note.pitch.midi());
        timed.push((note.onset.0 * TICKS_PER_STEP, midi(MidiMessage::NoteOn { key, vel: u7::new(VELOCITY) })));
        timed.push((note.end().0 * TICKS_PER_STEP, midi(MidiMessage::NoteOff { key, vel: u7::new(64) })));
    }
    let end = melody.end().0 * TICKS_PER_STEP;
    timed.push((end, meta(MetaMessage::EndOfTrack)));

    // Notes never overlap, so the list is already in time order with each note-off before the
    // next note-on at the same tick.
    let mut last = 0;
    let track: Vec<TrackEvent> = timed
        .into_iter()
        .map(|(tick, kind)| {
            let delta = u28::new(tick - last);
            last = tick;
            TrackEvent { delta, kind }
        })
        .collect();
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(TICKS_PER_QUARTER))),
        tracks: vec![track],
    };
    let mut out = Vec::new();
    smf.write(&mut out).expect("writing to a Vec cannot fail");
    out
}

/// A note as found in the file, in ticks.
struct RawNote {
    pitch: u8,
    on: u64,
    off: u64,
}

/// Reads the melody line of a MIDI file.
pub fn import(bytes: &[u8]) -> Result<Melody, MidiError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(MidiError::TooBig(bytes.len()));
    }
    // midly's `strict` feature rejects damage it would otherwise read past: a file cut short
    // would read as a shorter melody without a word.
    let smf = Smf::parse(bytes).map_err(|e| match e.kind() {
        midly::ErrorKind::Malformed(what) => MidiError::Parse(format!("the file is damaged or cut short ({what})")),
        midly::ErrorKind::Invalid(what) => MidiError::Parse(what.to_string()),
    })?;

    let mut tempo: Option<(u64, u32)> = None;
    let mut meter: Option<(u64, (u8, u8))> = None;
    let mut signature: Option<(u64, Key)> = None;
    let mut named_key: Option<Key> = None;
    let mut notes = Vec::new();
    let mut drum_notes = 0usize;

    for track in &smf.tracks {
        let mut tick = 0u64;
        // Sounding notes per (channel, key): the tick they started at.
        let mut sounding: Vec<Option<u64>> = vec![None; 16 * 128];
        for event in track {
            tick += event.delta.as_int() as u64;
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    let (key, on) = match message {
                        MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int() > 0),
                        MidiMessage::NoteOff { key, .. } => (key.as_int(), false),
                        _ => continue,
                    };
                    if channel == DRUM_CHANNEL {
                        drum_notes += on as usize;
                        continue;
                    }
                    let slot = &mut sounding[channel as usize * 128 + key as usize];
                    // A repeated note-on restarts the note: end the one that was sounding.
                    if let Some(start) = slot.take() {
                        notes.push(RawNote { pitch: key, on: start, off: tick });
                    }
                    if on {
                        *slot = Some(tick);
                    }
                }
                TrackEventKind::Meta(m) => match m {
                    MetaMessage::Tempo(t) if earlier(tick, &tempo) => tempo = Some((tick, t.as_int())),
                    MetaMessage::TimeSignature(n, d, ..) if earlier(tick, &meter) => {
                        meter = Some((tick, (n, 1u8.checked_shl(d as u32).unwrap_or(0))))
                    }
                    MetaMessage::KeySignature(f, minor) if earlier(tick, &signature) => {
                        signature = Some((tick, Key::from_signature(f.clamp(-7, 7), minor)))
                    }
                    MetaMessage::Text(t) => {
                        if let Some(k) = std::str::from_utf8(t)
                            .ok()
                            .and_then(|s| s.strip_prefix(KEY_TEXT_PREFIX))
                            .and_then(|s| Key::parse(s).ok())
                        {
                            named_key = Some(k);
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        // A note still sounding when its track ends lasts to the end.
        for (slot, start) in sounding.iter().enumerate() {
            if let Some(start) = *start {
                notes.push(RawNote { pitch: (slot % 128) as u8, on: start, off: tick });
            }
        }
    }
    if notes.is_empty() {
        return Err(if drum_notes > 0 { MidiError::DrumsOnly } else { MidiError::NoNotes });
    }

    let tempo = tempo.map_or_else(Tempo::default, |(_, t)| Tempo::from_micros_per_quarter(t));
    let to_steps = step_converter(smf.header.timing, tempo)?;
    let meter = meter.and_then(|(_, (n, d))| Meter::new(n, d).ok()).unwrap_or_default();
    let signature = signature.map(|(_, k)| k);
    // The named key wins only if it agrees with the signature (the file may have been edited).
    let key = match (named_key, signature) {
        (Some(named), Some(sig)) if named.fifths() == sig.fifths() => Some(named),
        (_, sig) => sig,
    };
    let line = skyline(notes, to_steps)?;
    Ok(Melody::new(line, tempo, meter, key)?)
}

/// The meter a file states, where it counts for more than the notes' rhythm: any but 4/4, which
/// most MIDI writers put in every file whatever it holds (and which a file without one gets).
pub fn stated_meter(melody: &Melody) -> Option<Meter> {
    (melody.meter != Meter::COMMON).then_some(melody.meter)
}

/// Whether an event at `tick` comes before the one seen so far (the first of each kind wins).
fn earlier<T>(tick: u64, seen: &Option<(u64, T)>) -> bool {
    seen.as_ref().is_none_or(|(t, _)| tick < *t)
}

/// Tick → 16th-step conversion, rounding to the nearest step.
fn step_converter(timing: Timing, tempo: Tempo) -> Result<impl Fn(u64) -> u64, MidiError> {
    let steps_per_tick = match timing {
        Timing::Metrical(tpq) => {
            let tpq = tpq.as_int();
            if tpq == 0 {
                return Err(MidiError::Timing("zero ticks per quarter note"));
            }
            Step::PER_QUARTER as f64 / tpq as f64
        }
        Timing::Timecode(fps, sub) => {
            if sub == 0 {
                return Err(MidiError::Timing("zero subframes per frame"));
            }
            let seconds_per_tick = 1.0 / (fps.as_f32() as f64 * sub as f64);
            seconds_per_tick / tempo.seconds_per_step()
        }
    };
    Ok(move |tick: u64| (tick as f64 * steps_per_tick).round() as u64)
}

/// The highest voice: at every moment, the highest note sounding. A melody note starts where
/// that pitch changes or is struck again, so a lower note that outlasts the one above it is
/// heard again from where the upper one ends.
fn skyline(notes: Vec<RawNote>, to_steps: impl Fn(u64) -> u64) -> Result<Vec<Note>, MidiError> {
    // (time, pitch, starts): ends sort before starts at the same time, so a note struck again
    // on the step its previous one ends is a new note.
    let mut edges: Vec<(u64, u8, bool)> = Vec::with_capacity(notes.len() * 2);
    for n in &notes {
        let onset = to_steps(n.on);
        // A note shorter than half a step still sounds: it gets one step.
        let end = to_steps(n.off).max(onset + 1);
        edges.push((onset, n.pitch, true));
        edges.push((end, n.pitch, false));
    }
    edges.sort_unstable();

    let limit = Melody::MAX_STEPS as u64;
    let mut sounding = [0u32; 128];
    let mut line: Vec<Note> = Vec::new();
    // The melody note being drawn: pitch and onset.
    let mut current: Option<(u8, u64)> = None;
    let mut i = 0;
    while i < edges.len() {
        let time = edges[i].0;
        let mut struck = [false; 128];
        while i < edges.len() && edges[i].0 == time {
            let (_, pitch, starts) = edges[i];
            if starts {
                sounding[pitch as usize] += 1;
                struck[pitch as usize] = true;
            } else {
                sounding[pitch as usize] -= 1;
            }
            i += 1;
        }
        let top = (0..128u8).rev().find(|&p| sounding[p as usize] > 0);
        let unchanged = matches!((current, top), (Some((c, _)), Some(t)) if c == t && !struck[t as usize]);
        if unchanged {
            continue;
        }
        let too_long = || MidiError::from(MelodyError::TooLong(time));
        if let Some((pitch, onset)) = current.take() {
            if time > limit {
                return Err(too_long());
            }
            line.push(to_note(pitch, onset, time)?);
        }
        if let Some(pitch) = top {
            if time >= limit {
                return Err(too_long());
            }
            current = Some((pitch, time));
        }
    }
    // Every start has its end, so the last edge closed the last note.
    debug_assert!(current.is_none());
    Ok(line)
}

fn to_note(pitch: u8, onset: u64, end: u64) -> Result<Note, MidiError> {
    Ok(Note { pitch: Pitch::new(pitch as i32)?, onset: Step(onset as u32), duration: Step((end - onset) as u32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_the_limit_is_refused_before_parsing() {
        let bytes = vec![0u8; MAX_FILE_BYTES + 1];
        let err = import(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the MIDI file is {} bytes; at most {MAX_FILE_BYTES} are read", MAX_FILE_BYTES + 1)
        );
    }

    fn note(p: i32, on: u32, d: u32) -> Note {
        Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(d) }
    }

    fn write(tracks: Vec<Vec<(u32, TrackEventKind<'static>)>>, tpq: u16) -> Vec<u8> {
        let tracks = tracks
            .into_iter()
            .map(|events| {
                let mut last = 0;
                let mut t: Vec<TrackEvent> = events
                    .into_iter()
                    .map(|(tick, kind)| {
                        let e = TrackEvent { delta: u28::new(tick - last), kind };
                        last = tick;
                        e
                    })
                    .collect();
                t.push(TrackEvent { delta: u28::new(0), kind: TrackEventKind::Meta(MetaMessage::EndOfTrack) });
                t
            })
            .collect();
        let smf = Smf { header: Header::new(Format::Parallel, Timing::Metrical(u15::new(tpq))), tracks };
        let mut out = Vec::new();
        smf.write(&mut out).unwrap();
        out
    }

    fn on(ch: u8, key: u8, tick: u32) -> (u32, TrackEventKind<'static>) {
        let message = MidiMessage::NoteOn { key: u7::new(key), vel: u7::new(100) };
        (tick, TrackEventKind::Midi { channel: u4::new(ch), message })
    }
    fn off(ch: u8, key: u8, tick: u32) -> (u32, TrackEventKind<'static>) {
        // Running-status style note-off: note-on with velocity 0.
        let message = MidiMessage::NoteOn { key: u7::new(key), vel: u7::new(0) };
        (tick, TrackEventKind::Midi { channel: u4::new(ch), message })
    }

    #[test]
    fn written_file_reads_back_identically() {
        for key in ["G major", "E minor", "D dorian", "Bb mixolydian"] {
            let melody = Melody::new(
                vec![
                    note(67, 3, 1),
                    note(60, 4, 4),
                    note(62, 8, 2),
                    note(62, 12, 6),
                    note(30, 20, 1),
                    note(100, 30, 2),
                ],
                Tempo::from_bpm(97.0).unwrap(),
                Meter::parse("6/8").unwrap(),
                Some(Key::parse(key).unwrap()),
            )
            .unwrap();
            let bytes = export(&melody);
            assert_eq!(import(&bytes).unwrap(), melody, "{key}");
        }
        let keyless = Melody::new(vec![note(60, 0, 1)], Tempo::default(), Meter::COMMON, None).unwrap();
        assert_eq!(import(&export(&keyless)).unwrap(), keyless);
    }

    #[test]
    fn export_is_a_valid_file_with_meta_events_and_note_offs() {
        let melody = Melody::new(
            vec![note(60, 0, 4), note(60, 4, 4)],
            Tempo::from_bpm(120.0).unwrap(),
            Meter::COMMON,
            Some(Key::parse("F major").unwrap()),
        )
        .unwrap();
        let bytes = export(&melody);
        let smf = Smf::parse(&bytes).unwrap();
        assert_eq!(smf.header.format, Format::SingleTrack);
        let kinds: Vec<_> = smf.tracks[0].iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&TrackEventKind::Meta(MetaMessage::Tempo(u24::new(500_000)))));
        assert!(kinds.contains(&TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8))));
        assert!(kinds.contains(&TrackEventKind::Meta(MetaMessage::KeySignature(-1, false))));
        let program = TrackEventKind::Midi {
            channel: u4::new(0),
            message: MidiMessage::ProgramChange { program: u7::new(PROGRAM) },
        };
        assert!(kinds.contains(&program));
        let offs = kinds
            .iter()
            .filter(|k| matches!(k, TrackEventKind::Midi { message: MidiMessage::NoteOff { .. }, .. }))
            .count();
        assert_eq!(offs, 2);
        // The repeated C: its first note-off comes before the second note-on at tick 960.
        let events: Vec<_> = smf.tracks[0].iter().collect();
        let i_off = events
            .iter()
            .position(|e| matches!(e.kind, TrackEventKind::Midi { message: MidiMessage::NoteOff { .. }, .. }))
            .unwrap();
        assert!(matches!(events[i_off + 1].kind, TrackEventKind::Midi { message: MidiMessage::NoteOn { .. }, .. }));
        assert_eq!(events[i_off + 1].delta.as_int(), 0);
        assert_eq!(*kinds.last().unwrap(), TrackEventKind::Meta(MetaMessage::EndOfTrack));
    }

    #[test]
    fn polyphonic_file_gives_its_top_line() {
        // tpq 96 → 24 ticks a step. Track 1 melody (C5 D5), track 2 chords under it, plus drums.
        let bytes = write(
            vec![
                vec![on(0, 72, 0), off(0, 72, 96), on(0, 74, 96), off(0, 74, 192)],
                vec![
                    on(1, 48, 0),
                    on(1, 64, 0),
                    off(1, 64, 48),
                    on(1, 67, 48), // under the sounding C5: hidden
                    off(1, 67, 96),
                    off(1, 48, 240), // outlasts the melody: the top line once D5 ends
                    on(1, 50, 240),  // above C3 from its onset
                    off(1, 50, 264),
                    on(1, 55, 288), // struck twice in a row: two notes
                    off(1, 55, 312),
                    on(1, 55, 312),
                    off(1, 55, 336),
                ],
                vec![on(9, 36, 0), off(9, 36, 10), on(9, 99, 200), off(9, 99, 210)],
            ],
            96,
        );
        let m = import(&bytes).unwrap();
        assert_eq!(
            m.notes(),
            &[note(72, 0, 4), note(74, 4, 4), note(48, 8, 2), note(50, 10, 1), note(55, 12, 1), note(55, 13, 1)]
        );
        assert_eq!(m.meter, Meter::COMMON);
        assert_eq!(m.tempo, Tempo::default());
        assert_eq!(m.key, None);
    }

    #[test]
    fn quantises_to_sixteenths_and_keeps_tiny_notes() {
        // tpq 480: 120 ticks a step. A slightly early note and a 10-tick grace note.
        let bytes = write(vec![vec![on(0, 60, 5), off(0, 60, 235), on(0, 62, 470), off(0, 62, 480)]], 480);
        assert_eq!(import(&bytes).unwrap().notes(), &[note(60, 0, 2), note(62, 4, 1)]);
    }

    #[test]
    fn bad_files_give_clear_errors() {
        assert!(matches!(import(b""), Err(MidiError::Parse(_))));
        assert!(matches!(import(b"RIFF\0\0\0\0 not midi at all"), Err(MidiError::Parse(_))));
        let good = export(&Melody::new(vec![note(60, 0, 4)], Tempo::default(), Meter::COMMON, None).unwrap());
        assert!(import(&good[..10]).is_err());
        // Cut inside the track: a lenient reader would take the first notes and say nothing.
        let cut = import(&good[..good.len() - 6]).unwrap_err().to_string();
        assert!(cut.contains("damaged or cut short"), "{cut}");
        assert_eq!(import(&write(vec![vec![]], 96)), Err(MidiError::NoNotes));
        let drums = write(vec![vec![on(9, 36, 0), off(9, 36, 10)]], 96);
        assert_eq!(import(&drums), Err(MidiError::DrumsOnly));
        assert_eq!(
            import(&write(vec![vec![on(0, 60, 0)]], 0)).unwrap_err(),
            MidiError::Timing("zero ticks per quarter note")
        );
        let far = write(vec![vec![on(0, 60, 0), off(0, 60, 24), on(0, 60, 24 * 20_000), off(0, 60, 24 * 20_001)]], 96);
        assert!(matches!(import(&far), Err(MidiError::Melody(MelodyError::TooLong(_)))));
        // Never panics on arbitrary damage.
        for cut in 0..good.len() {
            let _ = import(&good[..cut]);
            let mut flipped = good.clone();
            flipped[cut] ^= 0xA5;
            let _ = import(&flipped);
        }
    }
}
