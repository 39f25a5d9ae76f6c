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
    let result = model.load_from(&mut store).map_err(|e| ModelError::Weights(e.to_string()))?;
    if !result.is_success() || !result.missing.is_empty() {
        return Err(ModelError::Weights(result.to_string()));
    }
    Ok(model)
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
    use super::checksum::{WeightsFile, record};
    let io = |p: &std::path::Path, e: std::io::Error| ModelError::Weights(format!("{}: {e}", p.display()));
    let spec_path = weights.with_extension("json");
    let mut json = std::fs::read_to_string(&spec_path).map_err(|e| io(&spec_path, e))?;
    json = record(&json, WeightsFile::Bpk, &std::fs::read(weights).map_err(|e| io(weights, e))?)?;
    let pack = weights.with_extension("pack");
    if pack.exists() {
        json = record(&json, WeightsFile::Pack, &std::fs::read(&pack).map_err(|e| io(&pack, e))?)?;
    }
    std::fs::write(&spec_path, json).map_err(|e| io(&spec_path, e))
}

fn model_name(model: &MelodyModel) -> &'static str {
    match model {
        MelodyModel::Lstm(_) => "lstm",
        MelodyModel::Transformer(_) => "transformer",
    }
}
