//! Finds the trained models in `models/` (a `NAME.json` spec with its `NAME.bpk` weights, NAME
//! in lowercase letters and digits) and writes `models.rs`: every build gets their specs and
//! the file the page downloads for each (the packed `NAME.pack` of an LSTM where there is one),
//! and the same for a model's theory-tuned companion where there is one (`NAME.tuned.json`,
//! `.bpk`, `.pack`, written by `tunesmith tune`), with the blend of the two at the default
//! theory strength where it is packed (`NAME.blend.pack`, `tunesmith pack --blend`); native
//! builds also embed the burnpack weights, so `tunesmith generate` works anywhere.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a cached script binary may come
    // from another checkout that shares the target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let models = Path::new(&manifest).join("../models");
    println!("cargo:rerun-if-changed={}", models.display());
    let mut names: Vec<String> = std::fs::read_dir(&models)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_str()?.to_string();
            let plain = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            (plain && path.extension()? == "json" && models.join(format!("{name}.bpk")).exists()).then_some(name)
        })
        .collect();
    names.sort();
    let file = |name: &str, ext: &str| {
        let path = models.join(format!("{name}.{ext}")).canonicalize().unwrap();
        println!("cargo:rerun-if-changed={}", path.display());
        path
    };
    let web = |name: &str| if models.join(format!("{name}.pack")).exists() { "pack" } else { "bpk" };
    let tuned = |name: &str| {
        let t = format!("{name}.tuned");
        (models.join(format!("{t}.json")).exists() && models.join(format!("{t}.bpk")).exists()).then_some(t)
    };
    let mut code = String::from(
        "/// Models of this build: (name, spec JSON, the weights file the page downloads, and the same\n/// of its theory-tuned companion where it has one).\n",
    );
    code.push_str("pub type ModelRow = (&'static str, &'static str, &'static str, Option<Companion>);\n");
    code.push_str(
        "/// A theory-tuned companion: (spec JSON, the weights file the page downloads, the packed blend\n/// at the default strength where there is one).\n",
    );
    code.push_str("pub type Companion = (&'static str, &'static str, Option<&'static str>);\n");
    code.push_str("pub static MODELS: &[ModelRow] = &[\n");
    for name in &names {
        let companion = match tuned(name) {
            Some(t) => {
                let blend = models.join(format!("{name}.blend.pack"));
                let blend = match blend.exists() {
                    true => {
                        println!("cargo:rerun-if-changed={}", blend.display());
                        format!("Some(\"models/{name}.blend.pack\")")
                    }
                    false => "None".into(),
                };
                format!("Some((include_str!({:?}), \"models/{t}.{}\", {blend}))", file(&t, "json"), web(&t))
            }
            None => "None".into(),
        };
        let spec = file(name, "json");
        writeln!(code, "    ({name:?}, include_str!({spec:?}), \"models/{name}.{}\", {companion}),", web(name))
            .unwrap();
    }
    code.push_str("];\n");
    // The same file for every target (cargo may share this script's output between the native
    // and the wasm build): the wasm build drops the weights by `cfg`, before anything is included.
    code.push_str("/// Burnpack weights of the same models, built into the native tool.\n");
    code.push_str("#[cfg(not(target_family = \"wasm\"))]\n");
    code.push_str("pub static EMBEDDED_WEIGHTS: &[(&str, &[u8])] = &[\n");
    for name in names.iter().cloned().chain(names.iter().filter_map(|n| tuned(n))) {
        writeln!(code, "    ({name:?}, include_bytes!({:?})),", file(&name, "bpk")).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("models.rs");
    std::fs::write(out, code).unwrap();
}
