//! Theory strength: a model between its data weights (strength 0) and its theory-tuned weights
//! (strength 1, `tunesmith tune`), every weight `(1 − s)·data + s·tuned`. The tuned model is
//! the data model fine-tuned a short way, so the straight line between them stays among good
//! models and the rules are kept more the further along it (models/README.md measures it).
//! Each engine blends the weights in the form it runs: the packed int8 rows (dequantised,
//! blended, quantised again) or Burn's parameters.

use super::ModelError;
use super::packed::{PackedLstm, QMatrix};

fn lerp(a: f32, b: f32, s: f32) -> f32 {
    a + (b - a) * s
}

fn vectors(a: &[f32], b: &[f32], s: f32, what: &str) -> Result<Vec<f32>, ModelError> {
    if a.len() != b.len() {
        return Err(ModelError::Weights(format!("the tuned weights' {what} has {} values, not {}", b.len(), a.len())));
    }
    Ok(a.iter().zip(b).map(|(&x, &y)| lerp(x, y, s)).collect())
}

fn matrices(a: &QMatrix, b: &QMatrix, s: f32, what: &str) -> Result<QMatrix, ModelError> {
    if (a.rows, a.stride) != (b.rows, b.stride) || a.data.len() != b.data.len() {
        return Err(ModelError::Weights(format!("the tuned weights' {what} has another shape")));
    }
    let mut out = QMatrix { rows: a.rows, stride: a.stride, data: vec![0; a.data.len()], scales: vec![1.0; a.rows] };
    let mut row = vec![0f32; a.stride];
    for r in 0..a.rows {
        for (c, v) in row.iter_mut().enumerate() {
            let i = r * a.stride + c;
            *v = lerp(a.data[i] as f32 * a.scales[r], b.data[i] as f32 * b.scales[r], s);
        }
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        out.scales[r] = scale;
        for (c, v) in row.iter().enumerate() {
            out.data[r * a.stride + c] = (v / scale).round().clamp(-127.0, 127.0) as i8;
        }
    }
    Ok(out)
}

/// The packed LSTM at strength `s` (0–1) between `data` and `tuned`, which must have one shape.
/// At 0 and 1 it is exactly `data` and `tuned`.
pub fn packed(data: &PackedLstm, tuned: &PackedLstm, s: f32) -> Result<PackedLstm, ModelError> {
    if !(0.0..=1.0).contains(&s) {
        return Err(ModelError::Config(format!("theory strength must be from 0 to 1, got {s}")));
    }
    let same = data.hidden == tuned.hidden
        && data.classes == tuned.classes
        && data.layers.len() == tuned.layers.len()
        && data.tables.len() == tuned.tables.len();
    if !same {
        return Err(ModelError::Weights("the tuned weights are of another network than the model's".into()));
    }
    if s == 0.0 {
        return Ok(data.clone());
    }
    if s == 1.0 {
        return Ok(tuned.clone());
    }
    let mut layers = Vec::with_capacity(data.layers.len());
    for (i, (a, b)) in data.layers.iter().zip(&tuned.layers).enumerate() {
        layers.push(super::packed::Layer {
            weights: matrices(&a.weights, &b.weights, s, &format!("layer {i}"))?,
            bias: vectors(&a.bias, &b.bias, s, &format!("layer {i} bias"))?,
        });
    }
    let tables = data
        .tables
        .iter()
        .zip(&tuned.tables)
        .enumerate()
        .map(|(i, (a, b))| vectors(a, b, s, &format!("input table {i}")))
        .collect::<Result<_, _>>()?;
    Ok(PackedLstm {
        hidden: data.hidden,
        classes: data.classes,
        token_table: vectors(&data.token_table, &tuned.token_table, s, "token table")?,
        tables,
        layers,
        head: matrices(&data.head, &tuned.head, s, "output layer")?,
        head_bias: vectors(&data.head_bias, &tuned.head_bias, s, "output bias")?,
    })
}

/// The network at strength `s` (0–1) between `data` and `tuned`, which must have one spec.
#[cfg(feature = "burn")]
pub fn network(data: super::MelodyModel, tuned: &super::MelodyModel, s: f32) -> super::MelodyModel {
    use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
    use burn::prelude::*;

    /// The tuned parameters, flattened, in the order a visit meets them.
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().reshape([-1]));
        }
    }
    /// Blends each parameter with the tuned one met at the same place of the same visit.
    struct Blend(std::vec::IntoIter<Tensor<1>>, f32);
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let s = self.1;
            let other = self.0.next().expect("one spec, one list of parameters");
            param.map(|t| {
                let shape = t.shape();
                let b: Tensor<D> = other.reshape(shape);
                t.clone() + (b - t) * s
            })
        }
    }
    let mut collected = Collect(Vec::new());
    tuned.visit(&mut collected);
    data.map(&mut Blend(collected.0.into_iter(), s))
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::encoding::{Lookback, Vocab};
    use crate::model::{LstmConfig, MelodyModel, ModelSpec, PitchRange};
    use burn::prelude::*;

    fn lstm(seed: u64) -> MelodyModel {
        let device = Device::flex();
        device.seed(seed);
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 8,
            hidden: 16,
            layers: 2,
            dropout: 0.0,
            lookback: Lookback { bars: vec![1], half: false, form: true },
        });
        crate::model::build(&spec, &device).unwrap()
    }

    fn pack(m: &MelodyModel) -> PackedLstm {
        let MelodyModel::Lstm(l) = m else { unreachable!() };
        PackedLstm::from_lstm(l).unwrap()
    }

    #[test]
    fn the_ends_are_the_two_models_and_the_middle_is_between() {
        let (a, b) = (pack(&lstm(1)), pack(&lstm(2)));
        assert_eq!(packed(&a, &b, 0.0).unwrap().to_bytes(), a.to_bytes());
        assert_eq!(packed(&a, &b, 1.0).unwrap().to_bytes(), b.to_bytes());
        let mid = packed(&a, &b, 0.5).unwrap();
        for i in 0..a.head_bias.len() {
            assert!((mid.head_bias[i] - (a.head_bias[i] + b.head_bias[i]) / 2.0).abs() < 1e-6);
        }
        // A quantised weight lands within a step of the blend of the two it came from.
        let deq = |q: &QMatrix, i: usize| q.data[i] as f32 * q.scales[i / q.stride];
        for i in 0..a.head.data.len() {
            let want = (deq(&a.head, i) + deq(&b.head, i)) / 2.0;
            assert!((deq(&mid.head, i) - want).abs() <= mid.head.scales[i / mid.head.stride] * 0.5 + 1e-6);
        }
        assert!(packed(&a, &b, 1.5).is_err());
        let mut other = b.clone();
        other.hidden += 1;
        assert!(packed(&a, &other, 0.5).is_err());
    }

    #[test]
    fn networks_blend_parameter_by_parameter() {
        let (a, b) = (lstm(1), lstm(2));
        let read = |m: &MelodyModel| {
            let MelodyModel::Lstm(l) = m else { unreachable!() };
            l.head.weight.val().into_data().try_to_vec::<f32>().unwrap()
        };
        let (wa, wb) = (read(&a), read(&b));
        let mid = read(&network(a.clone(), &b, 0.25));
        for i in 0..wa.len() {
            assert!((mid[i] - (0.75 * wa[i] + 0.25 * wb[i])).abs() < 1e-6);
        }
        assert_eq!(read(&network(a.clone(), &b, 0.0)), wa);
    }
}
