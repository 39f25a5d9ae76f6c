//! Fuzz targets for every reader of bytes from outside: MIDI files (and the primer path they
//! feed), model specs, packed weights, burnpack weights and requests from the page. Each target mutates real
//! inputs and feeds them on as far as they are accepted — a parsed file becomes a primer and a
//! melody is generated from it — and nothing may panic. `cargo test` runs
//! [`runs`] inputs per target (10,000 unless `TUNESMITH_FUZZ_RUNS` says otherwise); a long run:
//!
//! ```sh
//! TUNESMITH_FUZZ_RUNS=1000000 TUNESMITH_FUZZ_SEED=7 cargo test --release fuzz -- --nocapture
//! ```
//!
//! `regressions` keeps the inputs that once crashed tunesmith.

use burn::prelude::*;
use serde_json::{Value, json};

use crate::encoding::{Lookback, TrainedOn, Vocab};
use crate::engine::int8::Int8Engine;
use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
use crate::model::packed::PackedLstm;
use crate::model::{LstmConfig, ModelSpec, PitchRange};
use crate::request::Request;
use crate::rng::Rng;
use crate::sample;
use crate::theory::prior::Prior;

fn runs() -> usize {
    std::env::var("TUNESMITH_FUZZ_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn seed() -> u64 {
    std::env::var("TUNESMITH_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// Byte-level mutations, a few at a time: flips, interesting values, cuts, copies, insertions.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if b.is_empty() { 0 } else { rng.below(b.len()) };
        match rng.below(7) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE][rng.below(6)],
            2 if !b.is_empty() => b[at] = rng.below(256) as u8,
            3 => b.truncate(at),
            4 if !b.is_empty() => {
                let len = rng.below(16.min(b.len() - at) + 1);
                let piece = b[at..at + len].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, piece);
            }
            5 => {
                let piece: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.below(256) as u8).collect();
                b.splice(at..at, piece);
            }
            _ if !b.is_empty() => {
                let len = rng.below(16.min(b.len() - at) + 1);
                b.drain(at..at + len);
            }
            _ => {}
        }
    }
    b
}

/// Values a JSON field may be given by a hostile or careless caller.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(0),
        4 => json!(2.9),
        5 => json!(4294967297u64),
        6 => json!(1e300),
        7 => json!(-0.5),
        8 => json!(u64::MAX),
        9 => json!("8"),
        10 => json!(""),
        11 => json!({ "length": 200_000_000 }),
        12 => json!([1, 2, 3]),
        13 => json!(1u64 << 40),
        14 => json!("x".repeat(rng.below(64))),
        _ => json!(rng.below(100)),
    }
}

/// Replaces or adds a few fields of a JSON object (one level down too).
fn mutate_json(base: &Value, rng: &mut Rng) -> Value {
    let mut v = base.clone();
    for _ in 0..1 + rng.below(3) {
        let Some(obj) = v.as_object_mut() else { break };
        let keys: Vec<String> = obj.keys().cloned().collect();
        let key = match rng.below(8) {
            0 => "unknownField".to_string(),
            _ if keys.is_empty() => "x".to_string(),
            _ => keys[rng.below(keys.len())].clone(),
        };
        match obj.get_mut(&key) {
            Some(Value::Object(inner)) if rng.below(2) == 0 && !inner.is_empty() => {
                let k: Vec<String> = inner.keys().cloned().collect();
                inner.insert(k[rng.below(k.len())].clone(), odd_value(rng));
            }
            _ if rng.below(10) == 0 => {
                obj.remove(&key);
            }
            _ => {
                obj.insert(key, odd_value(rng));
            }
        }
    }
    v
}

