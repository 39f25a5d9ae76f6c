//! Checksums of a model's weight files, kept in its spec (`"weights": {"bpk": …, "pack": …}`)
//! and checked whenever the weights are loaded: a damaged download, or a cached file from
//! another version of tunesmith, must fail with a clear message rather than load and play noise
//! (a damaged burnpack often still parses). A spec without checksums (made before them, or
//! written by hand) loads unchecked.

use serde_json::Value;

use super::ModelError;

/// The kinds of weight file a spec may vouch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFile {
    /// The f16 burnpack (`.bpk`).
    Bpk,
    /// The LSTM's packed int8 form (`.pack`).
    Pack,
    /// The packed blend of a model and its tuned weights at the default theory strength,
    /// vouched for by the tuned spec (`catalog::Tuned::blend`).
    Blend,
}

impl WeightsFile {
    fn key(self) -> &'static str {
        match self {
            WeightsFile::Bpk => "bpk",
            WeightsFile::Pack => "pack",
            WeightsFile::Blend => "blend",
        }
    }
}

/// FNV-1a, 64 bits, as 16 hex digits after "fnv1a64:". Damage, not malice, is what it is for.
pub fn checksum(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

/// Checks `bytes` against the checksum `spec_json` records for that kind of file, if any.
pub fn verify(spec_json: &str, kind: WeightsFile, bytes: &[u8]) -> Result<(), ModelError> {
    let value: Value = serde_json::from_str(spec_json).map_err(|e| ModelError::Config(e.to_string()))?;
    let Some(expected) = value.get("weights").and_then(|w| w.get(kind.key())) else { return Ok(()) };
    let expected = expected.as_str().ok_or_else(|| ModelError::Config("a weights checksum must be a string".into()))?;
    let got = checksum(bytes);
    if got == expected {
        Ok(())
    } else {
        Err(ModelError::Checksum { file: kind.key(), got, expected: expected.to_string() })
    }
}

/// `spec_json` with the checksum of `bytes` recorded for that kind of file.
pub fn record(spec_json: &str, kind: WeightsFile, bytes: &[u8]) -> Result<String, ModelError> {
    let mut value: Value = serde_json::from_str(spec_json).map_err(|e| ModelError::Config(e.to_string()))?;
    let Some(spec) = value.as_object_mut() else { return Err(ModelError::Config("a spec is a JSON object".into())) };
    let weights = spec.entry("weights").or_insert_with(|| Value::Object(Default::default()));
    let Some(weights) = weights.as_object_mut() else {
        return Err(ModelError::Config("a spec's \"weights\" is an object of checksums".into()));
    };
    weights.insert(kind.key().into(), Value::String(checksum(bytes)));
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_catch_a_changed_byte_and_specs_carry_them() {
        // FNV-1a's published test vectors.
        assert_eq!(checksum(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(checksum(b"a"), "fnv1a64:af63dc4c8601ec8c");
        let spec = r#"{"arch": "lstm", "hidden": 8}"#;
        assert!(verify(spec, WeightsFile::Pack, b"anything").is_ok(), "no checksum: unchecked");
        let with = record(spec, WeightsFile::Pack, b"weights").unwrap();
        let with = record(&with, WeightsFile::Bpk, b"other").unwrap();
        assert!(verify(&with, WeightsFile::Pack, b"weights").is_ok());
        assert!(verify(&with, WeightsFile::Bpk, b"other").is_ok());
        let e = verify(&with, WeightsFile::Pack, b"weightz").unwrap_err().to_string();
        assert!(e.contains("does not match its spec"), "{e}");
        assert!(verify(r#"{"weights": {"pack": 5}}"#, WeightsFile::Pack, b"").is_err());
        assert!(record("[]", WeightsFile::Pack, b"").is_err());
        // The spec itself still parses with its record.
        let v: Value = serde_json::from_str(&with).unwrap();
        assert_eq!(v["hidden"], 8);
    }
}
