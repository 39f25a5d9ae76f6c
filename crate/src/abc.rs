//! A melody as ABC notation (abcnotation.com, standard 2.1): the text format folk musicians
//! trade tunes in, and that notation software reads. One sixteenth is the unit length, so every
//! duration is a whole multiple; notes that cross a bar line are split and tied; accidentals are
//! written against the key signature and last to the end of the bar, as in print.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::melody::{Key, Melody, Mode};

/// Letters of the scale from C, and the pitch class of each.
const LETTERS: [(char, u8); 7] = [('C', 0), ('D', 2), ('E', 4), ('F', 5), ('G', 7), ('A', 9), ('B', 11)];
const SHARP_ORDER: [char; 7] = ['F', 'C', 'G', 'D', 'A', 'E', 'B'];
const FLAT_ORDER: [char; 7] = ['B', 'E', 'A', 'D', 'G', 'C', 'F'];
/// Bars a line of music holds.
const BARS_A_LINE: u32 = 4;

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Major => "",
        Mode::Minor => "m",
        Mode::Dorian => "dor",
        Mode::Phrygian => "phr",
        Mode::Lydian => "lyd",
        Mode::Mixolydian => "mix",
        Mode::Locrian => "loc",
    }
}

/// The accidental the key signature gives each letter (−1 flat, 0, +1 sharp).
fn signature(key: Option<Key>) -> HashMap<char, i8> {
    let fifths = key.map_or(0, Key::fifths);
    let mut sig: HashMap<char, i8> = LETTERS.iter().map(|&(l, _)| (l, 0)).collect();
    if fifths > 0 {
        SHARP_ORDER.iter().take(fifths as usize).for_each(|l| *sig.get_mut(l).unwrap() = 1);
    } else {
        FLAT_ORDER.iter().take((-fifths) as usize).for_each(|l| *sig.get_mut(l).unwrap() = -1);
    }
    sig
}

/// How a pitch class is spelt: as the key spells it when the key has it, else as a natural,
/// else a sharp in sharp keys (and C major, but for B♭ and E♭) and a flat in flat keys.
fn spell(pc: u8, sig: &HashMap<char, i8>, flats: bool) -> (char, i8) {
    for &(letter, natural) in &LETTERS {
        if (natural as i8 + sig[&letter]).rem_euclid(12) as u8 == pc {
            return (letter, sig[&letter]);
        }
    }
    if let Some(&(letter, _)) = LETTERS.iter().find(|&&(_, natural)| natural == pc) {
        return (letter, 0);
    }
    let accidental = if flats || pc == 10 || pc == 3 { -1 } else { 1 };
    for &(letter, natural) in &LETTERS {
        if (natural as i8 + accidental).rem_euclid(12) as u8 == pc {
            return (letter, accidental);
        }
    }
    unreachable!("every pitch class is a letter's natural, sharp or flat")
}

/// A note's name with its octave: C is middle C (MIDI 60), c the octave above, C, below.
fn name(letter: char, midi: i32, accidental: i8) -> String {
    let octave = (midi - accidental as i32).div_euclid(12) - 1;
    match octave {
        4 => letter.to_string(),
        o if o > 4 => format!("{}{}", letter.to_ascii_lowercase(), "'".repeat((o - 5) as usize)),
        o => format!("{letter}{}", ",".repeat((4 - o) as usize)),
    }
}

fn length(steps: u32) -> String {
    if steps == 1 { String::new() } else { steps.to_string() }
}

