//! The catalog: the models, keys, modes, meters, styles, forms, engines and every limit and
//! default, in one place. The page builds its controls from it (`catalog()` in the wasm API),
//! the CLI checks against the same limits, and a new control is one field in
//! `request::Request`, one entry here, and the code that uses it.

use serde::Serialize;
use serde_json::{Value, json};

use crate::encoding::{Style, TrainedOn};
use crate::engine::{Backend, EngineName};
use crate::melody::{Mode, Tempo};
use crate::model::{ModelError, ModelSpec};
use crate::request::Request;

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// The model the page and the CLI use unless told otherwise.
pub const DEFAULT_MODEL: &str = "lstm";
/// Candidates the page generates at once, unless told otherwise (best of N).
pub const PAGE_CANDIDATES: u32 = 8;

/// Keys offered by name (any other key can be typed into the CLI or sent in a request).
const KEYS: [&str; 20] = [
    "C major",
    "G major",
    "D major",
    "A major",
    "E major",
    "F major",
    "Bb major",
    "Eb major",
    "A minor",
    "E minor",
    "B minor",
    "D minor",
    "G minor",
    "C minor",
    "D dorian",
    "A dorian",
    "E dorian",
    "G mixolydian",
    "D mixolydian",
    "A mixolydian",
];
const METERS: [&str; 8] = ["4/4", "3/4", "2/4", "2/2", "6/8", "9/8", "12/8", "3/8"];
const FORMS: [(&str, &str); 5] = [
    ("AABB", "AABB: a phrase, again; another, again"),
    ("AABA", "AABA: a phrase, again, a bridge, the phrase"),
    ("ABAB", "ABAB: question and answer, twice"),
    ("ABAC", "ABAC: the phrase returns, the ending changes"),
    ("ABCD", "ABCD: always new"),
];

/// A model built into this build (its spec embedded, its weights a file beside the page).
pub struct BuiltIn {
    pub name: &'static str,
    pub spec_json: &'static str,
    /// The weights the page downloads, relative to the page: the packed form of an LSTM.
    pub weights: &'static str,
    /// Its theory-tuned companion (`tunesmith tune`), named `NAME.tuned`, where it has one.
    pub tuned: Option<Tuned>,
}

/// A model's theory-tuned weights: the same network, its own spec file (with its checksums).
#[derive(Debug, Clone, Copy)]
pub struct Tuned {
    pub spec_json: &'static str,
    pub weights: &'static str,
    /// The data and tuned weights blended at [`Request::DEFAULT_THEORY`] and packed, one file
    /// (`tunesmith pack --blend`; its checksum in the tuned spec): what the page runs at the
    /// default strength, so it downloads one file, not both. Where there is one, that strength
    /// always runs on it, whatever else is loaded, so a seed gives one melody.
    pub blend: Option<&'static str>,
}

/// Which of a built-in model's weight files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsOf {
    /// Trained on data (theory strength 0).
    Data,
    /// Tuned to the rules (strength 1).
    Tuned,
    /// Both blended at the default strength ([`Tuned::blend`]).
    Blend,
}

/// The built-in models.
pub fn built_in() -> impl Iterator<Item = BuiltIn> {
    MODELS.iter().map(|&(name, spec_json, weights, tuned)| BuiltIn {
        name,
        spec_json,
        weights,
        tuned: tuned.map(|(spec_json, weights, blend)| Tuned { spec_json, weights, blend }),
    })
}

/// The name of a model's tuned companion (its weights' name in the native build).
pub fn tuned_name(model: &str) -> String {
    format!("{model}.tuned")
}

/// A built-in model's spec and record by name.
pub fn spec_of(name: &str) -> Result<(ModelSpec, TrainedOn), ModelError> {
    let model = built_in().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = built_in().map(|m| m.name).collect();
        ModelError::Config(format!("no built-in model named {name:?} (built in: {})", names.join(", ")))
    })?;
    ModelSpec::parse_with_record(model.spec_json)
}

/// Whether built-in model `name` has theory-tuned weights.
pub fn tunable(name: &str) -> bool {
    built_in().any(|m| m.name == name && m.tuned.is_some())
}

