//! The `tunesmith` command: generate MIDI files, measure melodies, train and evaluate models.
//! Each command's arguments are a clap `Args` struct in its own file, turned into the
//! library's types there.

mod eval;
mod generate;
mod metrics;
mod model;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use model::{Loaded, ModelArgs, data_dir, load_model, model_files};

#[derive(Parser)]
#[command(name = "tunesmith", version, about = "Generate melodies with a neural model; write them as MIDI.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a melody and write it as a MIDI file.
    Generate(generate::GenerateArgs),
    /// Measure melodies (MIDI files, or freshly generated ones) beside the training corpus:
    /// motifs and their repetition, keys, leaps, autocorrelation.
    Metrics(metrics::MetricsArgs),
    /// Score melodies: bits per note and next-pitch accuracy of a model beside an order-3
    /// Markov baseline trained on the same training split.
    Eval(eval::EvalArgs),
    /// Write a split of the prepared corpus as MIDI files (to score as files from the wild).
    Export(eval::ExportArgs),
    /// Train a model on the prepared corpus or on a directory of MIDI files.
    Train(Box<train::TrainArgs>),
    /// Tune a trained model by reinforcement learning to keep the rules of music theory while
    /// staying close to its data (RL Tuner); writes the tuned weights beside the spec.
    Tune(Box<train::TuneArgs>),
    /// Write an LSTM's packed int8 form (`.pack`, what the page downloads) beside its weights.
    Pack(train::PackArgs),
}

pub fn main() -> ExitCode {
    // `println!` panics on a closed pipe (`tunesmith metrics … | head -1`). A reader that stops
    // early is no fault of ours: end quietly, as other command-line tools do.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>().map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info)
    }));
    let result = match Cli::parse().command {
        Command::Generate(a) => generate::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Export(a) => eval::export(a),
        Command::Train(a) => train::run(*a),
        Command::Tune(a) => train::tune(*a),
        Command::Pack(a) => train::pack(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::*;
    use crate::corpus;
    use crate::model::MelodyModel;

    /// "Any key" and "any style" draw from the record in each shipped spec, and `--phase auto`
    /// reads its rhythm statistics: it must be the training split's.
    #[test]
    fn the_shipped_specs_record_the_training_split() {
        let train = corpus::load_split(&data_dir("models/data".into()), "train").unwrap();
        let counted = crate::train::record(&train, crate::encoding::Vocab::DEFAULT);
        for m in crate::catalog::built_in() {
            let (_, record) = crate::model::ModelSpec::parse_with_record(m.spec_json).unwrap();
            assert_eq!(record.styles, counted.styles, "models/{}.json", m.name);
            if !record.rhythm.is_empty() {
                assert_eq!(record.rhythm, counted.rhythm, "models/{}.json", m.name);
                assert_eq!(record.form, counted.form, "models/{}.json", m.name);
                assert_eq!(record.meters, counted.meters, "models/{}.json", m.name);
            }
        }
    }

    /// `./dev` installs the wasm-bindgen CLI that Cargo.lock pins and never edits Trunk.toml,
    /// so Trunk.toml must name that version itself.
    #[test]
    fn trunk_names_the_locked_wasm_bindgen() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let lock = std::fs::read_to_string(format!("{root}/Cargo.lock")).unwrap();
        let at = lock.find("name = \"wasm-bindgen\"\n").expect("wasm-bindgen is locked");
        let version = lock[at..].lines().nth(1).unwrap().trim_start_matches("version = ").trim_matches('"');
        let trunk = std::fs::read_to_string(format!("{root}/Trunk.toml")).unwrap();
        assert!(
            trunk.lines().any(|l| l == format!("wasm_bindgen = \"{version}\"")),
            "Trunk.toml must name wasm-bindgen {version}"
        );
    }

    /// The page downloads `models/lstm.pack`, `lstm.tuned.pack` or `lstm.blend.pack`; each must
    /// be the packed form of the shipped weights (the blend: of both at the default strength),
    /// and the tuned model the same network as the data model.
    #[test]
    fn the_shipped_packs_match_the_shipped_lstms() {
        let m = crate::catalog::built_in().find(|m| m.name == "lstm").unwrap();
        let tuned = m.tuned.expect("the lstm has theory-tuned weights");
        let (spec, record) = crate::model::ModelSpec::parse_with_record(m.spec_json).unwrap();
        let (tuned_spec, tuned_record) = crate::model::ModelSpec::parse_with_record(tuned.spec_json).unwrap();
        assert_eq!(spec.to_json_with(&record), tuned_spec.to_json_with(&tuned_record), "one network, one record");
        use crate::catalog::{WeightsOf, check_weights};
        let net = |name: &str| {
            let bytes = crate::catalog::EMBEDDED_WEIGHTS.iter().find(|(n, _)| *n == name).unwrap().1;
            crate::model::weights::load(&spec, bytes.to_vec(), &Device::flex()).unwrap()
        };
        let blend =
            crate::model::blend::network(net("lstm"), &net("lstm.tuned"), crate::request::Request::DEFAULT_THEORY);
        assert_eq!(tuned.blend, Some("models/lstm.blend.pack"), "the default strength is packed");
        let all = [WeightsOf::Data, WeightsOf::Tuned, WeightsOf::Blend];
        for (which, name, net) in [
            (WeightsOf::Data, "lstm", net("lstm")),
            (WeightsOf::Tuned, "lstm.tuned", net("lstm.tuned")),
            (WeightsOf::Blend, "lstm.blend", blend),
        ] {
            let MelodyModel::Lstm(lstm) = net else { panic!("the built-in lstm is an LSTM") };
            let path = format!("{}/../models/{name}.pack", env!("CARGO_MANIFEST_DIR"));
            let shipped = std::fs::read(&path).unwrap();
            let packed = crate::model::packed::PackedLstm::from_lstm(&lstm).unwrap().to_bytes();
            let how = if which == WeightsOf::Blend { "pack --blend models/lstm.bpk" } else { "pack models/{name}.bpk" };
            assert!(packed == shipped, "models/{name}.pack is stale: run `tunesmith {how}`");
            // The page checks the file it downloads against the spec built into it.
            check_weights("lstm", which, &shipped).expect("the spec vouches for its pack");
            for other in all.iter().filter(|&&o| o != which) {
                assert!(check_weights("lstm", *other, &shipped).is_err(), "{name} is not the {other:?} weights");
            }
            let mut damaged = shipped.clone();
            damaged[shipped.len() / 2] ^= 1;
            assert!(check_weights("lstm", which, &damaged).is_err());
        }
    }

    /// Every built-in model's spec vouches for its weights (`tunesmith pack`, or the trainer,
    /// records the checksums).
    #[test]
    fn the_shipped_specs_carry_their_weights_checksums() {
        for (name, bytes) in crate::catalog::EMBEDDED_WEIGHTS {
            use crate::catalog::WeightsOf;
            let (model, which) = match name.strip_suffix(".tuned") {
                Some(model) => (model, WeightsOf::Tuned),
                None => (*name, WeightsOf::Data),
            };
            let m = crate::catalog::built_in().find(|m| m.name == model).unwrap();
            let json = if which == WeightsOf::Tuned { m.tuned.unwrap().spec_json } else { m.spec_json };
            assert!(json.contains("\"weights\""), "{name}.json records no checksums");
            crate::catalog::check_weights(model, which, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
