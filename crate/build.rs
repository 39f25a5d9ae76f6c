//! Embeds every trained model found in `models/` (a `NAME.json` spec with its `NAME.bpk`
//! weights) into the native command-line tool, so `tunesmith generate` works anywhere.
//! The web build fetches weights from the page's origin instead and embeds none.

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
    // The same file for every target (cargo may share this script's output between the native
    // and the wasm build): the wasm build drops the list by `cfg`, before anything is included.
    let mut code = String::from("/// Models built into this binary: (name, spec JSON, burnpack weights).\n");
    code.push_str("#[cfg(not(target_family = \"wasm\"))]\n");
    code.push_str("pub static EMBEDDED: &[(&str, &str, &[u8])] = &[\n");
    for name in &names {
        let json = models.join(format!("{name}.json")).canonicalize().unwrap();
        let bpk = models.join(format!("{name}.bpk")).canonicalize().unwrap();
        println!("cargo:rerun-if-changed={}", bpk.display());
        println!("cargo:rerun-if-changed={}", json.display());
        writeln!(code, "    ({name:?}, include_str!({:?}), include_bytes!({:?})),", json, bpk).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_models.rs");
    std::fs::write(out, code).unwrap();
}
