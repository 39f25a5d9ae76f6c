//! Weights on disk: burnpack files stored in half precision (half the bytes to download, no
//! measurable loss for these models) and widened to f32 when loaded.

use burn::prelude::*;
use burn::store::{BurnpackStore, FloatCastAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType};

use super::{MelodyModel, ModelError, ModelSpec};

/// Writes `model` to `path` as f16 burnpack.
pub fn save(model: &MelodyModel, path: &std::path::Path) -> Result<(), ModelError> {
    let mut store = BurnpackStore::from_file(path).overwrite(true).with_to_adapter(FloatCastAdapter::to(DType::F16));
    model.save_into(&mut store).map_err(|e| ModelError::Weights(format!("{}: {e}", path.display())))
}

/// Builds the model `spec` describes and fills it with `bytes` (a burnpack file).
pub fn load(spec: &ModelSpec, bytes: Vec<u8>, device: &Device) -> Result<MelodyModel, ModelError> {
    let mut model = super::build(spec, device)?;
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    check_finite(&mut store)?;
    let result = model.load_from(&mut store).map_err(|e| ModelError::Weights(e.to_string()))?;
    if !result.is_success() || !result.missing.is_empty() {
        return Err(ModelError::Weights(result.to_string()));
    }
    Ok(model)
}

/// Refuses weights that hold a NaN or an infinity: they load without complaint, then every
/// melody is one held note.
fn check_finite(store: &mut BurnpackStore) -> Result<(), ModelError> {
    use burn::store::ModuleStore;
    let tensors = store.get_all_tensors().map_err(|e| ModelError::Weights(e.to_string()))?;
    for (name, tensor) in tensors {
        let bytes = tensor.to_bytes().map_err(|e| ModelError::Weights(format!("{name}: {e}")))?;
        let finite = match tensor.dtype {
            // Half precision: an all-ones exponent is an infinity or a NaN.
            DType::F16 => bytes.chunks_exact(2).all(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7c00 != 0x7c00),
            DType::F32 => bytes.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
            _ => true,
        };
        if !finite {
            return Err(ModelError::Weights(format!("{name} holds a NaN or an infinity")));
        }
    }
    Ok(())
}

/// Writes the packed int8 form of an LSTM beside `weights` (as `.pack`); other models have none.
pub fn save_pack(model: &MelodyModel, weights: &std::path::Path) -> Result<std::path::PathBuf, ModelError> {
    let MelodyModel::Lstm(lstm) = model else {
        return Err(ModelError::Config(format!("only an LSTM has a packed form, not a {}", model_name(model))));
    };
    let path = weights.with_extension("pack");
    let bytes = super::packed::PackedLstm::from_lstm(lstm)?.to_bytes();
    std::fs::write(&path, bytes).map_err(|e| ModelError::Weights(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// Records in the spec beside `weights` (`.json`) the checksums of the weights and, where there
/// is one, of the packed form beside them (`.pack`), so a damaged or stale copy of either is
/// refused on load ([`super::checksum`]).
pub fn record_checksums(weights: &std::path::Path) -> Result<(), ModelError> {
    use super::checksum::WeightsFile;
    let mut files = vec![(WeightsFile::Bpk, weights.to_path_buf())];
    let pack = weights.with_extension("pack");
    if pack.exists() {
        files.push((WeightsFile::Pack, pack));
    }
    record_in_spec(&weights.with_extension("json"), &files)
}

/// Records in the tuned spec beside `tuned` (`.json`) the checksum of `blend`, the packed blend
/// of the model and its tuned weights at the default strength (`catalog::Tuned::blend`).
pub fn record_blend_checksum(tuned: &std::path::Path, blend: &std::path::Path) -> Result<(), ModelError> {
    record_in_spec(&tuned.with_extension("json"), &[(super::checksum::WeightsFile::Blend, blend.to_path_buf())])
}

/// Rewrites the spec at `spec_path` with the checksum of each file as its kind.
fn record_in_spec(
    spec_path: &std::path::Path,
    files: &[(super::checksum::WeightsFile, std::path::PathBuf)],
) -> Result<(), ModelError> {
    let io = |p: &std::path::Path, e: std::io::Error| ModelError::Weights(format!("{}: {e}", p.display()));
    let mut json = std::fs::read_to_string(spec_path).map_err(|e| io(spec_path, e))?;
    for (kind, path) in files {
        json = super::checksum::record(&json, *kind, &std::fs::read(path).map_err(|e| io(path, e))?)?;
    }
    std::fs::write(spec_path, json).map_err(|e| io(spec_path, e))
}

fn model_name(model: &MelodyModel) -> &'static str {
    match model {
        MelodyModel::Lstm(_) => "lstm",
        MelodyModel::Transformer(_) => "transformer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_with_a_nan_or_an_infinity_are_refused() {
        let spec = ModelSpec::parse(
            r#"{"arch": "lstm", "range": {"lo": 48, "hi": 84}, "embed": 4, "hidden": 4, "layers": 1, "dropout": 0.0}"#,
        )
        .unwrap();
        let device = Device::flex();
        let path = std::env::temp_dir().join(format!("tunesmith-nan-{}.bpk", std::process::id()));
        save(&crate::model::build(&spec, &device).unwrap(), &path).unwrap();
        let good = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(load(&spec, good.clone(), &device).is_ok());
        // Every half-precision word of the file, in turn, made a NaN or an infinity: those that
        // load are the words outside the tensors' data.
        let (mut refused, mut nonfinite) = (0, 0);
        for at in 0..good.len() - 1 {
            for bad in [0x7e00u16, 0x7c00, 0xfc00] {
                let mut bytes = good.clone();
                bytes[at..at + 2].copy_from_slice(&bad.to_le_bytes());
                match load(&spec, bytes, &device) {
                    Err(ModelError::Weights(m)) if m.contains("NaN or an infinity") => nonfinite += 1,
                    Err(_) => refused += 1,
                    Ok(_) => {}
                }
            }
        }
        assert!(nonfinite > 100, "{nonfinite} non-finite weights named, {refused} other refusals");
    }
}