/// Whether built-in model `name` has its default strength's blend packed ([`Tuned::blend`]).
pub fn has_blend(name: &str) -> bool {
    built_in().any(|m| m.name == name && m.tuned.is_some_and(|t| t.blend.is_some()))
}

/// Checks a downloaded weights file of built-in model `name` (`which` of them) against the
/// checksum its spec records (a `.pack` or a burnpack, told apart by their first bytes; the
/// blend's is in the tuned spec).
pub fn check_weights(name: &str, which: WeightsOf, bytes: &[u8]) -> Result<(), ModelError> {
    use crate::model::checksum::{WeightsFile, verify};
    let model = built_in()
        .find(|m| m.name == name)
        .ok_or_else(|| ModelError::Config(format!("no built-in model named {name:?}")))?;
    let kind = if crate::model::packed::PackedLstm::is_pack(bytes) { WeightsFile::Pack } else { WeightsFile::Bpk };
    match (which, model.tuned) {
        (WeightsOf::Data, _) => verify(model.spec_json, kind, bytes),
        (WeightsOf::Tuned, Some(t)) => verify(t.spec_json, kind, bytes),
        (WeightsOf::Blend, Some(Tuned { spec_json, blend: Some(_), .. })) if kind == WeightsFile::Pack => {
            verify(spec_json, WeightsFile::Blend, bytes)
        }
        (WeightsOf::Blend, Some(Tuned { blend: Some(_), .. })) => {
            Err(ModelError::Weights("the blend of the default strength is a .pack file".into()))
        }
        (WeightsOf::Blend, _) => {
            Err(ModelError::Config(format!("the {name} model has no packed blend of its default strength")))
        }
        (WeightsOf::Tuned, None) => Err(ModelError::Config(format!("the {name} model has no theory-tuned weights"))),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// What goes into the request (`null`: any, automatic).
    pub value: Value,
    pub label: String,
}

fn choice(value: impl Into<Value>, label: impl Into<String>) -> Choice {
    Choice { value: value.into(), label: label.into() }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Integer,
    Number,
    Choice,
}

/// One control of a request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    /// The request field it sets.
    pub name: &'static str,
    /// The `<tunesmith-generator>` attribute that sets it: the name, except where HTML or the
    /// frameworks already own it (`key` is React's and Vue's, `style` is global HTML).
    pub attribute: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub default: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Only models that read a form plan take it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_form: bool,
    /// Only models with theory-tuned weights take it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_tuned: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    pub name: &'static str,
    pub label: &'static str,
    pub arch: &'static str,
    pub weights: &'static str,
    /// Whether its weights are a packed LSTM, which the int8 engine runs on the CPU without
    /// Burn: the page's small wasm module holds that engine alone (`crate/lite`).
    pub packed: bool,
    /// Whether it reads a form plan (the form control applies).
    pub form: bool,
    /// Its theory-tuned weights, relative to the page, where it has them (the theory control
    /// applies).
    pub tuned: Option<&'static str>,
    /// Both blended at the default theory strength, one file, where it has it: what runs at
    /// that strength (`weightsFor` says which files a strength needs).
    pub blend: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_bars: u32,
    pub max_temperature: f32,
    pub min_tempo: f64,
    pub max_tempo: f64,
    pub max_primer_steps: u32,
    /// Steps a melody may span (primer and generated bars together).
    pub max_melody_steps: u32,
    pub max_candidates: u32,
    pub max_seed: u32,
    pub max_share_chars: usize,
    /// The largest MIDI file read as a primer.
    pub max_midi_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub models: Vec<ModelEntry>,
    pub default_model: &'static str,
    pub backends: Vec<Choice>,
    pub engines: Vec<Choice>,
    pub modes: Vec<&'static str>,
    pub controls: Vec<Control>,
    pub limits: Limits,
}

fn label_of(arch: &str) -> &'static str {
    match arch {
        "lstm" => "LSTM",
        _ => "Transformer",
    }
}

/// An `f32` as the decimal it was written as (0.8, not 0.800000011920929 as it reads in f64),
/// so a control shows and sends back the value the core means.
fn decimal(x: f32) -> Value {
    json!(x.to_string().parse::<f64>().expect("an f32 prints as a number"))
}

