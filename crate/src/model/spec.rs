//! A model's architecture and sizes, saved as JSON beside its weights. Plain data: reading a
//! spec needs no tensor library, so every build can check one.

use serde::{Deserialize, Serialize};

use crate::encoding::{Lookback, TrainedOn, Vocab};
use crate::melody::Pitch;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bad model configuration: {0}")]
    Config(String),
    #[error("the weights do not fit the model: {0}")]
    Weights(String),
    #[error("reading a result from the device failed: {0}")]
    Read(String),
    #[error(
        "the {file} file does not match its spec (checksum {got}, the spec says {expected}): it is damaged, or from another version of the model"
    )]
    Checksum { file: &'static str, got: String, expected: String },
}

/// The pitch range of a model as stored in its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitchRange {
    pub lo: u8,
    pub hi: u8,
}

impl PitchRange {
    pub fn vocab(self) -> Result<Vocab, ModelError> {
        let p = |m: u8| Pitch::new(m as i32).map_err(|_| ModelError::Config(format!("pitch {m} out of range")));
        Vocab::new(p(self.lo)?, p(self.hi)?)
            .ok_or_else(|| ModelError::Config(format!("pitch range {}–{} is under an octave", self.lo, self.hi)))
    }
}

impl From<Vocab> for PitchRange {
    fn from(v: Vocab) -> Self {
        PitchRange { lo: v.lo().midi(), hi: v.hi().midi() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmConfig {
    pub range: PitchRange,
    /// Width of the input embedding.
    pub embed: usize,
    pub hidden: usize,
    pub layers: usize,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub lookback: Lookback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub range: PitchRange,
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    pub d_ff: usize,
    #[serde(default)]
    pub dropout: f64,
    /// Attention span: a step sees at most this many steps (itself included), and the decoder
    /// drops the keys and values no step can see any more. `None`: the whole melody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<usize>,
    #[serde(default)]
    pub lookback: Lookback,
}

/// Sizes beyond these are refused before anything is allocated: the largest is far above any
/// model that fits the page, and far below what overflows or exhausts memory.
const MAX_WIDTH: usize = 4096;
const MAX_LAYERS: usize = 16;

fn check_width(what: &str, n: usize) -> Result<(), ModelError> {
    if (1..=MAX_WIDTH).contains(&n) {
        Ok(())
    } else {
        Err(ModelError::Config(format!("{what} must be 1–{MAX_WIDTH}, not {n}")))
    }
}

/// At most this many weights in the layers (400 MB as f32 while loading); the shipped models
/// have about a million.
const MAX_WEIGHTS: usize = 100_000_000;

fn check_weights(what: &str, weights: usize) -> Result<(), ModelError> {
    if weights <= MAX_WEIGHTS {
        Ok(())
    } else {
        Err(ModelError::Config(format!("{what} has {weights} weights; at most {MAX_WEIGHTS} are allowed")))
    }
}

fn check_common(layers: usize, dropout: f64, lookback: &Lookback) -> Result<(), ModelError> {
    if !(1..=MAX_LAYERS).contains(&layers) {
        return Err(ModelError::Config(format!("layers must be 1–{MAX_LAYERS}, not {layers}")));
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(ModelError::Config(format!("dropout must be at least 0 and below 1, not {dropout}")));
    }
    lookback.check().map_err(ModelError::Config)
}

impl LstmConfig {
    pub fn check(&self) -> Result<Vocab, ModelError> {
        check_width("embed", self.embed)?;
        check_width("hidden", self.hidden)?;
        check_common(self.layers, self.dropout, &self.lookback)?;
        // Widths and layers are capped, so these products cannot overflow.
        let (e, h) = (self.embed, self.hidden);
        check_weights("this LSTM", 4 * h * (e + h) + (self.layers - 1) * 4 * h * 2 * h)?;
        self.range.vocab()
    }
}

impl TransformerConfig {
    pub fn check(&self) -> Result<Vocab, ModelError> {
        check_width("d_model", self.d_model)?;
        check_width("d_ff", self.d_ff)?;
        check_common(self.layers, self.dropout, &self.lookback)?;
        let (d, f) = (self.d_model, self.d_ff);
        check_weights("this Transformer", self.layers * (4 * d * d + 2 * d * f))?;
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(ModelError::Config(format!(
                "a Transformer needs d_model ({}) divisible by heads ({})",
                self.d_model, self.heads
            )));
        }
        if self.span == Some(0) {
            return Err(ModelError::Config("a Transformer's attention span must be at least 1 step".into()));
        }
        self.range.vocab()
    }
}

/// A model's architecture and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ModelSpec {
    Lstm(LstmConfig),
    Transformer(TransformerConfig),
}

impl ModelSpec {
    /// Parses and checks a spec.
    pub fn parse(json: &str) -> Result<Self, ModelError> {
        let spec: ModelSpec = serde_json::from_str(json).map_err(|e| ModelError::Config(e.to_string()))?;
        spec.check()?;
        Ok(spec)
    }