/// A small LSTM that reads lookbacks and a plan, packed; its spec; and a real model's record
/// (meters, rhythm statistics, form counts), so every path of the sampler runs.
fn tiny() -> (Int8Engine, LstmConfig, PackedLstm, TrainedOn) {
    let device = Device::flex();
    device.seed(3);
    let spec = LstmConfig {
        range: PitchRange::from(Vocab::DEFAULT),
        embed: 8,
        hidden: 8,
        layers: 1,
        dropout: 0.0,
        lookback: Lookback { bars: vec![1, 2], half: false, form: true },
    };
    let packed = PackedLstm::from_lstm(&spec.init(&device).unwrap()).unwrap();
    let engine = Int8Engine::new(packed.clone(), &spec).unwrap();
    let json = include_str!("../../models/lstm.json");
    let (_, trained) = ModelSpec::parse_with_record(json).unwrap();
    (engine, spec, packed, trained)
}

fn generate<E: crate::engine::Engine>(engine: &E, trained: &TrainedOn, request: &Request) -> Result<usize, String> {
    let g = burn::tensor::read_sync(sample::generate(engine, trained, request, Prior::FULL, &mut ()))
        .map_err(|e| e.to_string())?;
    Ok(g.melodies.len())
}

fn melody(rng: &mut Rng, notes: usize) -> Melody {
    let mut at = rng.below(8) as u32;
    let notes = (0..notes)
        .map(|_| {
            let d = 1 + rng.below(8) as u32;
            let n = Note { pitch: Pitch::new(40 + rng.below(60) as i32).unwrap(), onset: Step(at), duration: Step(d) };
            at += d + rng.below(3) as u32;
            n
        })
        .collect();
    let meter = ["4/4", "3/4", "6/8", "2/4", "7/8"][rng.below(5)];
    Melody::new(notes, Tempo::default(), Meter::parse(meter).unwrap(), Some(Key::C_MAJOR)).unwrap()
}

#[test]
fn fuzz_midi_files_and_the_primers_they_make() {
    let (engine, _, _, trained) = tiny();
    let mut rng = Rng::new(seed());
    let bases: Vec<Vec<u8>> = (0..8).map(|i| crate::midi::export(&melody(&mut rng, 4 + 6 * i))).collect();
    let (mut read, mut primed) = (0, 0);
    for i in 0..runs() {
        let bytes = mutate(&bases[i % bases.len()], &mut rng);
        let Ok(m) = crate::midi::import(&bytes) else { continue };
        read += 1;
        let request = Request { bars: 1, primer: m.notes().to_vec(), seed: i as u32, ..Request::default() };
        primed += generate(&engine, &trained, &request).is_ok() as usize;
    }
    eprintln!("midi: {} inputs, {read} read, {primed} generated from", runs());
}

#[test]
fn fuzz_specs() {
    let mut rng = Rng::new(seed() ^ 0x5EC);
    let lstm = json!({"arch": "lstm", "range": {"lo": 48, "hi": 84}, "embed": 8, "hidden": 8, "layers": 1,
        "dropout": 0.0, "lookback": {"bars": [1, 2], "form": true}});
    let transformer = json!({"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 8, "heads": 2,
        "layers": 1, "d_ff": 16, "dropout": 0.0, "span": 16});
    let device = Device::flex();
    let (mut parsed, mut built) = (0, 0);
    for i in 0..runs() {
        let base = if i % 2 == 0 { &lstm } else { &transformer };
        let text = if i % 3 == 0 {
            String::from_utf8_lossy(&mutate(base.to_string().as_bytes(), &mut rng)).into_owned()
        } else {
            mutate_json(base, &mut rng).to_string()
        };
        let Ok((spec, _)) = ModelSpec::parse_with_record(&text) else { continue };
        parsed += 1;
        // Build what is small enough to build quickly; the caps keep the rest from allocating.
        let small = match &spec {
            ModelSpec::Lstm(c) => c.embed <= 64 && c.hidden <= 64 && c.layers <= 2,
            ModelSpec::Transformer(c) => c.d_model <= 64 && c.d_ff <= 128 && c.layers <= 2,
        };
        if small {
            crate::model::build(&spec, &device).expect("a checked spec builds");
            built += 1;
        }
    }
    eprintln!("specs: {} inputs, {parsed} parsed, {built} built", runs());
}

