//! Training melodies: the prepared dataset (`models/data/*.tsv.gz`, see `models/corpus/`) or a
//! directory of the user's own MIDI files.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::encoding::{Conditioning, Style};
use crate::melody::{Key, Melody, MelodyError, Meter, Note, Pitch, Step, Tempo};
use crate::midi::{self, MidiError};

#[derive(Debug, Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} line {line}: {message}")]
    Format { path: PathBuf, line: usize, message: String },
    #[error("{path}: no melodies found")]
    Empty { path: PathBuf },
}

/// One training melody and what the model is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tune {
    pub source: String,
    pub id: String,
    pub melody: Melody,
    pub style: Option<Style>,
}

impl Tune {
    pub fn conditioning(&self) -> Conditioning {
        Conditioning { meter: self.melody.meter, key: self.melody.key, style: self.style }
    }
}

/// Whether a tune came from a MIDI file (whose bar grid cannot be trusted).
pub fn is_midi(tune: &Tune) -> bool {
    tune.source == MIDI_SOURCE
}

const MIDI_SOURCE: &str = "midi";

/// The style each prepared collection teaches.
pub fn style_of(source: &str) -> Option<Style> {
    match source {
        "oneills1850" | "ryansMammoth" => Some(Style::Celtic),
        "essenFolksong" => Some(Style::Folk),
        "bachChorales" => Some(Style::Chorale),
        _ => None,
    }
}

/// Parses the dataset's TSV: `source id meter key key_source notes`, notes as
/// `pitch:onset:duration` triples.
pub fn parse_tsv(text: &str, path: &Path) -> Result<Vec<Tune>, CorpusError> {
    let mut tunes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let err = |message: String| CorpusError::Format { path: path.to_path_buf(), line: i + 1, message };
        let fields: Vec<&str> = line.split('\t').collect();
        let [source, id, meter, key, _key_source, notes] = fields[..] else {
            return Err(err(format!("expected 6 tab-separated fields, found {}", fields.len())));
        };
        let meter = Meter::parse(meter).map_err(|e| err(e.to_string()))?;
        let key = if key.is_empty() { None } else { Some(Key::parse(key).map_err(|e| err(e.to_string()))?) };
        let notes = notes
            .split_whitespace()
            .map(|triple| {
                let mut parts = triple.split(':').map(str::parse::<u32>);
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(Ok(p)), Some(Ok(on)), Some(Ok(d)), None) => Ok(Note {
                        pitch: Pitch::new(p as i32).map_err(|e| err(e.to_string()))?,
                        onset: Step(on),
                        duration: Step(d),
                    }),
                    _ => Err(err(format!("bad note {triple:?}"))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let melody = Melody::new(notes, Tempo::default(), meter, key).map_err(|e: MelodyError| err(e.to_string()))?;
        tunes.push(Tune { source: source.to_string(), id: id.to_string(), melody, style: style_of(source) });
    }
    Ok(tunes)
}

/// Reads one split of the prepared dataset (`train`, `valid`, `test`) from `dir`.
pub fn load_split(dir: &Path, split: &str) -> Result<Vec<Tune>, CorpusError> {
    load_dataset_file(&dir.join(format!("{split}.tsv.gz")))
}

/// Reads a prepared dataset file (`.tsv.gz`).
pub fn load_dataset_file(path: &Path) -> Result<Vec<Tune>, CorpusError> {
    use std::io::Read;
    let io = |source| CorpusError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).map_err(io)?;
    let tunes = parse_tsv(&text, path)?;
    if tunes.is_empty() {
        return Err(CorpusError::Empty { path: path.to_path_buf() });
    }
    Ok(tunes)
}

pub fn is_dataset_file(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.ends_with(".tsv.gz"))
}

/// A MIDI file that could not be used, and why.
#[derive(Debug)]
pub struct Skipped {
    pub path: PathBuf,
    pub error: String,
}

/// MIDI files (`.mid`, `.midi`) named directly or found under directories, in a stable order.
pub fn midi_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CorpusError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
        let io = |source| CorpusError::Io { path: dir.to_path_buf(), source };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files)?;
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(CorpusError::Io {
                path: p.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            });
        }
    }
    files.sort();
    Ok(files)
}

/// Reads the melody line of each MIDI file; unreadable files are returned beside, not fatal.
pub fn load_midi(files: &[PathBuf]) -> (Vec<Tune>, Vec<Skipped>) {
    let mut tunes = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let result = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| midi::import(&bytes).map_err(|e: MidiError| e.to_string()));
        match result {
            Ok(melody) => {
                tunes.push(Tune { source: MIDI_SOURCE.into(), id: path.display().to_string(), melody, style: None })
            }
            Err(error) => skipped.push(Skipped { path: path.clone(), error }),
        }
    }
    (tunes, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dataset_lines() {
        let text = "# header\noneills1850\tx/1\t6/8\tD major\tsource\t62:2:2 66:4:1 69:5:1\n";
        let tunes = parse_tsv(text, Path::new("t.tsv")).unwrap();
        assert_eq!(tunes.len(), 1);
        let t = &tunes[0];
        assert_eq!(t.style, Some(Style::Celtic));
        assert_eq!(t.melody.meter.steps_per_bar(), 12);
        assert_eq!(t.melody.key, Some(Key::parse("D major").unwrap()));
        assert_eq!(t.melody.notes()[2].onset, Step(5));
    }

    #[test]
    fn reports_bad_lines_with_their_number() {
        let bad = "a\tb\t4/4\tC major\tsource\t60:0\n";
        let e = parse_tsv(bad, Path::new("t.tsv")).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("bad note"), "{e}");
        let overlap = "a\tb\t4/4\t\tsource\t60:0:4 62:2:2\n";
        assert!(
            parse_tsv(overlap, Path::new("t.tsv")).unwrap_err().to_string().contains("before the previous note ends")
        );
    }

    #[test]
    fn midi_directories_skip_bad_files() {
        let dir = std::env::temp_dir().join(format!("tunesmith-corpus-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let m = Melody::new(
            vec![Note { pitch: Pitch::new(60).unwrap(), onset: Step(0), duration: Step(4) }],
            Tempo::default(),
            Meter::COMMON,
            None,
        )
        .unwrap();
        std::fs::write(dir.join("sub/a.mid"), midi::export(&m)).unwrap();
        std::fs::write(dir.join("b.MID"), b"not midi").unwrap();
        std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
        let files = midi_files(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 2);
        let (tunes, skipped) = load_midi(&files);
        assert_eq!(tunes.len(), 1);
        assert_eq!(tunes[0].melody, m);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].error.contains("not a readable MIDI file"));
        assert!(midi_files(&[dir.join("missing")]).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