    pub fn check(&self) -> Result<Vocab, ModelError> {
        match self {
            ModelSpec::Lstm(c) => c.check(),
            ModelSpec::Transformer(c) => c.check(),
        }
    }

    /// A spec file's architecture and its record of the training data (`to_json_with`).
    pub fn parse_with_record(json: &str) -> Result<(Self, TrainedOn), ModelError> {
        let trained_on = TrainedOn::from_spec_json(json).map_err(ModelError::Config)?;
        Ok((Self::parse(json)?, trained_on))
    }

    /// The spec with a record of the training data beside it (`parse_with_record` reads it
    /// back; `parse` ignores it). Compact: the record's tables run to thousands of counts.
    pub fn to_json_with(&self, trained_on: &TrainedOn) -> String {
        let mut value = serde_json::to_value(self).expect("a spec always serialises");
        value["trained_on"] = serde_json::to_value(trained_on).expect("counts always serialise");
        serde_json::to_string(&value).expect("a spec always serialises")
    }

    pub fn vocab(&self) -> Result<Vocab, ModelError> {
        self.check()
    }

    pub fn lookback(&self) -> &Lookback {
        match self {
            ModelSpec::Lstm(c) => &c.lookback,
            ModelSpec::Transformer(c) => &c.lookback,
        }
    }

    /// The architecture's name, as in the spec's `arch` field.
    pub fn arch(&self) -> &'static str {
        match self {
            ModelSpec::Lstm(_) => "lstm",
            ModelSpec::Transformer(_) => "transformer",
        }
    }

    pub fn dropout(&self) -> f64 {
        match self {
            ModelSpec::Lstm(c) => c.dropout,
            ModelSpec::Transformer(c) => c.dropout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lstm(extra: &str) -> String {
        format!(r#"{{"arch": "lstm", "range": {{"lo": 48, "hi": 84}}, "embed": 16, "hidden": 32, "layers": 2{extra}}}"#)
    }

    #[test]
    fn specs_round_trip_and_old_ones_read_without_lookbacks() {
        let spec = ModelSpec::parse(&lstm("")).unwrap();
        assert_eq!(spec.lookback(), &Lookback::default());
        let with = ModelSpec::parse(&lstm(r#", "lookback": {"bars": [1, 2, 4], "form": true}"#)).unwrap();
        assert_eq!(with.lookback().slots(), 4);
        let (back, record) = ModelSpec::parse_with_record(&with.to_json_with(&TrainedOn::default())).unwrap();
        assert_eq!((back, record), (with, TrainedOn::default()));
    }

    #[test]
    fn hostile_sizes_are_refused_before_anything_is_built() {
        for bad in [r#", "dropout": 1.0"#, r#", "dropout": -0.5"#, r#", "lookback": {"bars": [0]}"#] {
            assert!(ModelSpec::parse(&lstm(bad)).is_err(), "{bad}");
        }
        let huge =
            r#"{"arch": "lstm", "range": {"lo": 48, "hi": 84}, "embed": 16, "hidden": 1099511627776, "layers": 2}"#;
        assert!(ModelSpec::parse(huge).unwrap_err().to_string().contains("hidden must be"));
        let deep = r#"{"arch": "lstm", "range": {"lo": 48, "hi": 84}, "embed": 16, "hidden": 8, "layers": 1000000}"#;
        assert!(ModelSpec::parse(deep).is_err());
        let narrow = r#"{"arch": "lstm", "range": {"lo": 60, "hi": 65}, "embed": 16, "hidden": 8, "layers": 1}"#;
        assert!(ModelSpec::parse(narrow).unwrap_err().to_string().contains("under an octave"));
        let odd = r#"{"arch": "transformer", "range": {"lo": 48, "hi": 84}, "d_model": 10, "heads": 3, "layers": 1, "d_ff": 8}"#;
        assert!(ModelSpec::parse(odd).is_err());
        assert!(ModelSpec::parse("{}").is_err());
    }
}