#[test]
fn fuzz_packed_weights() {
    let (_, spec, packed, trained) = tiny();
    let base = packed.to_bytes();
    let mut rng = Rng::new(seed() ^ 0xBAC);
    let mut loaded = 0;
    for i in 0..runs() {
        let bytes = mutate(&base, &mut rng);
        let Ok(p) = PackedLstm::from_bytes(&bytes) else { continue };
        let Ok(engine) = Int8Engine::new(p, &spec) else { continue };
        loaded += 1;
        let request = Request { bars: 1, seed: i as u32, ..Request::default() };
        generate(&engine, &trained, &request).expect("weights that load generate");
    }
    eprintln!("packs: {} inputs, {loaded} loaded", runs());
}

#[test]
fn fuzz_burnpack_weights() {
    // The parser itself: a spec's checksum would refuse every damaged file before it.
    let device = Device::flex();
    device.seed(5);
    let (_, _, _, trained) = tiny();
    let specs = [
        ModelSpec::parse(r#"{"arch": "lstm", "range": {"lo": 48, "hi": 84}, "embed": 4, "hidden": 4, "layers": 1, "dropout": 0.0}"#),
        ModelSpec::parse(r#"{"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 4, "heads": 1, "layers": 1, "d_ff": 8, "dropout": 0.0, "span": 16}"#),
    ]
    .map(|s| s.unwrap());
    let dir = std::env::temp_dir().join(format!("tunesmith-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bases: Vec<Vec<u8>> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let path = dir.join(format!("{i}.bpk"));
            crate::model::weights::save(&crate::model::build(spec, &device).unwrap(), &path).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    std::fs::remove_dir_all(&dir).ok();
    let mut rng = Rng::new(seed() ^ 0xB9C);
    let (mut loaded, mut generated) = (0, 0);
    for i in 0..runs() {
        let k = i % specs.len();
        let bytes = mutate(&bases[k], &mut rng);
        let Ok(model) = crate::model::weights::load(&specs[k], bytes, &device) else { continue };
        loaded += 1;
        // Generating through Burn is slow beside loading: every tenth file that loads.
        if loaded % 10 == 0 {
            let engine =
                crate::engine::burn::BurnEngine::new(model, &specs[k], device.clone(), crate::engine::Backend::Cpu)
                    .expect("a model that loads makes an engine");
            let request = Request { bars: 1, seed: i as u32, ..Request::default() };
            generated += generate(&engine, &trained, &request).is_ok() as usize;
        }
    }
    eprintln!("burnpacks: {} inputs, {loaded} loaded, {generated} of a tenth of them generated from", runs());
}

#[test]
fn fuzz_requests() {
    let (engine, _, _, trained) = tiny();
    let mut rng = Rng::new(seed() ^ 0x4E9);
    let base = json!({"bars": 2, "tempo": 120, "meter": "3/4", "key": "D dorian", "style": "celtic", "form": "AABA",
        "temperature": 1.0, "seed": 5, "candidates": 2, "primer": [{"pitch": 60, "onset": 0, "duration": 4}],
        "phase": "auto"});
    let (mut accepted, mut generated) = (0, 0);
    for _ in 0..runs() {
        let value = mutate_json(&base, &mut rng);
        let Ok(request) = serde_json::from_value::<Request>(value) else { continue };
        accepted += 1;
        // Large but valid requests are the sampler's to bound: run them small enough to be quick.
        let request = Request { bars: request.bars.min(4), candidates: request.candidates.min(2), ..request };
        generated += generate(&engine, &trained, &request).is_ok() as usize;
    }
    eprintln!("requests: {} inputs, {accepted} accepted, {generated} generated", runs());
}

/// Inputs that once crashed tunesmith (the reliability audit), each now a clear error.
#[test]
fn regressions() {
    let (engine, spec, packed, trained) = tiny();
    let lstm = |fields: &str| format!(r#"{{"arch": "lstm", "range": {{"lo": 48, "hi": 84}}, {fields}}}"#);
    let ok = r#""embed": 8, "hidden": 8, "layers": 1"#;
    for bad in [
        lstm(&format!(r#"{ok}, "dropout": 1.0"#)),
        lstm(&format!(r#"{ok}, "dropout": -0.5"#)),
        lstm(&format!(r#"{ok}, "dropout": 2"#)),
        lstm(&format!(r#"{ok}, "dropout": 1e999"#)),
        lstm(r#""embed": 8, "hidden": 1099511627776, "layers": 1"#),
        lstm(r#""embed": 8, "hidden": 4611686018427387904, "layers": 1"#),
        lstm(r#""embed": 68719476736, "hidden": 8, "layers": 1"#),
        lstm(r#""embed": 8, "hidden": 8, "layers": 1000000"#),
        lstm(r#""embed": 4096, "hidden": 4096, "layers": 16"#),
        r#"{"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 4096, "heads": 8, "layers": 16, "d_ff": 4096}"#.into(),
        lstm(&format!(r#"{ok}, "lookback": {{"bars": [1, 1]}}"#)),
        r#"{"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 8, "heads": 2, "layers": 1, "d_ff": 1099511627776}"#.into(),
        r#"{"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 8, "heads": 3, "layers": 1, "d_ff": 8}"#.into(),
        r#"{"arch": "lstm", "range": {"lo": 84, "hi": 48}, "embed": 8, "hidden": 8, "layers": 1}"#.into(),
        "{}".into(),
        "".into(),
    ] {
        assert!(ModelSpec::parse(&bad).is_err(), "{bad}");
    }
    assert!(ModelSpec::parse(&lstm(ok)).is_ok());
    // A pack for another shape than its spec says.
    let other = LstmConfig { hidden: 16, ..spec.clone() };
    assert!(Int8Engine::new(packed.clone(), &other).is_err());
    let narrower = LstmConfig { range: PitchRange { lo: 48, hi: 96 }, ..spec.clone() };
    assert!(Int8Engine::new(packed.clone(), &narrower).is_err());
    // A pack full of NaN.
    let mut nan = packed.clone();
    nan.tables[0].iter_mut().for_each(|x| *x = f32::NAN);
    assert!(PackedLstm::from_bytes(&nan.to_bytes()).is_err());
    // Protocol messages of each bad kind.
    for bad in [
        json!({"bars": 4294967300u64}),
        json!({"bars": 2.9}),
        json!({"bars": "8"}),
        json!({"seed": 4294967297u64}),
        json!({"meter": 4}),
        json!({"meter": {"length": 200_000_000}}),
        json!({"meter": "x".repeat(1000)}),
        json!({"primer": [{"pitch": 60, "onset": 4294967295u64, "duration": 1}]}),
        json!({"tempo": -120}),
        json!({"bar": 4}),
    ] {
        let refused = match serde_json::from_value::<Request>(bad.clone()) {
            Err(_) => true,
            Ok(r) => r.validate().is_err(),
        };
        assert!(refused, "{bad}");
    }
    // The longest primer allowed generates (memory linear in its length: see model::prime).
    let long: Vec<Note> = (0..Request::MAX_PRIMER_STEPS / 4)
        .map(|i| Note { pitch: Pitch::new(60 + (i % 12) as i32).unwrap(), onset: Step(4 * i), duration: Step(4) })
        .collect();
    let request = Request { bars: 1, primer: long, ..Request::default() };
    assert_eq!(generate(&engine, &trained, &request), Ok(1));
    // Notes whose ticks run past the last step a melody may hold (the onset and duration sums
    // once wrapped): refused, not wrapped.
    let vlq_max = [0xFF, 0xFF, 0xFF, 0x7F];
    let mut track = vec![0x00, 0x90, 60, 80];
    track.extend(vlq_max);
    track.extend([0x80, 60, 0]);
    track.extend(vlq_max);
    track.extend([0x90, 62, 80]);
    track.extend(vlq_max);
    track.extend([0x80, 62, 0, 0x00, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x01MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(track);
    let e = crate::midi::import(&file).expect_err("a melody longer than any allowed");
    assert!(!e.to_string().is_empty());
}