/// The melody as an ABC tune of `total_steps` steps (whole bars), titled `title`, at `bpm`.
pub fn write(melody: &Melody, total_steps: u32, bpm: f64, title: &str) -> String {
    let bar = melody.meter.steps_per_bar();
    let total = total_steps.max(melody.end().0).div_ceil(bar) * bar;
    let key_field = melody.key.map_or("C".to_string(), |k| {
        let tonic = if k.fifths() < 0 { k.tonic.flat_name() } else { k.tonic.sharp_name() };
        format!("{tonic}{}", mode_name(k.mode))
    });
    let mut out = String::new();
    let title = title.replace(['\n', '\r'], " ");
    let _ = write!(out, "X:1\nT:{title}\nM:{}\nL:1/16\nQ:1/4={}\nK:{key_field}\n", melody.meter, bpm.round() as u32);
    let sig = signature(melody.key);
    let flats = melody.key.is_some_and(|k| k.fifths() < 0);
    // What each letter-and-octave sounds like so far in this bar (the signature at its start).
    let mut state: HashMap<(char, i32), i8> = HashMap::new();
    let mut notes = melody.notes().iter().peekable();
    let mut step = 0;
    while step < total {
        let bar_end = (step / bar + 1) * bar;
        // A rest to the next note or the bar line, or the note sounding here (to the bar line).
        match notes.peek() {
            Some(n) if n.onset.0 <= step => {
                let (letter, accidental) = spell(n.pitch.class().index(), &sig, flats);
                let midi = n.pitch.midi() as i32;
                let octave = (midi - accidental as i32).div_euclid(12);
                let current = *state.get(&(letter, octave)).unwrap_or(&sig[&letter]);
                // A note tied over a bar line keeps its accidental without a new sign.
                if accidental != current && (n.onset.0 == step || step % bar == 0) {
                    out.push_str(match accidental {
                        1 => "^",
                        -1 => "_",
                        _ => "=",
                    });
                }
                state.insert((letter, octave), accidental);
                let end = n.end().0.min(bar_end);
                out.push_str(&name(letter, midi, accidental));
                out.push_str(&length(end - step));
                if end < n.end().0 {
                    out.push('-');
                } else {
                    notes.next();
                }
                step = end;
            }
            next => {
                let end = next.map_or(bar_end, |n| n.onset.0.min(bar_end));
                let _ = write!(out, "z{}", length(end - step));
                step = end;
            }
        }
        if step == bar_end {
            state.clear();
            let bars = step / bar;
            out.push_str(if step == total {
                "|]\n"
            } else if bars.is_multiple_of(BARS_A_LINE) {
                "|\n"
            } else {
                " | "
            });
        } else {
            out.push(' ');
        }
    }
    if total == 0 {
        out.push_str("z|]\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Meter, Note, Pitch, Step, Tempo};

    fn tune(notes: &[(i32, u32, u32)], meter: &str, key: Option<&str>) -> Melody {
        let notes = notes
            .iter()
            .map(|&(p, on, d)| Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(d) })
            .collect();
        Melody::new(
            notes,
            Tempo::from_bpm(100.0).unwrap(),
            Meter::parse(meter).unwrap(),
            key.map(|k| Key::parse(k).unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn a_scale_in_c() {
        let m = tune(
            &[(60, 0, 4), (62, 4, 4), (64, 8, 4), (65, 12, 4), (67, 16, 8), (72, 24, 4), (48, 28, 4)],
            "4/4",
            Some("C major"),
        );
        assert_eq!(
            write(&m, 32, 100.0, "Scale"),
            "X:1\nT:Scale\nM:4/4\nL:1/16\nQ:1/4=100\nK:C\nC4 D4 E4 F4 | G8 c4 C,4|]\n"
        );
    }

    #[test]
    fn accidentals_follow_the_key_and_last_to_the_bar_line() {
        // D major: F♯ is in the signature; an F natural needs "=", a later F♯ in the bar "^";
        // in the next bar the signature holds again. B♭ in a sharp key is spelt as a flat.
        let m = tune(&[(66, 0, 2), (65, 2, 2), (66, 4, 2), (70, 6, 2), (66, 8, 4)], "3/8", Some("D major"));
        let abc = write(&m, 12, 90.0, "t");
        assert!(abc.contains("K:D\n"), "{abc}");
        assert!(abc.ends_with("F2 =F2 ^F2 | _B2 F4|]\n") || abc.contains("F2 =F2 ^F2 _B2 | F4"), "{abc}");
    }

    #[test]
    fn notes_over_bar_lines_are_tied_and_rests_fill_the_grid() {
        // 2/4: a pickup rest, a note across the bar line, an empty last bar.
        let m = tune(&[(69, 6, 4), (74, 10, 2)], "2/4", Some("D dorian"));
        let abc = write(&m, 24, 120.0, "t");
        assert!(abc.contains("K:Ddor\n"), "{abc}");
        assert!(abc.ends_with("z6 A2- | A2 d2 z4 | z8|]\n"), "{abc}");
    }

    #[test]
    fn octaves_and_flat_keys() {
        let m = tune(&[(70, 0, 4), (82, 4, 4), (94, 8, 4), (58, 12, 4)], "4/4", Some("F major"));
        let abc = write(&m, 16, 120.0, "t");
        // B♭ is in F major's signature: no sign at any octave.
        assert!(abc.contains("K:F\n") && abc.ends_with("B4 b4 b'4 B,4|]\n"), "{abc}");
        let minor = tune(&[(63, 0, 16)], "4/4", Some("C minor"));
        assert!(
            write(&minor, 16, 120.0, "t").contains("K:Cm\nE16|]"),
            "E♭ is C minor's: {}",
            write(&minor, 16, 120.0, "t")
        );
    }
    /// Random melodies in every meter and key: every bar adds up to its length, every note is
    /// written, and only ABC's own characters appear.
    #[test]
    fn every_bar_adds_up() {
        let mut rng = crate::rng::Rng::new(3);
        let meters = ["4/4", "3/4", "2/4", "6/8", "9/8", "3/8", "5/4", "7/8"];
        for i in 0..300 {
            let meter = Meter::parse(meters[i % meters.len()]).unwrap();
            let key = (i % 5 != 0).then(|| Key {
                tonic: crate::melody::PitchClass::new(rng.below(12) as u8),
                mode: Mode::ALL[rng.below(7)],
            });
            let mut notes = Vec::new();
            let mut at = rng.below(8) as u32;
            while at < 100 {
                let d = 1 + rng.below(12) as u32;
                notes.push(Note {
                    pitch: Pitch::new(40 + rng.below(50) as i32).unwrap(),
                    onset: Step(at),
                    duration: Step(d),
                });
                at += d + rng.below(3) as u32;
            }
            let m = Melody::new(notes, Tempo::default(), meter, key).unwrap();
            let abc = write(&m, 0, 120.0, "t");
            let body = abc.split_once(&format!("K:{}\n", &abc.lines().nth(5).unwrap()[2..])).unwrap().1;
            assert!(body.chars().all(|c| "ABCDEFGabcdefgz^_=,'-|] \n0123456789".contains(c)), "{abc}");
            let bars: Vec<&str> = body.split('|').map(str::trim).filter(|b| !b.is_empty() && *b != "]").collect();
            let mut onsets = 0;
            for b in &bars {
                let total: u32 = b
                    .split_whitespace()
                    .map(|token| {
                        if !token.starts_with(['z']) && !b.is_empty() {
                            onsets += 1;
                        }
                        token
                            .trim_start_matches(|c: char| !c.is_ascii_digit())
                            .trim_end_matches('-')
                            .parse()
                            .unwrap_or(1)
                    })
                    .sum();
                assert_eq!(total, meter.steps_per_bar(), "a bar of {meter}: {b:?} in\n{abc}");
            }
            // Tied continuations count as tokens too: at least one token a note.
            assert!(onsets >= m.notes().len(), "{abc}");
        }
    }
}
