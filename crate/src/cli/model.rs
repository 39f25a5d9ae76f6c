//! Which model a command runs: a built-in one by name, or files.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::catalog;
use crate::encoding::TrainedOn;
use crate::engine::Backend;
use crate::engine::burn::BurnEngine;
use crate::model::checksum::{self, WeightsFile};
use crate::model::{MelodyModel, ModelSpec, weights};

#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// A built-in model: lstm or transformer.
    #[arg(long, default_value = catalog::DEFAULT_MODEL, value_parser = clap::builder::PossibleValuesParser::new(catalog::built_in().map(|m| m.name)))]
    pub model: String,
    /// Weights file (`.bpk`) to use instead of a built-in model; its `.json` spec must sit beside it.
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

/// A model ready to run, with what it was trained on.
pub struct Loaded {
    pub name: String,
    pub spec: ModelSpec,
    pub trained_on: TrainedOn,
    pub net: MelodyModel,
    /// Its theory-tuned weights (`tunesmith tune`), where it has them.
    pub tuned: Option<MelodyModel>,
}

impl Loaded {
    /// The model as the CLI runs it, through Burn on the CPU, at theory strength `theory`
    /// (0 without tuned weights; see `Request::theory_for`).
    pub fn engine(&self, theory: f32) -> Result<BurnEngine, String> {
        let net = match &self.tuned {
            Some(tuned) if theory > 0.0 => crate::model::blend::network(self.net.clone(), tuned, theory),
            _ => self.net.clone(),
        };
        BurnEngine::new(net, &self.spec, Device::flex(), Backend::Cpu).map_err(|e| e.to_string())
    }

    /// The theory strength `request` runs at with this model.
    pub fn theory(&self, request: &crate::request::Request) -> Result<f32, String> {
        request.theory_for(self.tuned.is_some()).map_err(|e| format!("{}: {e}", self.name))
    }
}

/// A model's name, spec (JSON) and weights (burnpack bytes): a built-in one, or files.
pub fn model_files(args: &ModelArgs) -> Result<(String, String, Vec<u8>), String> {
    files(args, false).and_then(|found| found.ok_or_else(|| "no such model".into()))
}

/// The files of a model, or of its tuned companion (`tuned`: `None` where it has none).
fn files(args: &ModelArgs, tuned: bool) -> Result<Option<(String, String, Vec<u8>)>, String> {
    Ok(Some(match &args.weights {
        Some(path) => {
            if path.is_dir() {
                return Err(format!("{}: a directory; --weights takes a .bpk file", path.display()));
            }
            let path = &if tuned { path.with_extension("tuned.bpk") } else { path.clone() };
            if tuned && !path.exists() {
                return Ok(None);
            }
            let spec_path = path.with_extension("json");
            let json = std::fs::read_to_string(&spec_path).map_err(|e| {
                format!("{}: {e} (the spec must sit beside the weights {})", spec_path.display(), path.display())
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            (path.display().to_string(), json, bytes)
        }
        None => {
            let m = catalog::built_in()
                .find(|m| m.name == args.model)
                .ok_or_else(|| format!("no built-in model named {:?}", args.model))?;
            let (name, spec_json) = match (tuned, m.tuned) {
                (false, _) => (m.name.to_string(), m.spec_json),
                (true, Some(t)) => (catalog::tuned_name(m.name), t.spec_json),
                (true, None) => return Ok(None),
            };
            let (_, bytes) = catalog::EMBEDDED_WEIGHTS
                .iter()
                .find(|(n, _)| *n == name)
                .expect("every built-in model embeds its weights");
            (name, spec_json.to_string(), bytes.to_vec())
        }
    }))
}

/// Loads a built-in model by name, or a model from files.
pub fn load_model(args: &ModelArgs, device: &Device) -> Result<Loaded, String> {
    let (name, json, bytes) = model_files(args)?;
    // A spec's faults are the spec file's, the weights' faults the weights file's.
    let spec_of = |name: &str| match args.weights {
        Some(_) => Path::new(name).with_extension("json").display().to_string(),
        None => name.to_string(),
    };
    let (spec, trained_on) = ModelSpec::parse_with_record(&json).map_err(|e| format!("{}: {e}", spec_of(&name)))?;
    checksum::verify(&json, WeightsFile::Bpk, &bytes).map_err(|e| format!("{name}: {e}"))?;
    let net = weights::load(&spec, bytes, device).map_err(|e| format!("{name}: {e}"))?;
    let tuned = match files(args, true)? {
        Some((tuned_name, json, bytes)) => {
            let tuned_spec = ModelSpec::parse(&json).map_err(|e| format!("{}: {e}", spec_of(&tuned_name)))?;
            if tuned_spec != spec {
                return Err(format!("{tuned_name}: not the same network as {name}"));
            }
            checksum::verify(&json, WeightsFile::Bpk, &bytes).map_err(|e| format!("{tuned_name}: {e}"))?;
            Some(weights::load(&spec, bytes, device).map_err(|e| format!("{tuned_name}: {e}"))?)
        }
        None => None,
    };
    Ok(Loaded { name, spec, trained_on, net, tuned })
}

/// The prepared dataset: as given, or, for the default relative path run outside the
/// repository, the repository's own.
pub fn data_dir(given: PathBuf) -> PathBuf {
    let built_in = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/data"));
    if !given.exists() && given == Path::new("models/data") && built_in.exists() {
        built_in.to_path_buf()
    } else {
        given
    }
}

/// The sampling prior (`theory::prior`) at theory strength 1, for A/B runs: the shipped values
/// unless given.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PriorArgs {
    /// Nats the sampling prior takes off a note outside the key at theory strength 1 (scaled
    /// by the strength), for A/B runs.
    #[arg(long, value_parser = parse_nats)]
    pub prior_key: Option<f32>,
    /// Nats off a note that leaves a leap unanswered at theory strength 1, for A/B runs.
    #[arg(long, value_parser = parse_nats)]
    pub prior_leap: Option<f32>,
}

impl PriorArgs {
    /// The prior at theory strength `s`.
    pub fn at(&self, s: f32) -> crate::theory::prior::Prior {
        let full = crate::theory::prior::Prior::FULL;
        let given = crate::theory::prior::Prior {
            key: self.prior_key.unwrap_or(full.key),
            leap: self.prior_leap.unwrap_or(full.leap),
        };
        given.scaled(s)
    }
}

fn parse_nats(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if (0.0..=20.0).contains(&x) => Ok(x),
        _ => Err(format!("expected nats from 0 to 20, got {text:?}")),
    }
}
