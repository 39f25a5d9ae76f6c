//! Finds the trained models in `models/` (a `NAME.json` spec with its `NAME.bpk` weights) and
//! writes `models.rs`: every build gets their specs and the file the page downloads for each
//! (the packed `NAME.pack` of an LSTM where there is one); native builds also embed the
//! burnpack weights, so `tunesmith generate` works anywhere.

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
            (path.extension()? == "json" && models.join(format!("{name}.bpk")).exists()).then_some(name)
        })
        .collect();
    names.sort();
    let file = |name: &str, ext: &str| {
        let path = models.join(format!("{name}.{ext}")).canonicalize().unwrap();
        println!("cargo:rerun-if-changed={}", path.display());
        path
    };
    let mut code = String::from("/// Models of this build: (name, spec JSON, the weights file the page downloads).\n");
    code.push_str("pub static MODELS: &[(&str, &str, &str)] = &[\n");
    for name in &names {
        let web = if models.join(format!("{name}.pack")).exists() { "pack" } else { "bpk" };
        writeln!(code, "    ({name:?}, include_str!({:?}), \"models/{name}.{web}\"),", file(name, "json")).unwrap();
    }
    code.push_str("];\n");
    // The same file for every target (cargo may share this script's output between the native
    // and the wasm build): the wasm build drops the weights by `cfg`, before anything is included.
    code.push_str("/// Burnpack weights of the same models, built into the native tool.\n");
    code.push_str("#[cfg(not(target_family = \"wasm\"))]\n");
    code.push_str("pub static EMBEDDED_WEIGHTS: &[(&str, &[u8])] = &[\n");
    for name in &names {
        writeln!(code, "    ({name:?}, include_bytes!({:?})),", file(name, "bpk")).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("models.rs");
    std::fs::write(out, code).unwrap();
}