/// The catalog of this build.
pub fn catalog() -> Catalog {
    let d = Request::default();
    let number = |name, label, kind, default: Value, min: f64, max: f64, step: f64| Control {
        name,
        attribute: name,
        label,
        kind,
        default,
        min: Some(min),
        max: Some(max),
        step: Some(step),
        options: Vec::new(),
        needs_form: false,
        needs_tuned: false,
    };
    let select = |name, label, default: Value, options: Vec<Choice>| Control {
        name,
        attribute: name,
        label,
        kind: Kind::Choice,
        default,
        min: None,
        max: None,
        step: None,
        options,
        needs_form: false,
        needs_tuned: false,
    };
    let any = || choice(Value::Null, "any");
    let controls = vec![
        number("bars", "Bars", Kind::Integer, json!(d.bars), 1.0, Request::MAX_BARS as f64, 1.0),
        number("tempo", "Tempo (bpm)", Kind::Number, json!(d.tempo), Tempo::MIN_BPM, Tempo::MAX_BPM, 1.0),
        select(
            "meter",
            "Meter",
            json!(Request::DEFAULT_METER.to_string()),
            METERS.iter().map(|&m| choice(m, m)).collect(),
        ),
        Control {
            attribute: "tonality",
            ..select(
                "key",
                "Key",
                Value::Null,
                std::iter::once(any()).chain(KEYS.iter().map(|&k| choice(k, k))).collect(),
            )
        },
        Control {
            attribute: "genre",
            ..select(
                "style",
                "Style",
                Value::Null,
                std::iter::once(any()).chain(Style::ALL.iter().map(|s| choice(s.name(), s.label()))).collect(),
            )
        },
        Control {
            needs_form: true,
            ..select(
                "form",
                "Form",
                Value::Null,
                std::iter::once(choice(Value::Null, "automatic"))
                    .chain(FORMS.iter().map(|&(f, label)| choice(f, label)))
                    .collect(),
            )
        },
        number(
            "temperature",
            "Temperature",
            Kind::Number,
            decimal(d.temperature),
            0.0,
            Request::MAX_TEMPERATURE as f64,
            0.05,
        ),
        // 0 is the data model alone, 1 the model tuned to the rules (RL Tuner).
        Control {
            needs_tuned: true,
            ..number("theory", "Theory", Kind::Number, decimal(Request::DEFAULT_THEORY), 0.0, 1.0, 0.05)
        },
        number("seed", "Seed", Kind::Integer, json!(d.seed), 0.0, u32::MAX as f64, 1.0),
        // Best of N: the page makes 8 and offers them best first (a request's own default is 1).
        number(
            "candidates",
            "Candidates",
            Kind::Integer,
            json!(PAGE_CANDIDATES),
            1.0,
            Request::MAX_CANDIDATES as f64,
            1.0,
        ),
    ];
    let models = built_in()
        .filter_map(|m| {
            let spec = ModelSpec::parse(m.spec_json).ok()?;
            Some(ModelEntry {
                name: m.name,
                label: label_of(spec.arch()),
                arch: spec.arch(),
                weights: m.weights,
                packed: matches!(spec, ModelSpec::Lstm(_)) && m.weights.ends_with(".pack"),
                form: spec.lookback().form,
                tuned: m.tuned.map(|t| t.weights),
                blend: m.tuned.and_then(|t| t.blend),
            })
        })
        .collect();
    Catalog {
        models,
        default_model: DEFAULT_MODEL,
        backends: vec![
            choice("auto", "automatic"),
            choice(Backend::Webgpu.name(), "WebGPU"),
            choice(Backend::Cpu.name(), "CPU"),
        ],
        engines: EngineName::ALL.iter().map(|e| choice(e.name(), e.label())).collect(),
        modes: Mode::ALL.iter().map(|m| m.name()).collect(),
        controls,
        limits: Limits {
            max_bars: Request::MAX_BARS,
            max_temperature: Request::MAX_TEMPERATURE,
            min_tempo: Tempo::MIN_BPM,
            max_tempo: Tempo::MAX_BPM,
            max_primer_steps: Request::MAX_PRIMER_STEPS,
            max_melody_steps: crate::melody::Melody::MAX_STEPS,
            max_candidates: Request::MAX_CANDIDATES,
            max_seed: u32::MAX,
            max_share_chars: crate::share::MAX_CODE_CHARS,
            max_midi_bytes: crate::midi::MAX_FILE_BYTES,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's load check (`check_weights`) passes a spec without checksums: every shipped
    /// spec must record them, for the burnpack and, for an LSTM, the pack the page runs.
    #[test]
    fn every_shipped_spec_records_its_weights_checksums() {
        for m in built_in() {
            for spec_json in std::iter::once(m.spec_json).chain(m.tuned.map(|t| t.spec_json)) {
                let spec: Value = serde_json::from_str(spec_json).unwrap();
                let sums = &spec["weights"];
                assert!(sums["bpk"].as_str().is_some_and(|s| s.starts_with("fnv1a64:")), "{}: bpk", m.name);
                if spec["arch"] == "lstm" {
                    assert!(sums["pack"].as_str().is_some_and(|s| s.starts_with("fnv1a64:")), "{}: pack", m.name);
                }
            }
            if let Some(t) = m.tuned.filter(|t| t.blend.is_some()) {
                let spec: Value = serde_json::from_str(t.spec_json).unwrap();
                assert!(spec["weights"]["blend"].as_str().is_some_and(|s| s.starts_with("fnv1a64:")), "{}", m.name);
            }
        }
    }

    /// Every default and option the catalog offers is a valid request on its own, and every
    /// control names a request field.
    #[test]
    fn every_offered_value_makes_a_valid_request() {
        let c = catalog();
        assert!(c.models.iter().any(|m| m.name == DEFAULT_MODEL));
        for control in &c.controls {
            let values: Vec<Value> = std::iter::once(control.default.clone())
                .chain(control.options.iter().map(|o| o.value.clone()))
                .collect();
            for v in values.into_iter().chain(control.min.map(|m| json!(m as i64))).chain(control.max.map(|m| json!(m)))
            {
                let v = match (&control.kind, v.as_f64()) {
                    (Kind::Integer, Some(x)) => json!(x as u64),
                    _ => v,
                };
                let request: Request = serde_json::from_value(json!({ control.name: v }))
                    .unwrap_or_else(|e| panic!("{} = {v}: {e}", control.name));
                request.validate().unwrap_or_else(|e| panic!("{} = {v}: {e}", control.name));
            }
        }
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["limits"]["maxBars"], 64);
        assert_eq!(json["controls"][1]["default"], 120.0, "one tempo default, the request's");
    }

    /// The element (`www/tunesmith-generator.js`) builds its attributes and controls from a copy
    /// of the catalog, so they exist before the wasm has loaded: the copy must be this build's.
    #[test]
    fn the_elements_catalog_is_this_builds() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/catalog.js");
        let json = serde_json::to_string_pretty(&catalog()).unwrap();
        let text = format!(
            "// The core's catalog (crate/src/catalog.rs) for the element, which needs it before the wasm\n\
             // loads. Generated: `TUNESMITH_BLESS=1 cargo test -p tunesmith catalog` rewrites it, and\n\
             // the test beside `catalog()` fails while it is stale.\n\
             export default {json};\n"
        );
        if std::env::var_os("TUNESMITH_BLESS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current == text,
            "www/catalog.js is stale: run `TUNESMITH_BLESS=1 cargo test -p tunesmith catalog` and commit it"
        );
    }

    /// The page's bundle must carry each built-in model's weights file (Trunk copies them).
    #[test]
    fn the_page_copies_every_catalog_weights_file() {
        let html = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../index.html")).unwrap();
        for m in built_in() {
            let tuned = m.tuned.into_iter().flat_map(|t| std::iter::once(t.weights).chain(t.blend));
            for weights in std::iter::once(m.weights).chain(tuned) {
                assert!(html.contains(&format!("href=\"{weights}\"")), "index.html copies {weights}");
            }
        }
    }
}
